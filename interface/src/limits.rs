//! Every bound the crate enforces on hostile WIT text and payloads.
//! docs/TYPED.md lists them; changing one is a documented compatibility change.

/// Largest WIT text accepted, in bytes.
pub const MAX_TEXT: usize = 256 * 1024;
/// Deepest bracket nesting (`<`, `(`, `{`) in the text, checked before parsing.
pub const MAX_TEXT_NESTING: usize = 64;
/// Deepest type nesting (`list<option<...>>`, through record fields too).
pub const MAX_TYPE_DEPTH: usize = 32;
/// Most named types in the interface.
pub const MAX_TYPES: usize = 512;
/// Most functions (the module ABI's method table limit).
pub const MAX_FUNCTIONS: usize = 1024;
/// Most events.
pub const MAX_EVENTS: usize = 256;
/// Most parameters of one function.
pub const MAX_PARAMS: usize = 32;
/// Most fields of a record or elements of a tuple.
pub const MAX_FIELDS: usize = 256;
/// Most cases of a variant or enum (so the discriminant is one or two bytes).
pub const MAX_CASES: usize = 1024;
/// Most flags of a `flags` type (wit-parser and the component model allow 32).
pub const MAX_FLAGS: usize = 32;
/// Longest name (a method name must fit the module ABI's 128 bytes).
pub const MAX_NAME: usize = 128;
/// Stack of the thread that runs wit-parser.
pub const PARSER_STACK: usize = 16 * 1024 * 1024;
/// Deepest value nesting the decoder follows (types are bounded by
/// [`MAX_TYPE_DEPTH`]; this also bounds recursion in encode and JSON).
pub const MAX_VALUE_DEPTH: usize = 64;
