//! `bridgehost bindgen --lang rust`: the module author's side (docs/TYPED.md, "Rust: module-side
//! bindings"). One Rust file per interface, a module of a crate built on
//! `bridgehost-module-sdk`:
//!
//! * the WIT's types as Rust types: records → structs with `pub` fields, variants → enums with
//!   one tuple case per payload, enums → fieldless enums, flags → a newtype over the smallest
//!   unsigned integer with one associated constant per flag, aliases → `type` aliases, and the
//!   builtins as `bool`, `i8`..`u64`, `f32`/`f64`, `char`, `String`, `Vec<T>`, `Option<T>`,
//!   `Result<T, E>` (`()` for a missing side) and tuples; each implements the SDK's
//!   `wire::Wire`;
//! * a trait named after the interface with one method per WIT function, taking `&self` (the
//!   instance, which holds its `Host` for events and logs); a `string` or `list<u8>` parameter
//!   is borrowed from the call's input (`&str`, `&[u8]`), everything else is owned;
//! * one entry function per WIT function with the SDK's method signature, for
//!   `export_module!`'s `methods:` (`("add", NONBLOCKING, std_wit::add::<Std>)`), and
//!   `dispatch` (by method name): decode the input as hostile bytes with `wire::Reader`
//!   (every failure is module error 22 naming the method and the parameter), call the trait
//!   method, encode the result into the call's output with `wire::Writer`;
//! * per direct-eligible function (docs/TYPED.md, "Direct calls": plain, every parameter and the
//!   result a scalar), a direct entry `<name>_direct(module, &[u64; N], &mut u64)` for the
//!   fourth element of the method's tuple in `export_module!`: the arguments as 64-bit slots
//!   (`bridgehost_module_sdk::direct`), the same trait method, the result as a slot;
//! * `WIT` (the text, for `export_module!`'s `interface:`) and `HASH`;
//! * per resource `R` (docs/TYPED.md, "Resources (handles)"): an associated type of the
//!   interface's trait (the author's type), a trait `RResource<M>` for it (constructor `new`,
//!   `&self` methods, static functions, each given the instance), a field of `Tables` (the
//!   SDK's `resource::Table`), and entry functions for its functions and `[resource-drop]R`.
//!   A `borrow<R>` direct parameter is looked up in the table and lent as `&R`; the `own<R>`
//!   values of a result are moved into the table through a per-call `Batches` that removes
//!   them again if the result does not reach the caller. Records and variants holding handles
//!   are generic over the module, with a private wire twin (`...Wire`, handles as `u64`).
//!
//! * per event of the `events` interface, `emit_<topic>(host, payload)`: the payload encoded with
//!   `wire::Writer` into a buffer and emitted through the SDK's `Host::emit_with` (any thread,
//!   never blocking, like `Host::emit`); no payload parameter for an event without one.
//!
//! The codec is the SDK's `wire` module, shared by every generated file; the generated code only
//! spells out field and case order. `own<R>` parameters, `borrow<R>` inside other types and
//! handles in event payloads are refused with the reason.

use super::{pascal, unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use crate::scalar::ScalarSignature;
use crate::wire::{discriminant_size, flags_size, min_size};
use std::fmt::Write as _;

const LANG: &str = "rust";

/// Rust's strict, reserved and weak keywords: an identifier equal to one gets a `_`.
const KEYWORDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "union",
    "macro_rules",
    "raw",
    "safe",
];

/// Type names the generated file uses: a WIT type named like one gets a `_`.
const RESERVED_TYPES: &[&str] = &[
    "Option",
    "Result",
    "String",
    "Vec",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Self",
    "Send",
    "Sync",
    "Sized",
    "M",
    "Reader",
    "Writer",
    "Wire",
    "DecodeError",
    "ModuleError",
    "Output",
    "WriteError",
    "WIT",
    "HASH",
];

/// The doc lines of a record or variant that holds handles.
const GENERIC_DOC: &str = "///\n/// It holds resources, so it is generic over the module `M` (and derives nothing): the\n/// objects of a value returned to the caller are moved into the instance's tables.";

/// Function names the generated file defines itself.
const RESERVED_FUNCTIONS: &[&str] = &["dispatch"];

/// A snake-case identifier (`interval-ms` → `interval_ms`; a keyword gets a `_`).
fn snake(name: &str) -> String {
    let n = name.replace('-', "_");
    if KEYWORDS.contains(&n.as_str()) {
        n + "_"
    } else {
        n
    }
}

fn type_name(name: &str) -> String {
    let p = pascal(name);
    if RESERVED_TYPES.contains(&p.as_str()) || KEYWORDS.contains(&p.as_str()) {
        p + "_"
    } else {
        p
    }
}

/// A variant or enum case: only a keyword (`self` → `Self_`) needs escaping, the case is
/// always named through its type (`Shape::None`).
fn case_name(name: &str) -> String {
    let p = pascal(name);
    if KEYWORDS.contains(&p.as_str()) {
        p + "_"
    } else {
        p
    }
}

/// A flag's constant: `UPPER_SNAKE`; `EMPTY` and `ALL`, which every flags type defines, get a `_`.
fn flag_name(name: &str) -> String {
    let n = upper_snake(name);
    if n == "EMPTY" || n == "ALL" {
        n + "_"
    } else {
        n
    }
}

fn fn_name(name: &str) -> String {
    let s = snake(name);
    if RESERVED_FUNCTIONS.contains(&s.as_str()) {
        s + "_"
    } else {
        s
    }
}

/// A Rust string literal (Debug of `str` escapes `"`, `\` and control characters as Rust does).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// `///` lines at `indent` for a WIT doc comment (or `fallback`). Leading whitespace is trimmed
/// and code fences are broken up, so a doc comment never becomes a doctest; a bare CR (which a
/// doc comment may not hold) becomes a space.
fn docs(o: &mut String, docs: &Option<String>, fallback: &str, indent: &str) {
    let d = docs.as_deref().map(str::trim).unwrap_or("");
    let d = if d.is_empty() { fallback } else { d };
    for line in d.lines() {
        let line = line
            .trim()
            .replace("```", "'''")
            .replace("~~~", "---")
            .replace('\r', " ");
        if line.is_empty() {
            let _ = writeln!(o, "{indent}///");
        } else {
            let _ = writeln!(o, "{indent}/// {line}");
        }
    }
}

/// Refuse two WIT names that map to one Rust name.
fn distinct<'a>(what: &str, names: impl Iterator<Item = (&'a str, String)>) -> Result<()> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (wit, rust) in names {
        if let Some((other, _)) = seen.iter().find(|(_, r)| *r == rust) {
            return Err(unsupported(
                LANG,
                format!("{what} {other:?} and {wit:?} both map to the Rust name {rust}"),
            ));
        }
        seen.push((wit, rust));
    }
    Ok(())
}

/// How `own<R>` and `borrow<R>` are spelled where a type is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// The definition of a named type that holds no handle.
    Plain,
    /// The interface trait: `Self::R`.
    Iface,
    /// The trait of resource `R`: `Self` for `R`, `M::R2` for another.
    Resource(TypeIndex),
    /// A named type holding handles, generic over the module `M`: `M::R`.
    Generic,
    /// The type that goes on the wire after the objects moved into the tables: a handle is its
    /// `u64`, a record or variant holding handles its private `...Wire` twin.
    Wire,
}

/// A resource and its Rust names.
struct Res {
    index: TypeIndex,
    /// WIT name.
    wit: String,
    /// The associated type of the interface trait (`Counter`).
    assoc: String,
    /// The resource's trait (`CounterResource`).
    trait_name: String,
    /// The field of `Tables` and the entry functions' prefix (`counter`).
    field: String,
}

struct Gen<'a> {
    i: &'a Interface,
    trait_name: String,
    /// Per named type: whether a value of it can hold a handle.
    handles: Vec<bool>,
    res: Vec<Res>,
}

/// The resource a handle type names: `own<R>`, `borrow<R>` (or a resource named directly).
fn handle_of(i: &Interface, t: &Type) -> Option<(TypeIndex, bool)> {
    match t {
        Type::Own(r) => Some((*r, false)),
        Type::Borrow(r) => Some((*r, true)),
        Type::Named(r) if i.typedef(*r).kind == TypeDefKind::Resource => Some((*r, false)),
        _ => None,
    }
}

impl Gen<'_> {
    fn res(&self, index: TypeIndex) -> &Res {
        self.res
            .iter()
            .find(|r| r.index == index)
            .expect("every resource has its names")
    }

    /// Whether a value of `t` can hold a handle (the model's table, [`Interface::handles_in`]).
    fn has_handles(&self, t: &Type) -> bool {
        let h = self.i.handles_in(t);
        h.own || h.borrow
    }

    /// The Rust type of a WIT type (owned) in a named type's definition.
    fn ty(&self, t: &Type) -> Result<String> {
        self.ty_in(t, Ctx::Plain)
    }

    /// The Rust type of a WIT type (owned); `own<R>` is the author's type for `R`.
    fn ty_in(&self, t: &Type, ctx: Ctx) -> Result<String> {
        if let Some((r, borrow)) = handle_of(self.i, t) {
            let assoc = &self.res(r).assoc;
            let name = match ctx {
                Ctx::Wire => return Ok("u64".into()),
                Ctx::Plain => {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "a handle ({}) inside a named type's definition",
                            self.i.type_name(t)
                        ),
                    ))
                }
                Ctx::Iface => format!("Self::{assoc}"),
                Ctx::Resource(own) if own == r => "Self".into(),
                Ctx::Resource(_) | Ctx::Generic => format!("M::{assoc}"),
            };
            return Ok(if borrow { format!("&{name}") } else { name });
        }
        Ok(match t {
            Type::Bool => "bool".into(),
            Type::S8 => "i8".into(),
            Type::S16 => "i16".into(),
            Type::S32 => "i32".into(),
            Type::S64 => "i64".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "String".into(),
            Type::List(e) => format!("Vec<{}>", self.ty_in(e, ctx)?),
            Type::Option(e) => format!("Option<{}>", self.ty_in(e, ctx)?),
            Type::Result { ok, err } => {
                let side = |s: &Option<Box<Type>>| -> Result<String> {
                    s.as_deref().map_or(Ok("()".into()), |t| self.ty_in(t, ctx))
                };
                format!("Result<{}, {}>", side(ok)?, side(err)?)
            }
            Type::Tuple(ts) => {
                if ts.len() > 12 {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "a tuple of {} elements (Rust bindings map tuples of at most 12)",
                            ts.len()
                        ),
                    ));
                }
                let parts = ts
                    .iter()
                    .map(|t| self.ty_in(t, ctx))
                    .collect::<Result<Vec<_>>>()?;
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Type::Named(ix) => {
                let td = self.i.typedef(*ix);
                match &td.kind {
                    // An alias of a type holding handles has no Rust alias (it would need the
                    // module type): it is spelled out where it is used.
                    TypeDefKind::Alias(inner) if self.handles[*ix] => self.ty_in(inner, ctx)?,
                    // A record or variant holding handles is generic over the module.
                    _ if self.handles[*ix] => {
                        let n = type_name(&td.name);
                        match ctx {
                            Ctx::Iface => format!("{n}<Self>"),
                            Ctx::Resource(_) | Ctx::Generic => format!("{n}<M>"),
                            Ctx::Wire => format!("{n}Wire"),
                            Ctx::Plain => {
                                return Err(unsupported(
                                    LANG,
                                    format!("type {} holds a handle", td.name),
                                ))
                            }
                        }
                    }
                    _ => type_name(&td.name),
                }
            }
            Type::Own(_) | Type::Borrow(_) => unreachable!("handled above"),
        })
    }

    /// A parameter's Rust type and the expression that reads it from `r`: `string` and
    /// `list<u8>` are borrowed from the input; a `borrow<R>` is read as its `u64` handle.
    fn param(&self, t: &Type, ctx: Ctx) -> Result<(String, &'static str)> {
        let t = self.i.resolve(t);
        Ok(match t {
            Type::String => ("&str".into(), "r.str()"),
            Type::List(e) if **e == Type::U8 => ("&[u8]".into(), "r.bytes()"),
            _ if handle_of(self.i, t).is_some() => (self.ty_in(t, ctx)?, "r.read::<u64>()"),
            _ => (self.ty_in(t, ctx)?, "r.read()"),
        })
    }

    /// Refuse what the generator does not map, with the reason: `own<R>` in a parameter,
    /// `borrow<R>` anywhere but as a direct parameter, handles in event payloads.
    fn check_handles(&self) -> Result<()> {
        // In definition order: a type that refers to an earlier one holding a borrow is never
        // reached (the earlier one is refused first, naming itself).
        for td in &self.i.types {
            let inner: Vec<&Type> = match &td.kind {
                TypeDefKind::Record(fields) => fields.iter().map(|f| &f.ty).collect(),
                TypeDefKind::Variant(cases) => cases.iter().filter_map(|c| c.ty.as_ref()).collect(),
                TypeDefKind::Alias(t) => vec![t],
                _ => Vec::new(),
            };
            if inner.iter().any(|t| self.has_borrow(t)) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "type {} holds a borrow<R>: a borrowed handle is only mapped as a direct \
                         parameter",
                        td.name
                    ),
                ));
            }
        }
        for f in &self.i.functions {
            for p in &f.params {
                let t = self.i.resolve(&p.ty);
                match handle_of(self.i, t) {
                    Some((_, true)) => {}
                    Some((r, false)) => {
                        return Err(unsupported(
                            LANG,
                            format!(
                                "function {}: parameter {} is own<{}>: passing ownership into the \
                                 module is not mapped (take borrow<{}> and drop the handle)",
                                f.name,
                                p.name,
                                self.i.typedef(r).name,
                                self.i.typedef(r).name
                            ),
                        ))
                    }
                    None if self.has_handles(t) => {
                        return Err(unsupported(
                            LANG,
                            format!(
                            "function {}: parameter {} ({}) holds a handle inside another type: \
                                 only a direct borrow<R> parameter is mapped",
                            f.name,
                            p.name,
                            self.i.type_name(&p.ty)
                        ),
                        ))
                    }
                    None => {}
                }
            }
            if let Some(t) = &f.result {
                if self.has_borrow(t) {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {}: its result ({}) holds a borrow<R>: a borrowed handle \
                             is only mapped as a direct parameter",
                            f.name,
                            self.i.type_name(t)
                        ),
                    ));
                }
            }
        }
        for e in &self.i.events {
            if e.payload.as_ref().is_some_and(|t| self.has_handles(t)) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "event {}: resource handles in event payloads are not mapped",
                        e.topic
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether a value of `t` can hold a `borrow<R>`.
    fn has_borrow(&self, t: &Type) -> bool {
        self.i.handles_in(t).borrow
    }

    /// An expression turning `expr` (an owned value of `t`, as the author returned it) into
    /// its wire form ([`Ctx::Wire`]): every `own<R>` moved into the table through the call's
    /// `Batches` `g` and replaced by its handle; `?` leaves the function when a table is full.
    fn lower_owned(&self, t: &Type, expr: &str, depth: usize, ind: &str) -> String {
        if !self.has_handles(t) {
            return expr.to_string();
        }
        if let Some((r, _)) = handle_of(self.i, t) {
            return format!("g.{}.insert({expr})?", self.res(r).field);
        }
        let x = format!("x{depth}");
        match t {
            Type::Option(e) => format!(
                "match {expr} {{ Some({x}) => Some({}), None => None }}",
                self.lower_owned(e, &x, depth + 1, ind)
            ),
            Type::Result { ok, err } => {
                let side = |s: &Option<Box<Type>>| match s.as_deref() {
                    Some(t) => self.lower_owned(t, &x, depth + 1, ind),
                    None => x.clone(),
                };
                format!(
                    "match {expr} {{ Ok({x}) => Ok({}), Err({x}) => Err({}) }}",
                    side(ok),
                    side(err)
                )
            }
            Type::List(e) => format!(
                "{{\n{ind}    let mut v{depth} = Vec::with_capacity({expr}.len());\n{ind}    for {x} in {expr} {{\n{ind}        v{depth}.push({});\n{ind}    }}\n{ind}    v{depth}\n{ind}}}",
                self.lower_owned(e, &x, depth + 1, &format!("{ind}        "))
            ),
            Type::Tuple(ts) => {
                let names: Vec<String> = (0..ts.len()).map(|k| format!("{x}_{k}")).collect();
                let inner = format!("{ind}    ");
                let parts: Vec<String> = ts
                    .iter()
                    .zip(&names)
                    .map(|(t, n)| self.lower_owned(t, n, depth + 1, &inner))
                    .collect();
                let pat = if names.len() == 1 {
                    format!("({},)", names[0])
                } else {
                    format!("({})", names.join(", "))
                };
                let val = if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                };
                format!("{{\n{inner}let {pat} = {expr};\n{inner}{val}\n{ind}}}")
            }
            Type::Named(ix) => match &self.i.typedef(*ix).kind {
                TypeDefKind::Alias(inner) => self.lower_owned(inner, expr, depth, ind),
                _ => format!("{expr}.into_wire(g)?"),
            },
            _ => unreachable!("has_handles is false for the other types"),
        }
    }

    fn typedefs(&self, o: &mut String) -> Result<()> {
        for (ix, td) in self.i.types.iter().enumerate() {
            let name = type_name(&td.name);
            match &td.kind {
                // A resource is the author's type, the interface trait's associated type.
                TypeDefKind::Resource => {}
                // Spelled out where used (see `ty_in`).
                TypeDefKind::Alias(_) if self.handles[ix] => {}
                TypeDefKind::Alias(t) => {
                    docs(o, &td.docs, &format!("WIT `type {}`.", td.name), "");
                    let _ = writeln!(o, "pub type {name} = {};\n", self.ty(t)?);
                }
                TypeDefKind::Record(fields) => {
                    distinct(
                        &format!("fields of record {}:", td.name),
                        fields.iter().map(|f| (f.name.as_str(), snake(&f.name))),
                    )?;
                    docs(o, &td.docs, &format!("WIT `record {}`.", td.name), "");
                    let gen = self.handles[ix];
                    let tn = &self.trait_name;
                    if gen {
                        let _ = writeln!(o, "{GENERIC_DOC}\npub struct {name}<M: {tn}> {{");
                    } else {
                        let _ = writeln!(
                            o,
                            "#[derive(Debug, Clone, PartialEq)]\npub struct {name} {{"
                        );
                    }
                    let ctx = if gen { Ctx::Generic } else { Ctx::Plain };
                    for f in fields {
                        docs(o, &f.docs, &format!("WIT field `{}`.", f.name), "    ");
                        let _ = writeln!(
                            o,
                            "    pub {}: {},",
                            snake(&f.name),
                            self.ty_in(&f.ty, ctx)?
                        );
                    }
                    let _ = writeln!(o, "}}\n");
                    let name = if gen {
                        let wname = format!("{name}Wire");
                        let _ = writeln!(
                            o,
                            "/// The wire form of [`{name}`]: its handles as `u64`.\nstruct {wname} {{"
                        );
                        for f in fields {
                            let _ = writeln!(
                                o,
                                "    {}: {},",
                                snake(&f.name),
                                self.ty_in(&f.ty, Ctx::Wire)?
                            );
                        }
                        let _ = writeln!(
                            o,
                            "}}\n\nimpl<M: {tn}> {name}<M> {{\n    fn into_wire(self, g: &mut Batches<'_, M>) -> Result<{wname}, ModuleError> {{\n        Ok({wname} {{"
                        );
                        for f in fields {
                            let field = snake(&f.name);
                            let _ = writeln!(
                                o,
                                "            {field}: {},",
                                self.lower_owned(
                                    &f.ty,
                                    &format!("self.{field}"),
                                    0,
                                    "            "
                                )
                            );
                        }
                        let _ = writeln!(o, "        }})\n    }}\n}}\n");
                        wname
                    } else {
                        name
                    };
                    self.wire_impl(
                        o,
                        &name,
                        td,
                        |o| {
                            let _ = writeln!(o, "        Ok({name} {{");
                            for f in fields {
                                let _ = writeln!(o, "            {}: r.read()?,", snake(&f.name));
                            }
                            let _ = writeln!(o, "        }})");
                        },
                        |o| {
                            for f in fields {
                                let _ = writeln!(o, "        self.{}.encode(w)?;", snake(&f.name));
                            }
                            let _ = writeln!(o, "        Ok(())");
                        },
                    );
                }
                TypeDefKind::Variant(cases) => {
                    distinct(
                        &format!("cases of variant {}:", td.name),
                        cases.iter().map(|c| (c.name.as_str(), case_name(&c.name))),
                    )?;
                    docs(o, &td.docs, &format!("WIT `variant {}`.", td.name), "");
                    let gen = self.handles[ix];
                    let tn = &self.trait_name;
                    if gen {
                        let _ = writeln!(o, "{GENERIC_DOC}\npub enum {name}<M: {tn}> {{");
                    } else {
                        let _ =
                            writeln!(o, "#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{");
                    }
                    let ctx = if gen { Ctx::Generic } else { Ctx::Plain };
                    for c in cases {
                        docs(o, &c.docs, &format!("WIT case `{}`.", c.name), "    ");
                        match &c.ty {
                            Some(t) => {
                                let _ = writeln!(
                                    o,
                                    "    {}({}),",
                                    case_name(&c.name),
                                    self.ty_in(t, ctx)?
                                );
                            }
                            None => {
                                let _ = writeln!(o, "    {},", case_name(&c.name));
                            }
                        }
                    }
                    let _ = writeln!(o, "}}\n");
                    let name = if gen {
                        let wname = format!("{name}Wire");
                        let _ = writeln!(
                            o,
                            "/// The wire form of [`{name}`]: its handles as `u64`.\nenum {wname} {{"
                        );
                        for c in cases {
                            match &c.ty {
                                Some(t) => {
                                    let _ = writeln!(
                                        o,
                                        "    {}({}),",
                                        case_name(&c.name),
                                        self.ty_in(t, Ctx::Wire)?
                                    );
                                }
                                None => {
                                    let _ = writeln!(o, "    {},", case_name(&c.name));
                                }
                            }
                        }
                        let _ = writeln!(
                            o,
                            "}}\n\nimpl<M: {tn}> {name}<M> {{\n    fn into_wire(self, g: &mut Batches<'_, M>) -> Result<{wname}, ModuleError> {{\n        Ok(match self {{"
                        );
                        for c in cases {
                            let case = case_name(&c.name);
                            match &c.ty {
                                Some(t) => {
                                    let _ = writeln!(
                                        o,
                                        "            {name}::{case}(x0) => {wname}::{case}({}),",
                                        self.lower_owned(t, "x0", 1, "            ")
                                    );
                                }
                                None => {
                                    let _ = writeln!(
                                        o,
                                        "            {name}::{case} => {wname}::{case},"
                                    );
                                }
                            }
                        }
                        let _ = writeln!(o, "        }})\n    }}\n}}\n");
                        wname
                    } else {
                        name
                    };
                    let n = cases.len();
                    self.wire_impl(o, &name, td, |o| {
                        let _ = writeln!(o, "        let at = r.offset();");
                        let _ = writeln!(o, "        Ok(match r.discriminant({n})? {{");
                        for (k, c) in cases.iter().enumerate() {
                            let case = case_name(&c.name);
                            if c.ty.is_some() {
                                let _ = writeln!(o, "            {k} => {name}::{case}(r.read()?),");
                            } else {
                                let _ = writeln!(o, "            {k} => {name}::{case},");
                            }
                        }
                        let _ = writeln!(
                            o,
                            "            d => return Err(r.bad_case(at, d, {}, {n})),\n        }})",
                            lit(&format!("variant {}", td.name))
                        );
                    }, |o| {
                        let _ = writeln!(o, "        match self {{");
                        for (k, c) in cases.iter().enumerate() {
                            let case = case_name(&c.name);
                            if c.ty.is_some() {
                                let _ = writeln!(
                                    o,
                                    "            {name}::{case}(v) => {{\n                w.discriminant({n}, {k})?;\n                v.encode(w)\n            }}"
                                );
                            } else {
                                let _ = writeln!(o, "            {name}::{case} => w.discriminant({n}, {k}),");
                            }
                        }
                        let _ = writeln!(o, "        }}");
                    });
                }
                TypeDefKind::Enum(cases) => {
                    distinct(
                        &format!("cases of enum {}:", td.name),
                        cases.iter().map(|c| (c.as_str(), case_name(c))),
                    )?;
                    docs(o, &td.docs, &format!("WIT `enum {}`.", td.name), "");
                    let _ = writeln!(
                        o,
                        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\npub enum {name} {{"
                    );
                    for c in cases {
                        let _ = writeln!(o, "    /// WIT case `{c}`.\n    {},", case_name(c));
                    }
                    let _ = writeln!(o, "}}\n");
                    let n = cases.len();
                    self.wire_impl(
                        o,
                        &name,
                        td,
                        |o| {
                            let _ = writeln!(o, "        let at = r.offset();");
                            let _ = writeln!(o, "        Ok(match r.discriminant({n})? {{");
                            for (k, c) in cases.iter().enumerate() {
                                let _ = writeln!(o, "            {k} => {name}::{},", case_name(c));
                            }
                            let _ = writeln!(
                            o,
                            "            d => return Err(r.bad_case(at, d, {}, {n})),\n        }})",
                            lit(&format!("enum {}", td.name))
                        );
                        },
                        |o| {
                            let _ = writeln!(o, "        w.discriminant({n}, *self as u32)");
                        },
                    );
                }
                TypeDefKind::Flags(flags) => {
                    distinct(
                        &format!("flags of {}:", td.name),
                        flags.iter().map(|f| (f.as_str(), flag_name(f))),
                    )?;
                    let nbytes = flags_size(flags.len());
                    let int = match nbytes {
                        0 | 1 => "u8",
                        2 => "u16",
                        _ => "u32",
                    };
                    docs(o, &td.docs, &format!("WIT `flags {}`.", td.name), "");
                    let _ = writeln!(o, "///\n/// Flag `i` is bit `i`; combine them with `|`.");
                    let _ = writeln!(
                        o,
                        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\npub struct {name}(pub {int});\n"
                    );
                    let _ = writeln!(o, "impl {name} {{");
                    for (k, f) in flags.iter().enumerate() {
                        let _ = writeln!(
                            o,
                            "    /// WIT flag `{f}`.\n    pub const {}: {name} = {name}(1 << {k});",
                            flag_name(f)
                        );
                    }
                    let all: u64 = if flags.is_empty() {
                        0
                    } else {
                        (1u64 << flags.len()) - 1
                    };
                    let _ = writeln!(
                        o,
                        "    /// No flag set.\n    pub const EMPTY: {name} = {name}(0);\n    /// Every flag set.\n    pub const ALL: {name} = {name}({all:#x});\n\n    /// Whether every flag of `other` is set in `self`.\n    pub fn contains(self, other: {name}) -> bool {{\n        self.0 & other.0 == other.0\n    }}\n}}\n"
                    );
                    let _ = writeln!(
                        o,
                        "impl core::ops::BitOr for {name} {{\n    type Output = {name};\n    fn bitor(self, rhs: {name}) -> {name} {{\n        {name}(self.0 | rhs.0)\n    }}\n}}\n"
                    );
                    self.wire_impl(
                        o,
                        &name,
                        td,
                        |o| {
                            let _ = writeln!(
                                o,
                                "        Ok({name}(r.flags_of({nbytes}, {}, {})? as {int}))",
                                lit(&td.name),
                                flags.len()
                            );
                        },
                        |o| {
                            // Bits no flag defines would not decode: refused (the type's
                            // integer may hold them, the wire may not).
                            let int_max: u64 = match int {
                                "u8" => 0xff,
                                "u16" => 0xffff,
                                _ => 0xffff_ffff,
                            };
                            if all != int_max {
                                let _ = writeln!(
                                    o,
                                    "        if self.0 & !{all:#x} != 0 {{\n            return Err(WriteError::Invalid);\n        }}"
                                );
                            }
                            let _ = writeln!(o, "        w.flags({nbytes}, u64::from(self.0))");
                        },
                    );
                }
            }
        }
        Ok(())
    }

    fn wire_impl(
        &self,
        o: &mut String,
        name: &str,
        td: &crate::model::TypeDef,
        decode: impl FnOnce(&mut String),
        encode: impl FnOnce(&mut String),
    ) {
        let min = match &td.kind {
            TypeDefKind::Record(fields) => fields
                .iter()
                .fold(0usize, |a, f| a.saturating_add(min_size(self.i, &f.ty))),
            TypeDefKind::Variant(cases) => discriminant_size(cases.len()).saturating_add(
                cases
                    .iter()
                    .map(|c| c.ty.as_ref().map_or(0, |t| min_size(self.i, t)))
                    .min()
                    .unwrap_or(0),
            ),
            TypeDefKind::Enum(cases) => discriminant_size(cases.len()),
            TypeDefKind::Flags(flags) => flags_size(flags.len()),
            TypeDefKind::Resource | TypeDefKind::Alias(_) => 1,
        };
        let _ = writeln!(
            o,
            "impl Wire for {name} {{\n    const MIN_SIZE: usize = {min};\n\n    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {{"
        );
        decode(o);
        let _ = writeln!(
            o,
            "    }}\n\n    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<(), WriteError> {{"
        );
        encode(o);
        let _ = writeln!(o, "    }}\n}}\n");
    }

    /// The WIT name of a resource function without its `[kind]R.` prefix.
    fn short_name(f: &Function) -> &str {
        f.name.rsplit_once('.').map_or(f.name.as_str(), |(_, n)| n)
    }

    /// The name of `f`'s entry function (and, for a plain function, its trait method):
    /// `add`, `counter_new`, `counter_add`, `counter_named`.
    fn entry_name(&self, f: &Function) -> String {
        match f.kind {
            FunctionKind::Freestanding => fn_name(&f.name),
            FunctionKind::Constructor(r) => format!("{}_new", self.res(r).field),
            FunctionKind::Method(r) | FunctionKind::Static(r) => {
                format!("{}_{}", self.res(r).field, snake(Self::short_name(f)))
            }
        }
    }

    /// The name of a resource function in its resource's trait: `new`, `add`, `named`.
    fn member_name(f: &Function) -> String {
        match f.kind {
            FunctionKind::Constructor(_) => "new".into(),
            _ => snake(Self::short_name(f)),
        }
    }

    fn interface_trait(&self, o: &mut String) -> Result<()> {
        let t = &self.trait_name;
        docs(
            o,
            &self.i.docs,
            &format!("WIT interface `{}`.", self.i.name),
            "",
        );
        let _ = writeln!(
            o,
            "///\n/// Implement it for the module type and list the entry functions below in\n/// `export_module!`'s `methods:`. Each method runs on the calling thread with `&self`, so it\n/// can emit events and log through the instance's `Host`. An `Err` is the call's module\n/// error."
        );
        if self.res.is_empty() {
            let _ = writeln!(o, "pub trait {t} {{");
        } else {
            let _ = writeln!(
                o,
                "///\n/// Each resource is a type of the author's, named by an associated type and implementing\n/// the resource's trait; its live objects are in the instance's [`Tables`]. Objects live in\n/// the instance: declare the module `stateful: true` in `export_module!` (the host refuses\n/// it otherwise).\npub trait {t}: Sized {{"
            );
            for r in &self.res {
                docs(
                    o,
                    &self.i.typedef(r.index).docs,
                    &format!("WIT resource `{}`.", r.wit),
                    "    ",
                );
                let _ = writeln!(
                    o,
                    "    ///\n    /// The module's type for it; see [`{}`].\n    type {}: {}<Self>;\n",
                    r.trait_name, r.assoc, r.trait_name
                );
            }
            let _ = writeln!(
                o,
                "    /// The instance's handle tables (a field of the module type, `Tables::default()`\n    /// in `init`).\n    fn tables(&self) -> &Tables<Self>;"
            );
        }
        let mut first = self.res.is_empty();
        for f in self
            .i
            .functions
            .iter()
            .filter(|f| f.kind == FunctionKind::Freestanding)
        {
            if !first {
                o.push('\n');
            }
            first = false;
            docs(o, &f.docs, &format!("WIT function `{}`.", f.name), "    ");
            let mut ps = Vec::new();
            for p in &f.params {
                ps.push(format!(
                    "{}: {}",
                    snake(&p.name),
                    self.param(&p.ty, Ctx::Iface)?.0
                ));
            }
            let ret = match &f.result {
                Some(r) => self.ty_in(r, Ctx::Iface)?,
                None => "()".into(),
            };
            let sep = if ps.is_empty() { "" } else { ", " };
            let _ = writeln!(
                o,
                "    fn {}(&self{sep}{}) -> Result<{ret}, ModuleError>;",
                fn_name(&f.name),
                ps.join(", ")
            );
        }
        let _ = writeln!(o, "}}\n");
        Ok(())
    }

    /// Per resource: its trait, with the constructor (`new`), methods (`&self`) and static
    /// functions, each also given the instance (`module: &M`).
    fn resource_traits(&self, o: &mut String) -> Result<()> {
        let t = &self.trait_name;
        for r in &self.res {
            let fs: Vec<&Function> = self
                .i
                .functions
                .iter()
                .filter(|f| match f.kind {
                    FunctionKind::Constructor(x)
                    | FunctionKind::Method(x)
                    | FunctionKind::Static(x) => x == r.index,
                    FunctionKind::Freestanding => false,
                })
                .collect();
            // Member names are distinct: their entry functions (`<field>_<member>`) are checked.
            docs(
                o,
                &self.i.typedef(r.index).docs,
                &format!("WIT resource `{}`.", r.wit),
                "",
            );
            let _ = writeln!(
                o,
                "///\n/// Implement it for the type named by [`{t}::{a}`]. A value returned as `own<{w}>` is\n/// moved into the instance's table and the caller gets its handle; `&self` and `&Self`\n/// parameters are the objects the call's handles name. An object whose handle is dropped\n/// while a call still uses it is dropped when that call returns.\npub trait {n}<M: {t}>: Sized + Send + Sync + 'static {{",
                a = r.assoc,
                w = r.wit,
                n = r.trait_name
            );
            let ctx = Ctx::Resource(r.index);
            for (k, f) in fs.iter().enumerate() {
                if k > 0 {
                    o.push('\n');
                }
                docs(o, &f.docs, &format!("WIT `{}`.", f.name), "    ");
                let mut ps = Vec::new();
                if matches!(f.kind, FunctionKind::Method(_)) {
                    ps.push("&self".to_string());
                }
                ps.push("module: &M".into());
                let skip = usize::from(matches!(f.kind, FunctionKind::Method(_)));
                for p in f.params.iter().skip(skip) {
                    let mut n = snake(&p.name);
                    if n == "module" {
                        n.push('_');
                    }
                    ps.push(format!("{n}: {}", self.param(&p.ty, ctx)?.0));
                }
                let ret = match &f.result {
                    Some(r) => self.ty_in(r, ctx)?,
                    None => "()".into(),
                };
                let _ = writeln!(
                    o,
                    "    fn {}({}) -> Result<{ret}, ModuleError>;",
                    Self::member_name(f),
                    ps.join(", ")
                );
            }
            let _ = writeln!(o, "}}\n");
        }
        if self.res.is_empty() {
            return Ok(());
        }
        let _ = writeln!(
            o,
            "/// The handle tables of one instance, one per resource (docs/TYPED.md, \"Resources\"): a\n/// field of the module type, made by `Tables::default()` (a random first generation per\n/// table) and returned by [`{t}::tables`]. Dropped with the instance, which destroys every\n/// object still live.\npub struct Tables<M: {t}> {{"
        );
        for r in &self.res {
            let _ = writeln!(
                o,
                "    /// Live `{}` objects.\n    pub {}: bridgehost_module_sdk::resource::Table<M::{}>,",
                r.wit, r.field, r.assoc
            );
        }
        let _ = writeln!(
            o,
            "}}\n\nimpl<M: {t}> Default for Tables<M> {{\n    fn default() -> Self {{\n        Tables {{"
        );
        for r in &self.res {
            let _ = writeln!(
                o,
                "            {}: bridgehost_module_sdk::resource::Table::new({}),",
                r.field,
                lit(&r.wit)
            );
        }
        let _ = writeln!(
            o,
            "        }}\n    }}\n}}\n\nimpl<M: {t}> core::fmt::Debug for Tables<M> {{\n    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {{\n        f.debug_struct(\"Tables\")"
        );
        for r in &self.res {
            let _ = writeln!(
                o,
                "            .field({}, &self.{})",
                lit(&r.field),
                r.field
            );
        }
        let _ = writeln!(o, "            .finish()\n    }}\n}}\n");
        let _ = writeln!(
            o,
            "/// The objects one call's result moves into the tables: removed again (and dropped)\n/// unless the result reached the caller and `commit` ran.\nstruct Batches<'t, M: {t}> {{"
        );
        for r in &self.res {
            let _ = writeln!(
                o,
                "    {}: bridgehost_module_sdk::resource::Batch<'t, M::{}>,",
                r.field, r.assoc
            );
        }
        let _ = writeln!(
            o,
            "}}\n\nimpl<'t, M: {t}> Batches<'t, M> {{\n    fn new(tables: &'t Tables<M>) -> Self {{\n        Batches {{"
        );
        for r in &self.res {
            let _ = writeln!(o, "            {f}: tables.{f}.batch(),", f = r.field);
        }
        let _ = writeln!(o, "        }}\n    }}\n\n    fn commit(self) {{");
        for r in &self.res {
            let _ = writeln!(o, "        self.{}.commit();", r.field);
        }
        let _ = writeln!(o, "    }}\n}}\n");
        Ok(())
    }

    fn functions(&self, o: &mut String) -> Result<()> {
        self.interface_trait(o)?;
        self.resource_traits(o)?;
        let t = &self.trait_name;
        for f in &self.i.functions {
            let name = self.entry_name(f);
            let target = match f.kind {
                FunctionKind::Freestanding => format!("[`{t}::{name}`]"),
                FunctionKind::Constructor(r)
                | FunctionKind::Method(r)
                | FunctionKind::Static(r) => {
                    format!("[`{}::{}`]", self.res(r).trait_name, Self::member_name(f))
                }
            };
            // (A plain function's line stays as it was, so std_wit.rs is unchanged.)
            let what = if f.kind == FunctionKind::Freestanding {
                format!("calls {target}, encodes its\n/// result. Malformed input is module error 22 naming the parameter.")
            } else {
                format!("calls\n/// {target}, encodes its result. Malformed input is module error 22\n/// naming the parameter; a stale handle is module error 22 too.")
            };
            let _ = writeln!(
                o,
                "/// Method `{}` of the module: decodes the input, {what}\npub fn {name}<M: {t}>(module: &M, input: &[u8], {out}: &mut Output<'_>) -> Result<(), ModuleError> {{",
                f.name,
                out = if f.result.is_some() { "out" } else { "_out" }
            );
            if f.params.is_empty() {
                let _ = writeln!(o, "    let r = Reader::new(input);");
            } else {
                let _ = writeln!(o, "    let mut r = Reader::new(input);");
            }
            let method = lit(&f.name);
            let mut args = Vec::new();
            let mut borrows = Vec::new();
            for (k, p) in f.params.iter().enumerate() {
                let (_, read) = self.param(&p.ty, Ctx::Iface)?;
                let _ = writeln!(
                    o,
                    "    let a{k} = {read}.map_err(|e| e.in_param({method}, {}))?;",
                    lit(&p.name)
                );
                match handle_of(self.i, self.i.resolve(&p.ty)) {
                    Some((r, _)) => {
                        borrows.push((k, r));
                        args.push(format!("&a{k}"));
                    }
                    None => args.push(format!("a{k}")),
                }
            }
            let _ = writeln!(o, "    r.finish().map_err(|e| e.in_method({method}))?;");
            let owned = f.result.as_ref().is_some_and(|t| self.has_handles(t));
            if !borrows.is_empty() || owned {
                let _ = writeln!(o, "    let tables = module.tables();");
            }
            for (k, r) in &borrows {
                let _ = writeln!(
                    o,
                    "    let a{k} = tables.{}.get(a{k})?;",
                    self.res(*r).field
                );
            }
            let call = match f.kind {
                FunctionKind::Freestanding => format!("module.{name}({})", args.join(", ")),
                FunctionKind::Constructor(r) | FunctionKind::Static(r) => {
                    let res = self.res(r);
                    args.insert(0, "module".into());
                    format!(
                        "<M::{} as {}<M>>::{}({})",
                        res.assoc,
                        res.trait_name,
                        Self::member_name(f),
                        args.join(", ")
                    )
                }
                FunctionKind::Method(r) => {
                    let res = self.res(r);
                    args.insert(1, "module".into());
                    format!(
                        "<M::{} as {}<M>>::{}({})",
                        res.assoc,
                        res.trait_name,
                        Self::member_name(f),
                        args.join(", ")
                    )
                }
            };
            match &f.result {
                Some(ret) => {
                    let _ = writeln!(o, "    let ret = {call}?;");
                    if owned {
                        let _ = writeln!(
                            o,
                            "    let mut batches = Batches::new(tables);\n    let g = &mut batches;\n    let ret = {};",
                            self.lower_owned(ret, "ret", 0, "    ")
                        );
                    }
                    let _ = writeln!(
                        o,
                        "    let mut w = Writer::new(out);\n    w.write(&ret)?;\n    w.finish()?;"
                    );
                    if owned {
                        let _ = writeln!(o, "    batches.commit();");
                    }
                    let _ = writeln!(o, "    Ok(())\n}}\n");
                }
                None => {
                    let _ = writeln!(o, "    {call}\n}}\n");
                }
            }
            if let Some(sig) = ScalarSignature::of(self.i, f) {
                self.direct_entry(o, f, &name, &sig);
            }
        }
        for r in &self.res {
            let method = lit(&self.i.drop_method(r.index));
            let _ = writeln!(
                o,
                "/// Method `{m}` of the module: removes the handle from the instance's table; the\n/// object is dropped now, or when the last call still using it returns. An unknown or\n/// already dropped handle is module error 22 (`stale handle: ...`).\npub fn {f}_drop<M: {t}>(module: &M, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {{\n    let mut r = Reader::new(input);\n    let handle = r.read::<u64>().map_err(|e| e.in_param({method}, \"handle\"))?;\n    r.finish().map_err(|e| e.in_method({method}))?;\n    module.tables().{f}.remove(handle)\n}}\n",
                m = self.i.drop_method(r.index),
                f = r.field
            );
        }

        let _ = writeln!(
            o,
            "/// Run the WIT function named `method` (the method name); `None` when the interface has\n/// no such function.\npub fn dispatch<M: {t}>(\n    module: &M,\n    method: &str,\n    input: &[u8],\n    out: &mut Output<'_>,\n) -> Option<Result<(), ModuleError>> {{\n    Some(match method {{"
        );
        for f in &self.i.functions {
            let _ = writeln!(
                o,
                "        {} => {}(module, input, out),",
                lit(&f.name),
                self.entry_name(f)
            );
        }
        for r in &self.res {
            let _ = writeln!(
                o,
                "        {} => {}_drop(module, input, out),",
                lit(&self.i.drop_method(r.index)),
                r.field
            );
        }
        let _ = writeln!(o, "        _ => return None,\n    }})\n}}");
        Ok(())
    }
}

impl Gen<'_> {
    /// The direct entry of a direct-eligible function (docs/TYPED.md, "Direct calls"):
    /// `<name>_direct(module, args, result)`, the arguments as slots, the same trait method.
    fn direct_entry(&self, o: &mut String, f: &Function, name: &str, sig: &ScalarSignature) {
        let t = &self.trait_name;
        let n = sig.params.len();
        let _ = writeln!(
            o,
            "/// Direct entry of method `{}` (docs/TYPED.md, \"Direct calls\"): the arguments as 64-bit\n/// slots, calls [`{t}::{name}`] like [`{name}`] does, its result as a slot. The fourth element of\n/// the method's tuple in `export_module!`'s `methods:`.\npub fn {direct}<M: {t}>(module: &M, {args}: &[u64; {n}], {result}: &mut u64) -> Result<(), ModuleError> {{",
            f.name,
            direct = direct_name(name),
            args = if n == 0 { "_args" } else { "args" },
            result = if sig.result.is_some() { "result" } else { "_result" },
        );
        let method = lit(&f.name);
        let mut args = Vec::new();
        for (k, p) in f.params.iter().enumerate() {
            let _ = writeln!(
                o,
                "    let a{k} = bridgehost_module_sdk::direct::arg(args[{k}], {method}, {})?;",
                lit(&p.name)
            );
            args.push(format!("a{k}"));
        }
        let call = format!("module.{name}({})", args.join(", "));
        if sig.result.is_some() {
            let _ = writeln!(
                o,
                "    let ret = {call}?;\n    *result = bridgehost_module_sdk::direct::Slot::into_slot(ret);\n    Ok(())\n}}\n"
            );
        } else {
            let _ = writeln!(o, "    {call}\n}}\n");
        }
    }

    /// One typed emitter per event of the `events` interface: `emit_<topic>(host, payload)`
    /// encodes the payload with the SDK's `wire::Writer` into a buffer and emits it through
    /// `Host::emit_with` (docs/TYPED.md, "Events"). A `string` or `list<T>` payload is taken
    /// as `&str` / `&[T]`, anything else by reference. Handles in payloads were refused before.
    fn events(&self, o: &mut String) -> Result<()> {
        for e in &self.i.events {
            let topic = lit(&e.topic);
            docs(
                o,
                &e.docs,
                &format!("Event `{}` of the interface's `events`.", e.topic),
                "",
            );
            let (what, via) = if e.payload.is_some() {
                ("the payload encoded as its WIT type", "Host::emit_with")
            } else {
                ("empty data (no payload)", "Host::emit")
            };
            let _ = writeln!(
                o,
                "///\n/// Emits topic `{}` (`{via}`) with {what}: from any\n/// thread, at any time, never blocking; a full event queue drops the event\n/// (`EmitError::Overloaded`).",
                e.topic
            );
            if e.payload.is_some() {
                let _ = writeln!(
                    o,
                    "/// A payload the wire refuses (a length above `u32::MAX`, undefined flag bits) emits\n/// nothing."
                );
            }
            let name = emitter_name(&e.topic);
            match &e.payload {
                None => {
                    let _ = writeln!(
                        o,
                        "pub fn {name}(host: &bridgehost_module_sdk::Host) -> Result<(), bridgehost_module_sdk::EmitError> {{\n    host.emit({topic}, &[])\n}}\n"
                    );
                }
                Some(t) => {
                    let (ty, call) = match self.i.resolve(t) {
                        Type::String => ("&str".to_string(), "w.str(payload)"),
                        Type::List(e) if **e == Type::U8 => ("&[u8]".into(), "w.bytes(payload)"),
                        Type::List(e) => (format!("&[{}]", self.ty(e)?), "w.list(payload)"),
                        _ => (format!("&{}", self.ty(t)?), "w.write(payload)"),
                    };
                    let _ = writeln!(
                        o,
                        "pub fn {name}(host: &bridgehost_module_sdk::Host, payload: {ty}) -> Result<(), bridgehost_module_sdk::EmitError> {{\n    host.emit_with({topic}, |w| {call})\n}}\n"
                    );
                }
            }
        }
        Ok(())
    }
}

/// The emitter of event `topic`: `emit_` and the topic in snake case (never a keyword).
/// The direct entry's name: `add_direct` for `add`, `type_direct` for `type_` (an escaped
/// keyword).
fn direct_name(entry: &str) -> String {
    format!("{}_direct", entry.trim_end_matches('_'))
}

fn emitter_name(topic: &str) -> String {
    format!("emit_{}", topic.replace('-', "_"))
}

/// The raw string literal for `s` with enough `#`s; an escaped literal when `s` holds a CR (a raw
/// string may not hold a bare one).
fn raw_lit(s: &str) -> String {
    if s.contains('\r') {
        return lit(s);
    }
    let mut hashes = 1;
    while s.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{s}\"{h}")
}

/// Generate the module-side Rust bindings: one file, `<package>.rs` (default: the interface's
/// name in snake case with `_wit`, e.g. `std_wit.rs`).
pub fn generate(iface: &Interface, package: Option<&str>) -> Result<Vec<File>> {
    let module = match package {
        Some(p) => {
            let ok = !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && !KEYWORDS.contains(&p);
            if !ok {
                return Err(unsupported(
                    LANG,
                    format!("--package {p:?} is not a plain Rust module name"),
                ));
            }
            p.to_string()
        }
        None => format!("{}_wit", iface.name.replace('-', "_")),
    };
    let trait_name = type_name(&iface.name);
    let res: Vec<Res> = iface
        .resources()
        .map(|index| {
            let wit = iface.typedef(index).name.clone();
            Res {
                index,
                assoc: type_name(&wit),
                trait_name: format!("{}Resource", pascal(&wit)),
                field: snake(&wit),
                wit,
            }
        })
        .collect();
    // Module-level type names: the interface's trait, the non-resource types, and with
    // resources their traits and `Tables`.
    let mut names: Vec<(&str, String)> = vec![(iface.name.as_str(), trait_name.clone())];
    names.extend(
        iface
            .types
            .iter()
            .filter(|t| t.kind != TypeDefKind::Resource)
            .map(|t| (t.name.as_str(), type_name(&t.name))),
    );
    for r in &res {
        names.push((iface.typedef(r.index).name.as_str(), r.trait_name.clone()));
    }
    if !res.is_empty() {
        names.push(("the handle tables", "Tables".into()));
        names.push(("the result's batches", "Batches".into()));
    }
    let mut g = Gen {
        i: iface,
        trait_name,
        handles: Vec::new(),
        res,
    };
    g.handles = (0..iface.types.len())
        .map(|k| g.has_handles(&Type::Named(k)))
        .collect();
    // A record or variant holding handles also has a private wire twin, `<Name>Wire`.
    for (td, h) in iface.types.iter().zip(&g.handles) {
        if *h && matches!(td.kind, TypeDefKind::Record(_) | TypeDefKind::Variant(_)) {
            names.push((td.name.as_str(), format!("{}Wire", type_name(&td.name))));
        }
    }
    distinct("the interface and types", names.into_iter())?;
    g.check_handles()?;
    // Module-level function names: the entry functions (a plain function's is also its trait
    // method), the drop entries, `dispatch`, and with resources the trait's `tables`.
    let mut fnames: Vec<(&str, String)> = iface
        .functions
        .iter()
        .map(|f| (f.name.as_str(), g.entry_name(f)))
        .collect();
    // The direct entries of the direct-eligible functions (docs/TYPED.md, "Direct calls").
    fnames.extend(
        iface
            .functions
            .iter()
            .filter(|f| ScalarSignature::of(iface, f).is_some())
            .map(|f| (f.name.as_str(), direct_name(&g.entry_name(f)))),
    );
    let drops: Vec<String> = g.res.iter().map(|r| iface.drop_method(r.index)).collect();
    for (r, d) in g.res.iter().zip(&drops) {
        fnames.push((d.as_str(), format!("{}_drop", r.field)));
    }
    if !g.res.is_empty() {
        fnames.push(("the trait's tables()", "tables".into()));
    }
    let emitters: Vec<(String, String)> = iface
        .events
        .iter()
        .map(|e| (format!("event {}", e.topic), emitter_name(&e.topic)))
        .collect();
    fnames.extend(emitters.iter().map(|(w, r)| (w.as_str(), r.clone())));
    distinct("functions", fnames.into_iter())?;

    let mut o = String::new();
    let _ = writeln!(
        o,
        "//! Module-side bindings of WIT interface `{}` (package `{}`), generated by\n//! `bridgehost bindgen --lang rust`. Do not edit: regenerate from the WIT.\n//!\n//! A module of a crate built on `bridgehost-module-sdk` (docs/MODULES.md, \"A typed Rust\n//! module\"): implement [`{}`] for the module type, list the entry functions in\n//! `export_module!`'s `methods:` and pass [`WIT`] as its `interface:`.\n// The shapes of types and signatures are the WIT's.\n#![allow(dead_code, clippy::type_complexity, clippy::too_many_arguments)]\n",
        iface.name, iface.package, g.trait_name
    );
    if !iface.events.is_empty() {
        // (Inserted before the blank line that ends the header.)
        o.pop();
        let _ = writeln!(
            o,
            "// Events: emit them with the typed `emit_<topic>` functions at the end of the file.\n"
        );
    }
    let _ = writeln!(
        o,
        "#[allow(unused_imports)]\nuse bridgehost_module_sdk::wire::{{DecodeError, Reader, Wire, Writer}};\n#[allow(unused_imports)]\nuse bridgehost_module_sdk::{{ModuleError, Output, WriteError}};\n"
    );
    let _ = writeln!(
        o,
        "/// The WIT text these bindings were generated from (`export_module!`'s `interface:`).\npub const WIT: &str = {};\n\n/// SHA-256 of the interface's canonical form (docs/TYPED.md, \"Hash\").\npub const HASH: &str = {};\n",
        raw_lit(iface.source()),
        lit(&iface.hash_hex())
    );
    g.typedefs(&mut o)?;
    g.functions(&mut o)?;
    if !iface.events.is_empty() {
        o.push('\n');
        g.events(&mut o)?;
        while o.ends_with("\n\n") {
            o.pop();
        }
    }
    Ok(vec![File {
        path: format!("{module}.rs"),
        text: o,
    }])
}
