//! The owned interface model: what one WIT package says about a module,
//! resolved with `wit-parser` and checked against bridgehost's subset and
//! limits. Every other part of bridgehost (core, CLI, codec, generators)
//! walks this model, never the WIT text.

use crate::error::{Error, Result};
use crate::limits;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use wit_parser as wp;

/// Index of a named type in [`Interface::types`].
pub type TypeIndex = usize;

/// A type as the wire codec sees it. Named types (records, variants, enums,
/// flags, resources, aliases) are referenced by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `s16`
    S16,
    /// `s32`
    S32,
    /// `s64`
    S64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char` (a Unicode scalar value)
    Char,
    /// `string` (UTF-8)
    String,
    /// `list<T>`; `list<u8>` is bytes.
    List(Box<Type>),
    /// `option<T>`
    Option(Box<Type>),
    /// `result<T, E>`; either side may be absent (`result`, `result<T>`, `result<_, E>`).
    Result {
        /// The ok payload, if any.
        ok: Option<Box<Type>>,
        /// The error payload, if any.
        err: Option<Box<Type>>,
    },
    /// `tuple<...>` (at least one element)
    Tuple(Vec<Type>),
    /// A named type of this interface.
    Named(TypeIndex),
    /// `own<R>` (or `R`): a handle the caller owns.
    Own(TypeIndex),
    /// `borrow<R>`: a handle lent for one call.
    Borrow(TypeIndex),
}

/// A record field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name (kebab-case, as in the WIT).
    pub name: String,
    /// Field type.
    pub ty: Type,
    /// Doc comment, if any.
    pub docs: Option<String>,
}

/// A variant case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Case name.
    pub name: String,
    /// Payload type, if any.
    pub ty: Option<Type>,
    /// Doc comment, if any.
    pub docs: Option<String>,
}

/// What a named type is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeDefKind {
    /// `record { ... }`: fields in order.
    Record(Vec<Field>),
    /// `variant { ... }`: cases in order; the discriminant is the index.
    Variant(Vec<Case>),
    /// `enum { ... }`: case names; the discriminant is the index.
    Enum(Vec<String>),
    /// `flags { ... }`: flag names; flag `i` is bit `i`.
    Flags(Vec<String>),
    /// `resource { ... }`: a module-side object reached through handles.
    Resource,
    /// `type name = T`.
    Alias(Type),
}

/// A named type of the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDef {
    /// Type name (kebab-case).
    pub name: String,
    /// Definition.
    pub kind: TypeDefKind,
    /// Doc comment, if any.
    pub docs: Option<String>,
}

/// How a function relates to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// A plain function.
    Freestanding,
    /// `constructor(...)` of the resource: returns `own<R>`.
    Constructor(TypeIndex),
    /// A method: the first parameter is `self: borrow<R>`.
    Method(TypeIndex),
    /// A static function of the resource.
    Static(TypeIndex),
}

/// A named parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name.
    pub name: String,
    /// Parameter type.
    pub ty: Type,
}

/// A function: one bridgehost method whose input is the parameters encoded
/// in order and whose output is the encoded result (empty when there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The method name in the module's method table: the WIT name for a plain
    /// function, `[constructor]R`, `[method]R.name` or `[static]R.name` for
    /// resource functions (wit-parser's names).
    pub name: String,
    /// Kind.
    pub kind: FunctionKind,
    /// Parameters in order (a method's first one is `self`).
    pub params: Vec<Param>,
    /// Result type, if any.
    pub result: Option<Type>,
    /// Doc comment, if any.
    pub docs: Option<String>,
}

/// An event the module may emit: its topic and payload type. Declared as a
/// function `topic: func(payload: T)` (or `func()` for an empty payload) in
/// the package's optional interface named `events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event topic.
    pub topic: String,
    /// Payload type, if any (no payload: the event data is empty).
    pub payload: Option<Type>,
    /// Doc comment, if any.
    pub docs: Option<String>,
}

/// A module's interface, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The package name, `namespace:name[@version]`.
    pub package: String,
    /// The interface name.
    pub name: String,
    /// The interface's doc comment, if any.
    pub docs: Option<String>,
    /// Named types, in definition order.
    pub types: Vec<TypeDef>,
    /// Functions (plain and resource), in definition order.
    pub functions: Vec<Function>,
    /// Events, in definition order.
    pub events: Vec<Event>,
    hash: [u8; 32],
    min_sizes: Vec<usize>,
    /// Per named type: whether a value of it holds an `own<R>` / a `borrow<R>`.
    handles: Vec<Handles>,
    source: String,
}

/// Which resource handles a value of a type can hold (through named types).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handles {
    /// An `own<R>` (or a bare `R`).
    pub own: bool,
    /// A `borrow<R>`.
    pub borrow: bool,
}

impl Handles {
    fn or(self, other: Handles) -> Handles {
        Handles {
            own: self.own || other.own,
            borrow: self.borrow || other.borrow,
        }
    }
}

/// The name of the optional second interface that declares events.
pub const EVENTS_INTERFACE: &str = "events";

/// First line of the canonical form (see [`Interface::canonical`]).
pub const CANONICAL_HEADER: &str = "bridgehost-interface canonical v1";

impl Interface {
    /// Parse and validate WIT text. The text is hostile input: its size, the
    /// nesting of its types and the number of its items are bounded, and every
    /// failure is a typed [`Error`] with the reason.
    pub fn parse(text: &str) -> Result<Interface> {
        if text.len() > limits::MAX_TEXT {
            return Err(Error::TooLarge(format!(
                "interface text is {} bytes, the limit is {}",
                text.len(),
                limits::MAX_TEXT
            )));
        }
        let resolve = parse_resolve(&prescan(text)?)?;
        let mut i = Builder::new(&resolve).build()?;
        i.source = text.to_string();
        Ok(i)
    }

    /// The WIT text this interface was parsed from (what a module embeds).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parse WIT given as bytes (checks UTF-8 first).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Interface> {
        if bytes.len() > limits::MAX_TEXT {
            return Err(Error::TooLarge(format!(
                "interface text is {} bytes, the limit is {}",
                bytes.len(),
                limits::MAX_TEXT
            )));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::Parse(format!("interface text is not valid UTF-8: {e}")))?;
        Interface::parse(text)
    }

    /// SHA-256 of [`Interface::canonical`]: stable across whitespace,
    /// comments, doc comments and the order of top-level items.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The hash as 64 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        crate::hex(&self.hash)
    }

    /// The method that drops a handle of resource `index`:
    /// `[resource-drop]<name>`, input the `u64` handle, empty output. Every
    /// resource of a module's interface needs one.
    pub fn drop_method(&self, index: TypeIndex) -> String {
        format!("[resource-drop]{}", self.types[index].name)
    }

    /// True when `method` is the `[resource-drop]R` of a resource this
    /// interface declares.
    pub fn is_drop_method(&self, method: &str) -> bool {
        method
            .strip_prefix("[resource-drop]")
            .is_some_and(|r| self.resources().any(|i| self.types[i].name == r))
    }

    /// Indexes of the resource types.
    pub fn resources(&self) -> impl Iterator<Item = TypeIndex> + '_ {
        self.types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == TypeDefKind::Resource)
            .map(|(i, _)| i)
    }

    /// The function named `name` (a method name).
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The event with topic `topic`.
    pub fn event(&self, topic: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.topic == topic)
    }

    /// The fewest bytes a value of named type `index` encodes to.
    pub fn named_min_size(&self, index: TypeIndex) -> usize {
        // 1 (the least any type takes) for an index this interface does not
        // know, e.g. a model edited after parsing: bounds stay conservative.
        self.min_sizes.get(index).copied().unwrap_or(1)
    }

    /// Which handles a value of `ty` can hold, anywhere inside it (through aliases, records,
    /// variants, lists, options, results and tuples). Named types are looked up in a table
    /// computed once when the interface was parsed, so this is linear in `ty` itself, never in
    /// the types it names (one rule for every generator: docs/TYPED.md "Resources (handles)").
    pub fn handles_in(&self, ty: &Type) -> Handles {
        match ty {
            Type::Own(_) => Handles {
                own: true,
                borrow: false,
            },
            Type::Borrow(_) => Handles {
                own: false,
                borrow: true,
            },
            Type::List(t) | Type::Option(t) => self.handles_in(t),
            Type::Result { ok, err } => [ok, err]
                .into_iter()
                .flatten()
                .fold(Handles::default(), |h, t| h.or(self.handles_in(t))),
            Type::Tuple(ts) => ts
                .iter()
                .fold(Handles::default(), |h, t| h.or(self.handles_in(t))),
            // An index this interface does not know (a model edited after parsing): none.
            Type::Named(i) => self.handles.get(*i).copied().unwrap_or_default(),
            _ => Handles::default(),
        }
    }

    /// The named type `index`.
    pub fn typedef(&self, index: TypeIndex) -> &TypeDef {
        &self.types[index]
    }

    /// Follow aliases: the type a value of `ty` really has on the wire.
    pub fn resolve<'a>(&'a self, mut ty: &'a Type) -> &'a Type {
        // Aliases form no cycles (wit-parser orders types topologically) and
        // their chain is bounded by the number of types.
        for _ in 0..=self.types.len() {
            match ty {
                Type::Named(i) => match &self.types[*i].kind {
                    TypeDefKind::Alias(t) => ty = t,
                    _ => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// The WIT spelling of a type (`list<point>`, `option<u32>`, ...).
    pub fn type_name(&self, ty: &Type) -> String {
        let mut s = String::new();
        self.write_type(&mut s, ty);
        s
    }

    fn write_type(&self, s: &mut String, ty: &Type) {
        let simple = match ty {
            Type::Bool => "bool",
            Type::S8 => "s8",
            Type::S16 => "s16",
            Type::S32 => "s32",
            Type::S64 => "s64",
            Type::U8 => "u8",
            Type::U16 => "u16",
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Char => "char",
            Type::String => "string",
            Type::List(t) => {
                s.push_str("list<");
                self.write_type(s, t);
                s.push('>');
                return;
            }
            Type::Option(t) => {
                s.push_str("option<");
                self.write_type(s, t);
                s.push('>');
                return;
            }
            Type::Result { ok, err } => {
                s.push_str("result");
                match (ok, err) {
                    (None, None) => {}
                    (Some(o), None) => {
                        s.push('<');
                        self.write_type(s, o);
                        s.push('>');
                    }
                    (o, Some(e)) => {
                        s.push('<');
                        match o {
                            Some(o) => self.write_type(s, o),
                            None => s.push('_'),
                        }
                        s.push_str(", ");
                        self.write_type(s, e);
                        s.push('>');
                    }
                }
                return;
            }
            Type::Tuple(ts) => {
                s.push_str("tuple<");
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    self.write_type(s, t);
                }
                s.push('>');
                return;
            }
            Type::Named(i) => {
                s.push_str(&self.types[*i].name);
                return;
            }
            Type::Own(i) => {
                s.push_str(&self.types[*i].name);
                return;
            }
            Type::Borrow(i) => {
                let _ = write!(s, "borrow<{}>", self.types[*i].name);
                return;
            }
        };
        s.push_str(simple);
    }

    fn write_typedef(&self, s: &mut String, t: &TypeDef) {
        match &t.kind {
            TypeDefKind::Record(fields) => {
                let _ = write!(s, "record {} {{ ", t.name);
                for f in fields {
                    let _ = write!(s, "{}: {}, ", f.name, self.type_name(&f.ty));
                }
                s.push('}');
            }
            TypeDefKind::Variant(cases) => {
                let _ = write!(s, "variant {} {{ ", t.name);
                for c in cases {
                    match &c.ty {
                        Some(ty) => {
                            let _ = write!(s, "{}({}), ", c.name, self.type_name(ty));
                        }
                        None => {
                            let _ = write!(s, "{}, ", c.name);
                        }
                    }
                }
                s.push('}');
            }
            TypeDefKind::Enum(cases) => {
                let _ = write!(s, "enum {} {{ {}, }}", t.name, cases.join(", "));
            }
            TypeDefKind::Flags(flags) => {
                let _ = write!(s, "flags {} {{ {}, }}", t.name, flags.join(", "));
            }
            TypeDefKind::Resource => {
                let _ = write!(s, "resource {}", t.name);
            }
            TypeDefKind::Alias(ty) => {
                let _ = write!(s, "type {} = {}", t.name, self.type_name(ty));
            }
        }
    }

    /// The signature of a function as one line (`name: func(a: u32) -> u32`).
    pub fn signature(&self, f: &Function) -> String {
        let mut s = format!("{}: func(", f.name);
        for (i, p) in f.params.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{}: {}", p.name, self.type_name(&p.ty));
        }
        s.push(')');
        if let Some(r) = &f.result {
            let _ = write!(s, " -> {}", self.type_name(r));
        }
        s
    }

    /// The canonical form the hash is computed over: a header line, then the
    /// package and interface names, then one line per type, function and
    /// event, each group sorted by name (bytewise). Doc comments, comments,
    /// whitespace and the order of top-level items do not appear in it;
    /// everything the wire format depends on (field, case and parameter
    /// order, every type) does, and so do all names.
    pub fn canonical(&self) -> String {
        let mut lines_t: Vec<String> = self
            .types
            .iter()
            .map(|t| {
                let mut s = String::new();
                self.write_typedef(&mut s, t);
                s
            })
            .collect();
        lines_t.sort();
        let mut lines_f: Vec<String> = self
            .functions
            .iter()
            .map(|f| format!("func {}", self.signature(f)))
            .collect();
        lines_f.sort();
        let mut lines_e: Vec<String> = self
            .events
            .iter()
            .map(|e| match &e.payload {
                Some(t) => format!("event {}({})", e.topic, self.type_name(t)),
                None => format!("event {}()", e.topic),
            })
            .collect();
        lines_e.sort();
        let mut out = format!(
            "{CANONICAL_HEADER}\npackage {}\ninterface {}\n",
            self.package, self.name
        );
        for l in lines_t.iter().chain(&lines_f).chain(&lines_e) {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// A readable listing (used by `bridgehost inspect`): the canonical
    /// items in definition order, with doc comments.
    pub fn render(&self) -> String {
        let mut out = format!("package {}\ninterface {} {{\n", self.package, self.name);
        let doc = |out: &mut String, d: &Option<String>| {
            if let Some(d) = d {
                for l in d.lines() {
                    let _ = writeln!(out, "  /// {l}");
                }
            }
        };
        for t in &self.types {
            doc(&mut out, &t.docs);
            out.push_str("  ");
            self.write_typedef(&mut out, t);
            out.push('\n');
        }
        for f in &self.functions {
            doc(&mut out, &f.docs);
            let _ = writeln!(out, "  {}", self.signature(f));
        }
        out.push_str("}\n");
        if !self.events.is_empty() {
            out.push_str("events {\n");
            for e in &self.events {
                doc(&mut out, &e.docs);
                match &e.payload {
                    Some(t) => {
                        let _ = writeln!(out, "  {}: {}", e.topic, self.type_name(t));
                    }
                    None => {
                        let _ = writeln!(out, "  {}: (no payload)", e.topic);
                    }
                }
            }
            out.push_str("}\n");
        }
        let _ = writeln!(out, "hash: {}", self.hash_hex());
        out
    }
}

/// Read the text once before wit-parser sees it, with wit-parser's own comment
/// rules (`//` to the end of the line; `/* */` nesting):
///
/// - bound the bracket nesting outside comments, so that a hostile
///   `list<list<list<...>>>` cannot drive a recursive parser deep;
/// - blank every top-level `/**/` (an empty block comment) to four spaces.
///   wit-parser 0.263 takes every comment before an item as its docs, and
///   strips a `/**` prefix and a `*/` suffix that overlap in `/**/`, which
///   panics (`ast/resolve.rs`, `docs`). Four spaces are the same tokens to the
///   parser (a comment is whitespace), keep every byte offset, and give the
///   item the same, empty, docs.
///
/// Returns the text to parse: borrowed unless a `/**/` was blanked.
fn prescan(text: &str) -> Result<Cow<'_, str>> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut empty_comments: Vec<usize> = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // Line comment: up to and including the newline.
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n + 1);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                if bytes.get(i + 2..i + 4) == Some(b"*/".as_slice()) {
                    empty_comments.push(i);
                }
                // Block comment, nested as wit-parser nests them. An
                // unterminated one runs to the end; wit-parser reports it.
                let mut nest = 1usize;
                let mut j = i + 2;
                while j < bytes.len() && nest > 0 {
                    match (bytes[j], bytes.get(j + 1)) {
                        (b'/', Some(b'*')) => {
                            nest += 1;
                            j += 2;
                        }
                        (b'*', Some(b'/')) => {
                            nest -= 1;
                            j += 2;
                        }
                        _ => j += 1,
                    }
                }
                i = j;
                continue;
            }
            b'<' | b'(' | b'{' => {
                depth += 1;
                if depth > limits::MAX_TEXT_NESTING {
                    return Err(Error::TooLarge(format!(
                        "brackets nested deeper than {} levels (at byte {i})",
                        limits::MAX_TEXT_NESTING
                    )));
                }
            }
            b'>' | b')' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    if empty_comments.is_empty() {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = text.as_bytes().to_vec();
    for at in empty_comments {
        out[at..at + 4].copy_from_slice(b"    ");
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|e| Error::Internal(format!("blanking empty comments broke UTF-8: {e}")))
}

/// A parse error rendered by wit-parser (message, `--> file:line:col`, the line with a marker),
/// made fit to show: the text may be a hostile module's, so control characters become U+FFFD,
/// and a rendering longer than [`MAX_SHOWN_ERROR`] (a huge line) keeps only the message and its
/// location.
fn shown_error(rendered: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_control() && c != '\n' {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect()
    };
    if rendered.len() <= MAX_SHOWN_ERROR {
        return clean(rendered);
    }
    let mut lines = rendered.lines();
    let message: String = lines.next().unwrap_or("").chars().take(200).collect();
    let at = lines
        .next()
        .map(str::trim)
        .filter(|l| l.starts_with("-->"))
        .map(|l| format!("\n{}", l.chars().take(80).collect::<String>()))
        .unwrap_or_default();
    clean(&format!("{message}{at}"))
}

/// The longest parse error shown whole (see [`shown_error`]).
const MAX_SHOWN_ERROR: usize = 1024;

fn parse_resolve(text: &str) -> Result<wp::Resolve> {
    let text = text.to_string();
    // wit-parser is not written for hostile input: run it on a thread with a
    // large stack (the text and its nesting are bounded above) and turn a
    // panic into an error rather than unwinding into the caller.
    let worker = std::thread::Builder::new()
        .name("bridgehost-wit".into())
        .stack_size(limits::PARSER_STACK)
        .spawn(move || {
            std::panic::catch_unwind(move || {
                let mut resolve = wp::Resolve::default();
                match resolve.push_source("interface.wit", &text) {
                    Ok(_) => Ok(resolve),
                    // With the line and column (and the line itself) where wit-parser has them.
                    Err(e) => Err(if let Some(p) = e.downcast_ref::<wp::ParseError>() {
                        shown_error(&p.render(&resolve.source_map))
                    } else if let Some(r) = e.downcast_ref::<wp::ResolveError>() {
                        shown_error(&r.render(&resolve.source_map))
                    } else {
                        format!("{e:#}")
                    }),
                }
            })
        })
        .map_err(|e| Error::Internal(format!("cannot start the WIT parser thread: {e}")))?;
    match worker.join() {
        Ok(Ok(Ok(r))) => Ok(r),
        Ok(Ok(Err(msg))) => Err(Error::Parse(msg)),
        Ok(Err(_)) | Err(_) => Err(Error::Parse(
            "the WIT parser failed on this text (it panicked)".into(),
        )),
    }
}

fn docs(d: &wp::Docs) -> Option<String> {
    d.contents.clone()
}

struct Builder<'a> {
    r: &'a wp::Resolve,
    events: Option<wp::InterfaceId>,
    index: HashMap<wp::TypeId, TypeIndex>,
    types: Vec<TypeDef>,
}

impl<'a> Builder<'a> {
    fn new(r: &'a wp::Resolve) -> Self {
        Builder {
            r,
            events: None,
            index: HashMap::new(),
            types: Vec::new(),
        }
    }

    fn build(mut self) -> Result<Interface> {
        let r = self.r;
        if r.packages.len() != 1 {
            return Err(Error::Unsupported(format!(
                "the WIT text must hold exactly one package (it holds {})",
                r.packages.len()
            )));
        }
        let (_, pkg) = r.packages.iter().next().expect("one package");
        if !pkg.worlds.is_empty() {
            return Err(Error::Unsupported(format!(
                "worlds are not supported (found world {:?}): a module's interface is one `interface`",
                pkg.worlds.keys().next().map(String::as_str).unwrap_or("")
            )));
        }
        let mut main = None;
        for (name, id) in &pkg.interfaces {
            if name == EVENTS_INTERFACE {
                self.events = Some(*id);
            } else if main.is_none() {
                main = Some(*id);
            } else {
                return Err(Error::Unsupported(format!(
                    "more than one interface ({:?} and {name:?}): a module has one interface, plus optionally one named {EVENTS_INTERFACE:?}",
                    r.interfaces[main.expect("set")].name.as_deref().unwrap_or("")
                )));
            }
        }
        let Some(main) = main else {
            return Err(Error::Unsupported(
                "the package declares no interface (other than events)".into(),
            ));
        };
        let iface = &r.interfaces[main];
        if iface.types.len() > limits::MAX_TYPES {
            return Err(Error::TooLarge(format!(
                "{} named types, the limit is {}",
                iface.types.len(),
                limits::MAX_TYPES
            )));
        }
        if iface.functions.len() > limits::MAX_FUNCTIONS {
            return Err(Error::TooLarge(format!(
                "{} functions, the limit is {}",
                iface.functions.len(),
                limits::MAX_FUNCTIONS
            )));
        }
        // Named types in definition order. A type's definition refers only
        // to types before it, but reserve every index first so a reference
        // resolves whatever the order.
        for (name, id) in &iface.types {
            check_name("type", name)?;
            let i = self.types.len();
            self.index.insert(*id, i);
            self.types.push(TypeDef {
                name: name.clone(),
                kind: TypeDefKind::Resource,
                docs: docs(&r.types[*id].docs),
            });
        }
        for (name, id) in &iface.types {
            let def = &r.types[*id];
            let kind = self.typedef_kind(name, def)?;
            let i = self.index[id];
            self.types[i].kind = kind;
        }
        let mut functions = Vec::with_capacity(iface.functions.len());
        for (name, f) in &iface.functions {
            functions.push(self.function(name, f)?);
        }
        let mut events = Vec::new();
        if let Some(ev) = self.events {
            let evi = &r.interfaces[ev];
            if evi.functions.len() > limits::MAX_EVENTS {
                return Err(Error::TooLarge(format!(
                    "{} events, the limit is {}",
                    evi.functions.len(),
                    limits::MAX_EVENTS
                )));
            }
            for (name, id) in &evi.types {
                // Only `use iface.{t}` imports are allowed here.
                match &r.types[*id].kind {
                    wp::TypeDefKind::Type(wp::Type::Id(target))
                        if r.types[*target].owner == wp::TypeOwner::Interface(main) => {}
                    _ => {
                        return Err(Error::Unsupported(format!(
                            "interface {EVENTS_INTERFACE:?} defines type {name:?}: define payload types in the main interface and `use` them"
                        )))
                    }
                }
            }
            for (name, f) in &evi.functions {
                check_name("event", name)?;
                if f.kind != wp::FunctionKind::Freestanding
                    || f.result.is_some()
                    || f.params.len() > 1
                {
                    return Err(Error::Unsupported(format!(
                        "event {name:?} must be declared as `{name}: func(payload: T);` or `{name}: func();`"
                    )));
                }
                let payload = match f.params.first() {
                    Some(p) => Some(self.ty(&p.ty, 0)?),
                    None => None,
                };
                events.push(Event {
                    topic: name.clone(),
                    payload,
                    docs: docs(&f.docs),
                });
            }
        }
        let mut interface = Interface {
            package: pkg.name.to_string(),
            name: iface.name.clone().unwrap_or_default(),
            docs: docs(&iface.docs),
            types: self.types,
            functions,
            events,
            hash: [0; 32],
            min_sizes: Vec::new(),
            handles: Vec::new(),
            source: String::new(),
        };
        compute_tables(&mut interface)?;
        interface.hash = Sha256::digest(interface.canonical().as_bytes()).into();
        Ok(interface)
    }

    fn typedef_kind(&mut self, name: &str, def: &wp::TypeDef) -> Result<TypeDefKind> {
        let count = |what: &str, n: usize, max: usize| -> Result<()> {
            if n > max {
                return Err(Error::TooLarge(format!(
                    "{what} {name:?} has {n} entries, the limit is {max}"
                )));
            }
            if n == 0 {
                return Err(Error::Unsupported(format!("{what} {name:?} is empty")));
            }
            Ok(())
        };
        Ok(match &def.kind {
            wp::TypeDefKind::Record(rec) => {
                count("record", rec.fields.len(), limits::MAX_FIELDS)?;
                let mut fields = Vec::with_capacity(rec.fields.len());
                for f in &rec.fields {
                    check_name("field", &f.name)?;
                    fields.push(Field {
                        name: f.name.clone(),
                        ty: self.ty(&f.ty, 1)?,
                        docs: docs(&f.docs),
                    });
                }
                TypeDefKind::Record(fields)
            }
            wp::TypeDefKind::Variant(v) => {
                count("variant", v.cases.len(), limits::MAX_CASES)?;
                let mut cases = Vec::with_capacity(v.cases.len());
                for c in &v.cases {
                    check_name("case", &c.name)?;
                    cases.push(Case {
                        name: c.name.clone(),
                        ty: match &c.ty {
                            Some(t) => Some(self.ty(t, 1)?),
                            None => None,
                        },
                        docs: docs(&c.docs),
                    });
                }
                TypeDefKind::Variant(cases)
            }
            wp::TypeDefKind::Enum(e) => {
                count("enum", e.cases.len(), limits::MAX_CASES)?;
                for c in &e.cases {
                    check_name("case", &c.name)?;
                }
                TypeDefKind::Enum(e.cases.iter().map(|c| c.name.clone()).collect())
            }
            wp::TypeDefKind::Flags(f) => {
                count("flags", f.flags.len(), limits::MAX_FLAGS)?;
                for c in &f.flags {
                    check_name("flag", &c.name)?;
                }
                TypeDefKind::Flags(f.flags.iter().map(|c| c.name.clone()).collect())
            }
            wp::TypeDefKind::Resource => TypeDefKind::Resource,
            wp::TypeDefKind::Type(t) => TypeDefKind::Alias(self.ty(t, 0)?),
            other => TypeDefKind::Alias(self.anonymous(other, 0)?),
        })
    }

    fn function(&mut self, name: &str, f: &wp::Function) -> Result<Function> {
        check_name("function", name)?;
        if name.len() > limits::MAX_NAME {
            return Err(Error::TooLarge(format!(
                "function name {name:?} is longer than {} bytes",
                limits::MAX_NAME
            )));
        }
        let res = |id: &wp::TypeId| -> Result<TypeIndex> {
            self.index.get(id).copied().ok_or_else(|| {
                Error::Unsupported(format!("function {name:?} belongs to a foreign resource"))
            })
        };
        let kind = match &f.kind {
            wp::FunctionKind::Freestanding => FunctionKind::Freestanding,
            wp::FunctionKind::Constructor(id) => FunctionKind::Constructor(res(id)?),
            wp::FunctionKind::Method(id) => FunctionKind::Method(res(id)?),
            wp::FunctionKind::Static(id) => FunctionKind::Static(res(id)?),
            _ => {
                return Err(Error::Unsupported(format!(
                    "function {name:?}: async functions, getters and setters are not supported"
                )))
            }
        };
        if f.params.len() > limits::MAX_PARAMS {
            return Err(Error::TooLarge(format!(
                "function {name:?} has {} parameters, the limit is {}",
                f.params.len(),
                limits::MAX_PARAMS
            )));
        }
        let mut params = Vec::with_capacity(f.params.len());
        for p in &f.params {
            params.push(Param {
                name: p.name.clone(),
                ty: self
                    .ty(&p.ty, 0)
                    .map_err(|e| e.context(&format!("function {name:?}")))?,
            });
        }
        let result = match &f.result {
            Some(t) => Some(
                self.ty(t, 0)
                    .map_err(|e| e.context(&format!("function {name:?}")))?,
            ),
            None => None,
        };
        Ok(Function {
            name: name.to_string(),
            kind,
            params,
            result,
            docs: docs(&f.docs),
        })
    }

    fn ty(&mut self, t: &wp::Type, depth: usize) -> Result<Type> {
        if depth > limits::MAX_TYPE_DEPTH {
            return Err(Error::TooLarge(format!(
                "types nested deeper than {} levels",
                limits::MAX_TYPE_DEPTH
            )));
        }
        Ok(match t {
            wp::Type::Bool => Type::Bool,
            wp::Type::U8 => Type::U8,
            wp::Type::U16 => Type::U16,
            wp::Type::U32 => Type::U32,
            wp::Type::U64 => Type::U64,
            wp::Type::S8 => Type::S8,
            wp::Type::S16 => Type::S16,
            wp::Type::S32 => Type::S32,
            wp::Type::S64 => Type::S64,
            wp::Type::F32 => Type::F32,
            wp::Type::F64 => Type::F64,
            wp::Type::Char => Type::Char,
            wp::Type::String => Type::String,
            wp::Type::ErrorContext => {
                return Err(Error::Unsupported("error-context is not supported".into()))
            }
            wp::Type::Id(id) => {
                if let Some(i) = self.index.get(id) {
                    return Ok(Type::Named(*i));
                }
                let def = &self.r.types[*id];
                if def.name.is_some() {
                    // A `use`d alias in the events interface: follow it.
                    if let wp::TypeDefKind::Type(inner) = &def.kind {
                        return self.ty(inner, depth + 1);
                    }
                    return Err(Error::Unsupported(format!(
                        "type {:?} is not defined in the module's interface",
                        def.name.as_deref().unwrap_or("")
                    )));
                }
                self.anonymous(&def.kind, depth)?
            }
        })
    }

    fn anonymous(&mut self, kind: &wp::TypeDefKind, depth: usize) -> Result<Type> {
        let d = depth + 1;
        let handle = |b: &Self, id: &wp::TypeId, what: &str| -> Result<TypeIndex> {
            // wit-parser may route the handle through a `use` alias.
            let mut id = *id;
            for _ in 0..=b.r.types.len() {
                if let Some(i) = b.index.get(&id) {
                    if b.types[*i].kind == TypeDefKind::Resource || b.is_resource(id) {
                        return Ok(*i);
                    }
                }
                match &b.r.types[id].kind {
                    wp::TypeDefKind::Type(wp::Type::Id(next)) => id = *next,
                    _ => break,
                }
            }
            Err(Error::Unsupported(format!(
                "{what}<...> of a resource that is not defined in the module's interface"
            )))
        };
        Ok(match kind {
            wp::TypeDefKind::List(t) => Type::List(Box::new(self.ty(t, d)?)),
            wp::TypeDefKind::Option(t) => Type::Option(Box::new(self.ty(t, d)?)),
            wp::TypeDefKind::Result(r) => Type::Result {
                ok: match &r.ok {
                    Some(t) => Some(Box::new(self.ty(t, d)?)),
                    None => None,
                },
                err: match &r.err {
                    Some(t) => Some(Box::new(self.ty(t, d)?)),
                    None => None,
                },
            },
            wp::TypeDefKind::Tuple(t) => {
                if t.types.is_empty() {
                    return Err(Error::Unsupported("empty tuples are not supported".into()));
                }
                if t.types.len() > limits::MAX_FIELDS {
                    return Err(Error::TooLarge(format!(
                        "a tuple has {} elements, the limit is {}",
                        t.types.len(),
                        limits::MAX_FIELDS
                    )));
                }
                let mut v = Vec::with_capacity(t.types.len());
                for t in &t.types {
                    v.push(self.ty(t, d)?);
                }
                Type::Tuple(v)
            }
            wp::TypeDefKind::Handle(wp::Handle::Own(id)) => Type::Own(handle(self, id, "own")?),
            wp::TypeDefKind::Handle(wp::Handle::Borrow(id)) => {
                Type::Borrow(handle(self, id, "borrow")?)
            }
            wp::TypeDefKind::Type(t) => self.ty(t, d)?,
            other => {
                return Err(Error::Unsupported(format!(
                    "{} types are not supported",
                    other.as_str()
                )))
            }
        })
    }

    fn is_resource(&self, id: wp::TypeId) -> bool {
        matches!(self.r.types[id].kind, wp::TypeDefKind::Resource)
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > limits::MAX_NAME {
        return Err(Error::TooLarge(format!(
            "{what} name of {} bytes: names are 1..={} bytes",
            name.len(),
            limits::MAX_NAME
        )));
    }
    Ok(())
}

/// Nesting depth of a type, named types included (memoized per named type;
/// refused beyond [`limits::MAX_TYPE_DEPTH`], which also bounds this
/// recursion).
fn depth(i: &Interface, ty: &Type, memo: &mut [Option<usize>], level: usize) -> Result<usize> {
    if level > limits::MAX_TYPE_DEPTH {
        return Err(Error::TooLarge(format!(
            "types nested deeper than {} levels",
            limits::MAX_TYPE_DEPTH
        )));
    }
    let l = level + 1;
    Ok(match ty {
        Type::List(t) | Type::Option(t) => 1 + depth(i, t, memo, l)?,
        Type::Result { ok, err } => {
            let mut m = 0;
            for t in [ok, err].into_iter().flatten() {
                m = m.max(depth(i, t, memo, l)?);
            }
            1 + m
        }
        Type::Tuple(ts) => {
            let mut m = 0;
            for t in ts {
                m = m.max(depth(i, t, memo, l)?);
            }
            1 + m
        }
        Type::Named(n) => {
            if let Some(d) = memo[*n] {
                return Ok(d);
            }
            let d = match &i.types[*n].kind {
                TypeDefKind::Record(fields) => {
                    let mut m = 0;
                    for f in fields {
                        m = m.max(depth(i, &f.ty, memo, l)?);
                    }
                    1 + m
                }
                TypeDefKind::Variant(cases) => {
                    let mut m = 0;
                    for t in cases.iter().filter_map(|c| c.ty.as_ref()) {
                        m = m.max(depth(i, t, memo, l)?);
                    }
                    1 + m
                }
                // An alias counts as a level, so it sorts after its target below.
                TypeDefKind::Alias(t) => 1 + depth(i, t, memo, l)?,
                _ => 1,
            };
            if d > limits::MAX_TYPE_DEPTH {
                return Err(Error::TooLarge(format!(
                    "type {:?} is nested {d} levels deep, the limit is {}",
                    i.types[*n].name,
                    limits::MAX_TYPE_DEPTH
                )));
            }
            memo[*n] = Some(d);
            d
        }
        _ => 1,
    })
}

/// Check the nesting depth of every type and compute the min encoded size
/// of every named type (in order of depth, so every type a definition
/// refers to is computed before it).
fn compute_tables(i: &mut Interface) -> Result<()> {
    let n = i.types.len();
    let mut memo = vec![None; n];
    for k in 0..n {
        depth(i, &Type::Named(k), &mut memo, 0)
            .map_err(|e| e.context(&format!("type {:?}", i.types[k].name)))?;
    }
    let mut check = |ty: &Type, what: &str| -> Result<()> {
        let d = depth(i, ty, &mut memo, 0).map_err(|e| e.context(what))?;
        if d > limits::MAX_TYPE_DEPTH {
            return Err(Error::TooLarge(format!(
                "{what}: a type nested {d} levels deep, the limit is {}",
                limits::MAX_TYPE_DEPTH
            )));
        }
        Ok(())
    };
    for f in &i.functions {
        for p in &f.params {
            check(&p.ty, &f.name)?;
        }
        if let Some(r) = &f.result {
            check(r, &f.name)?;
        }
    }
    for e in &i.events {
        if let Some(t) = &e.payload {
            check(t, &e.topic)?;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|k| memo[*k].unwrap_or(0));
    i.min_sizes = vec![0; n];
    i.handles = vec![Handles::default(); n];
    for k in order {
        let m = crate::wire::typedef_min_size(i, &i.types[k].kind);
        if m == 0 {
            return Err(Error::Unsupported(format!(
                "type {:?} has an empty encoding",
                i.types[k].name
            )));
        }
        i.min_sizes[k] = m;
        // Every type this one refers to comes earlier in this order.
        i.handles[k] = match &i.types[k].kind {
            TypeDefKind::Resource => Handles {
                own: true,
                borrow: false,
            },
            TypeDefKind::Alias(t) => i.handles_in(t),
            TypeDefKind::Record(fields) => fields
                .iter()
                .fold(Handles::default(), |h, f| h.or(i.handles_in(&f.ty))),
            TypeDefKind::Variant(cases) => cases
                .iter()
                .filter_map(|c| c.ty.as_ref())
                .fold(Handles::default(), |h, t| h.or(i.handles_in(t))),
            TypeDefKind::Enum(_) | TypeDefKind::Flags(_) => Handles::default(),
        };
    }
    Ok(())
}
