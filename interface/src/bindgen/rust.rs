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
//! * `WIT` (the text, for `export_module!`'s `interface:`) and `HASH`.
//!
//! The codec is the SDK's `wire` module, shared by every generated file; the generated code only
//! spells out field and case order. Resources are refused.

use super::{pascal, unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{FunctionKind, Interface, Type, TypeDefKind};
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

struct Gen<'a> {
    i: &'a Interface,
    trait_name: String,
}

impl Gen<'_> {
    fn no_resources(&self) -> crate::error::Error {
        unsupported(
            LANG,
            "resource types are not mapped by the Rust generator yet (issue 16): implement the \
             [constructor]/[method]/[resource-drop] methods as byte methods"
                .into(),
        )
    }

    /// The Rust type of a WIT type (owned).
    fn ty(&self, t: &Type) -> Result<String> {
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
            Type::List(e) => format!("Vec<{}>", self.ty(e)?),
            Type::Option(e) => format!("Option<{}>", self.ty(e)?),
            Type::Result { ok, err } => {
                let side = |s: &Option<Box<Type>>| -> Result<String> {
                    s.as_deref().map_or(Ok("()".into()), |t| self.ty(t))
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
                let parts = ts.iter().map(|t| self.ty(t)).collect::<Result<Vec<_>>>()?;
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Type::Named(ix) => {
                let td = self.i.typedef(*ix);
                if td.kind == TypeDefKind::Resource {
                    return Err(self.no_resources());
                }
                type_name(&td.name)
            }
            Type::Own(_) | Type::Borrow(_) => return Err(self.no_resources()),
        })
    }

    /// A parameter's Rust type and the expression that reads it from `r`: `string` and
    /// `list<u8>` are borrowed from the input.
    fn param(&self, t: &Type) -> Result<(String, &'static str)> {
        Ok(match self.i.resolve(t) {
            Type::String => ("&str".into(), "r.str()"),
            Type::List(e) if **e == Type::U8 => ("&[u8]".into(), "r.bytes()"),
            _ => (self.ty(t)?, "r.read()"),
        })
    }

    fn typedefs(&self, o: &mut String) -> Result<()> {
        for td in &self.i.types {
            let name = type_name(&td.name);
            match &td.kind {
                TypeDefKind::Resource => return Err(self.no_resources()),
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
                    let _ = writeln!(
                        o,
                        "#[derive(Debug, Clone, PartialEq)]\npub struct {name} {{"
                    );
                    for f in fields {
                        docs(o, &f.docs, &format!("WIT field `{}`.", f.name), "    ");
                        let _ = writeln!(o, "    pub {}: {},", snake(&f.name), self.ty(&f.ty)?);
                    }
                    let _ = writeln!(o, "}}\n");
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
                    let _ = writeln!(o, "#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{");
                    for c in cases {
                        docs(o, &c.docs, &format!("WIT case `{}`.", c.name), "    ");
                        match &c.ty {
                            Some(t) => {
                                let _ = writeln!(o, "    {}({}),", case_name(&c.name), self.ty(t)?);
                            }
                            None => {
                                let _ = writeln!(o, "    {},", case_name(&c.name));
                            }
                        }
                    }
                    let _ = writeln!(o, "}}\n");
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
                            "            d => return Err(r.bad_discriminant(at, d, {})),\n        }})",
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
                    self.wire_impl(o, &name, td, |o| {
                        let _ = writeln!(o, "        let at = r.offset();");
                        let _ = writeln!(o, "        Ok(match r.discriminant({n})? {{");
                        for (k, c) in cases.iter().enumerate() {
                            let _ = writeln!(o, "            {k} => {name}::{},", case_name(c));
                        }
                        let _ = writeln!(
                            o,
                            "            d => return Err(r.bad_discriminant(at, d, {})),\n        }})",
                            lit(&format!("enum {}", td.name))
                        );
                    }, |o| {
                        let _ = writeln!(o, "        w.discriminant({n}, *self as u32)");
                    });
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
                                "        Ok({name}(r.flags({nbytes}, {all:#x})? as {int}))"
                            );
                        },
                        |o| {
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

    fn functions(&self, o: &mut String) -> Result<()> {
        let t = &self.trait_name;
        docs(
            o,
            &self.i.docs,
            &format!("WIT interface `{}`.", self.i.name),
            "",
        );
        let _ = writeln!(
            o,
            "///\n/// Implement it for the module type and list the entry functions below in\n/// `export_module!`'s `methods:`. Each method runs on the calling thread with `&self`, so it\n/// can emit events and log through the instance's `Host`. An `Err` is the call's module\n/// error.\npub trait {t} {{"
        );
        let mut first = true;
        for f in &self.i.functions {
            if !first {
                o.push('\n');
            }
            first = false;
            docs(o, &f.docs, &format!("WIT function `{}`.", f.name), "    ");
            let mut ps = Vec::new();
            for p in &f.params {
                ps.push(format!("{}: {}", snake(&p.name), self.param(&p.ty)?.0));
            }
            let ret = match &f.result {
                Some(r) => self.ty(r)?,
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

        for f in &self.i.functions {
            let name = fn_name(&f.name);
            let _ = writeln!(
                o,
                "/// Method `{}` of the module: decodes the input, calls [`{t}::{name}`], encodes its\n/// result. Malformed input is module error 22 naming the parameter.\npub fn {name}<M: {t}>(module: &M, input: &[u8], {out}: &mut Output<'_>) -> Result<(), ModuleError> {{",
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
            for (k, p) in f.params.iter().enumerate() {
                let (_, read) = self.param(&p.ty)?;
                let _ = writeln!(
                    o,
                    "    let a{k} = {read}.map_err(|e| e.in_param({method}, {}))?;",
                    lit(&p.name)
                );
                args.push(format!("a{k}"));
            }
            let _ = writeln!(o, "    r.finish().map_err(|e| e.in_method({method}))?;");
            match &f.result {
                Some(_) => {
                    let _ = writeln!(
                        o,
                        "    let ret = module.{name}({})?;\n    let mut w = Writer::new(out);\n    w.write(&ret)?;\n    w.finish()?;\n    Ok(())\n}}\n",
                        args.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(o, "    module.{name}({})\n}}\n", args.join(", "));
                }
            }
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
                fn_name(&f.name)
            );
        }
        let _ = writeln!(o, "        _ => return None,\n    }})\n}}");
        Ok(())
    }
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
    if iface.resources().next().is_some()
        || iface
            .functions
            .iter()
            .any(|f| f.kind != FunctionKind::Freestanding)
    {
        return Err(Gen {
            i: iface,
            trait_name: String::new(),
        }
        .no_resources());
    }
    let trait_name = type_name(&iface.name);
    let mut names: Vec<(&str, String)> = vec![(iface.name.as_str(), trait_name.clone())];
    names.extend(
        iface
            .types
            .iter()
            .map(|t| (t.name.as_str(), type_name(&t.name))),
    );
    distinct("the interface and types", names.into_iter())?;
    distinct(
        "functions",
        iface
            .functions
            .iter()
            .map(|f| (f.name.as_str(), fn_name(&f.name))),
    )?;
    let g = Gen {
        i: iface,
        trait_name,
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "//! Module-side bindings of WIT interface `{}` (package `{}`), generated by\n//! `bridgehost bindgen --lang rust`. Do not edit: regenerate from the WIT.\n//!\n//! A module of a crate built on `bridgehost-module-sdk` (docs/MODULES.md, \"A typed Rust\n//! module\"): implement [`{}`] for the module type, list the entry functions in\n//! `export_module!`'s `methods:` and pass [`WIT`] as its `interface:`.\n// The shapes of types and signatures are the WIT's.\n#![allow(dead_code, clippy::type_complexity, clippy::too_many_arguments)]\n",
        iface.name, iface.package, g.trait_name
    );
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
    Ok(vec![File {
        path: format!("{module}.rs"),
        text: o,
    }])
}
