//! `bridgehost bindgen --lang c`: the module author's side in C (docs/TYPED.md, "C: module-side
//! bindings").
//!
//! Two files, `<prefix>_iface.h` and `<prefix>_iface.c`. The header declares a C type per WIT type
//! and one prototype per WIT function, which the module author implements; the source decodes
//! each call's input as hostile bytes (bounds-checked, strict UTF-8, discriminants, flag bits,
//! trailing bytes; a failure is `api->fail(EINVAL, "<function>: parameter <name>: ...")`), calls
//! the author's function, checks and encodes its output, writes it through `api->write`, and frees
//! everything the call allocated. It also holds the method-table entries, a dispatcher and the
//! exported `bridgehost_module_interface` (the WIT text and the hash this crate computes).
//!
//! Events: each event of the `events` interface gets `<prefix>_emit_<topic>(api, instance_token,
//! &payload)`, which checks and encodes the payload like an output and hands it to `api->emit`,
//! returning the host's status (or `<PREFIX>_EMIT_INVALID_PAYLOAD` / `_OUT_OF_MEMORY` without
//! emitting).
//!
//! Resources: the author defines `struct <prefix>_<r>` and its functions (constructor `_new`,
//! methods with `self`, statics, `_destroy`); the source holds the instance's handle table
//! (`<prefix>_resources`, generation-checked handles, borrowed objects pinned for the call), the
//! `[resource-drop]` methods, and gives `own<r>` in outputs their handles, destroying on every
//! failure path the output's objects that got none.
//!
//! Memory: strings and `list<u8>` parameters point into the call's input; other lists are
//! decoded into a call-scoped arena (`<prefix>_alloc`), whose size is bounded by a constant
//! multiple of the input because a list's length is checked against the bytes left before
//! anything is allocated. Outputs may point at static data, at the parameters, or at arena memory
//! (`<prefix>_alloc` / `<prefix>_realloc`); the arena is freed after the output is written.

use super::{unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use crate::scalar::{Scalar, ScalarSignature};
use crate::wire::{discriminant_size, flags_size, min_size};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

const LANG: &str = "c";

/// C11 keywords and names of the standard headers the generated code includes.
const KEYWORDS: &[&str] = &[
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "errno", "NULL",
];

/// `to-end` → `to_end` (lowercase; the WIT name's words joined by `_`).
fn snake(name: &str) -> String {
    name.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_")
}

/// A field, case or parameter name as a C identifier (a keyword gets a trailing `_`).
fn member(name: &str) -> String {
    let s = snake(name);
    if KEYWORDS.contains(&s.as_str()) {
        s + "_"
    } else {
        s
    }
}

/// Text made safe inside a one-line `/* ... */` comment: no comment delimiters, no trigraphs
/// (C11 replaces `??/` even in comments), no line breaks.
fn comment(text: &str) -> String {
    text.replace("*/", "* /")
        .replace("/*", "/ *")
        .replace("??", "? ?")
        .replace(['\n', '\r'], " ")
}

/// `T name`, or `T *name` when `T` is a pointer type (`P_r *`).
fn decl(ct: &str, name: &str) -> String {
    if ct.ends_with('*') {
        format!("{ct}{name}")
    } else {
        format!("{ct} {name}")
    }
}

/// `const T`, or `T const` for a pointer type (`P_r *const`: the pointer is const, not the
/// object the author owns).
fn const_of(ct: &str) -> String {
    if ct.ends_with('*') {
        format!("{ct}const")
    } else {
        format!("const {ct}")
    }
}

fn is_c_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

struct Gen<'a> {
    i: &'a Interface,
    p: String,
    /// Generated global identifiers → what they stand for (refuses two things with one name).
    names: BTreeMap<String, String>,
    /// Type definitions, in dependency order.
    types: String,
    /// C names of the types already emitted.
    emitted: HashSet<String>,
    /// Codec keys that need a decoder / an encoder, and their types.
    dec: BTreeMap<String, Type>,
    enc: BTreeMap<String, Type>,
    /// Codec keys that need a release walker (output types holding `own<R>`).
    rel: BTreeMap<String, Type>,
    /// The resources, in definition order (a resource's position is its index in the table).
    res: Vec<TypeIndex>,
}

impl<'a> Gen<'a> {
    fn claim(&mut self, name: String, what: String) -> Result<()> {
        if let Some(prev) = self.names.get(&name) {
            if *prev != what {
                return Err(unsupported(
                    LANG,
                    format!("{prev} and {what} both map to the C name {name}"),
                ));
            }
        }
        self.names.insert(name, what);
        Ok(())
    }

    /// The codec key of a type (aliases resolved): names its C type and its codec functions.
    fn key(&self, ty: &Type) -> String {
        match self.i.resolve(ty) {
            Type::Bool => "bool".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::List(t) => format!("list_{}", self.key(t)),
            Type::Option(t) => format!("option_{}", self.key(t)),
            Type::Result { ok, err } => format!(
                "result_{}_{}",
                ok.as_ref().map_or("void".into(), |t| self.key(t)),
                err.as_ref().map_or("void".into(), |t| self.key(t))
            ),
            Type::Tuple(ts) => format!(
                "tuple_{}",
                ts.iter().map(|t| self.key(t)).collect::<Vec<_>>().join("_")
            ),
            Type::Named(i) | Type::Own(i) | Type::Borrow(i) => snake(&self.i.types[*i].name),
        }
    }

    /// The C type of a value of `ty`.
    fn ctype(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::S8 => "int8_t".into(),
            Type::S16 => "int16_t".into(),
            Type::S32 => "int32_t".into(),
            Type::S64 => "int64_t".into(),
            Type::U8 => "uint8_t".into(),
            Type::U16 => "uint16_t".into(),
            Type::U32 | Type::Char => "uint32_t".into(),
            Type::U64 => "uint64_t".into(),
            Type::F32 => "float".into(),
            Type::F64 => "double".into(),
            Type::Own(i) | Type::Borrow(i) => {
                format!("{}_{} *", self.p, snake(&self.i.types[*i].name))
            }
            Type::Named(i) if self.i.types[*i].kind == TypeDefKind::Resource => {
                format!("{}_{} *", self.p, snake(&self.i.types[*i].name))
            }
            Type::Named(i) => format!("{}_{}", self.p, snake(&self.i.types[*i].name)),
            _ => format!("{}_{}", self.p, self.key(ty)),
        }
    }

    /// Aliases resolved, and a resource named as a type made `own<R>`.
    fn norm(&self, ty: &Type) -> Type {
        match self.i.resolve(ty) {
            Type::Named(i) if self.i.types[*i].kind == TypeDefKind::Resource => Type::Own(*i),
            t => t.clone(),
        }
    }

    /// The resource's index in the table.
    fn ri(&self, index: TypeIndex) -> usize {
        self.res
            .iter()
            .position(|r| *r == index)
            .expect("a resource of the interface")
    }

    /// The first `own<R>` (`own`) or `borrow<R>` inside `ty`, `ty` itself included.
    fn find_handle(&self, ty: &Type, own: bool) -> Option<TypeIndex> {
        // The model's table says whether one is there at all: the search descends only into
        // types that hold one, never once per path through a shared type.
        let h = self.i.handles_in(ty);
        if !(if own { h.own } else { h.borrow }) {
            return None;
        }
        match self.norm(ty) {
            Type::Own(i) if own => Some(i),
            Type::Borrow(i) if !own => Some(i),
            Type::List(t) | Type::Option(t) => self.find_handle(&t, own),
            Type::Result { ok, err } => [ok, err]
                .into_iter()
                .flatten()
                .find_map(|t| self.find_handle(&t, own)),
            Type::Tuple(ts) => ts.iter().find_map(|t| self.find_handle(t, own)),
            Type::Named(i) => match &self.i.types[i].kind {
                TypeDefKind::Record(fields) => {
                    fields.iter().find_map(|f| self.find_handle(&f.ty, own))
                }
                TypeDefKind::Variant(cases) => cases
                    .iter()
                    .filter_map(|c| c.ty.as_ref())
                    .find_map(|t| self.find_handle(t, own)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Emit the definition of `ty` (and of everything it uses) unless already there.
    fn ensure(&mut self, ty: &Type) -> Result<()> {
        match ty {
            Type::Own(i) | Type::Borrow(i) | Type::Named(i) => self.ensure_named(*i),
            Type::List(t) | Type::Option(t) => {
                self.ensure(t)?;
                let name = self.ctype(ty);
                self.claim(name.clone(), format!("the C type of {}", self.key(ty)))?;
                if !self.emitted.insert(name.clone()) {
                    return Ok(());
                }
                let el = self.ctype(t);
                if matches!(ty, Type::List(_)) {
                    let _ = writeln!(
                        self.types,
                        "/* {} */\ntypedef struct {name} {{\n    {} *ptr;\n    size_t len;\n}} {name};\n",
                        self.i.type_name(ty),
                        const_of(&el)
                    );
                } else {
                    let _ = writeln!(
                        self.types,
                        "/* {} */\ntypedef struct {name} {{\n    bool has;\n    {};\n}} {name};\n",
                        self.i.type_name(ty),
                        decl(&el, "val")
                    );
                }
                Ok(())
            }
            Type::Result { ok, err } => {
                for t in [ok, err].into_iter().flatten() {
                    self.ensure(t)?;
                }
                let name = self.ctype(ty);
                self.claim(name.clone(), format!("the C type of {}", self.key(ty)))?;
                if !self.emitted.insert(name.clone()) {
                    return Ok(());
                }
                let mut body = String::from("    bool is_err;\n");
                if ok.is_some() || err.is_some() {
                    body.push_str("    union {\n");
                    if let Some(t) = ok {
                        let _ = writeln!(body, "        {};", decl(&self.ctype(t), "ok"));
                    }
                    if let Some(t) = err {
                        let _ = writeln!(body, "        {};", decl(&self.ctype(t), "err"));
                    }
                    body.push_str("    } val;\n");
                }
                let _ = writeln!(
                    self.types,
                    "/* {} */\ntypedef struct {name} {{\n{body}}} {name};\n",
                    self.i.type_name(ty)
                );
                Ok(())
            }
            Type::Tuple(ts) => {
                for t in ts {
                    self.ensure(t)?;
                }
                let name = self.ctype(ty);
                self.claim(name.clone(), format!("the C type of {}", self.key(ty)))?;
                if !self.emitted.insert(name.clone()) {
                    return Ok(());
                }
                let mut body = String::new();
                for (k, t) in ts.iter().enumerate() {
                    let _ = writeln!(body, "    {};", decl(&self.ctype(t), &format!("f{k}")));
                }
                let _ = writeln!(
                    self.types,
                    "/* {} */\ntypedef struct {name} {{\n{body}}} {name};\n",
                    self.i.type_name(ty)
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn ensure_named(&mut self, index: TypeIndex) -> Result<()> {
        let td = self.i.types[index].clone();
        let name = format!("{}_{}", self.p, snake(&td.name));
        if self.emitted.contains(&name) {
            return Ok(());
        }
        let what = format!("type {}", td.name);
        let doc = td
            .docs
            .as_deref()
            .map(|d| format!("/* {} */\n", comment(d)))
            .unwrap_or_default();
        let upper = format!("{}_{}", self.p.to_ascii_uppercase(), upper_snake(&td.name));
        let mut defs = String::new();
        match &td.kind {
            TypeDefKind::Resource => {
                let _ = writeln!(
                    defs,
                    "{doc}/* resource {}: defined by the module author */\ntypedef struct {name} {name};\n",
                    td.name
                );
            }
            TypeDefKind::Alias(t) => {
                self.ensure(t)?;
                let target = self.ctype(t);
                if target == name {
                    // `type list-u8 = list<u8>`: the C type is already that name.
                    self.emitted.insert(name);
                    return Ok(());
                }
                let _ = writeln!(defs, "{doc}typedef {target} {name};\n");
            }
            TypeDefKind::Record(fields) => {
                let mut body = String::new();
                let mut seen = HashSet::new();
                for f in fields {
                    self.ensure(&f.ty)?;
                    let m = member(&f.name);
                    if !seen.insert(m.clone()) {
                        return Err(unsupported(
                            LANG,
                            format!("record {}: two fields map to the C name {m}", td.name),
                        ));
                    }
                    let _ = writeln!(body, "    {};", decl(&self.ctype(&f.ty), &m));
                }
                let _ = writeln!(defs, "{doc}typedef struct {name} {{\n{body}}} {name};\n");
            }
            TypeDefKind::Enum(cases) => {
                let _ = writeln!(defs, "{doc}typedef uint16_t {name};");
                for (k, c) in cases.iter().enumerate() {
                    let m = format!("{upper}_{}", upper_snake(c));
                    self.claim(m.clone(), format!("enum case {}.{c}", td.name))?;
                    let _ = writeln!(defs, "#define {m} {k}u");
                }
                defs.push('\n');
            }
            TypeDefKind::Flags(flags) => {
                let _ = writeln!(defs, "{doc}typedef uint32_t {name};");
                for (k, f) in flags.iter().enumerate() {
                    let m = format!("{upper}_{}", upper_snake(f));
                    self.claim(m.clone(), format!("flag {}.{f}", td.name))?;
                    let _ = writeln!(defs, "#define {m} (UINT32_C(1) << {k})");
                }
                defs.push('\n');
            }
            TypeDefKind::Variant(cases) => {
                let mut body = String::new();
                let mut seen = HashSet::new();
                for c in cases {
                    if let Some(t) = &c.ty {
                        self.ensure(t)?;
                        let m = member(&c.name);
                        if !seen.insert(m.clone()) {
                            return Err(unsupported(
                                LANG,
                                format!("variant {}: two cases map to the C name {m}", td.name),
                            ));
                        }
                        let _ = writeln!(body, "        {};", decl(&self.ctype(t), &m));
                    }
                }
                let mut s = format!("{doc}typedef struct {name} {{\n    uint16_t tag;\n");
                if !body.is_empty() {
                    let _ = write!(s, "    union {{\n{body}    }} val;\n");
                }
                let _ = writeln!(s, "}} {name};");
                for (k, c) in cases.iter().enumerate() {
                    let m = format!("{upper}_{}", upper_snake(&c.name));
                    self.claim(m.clone(), format!("variant case {}.{}", td.name, c.name))?;
                    let _ = writeln!(s, "#define {m} {k}u");
                }
                s.push('\n');
                defs = s;
            }
        }
        self.claim(name.clone(), what)?;
        self.emitted.insert(name);
        self.types.push_str(&defs);
        Ok(())
    }

    /// Record that `ty` needs a decoder (`dec`) or an encoder, and so do its parts.
    fn need(&mut self, ty: &Type, dec: bool) {
        let ty = self.norm(ty);
        let key = self.key(&ty);
        let set = if dec { &mut self.dec } else { &mut self.enc };
        if set.contains_key(&key) {
            return;
        }
        set.insert(key, ty.clone());
        match &ty {
            // list<u8> is copied as bytes: no element codec.
            Type::List(t) if matches!(self.i.resolve(t), Type::U8) => {}
            Type::List(t) | Type::Option(t) => self.need(t, dec),
            Type::Result { ok, err } => {
                for t in [ok, err].into_iter().flatten() {
                    self.need(t, dec);
                }
            }
            Type::Tuple(ts) => {
                for t in ts {
                    self.need(t, dec);
                }
            }
            Type::Named(i) => match self.i.types[*i].kind.clone() {
                TypeDefKind::Record(fields) => {
                    for f in &fields {
                        self.need(&f.ty, dec);
                    }
                }
                TypeDefKind::Variant(cases) => {
                    for t in cases.iter().filter_map(|c| c.ty.as_ref()) {
                        self.need(t, dec);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn decoder(&self, key: &str, ty: &Type) -> String {
        let p = &self.p;
        let ct = self.ctype(ty);
        let mut b = String::new();
        let prim = |n: usize, conv: &str| {
            format!(
                "    uint64_t x;\n    if ({p}_rd_(r, {n}, &x) != 0)\n        return -1;\n    *out = {conv};\n    return 0;\n"
            )
        };
        match ty {
            Type::Bool => {
                b.push_str(&format!(
                    "    uint64_t x;\n    if ({p}_rd_(r, 1, &x) != 0)\n        return -1;\n    if (x > 1u)\n        return ({p}_badf_(r, r->pos - 1, \"bool byte %u is neither 0 nor 1\", (unsigned)x), -1);\n    *out = x == 1u;\n    return 0;\n"
                ));
            }
            Type::U8 => b.push_str(&prim(1, "(uint8_t)x")),
            Type::U16 => b.push_str(&prim(2, "(uint16_t)x")),
            Type::U32 => b.push_str(&prim(4, "(uint32_t)x")),
            Type::U64 => b.push_str(&prim(8, "x")),
            Type::S8 => b.push_str(&prim(1, "(int8_t)(uint8_t)x")),
            Type::S16 => b.push_str(&prim(2, "(int16_t)(uint16_t)x")),
            Type::S32 => b.push_str(&prim(4, "(int32_t)(uint32_t)x")),
            Type::S64 => b.push_str(&prim(8, "(int64_t)x")),
            Type::F32 => b.push_str(&format!(
                "    uint64_t x;\n    if ({p}_rd_(r, 4, &x) != 0)\n        return -1;\n    uint32_t bits = (uint32_t)x;\n    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)\n        bits = 0x7fc00000u;\n    memcpy(out, &bits, sizeof bits);\n    return 0;\n"
            )),
            Type::F64 => b.push_str(&format!(
                "    uint64_t bits;\n    if ({p}_rd_(r, 8, &bits) != 0)\n        return -1;\n    if ((bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) &&\n        (bits & UINT64_C(0x000fffffffffffff)) != 0)\n        bits = UINT64_C(0x7ff8000000000000);\n    memcpy(out, &bits, sizeof bits);\n    return 0;\n"
            )),
            Type::Char => b.push_str(&format!(
                "    uint64_t x;\n    if ({p}_rd_(r, 4, &x) != 0)\n        return -1;\n    if (x > 0x10ffffu || (x >= 0xd800u && x <= 0xdfffu))\n        return ({p}_badf_(r, r->pos - 4, \"0x%llx is not a Unicode scalar value\", (unsigned long long)x), -1);\n    *out = (uint32_t)x;\n    return 0;\n"
            )),
            Type::String => b.push_str(&format!(
                "    size_t n, ok;\n    if ({p}_len_(r, 1, \"string\", &n) != 0)\n        return -1;\n    if ((ok = {p}_utf8_(r->p + r->pos, n)) != n)\n        return {p}_bad_(r, r->pos + ok, \"string is not valid UTF-8\");\n    out->ptr = (const char *)(r->p + r->pos);\n    out->len = n;\n    r->pos += n;\n    return 0;\n"
            )),
            Type::List(t) if matches!(self.i.resolve(t), Type::U8) => b.push_str(&format!(
                "    size_t n;\n    if ({p}_len_(r, 1, \"list\", &n) != 0)\n        return -1;\n    out->ptr = r->p + r->pos;\n    out->len = n;\n    r->pos += n;\n    return 0;\n"
            )),
            Type::List(t) => {
                let et = self.ctype(t);
                let ek = self.key(t);
                let min = min_size(self.i, t).max(1);
                b.push_str(&format!(
                    "    size_t at = r->pos, n;\n    if ({p}_len_(r, {min}, \"list\", &n) != 0)\n        return -1;\n    out->ptr = NULL;\n    out->len = 0;\n    if (n == 0)\n        return 0;\n    if ({p}_claim_(r, at, n, sizeof(*out->ptr)) != 0)\n        return -1;\n    {et} *items = {p}_alloc(r->call, n * sizeof *items);\n    if (items == NULL) {{\n        r->oom = 1;\n        return -1;\n    }}\n    memset(items, 0, n * sizeof *items);\n    for (size_t k = 0; k < n; k++)\n        if ({p}_dec_{ek}_(r, &items[k]) != 0)\n            return -1;\n    out->ptr = items;\n    out->len = n;\n    return 0;\n"
                ));
            }
            Type::Option(t) => b.push_str(&format!(
                "    uint64_t x;\n    if ({p}_rd_(r, 1, &x) != 0)\n        return -1;\n    if (x > 1u)\n        return ({p}_badf_(r, r->pos - 1, \"option tag %u is neither 0 nor 1\", (unsigned)x), -1);\n    out->has = x == 1u;\n    return out->has ? {p}_dec_{}_(r, &out->val) : 0;\n",
                self.key(t)
            )),
            Type::Result { ok, err } => {
                b.push_str(&format!(
                    "    uint64_t x;\n    if ({p}_rd_(r, 1, &x) != 0)\n        return -1;\n    if (x > 1u)\n        return ({p}_badf_(r, r->pos - 1, \"result tag %u is neither 0 nor 1\", (unsigned)x), -1);\n    out->is_err = x == 1u;\n"
                ));
                if let Some(t) = ok {
                    let _ = writeln!(
                        b,
                        "    if (!out->is_err)\n        return {p}_dec_{}_(r, &out->val.ok);",
                        self.key(t)
                    );
                }
                if let Some(t) = err {
                    let _ = writeln!(
                        b,
                        "    if (out->is_err)\n        return {p}_dec_{}_(r, &out->val.err);",
                        self.key(t)
                    );
                }
                b.push_str("    return 0;\n");
            }
            Type::Tuple(ts) => {
                for (k, t) in ts.iter().enumerate() {
                    let _ = writeln!(
                        b,
                        "    if ({p}_dec_{}_(r, &out->f{k}) != 0)\n        return -1;",
                        self.key(t)
                    );
                }
                b.push_str("    return 0;\n");
            }
            Type::Named(i) => match &self.i.types[*i].kind {
                TypeDefKind::Record(fields) => {
                    for f in fields {
                        let _ = writeln!(
                            b,
                            "    if ({p}_dec_{}_(r, &out->{}) != 0)\n        return -1;",
                            self.key(&f.ty),
                            member(&f.name)
                        );
                    }
                    b.push_str("    return 0;\n");
                }
                TypeDefKind::Enum(cases) => {
                    let _ = write!(
                        b,
                        "    uint64_t x;\n    if ({p}_rd_(r, {}, &x) != 0)\n        return -1;\n    if (x >= {}u)\n        return ({p}_badf_(r, r->pos - {0}, \"enum {name} has {count}, got discriminant %llu\", (unsigned long long)x), -1);\n    *out = ({ct})x;\n    return 0;\n",
                        discriminant_size(cases.len()),
                        cases.len(),
                        name = self.i.types[*i].name,
                        count = crate::wire::count(cases.len(), "case")
                    );
                }
                TypeDefKind::Flags(flags) => {
                    let n = flags_size(flags.len());
                    let mask: u64 = if flags.len() >= 32 {
                        0xffff_ffff
                    } else {
                        (1u64 << flags.len()) - 1
                    };
                    let _ = write!(
                        b,
                        "    uint64_t x;\n    if ({p}_rd_(r, {n}, &x) != 0)\n        return -1;\n    if ((x & ~UINT64_C({mask:#x})) != 0)\n        return ({p}_badf_(r, r->pos - {n}, \"flags {name} has {count}, got bits 0x%llx\", (unsigned long long)x), -1);\n    *out = ({ct})x;\n    return 0;\n",
                        name = self.i.types[*i].name,
                        count = crate::wire::count(flags.len(), "flag")
                    );
                }
                TypeDefKind::Variant(cases) => {
                    let d = discriminant_size(cases.len());
                    let _ = write!(
                        b,
                        "    uint64_t x;\n    if ({p}_rd_(r, {d}, &x) != 0)\n        return -1;\n    if (x >= {}u)\n        return ({p}_badf_(r, r->pos - {d}, \"variant {name} has {count}, got discriminant %llu\", (unsigned long long)x), -1);\n    out->tag = (uint16_t)x;\n    switch (out->tag) {{\n",
                        cases.len(),
                        name = self.i.types[*i].name,
                        count = crate::wire::count(cases.len(), "case")
                    );
                    for (k, c) in cases.iter().enumerate() {
                        if let Some(t) = &c.ty {
                            let _ = writeln!(
                                b,
                                "    case {k}u:\n        return {p}_dec_{}_(r, &out->val.{});",
                                self.key(t),
                                member(&c.name)
                            );
                        }
                    }
                    b.push_str("    default:\n        return 0;\n    }\n");
                }
                _ => unreachable!("aliases are resolved and resources refused before codecs"),
            },
            Type::Own(_) | Type::Borrow(_) => {
                unreachable!("borrow<R> parameters are decoded by the glue, own<R> ones refused")
            }
        }
        format!("static int {p}_dec_{key}_({p}_reader_ *r, {ct} *out)\n{{\n{b}}}\n\n")
    }

    fn encoder(&self, key: &str, ty: &Type) -> String {
        let p = &self.p;
        let ct = self.ctype(ty);
        let mut b = String::new();
        let put = |n: usize, v: &str| format!("    return {p}_put_(w, {n}, {v});\n");
        match ty {
            Type::Bool => b.push_str(&put(1, "*v ? 1u : 0u")),
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
                let n = match ty {
                    Type::U8 => 1,
                    Type::U16 => 2,
                    Type::U32 => 4,
                    _ => 8,
                };
                b.push_str(&put(n, "*v"));
            }
            Type::S8 => b.push_str(&put(1, "(uint8_t)*v")),
            Type::S16 => b.push_str(&put(2, "(uint16_t)*v")),
            Type::S32 => b.push_str(&put(4, "(uint32_t)*v")),
            Type::S64 => b.push_str(&put(8, "(uint64_t)*v")),
            Type::F32 => b.push_str(&format!(
                "    uint32_t bits;\n    memcpy(&bits, v, sizeof bits);\n    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)\n        bits = 0x7fc00000u;\n    return {p}_put_(w, 4, bits);\n"
            )),
            Type::F64 => b.push_str(&format!(
                "    uint64_t bits;\n    memcpy(&bits, v, sizeof bits);\n    if ((bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) &&\n        (bits & UINT64_C(0x000fffffffffffff)) != 0)\n        bits = UINT64_C(0x7ff8000000000000);\n    return {p}_put_(w, 8, bits);\n"
            )),
            Type::Char => b.push_str(&format!(
                "    if (*v > 0x10ffffu || (*v >= 0xd800u && *v <= 0xdfffu))\n        return {p}_wbad_(w, \"invalid char (a surrogate or above U+10FFFF)\");\n    return {p}_put_(w, 4, *v);\n"
            )),
            Type::String => b.push_str(&format!(
                "    if ({p}_wlen_(w, v->ptr != NULL, v->len) != 0)\n        return -1;\n    if ({p}_utf8_((const uint8_t *)v->ptr, v->len) != v->len)\n        return {p}_wbad_(w, \"invalid UTF-8 in a string\");\n    return {p}_bytes_(w, (const uint8_t *)v->ptr, v->len);\n"
            )),
            Type::List(t) if matches!(self.i.resolve(t), Type::U8) => b.push_str(&format!(
                "    if ({p}_wlen_(w, v->ptr != NULL, v->len) != 0)\n        return -1;\n    return {p}_bytes_(w, v->ptr, v->len);\n"
            )),
            Type::List(t) => b.push_str(&format!(
                "    if ({p}_wlen_(w, v->ptr != NULL, v->len) != 0)\n        return -1;\n    for (size_t k = 0; k < v->len; k++)\n        if ({p}_enc_{}_(w, &v->ptr[k]) != 0)\n            return -1;\n    return 0;\n",
                self.key(t)
            )),
            Type::Option(t) => b.push_str(&format!(
                "    if ({p}_put_(w, 1, v->has ? 1u : 0u) != 0)\n        return -1;\n    return v->has ? {p}_enc_{}_(w, &v->val) : 0;\n",
                self.key(t)
            )),
            Type::Result { ok, err } => {
                let _ = writeln!(
                    b,
                    "    if ({p}_put_(w, 1, v->is_err ? 1u : 0u) != 0)\n        return -1;"
                );
                if let Some(t) = ok {
                    let _ = writeln!(
                        b,
                        "    if (!v->is_err)\n        return {p}_enc_{}_(w, &v->val.ok);",
                        self.key(t)
                    );
                }
                if let Some(t) = err {
                    let _ = writeln!(
                        b,
                        "    if (v->is_err)\n        return {p}_enc_{}_(w, &v->val.err);",
                        self.key(t)
                    );
                }
                b.push_str("    return 0;\n");
            }
            Type::Tuple(ts) => {
                for (k, t) in ts.iter().enumerate() {
                    let _ = writeln!(
                        b,
                        "    if ({p}_enc_{}_(w, &v->f{k}) != 0)\n        return -1;",
                        self.key(t)
                    );
                }
                b.push_str("    return 0;\n");
            }
            Type::Named(i) => match &self.i.types[*i].kind {
                TypeDefKind::Record(fields) => {
                    for f in fields {
                        let _ = writeln!(
                            b,
                            "    if ({p}_enc_{}_(w, &v->{}) != 0)\n        return -1;",
                            self.key(&f.ty),
                            member(&f.name)
                        );
                    }
                    b.push_str("    return 0;\n");
                }
                TypeDefKind::Enum(cases) => {
                    let _ = write!(
                        b,
                        "    if (*v >= {}u)\n        return {p}_wbad_(w, \"enum value out of range\");\n    return {p}_put_(w, {}, *v);\n",
                        cases.len(),
                        discriminant_size(cases.len())
                    );
                }
                TypeDefKind::Flags(flags) => {
                    let n = flags_size(flags.len());
                    let mask: u64 = if flags.len() >= 32 {
                        0xffff_ffff
                    } else {
                        (1u64 << flags.len()) - 1
                    };
                    let _ = write!(
                        b,
                        "    if (((uint64_t)*v & ~UINT64_C({mask:#x})) != 0)\n        return {p}_wbad_(w, \"unknown flag bits\");\n    return {p}_put_(w, {n}, *v);\n"
                    );
                }
                TypeDefKind::Variant(cases) => {
                    let d = discriminant_size(cases.len());
                    let _ = write!(
                        b,
                        "    if (v->tag >= {}u)\n        return {p}_wbad_(w, \"variant tag out of range\");\n    if ({p}_put_(w, {d}, v->tag) != 0)\n        return -1;\n    switch (v->tag) {{\n",
                        cases.len()
                    );
                    for (k, c) in cases.iter().enumerate() {
                        if let Some(t) = &c.ty {
                            let _ = writeln!(
                                b,
                                "    case {k}u:\n        return {p}_enc_{}_(w, &v->val.{});",
                                self.key(t),
                                member(&c.name)
                            );
                        }
                    }
                    b.push_str("    default:\n        return 0;\n    }\n");
                }
                _ => unreachable!("aliases are resolved and resources refused before codecs"),
            },
            Type::Own(i) => {
                let _ = write!(
                    b,
                    "    if (*v == NULL)\n        return {p}_wbad_(w, \"a NULL own<{}> pointer\");\n    return {p}_own_put_(w, {}u, *v);\n",
                    self.i.types[*i].name,
                    self.ri(*i)
                );
            }
            Type::Borrow(_) => unreachable!("borrow<R> in a result is refused"),
        }
        format!(
            "static int {p}_enc_{key}_({p}_writer_ *w, {} *v)\n{{\n{b}}}\n\n",
            const_of(&ct)
        )
    }

    /// Record that the output type `ty` needs a release walker, and so do its parts that hold
    /// `own<R>`.
    fn need_rel(&mut self, ty: &Type) {
        let ty = self.norm(ty);
        if self.find_handle(&ty, true).is_none() {
            return;
        }
        let key = self.key(&ty);
        if self.rel.contains_key(&key) {
            return;
        }
        self.rel.insert(key, ty.clone());
        match &ty {
            Type::List(t) | Type::Option(t) => self.need_rel(t),
            Type::Result { ok, err } => {
                for t in [ok, err].into_iter().flatten() {
                    self.need_rel(t);
                }
            }
            Type::Tuple(ts) => {
                for t in ts {
                    self.need_rel(t);
                }
            }
            Type::Named(i) => match self.i.types[*i].kind.clone() {
                TypeDefKind::Record(fields) => {
                    for f in &fields {
                        self.need_rel(&f.ty);
                    }
                }
                TypeDefKind::Variant(cases) => {
                    for t in cases.iter().filter_map(|c| c.ty.as_ref()) {
                        self.need_rel(t);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The release walker of `ty`: visits every non-NULL `own<R>` pointer of an output the
    /// encoder refused, in the encoder's order, and skips what it cannot read (a NULL list, a
    /// tag out of range).
    fn releaser(&self, key: &str, ty: &Type) -> String {
        let p = &self.p;
        let ct = self.ctype(ty);
        let mut b = String::new();
        let sub = |t: &Type, at: &str| -> Option<String> {
            self.find_handle(t, true)
                .map(|_| format!("{p}_rel_{}_(rl, &{at});", self.key(t)))
        };
        match ty {
            Type::Own(i) => {
                let _ = writeln!(
                    b,
                    "    if (*v != NULL)\n        {p}_rel_visit_(rl, {}u, *v);",
                    self.ri(*i)
                );
            }
            Type::List(t) => {
                if let Some(s) = sub(t, "v->ptr[k]") {
                    let _ = writeln!(
                        b,
                        "    if (v->ptr != NULL)\n        for (size_t k = 0; k < v->len; k++)\n            {s}"
                    );
                }
            }
            Type::Option(t) => {
                if let Some(s) = sub(t, "v->val") {
                    let _ = writeln!(b, "    if (v->has)\n        {s}");
                }
            }
            Type::Result { ok, err } => {
                if let Some(s) = ok.as_ref().and_then(|t| sub(t, "v->val.ok")) {
                    let _ = writeln!(b, "    if (!v->is_err)\n        {s}");
                }
                if let Some(s) = err.as_ref().and_then(|t| sub(t, "v->val.err")) {
                    let _ = writeln!(b, "    if (v->is_err)\n        {s}");
                }
            }
            Type::Tuple(ts) => {
                for (k, t) in ts.iter().enumerate() {
                    if let Some(s) = sub(t, &format!("v->f{k}")) {
                        let _ = writeln!(b, "    {s}");
                    }
                }
            }
            Type::Named(i) => match &self.i.types[*i].kind {
                TypeDefKind::Record(fields) => {
                    for f in fields {
                        if let Some(s) = sub(&f.ty, &format!("v->{}", member(&f.name))) {
                            let _ = writeln!(b, "    {s}");
                        }
                    }
                }
                TypeDefKind::Variant(cases) => {
                    b.push_str("    switch (v->tag) {\n");
                    for (k, c) in cases.iter().enumerate() {
                        if let Some(s) =
                            c.ty.as_ref()
                                .and_then(|t| sub(t, &format!("v->val.{}", member(&c.name))))
                        {
                            let _ = writeln!(b, "    case {k}u:\n        {s}\n        break;");
                        }
                    }
                    b.push_str("    default:\n        break;\n    }\n");
                }
                _ => unreachable!("only records and variants hold own<R>"),
            },
            _ => unreachable!("only types holding own<R> get a release walker"),
        }
        format!(
            "static void {p}_rel_{key}_({p}_rel_ *rl, {} *v)\n{{\n{b}}}\n\n",
            const_of(&ct)
        )
    }
}

impl Gen<'_> {
    /// The direct entry of function `f` (method `idx`), which calls the author's `fname` like its
    /// glue does: the slots converted to the parameters, the result to its slot (docs/TYPED.md,
    /// "Direct calls"); a failure is reported as the glue reports it.
    fn direct_entry(
        &self,
        f: &crate::model::Function,
        idx: usize,
        fname: &str,
        sig: &ScalarSignature,
    ) -> String {
        let p = &self.p;
        let fname_d = format!("{p}_direct_{}_", &fname[p.len() + 1..]);
        let pad = " ".repeat("static int32_t (".len() + fname_d.len());
        let mut b = format!(
            "/* Direct entry of {} (method {idx}): the same {fname} as {p}_dispatch calls. */\n\
             static int32_t {fname_d}(void *instance, const uint64_t *args, uint64_t *result,\n\
             {pad}bh_call_ctx *ctx)\n{{\n\
             \x20   {p}_call call = {{{p}_instance_api(instance), ctx, instance, NULL, 0}};\n\
             \x20   if (call.api == NULL)\n        return EINVAL; /* no api to fail through */\n",
            f.name,
        );
        if sig.params.is_empty() {
            b.push_str("    (void)args;\n");
        }
        if sig.result.is_none() {
            b.push_str("    (void)result;\n");
        }
        let mut call_args = vec!["&call".to_string()];
        for (k, (par, &ty)) in f.params.iter().zip(sig.params.iter()).enumerate() {
            let a = format!("args[{k}]");
            let conv = match ty {
                Scalar::Bool => format!("{a} != 0"),
                Scalar::U8 => format!("(uint8_t){a}"),
                Scalar::U16 => format!("(uint16_t){a}"),
                Scalar::U32 | Scalar::Char => format!("(uint32_t){a}"),
                Scalar::U64 => a,
                Scalar::S8 => format!("(int8_t)(uint8_t){a}"),
                Scalar::S16 => format!("(int16_t)(uint16_t){a}"),
                Scalar::S32 => format!("(int32_t)(uint32_t){a}"),
                Scalar::S64 => format!("(int64_t){a}"),
                Scalar::F32 => format!("{p}_slot_f32_({a})"),
                Scalar::F64 => format!("{p}_slot_f64_({a})"),
            };
            let _ = writeln!(
                b,
                "    {} = {conv};",
                decl(&self.ctype(&par.ty), &format!("p{k}"))
            );
            call_args.push(format!("&p{k}"));
        }
        if let Some(t) = &f.result {
            let _ = writeln!(
                b,
                "    {};\n    memset(&out, 0, sizeof out);",
                decl(&self.ctype(t), "out")
            );
            call_args.push("&out".into());
        }
        let _ = writeln!(
            b,
            "    int32_t rc = {fname}({});\n    if (rc != 0 || call.failed_ != 0)\n        rc = {p}_author_failed_(&call, \"{}\", rc);",
            call_args.join(", "),
            f.name
        );
        if let Some(ty) = sig.result {
            let slot = match ty {
                Scalar::Bool => "out ? 1u : 0u".to_string(),
                Scalar::U8 | Scalar::U16 | Scalar::U32 | Scalar::U64 | Scalar::Char => {
                    "(uint64_t)out".to_string()
                }
                Scalar::S8 | Scalar::S16 | Scalar::S32 | Scalar::S64 => {
                    "(uint64_t)(int64_t)out".to_string()
                }
                Scalar::F32 => format!("{p}_f32_slot_(out)"),
                Scalar::F64 => format!("{p}_f64_slot_(out)"),
            };
            if ty == Scalar::Char {
                let _ = writeln!(
                    b,
                    "    else if (out > 0x10ffffu || (out >= 0xd800u && out <= 0xdfffu))\n        rc = {p}_fail(&call, EINVAL, \"{}: result: invalid char (a surrogate or above U+10FFFF)\");",
                    f.name
                );
            }
            let _ = writeln!(b, "    else\n        *result = {slot};");
        }
        b.push_str(&format!(
            "    {p}_free_all_(&call);\n    return rc;\n}}\n\n"
        ));
        b
    }
}

/// The slot conversions of the direct entries (`@` is the prefix): floats made canonical as the
/// codecs make them, so that a direct entry and the bytes entry agree.
const DIRECT_RUNTIME: &str = r#"static inline float @_slot_f32_(uint64_t slot)
{
    uint32_t bits = (uint32_t)slot;
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)
        bits = 0x7fc00000u;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline uint64_t @_f32_slot_(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)
        bits = 0x7fc00000u;
    return bits;
}

static inline double @_slot_f64_(uint64_t bits)
{
    if ((bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) &&
        (bits & UINT64_C(0x000fffffffffffff)) != 0)
        bits = UINT64_C(0x7ff8000000000000);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline uint64_t @_f64_slot_(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) &&
        (bits & UINT64_C(0x000fffffffffffff)) != 0)
        bits = UINT64_C(0x7ff8000000000000);
    return bits;
}

"#;

/// The run-time part every generated source carries (`@` is the prefix).
const RUNTIME: &str = r#"/* ---- call-scoped arena ---- */

typedef union @_block_ {
    struct {
        union @_block_ *prev, *next;
    } link;
    max_align_t align_;
} @_block_;

static inline void @_link_(@_call *call, @_block_ *b)
{
    b->link.prev = NULL;
    b->link.next = call->blocks_;
    if (call->blocks_ != NULL)
        ((@_block_ *)call->blocks_)->link.prev = b;
    call->blocks_ = b;
}

static inline void @_unlink_(@_call *call, @_block_ *b)
{
    if (b->link.prev != NULL)
        b->link.prev->link.next = b->link.next;
    else
        call->blocks_ = b->link.next;
    if (b->link.next != NULL)
        b->link.next->link.prev = b->link.prev;
}

void *@_alloc(@_call *call, size_t size)
{
    if (call == NULL || size > SIZE_MAX - sizeof(@_block_))
        return NULL;
    @_block_ *b = malloc(sizeof(@_block_) + (size == 0 ? 1 : size));
    if (b == NULL)
        return NULL;
    @_link_(call, b);
    return b + 1;
}

void *@_realloc(@_call *call, void *ptr, size_t size)
{
    if (ptr == NULL)
        return @_alloc(call, size);
    if (call == NULL || size > SIZE_MAX - sizeof(@_block_))
        return NULL;
    @_block_ *b = (@_block_ *)ptr - 1;
    @_unlink_(call, b);
    @_block_ *nb = realloc(b, sizeof(@_block_) + (size == 0 ? 1 : size));
    if (nb == NULL) {
        @_link_(call, b); /* the old block stays the call's */
        return NULL;
    }
    @_link_(call, nb);
    return nb + 1;
}

static void @_free_all_(@_call *call)
{
    @_block_ *b = call->blocks_;
    while (b != NULL) {
        @_block_ *next = b->link.next;
        free(b);
        b = next;
    }
    call->blocks_ = NULL;
}

int32_t @_fail(@_call *call, int32_t code, const char *msg)
{
    if (code == 0)
        code = EINVAL;
    size_t n = 0;
    if (msg == NULL)
        msg = "";
    while (n < 4096 && msg[n] != '\0')
        n++;
    if (call->failed_ == 0) {
        call->failed_ = code;
        call->api->fail(call->ctx, code, msg, n);
    }
    return code;
}

/* ---- strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) ---- */

/* The length of the longest valid prefix that ends at a sequence boundary (`n` when all of it
 * is valid): where the first invalid or incomplete sequence starts, as the host reports it. */
static inline size_t @_utf8_(const uint8_t *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        uint8_t c = s[k];
        size_t need;
        uint8_t lo = 0x80u, hi = 0xbfu;
        if (c < 0x80u) {
            k++;
            continue;
        } else if (c >= 0xc2u && c <= 0xdfu) {
            need = 1;
        } else if (c >= 0xe0u && c <= 0xefu) {
            need = 2;
            if (c == 0xe0u)
                lo = 0xa0u;
            else if (c == 0xedu)
                hi = 0x9fu;
        } else if (c >= 0xf0u && c <= 0xf4u) {
            need = 3;
            if (c == 0xf0u)
                lo = 0x90u;
            else if (c == 0xf4u)
                hi = 0x8fu;
        } else {
            return k;
        }
        for (size_t j = 1; j <= need; j++) {
            if (k + j >= n)
                return k;
            uint8_t t = s[k + j];
            if (t < (j == 1 ? lo : 0x80u) || t > (j == 1 ? hi : 0xbfu))
                return k;
        }
        k += need + 1;
    }
    return n;
}

/* ---- reader: the input, hostile ---- */

typedef struct @_reader_ {
    @_call *call;
    const uint8_t *p;
    size_t len, pos;
    const char *why; /* what was wrong, NULL when nothing */
    size_t at;       /* where */
    int oom;
    size_t budget;   /* bytes the decoded lists may still take (^_DECODED_MAX) */
    char msg[160];   /* `why`, when it was formatted */
} @_reader_;

/* Decoded lists (other than list<u8> and strings, which stay in the input) take at most this
 * many bytes per call: a list's length is checked against the input left, but one input byte
 * (a `none`) can decode to a large C struct. Define it before compiling to change it. */
#ifndef ^_DECODED_MAX
#define ^_DECODED_MAX(input_len) ((input_len) < SIZE_MAX / 64 - 65536 ? (input_len) * 64 + 65536 : SIZE_MAX)
#endif

static inline int @_bad_(@_reader_ *r, size_t at, const char *why)
{
    r->why = why;
    r->at = at;
    return -1;
}

/* @_bad_ with a formatted reason (worded as the host's decoder words it); the caller returns -1
 * itself, so that the compiler sees the failure path (`return (@_badf_(...), -1);`). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void @_badf_(@_reader_ *r, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->why = r->msg;
    r->at = at;
}

/* Claim n elements of `size` bytes from the budget. */
static inline int @_claim_(@_reader_ *r, size_t at, size_t n, size_t size)
{
    if (n > r->budget / size)
        return @_bad_(r, at, "the decoded lists would exceed ^_DECODED_MAX bytes");
    r->budget -= n * size;
    return 0;
}

/* n (1..8) little-endian bytes. */
static inline int @_rd_(@_reader_ *r, size_t n, uint64_t *out)
{
    if (r->len - r->pos < n)
        return (@_badf_(r, r->pos, "truncated: %zu byte%s needed, %zu left", n, n == 1 ? "" : "s",
                        r->len - r->pos), -1);
    uint64_t x = 0;
    for (size_t k = 0; k < n; k++)
        x |= (uint64_t)r->p[r->pos + k] << (8 * k);
    r->pos += n;
    *out = x;
    return 0;
}

/* A u32 length of a `what` ("list", "string") of elements that take at least `min` bytes each,
 * checked against what is left. */
static inline int @_len_(@_reader_ *r, size_t min, const char *what, size_t *out)
{
    size_t at = r->pos;
    uint64_t n;
    if (@_rd_(r, 4, &n) != 0)
        return -1;
    if (n > (r->len - r->pos) / min) {
        unsigned long long need = (unsigned long long)n * min; /* n < 2^32, min small */
        return (@_badf_(r, at, "%s length %llu needs at least %llu byte%s, %zu left", what,
                        (unsigned long long)n, need, need == 1 ? "" : "s", r->len - r->pos), -1);
    }
    *out = (size_t)n;
    return 0;
}

/* ---- writer: the output, checked ---- */

<<OWN>>typedef struct @_writer_ {
    uint8_t *buf;
    size_t len, cap;
    const char *why;
    int oom;
<<OWNS>>} @_writer_;

static inline int @_wbad_(@_writer_ *w, const char *why)
{
    w->why = why;
    return -1;
}

static inline int @_bytes_(@_writer_ *w, const uint8_t *data, size_t n)
{
    if (n == 0)
        return 0;
    if (n > SIZE_MAX - w->len)
        return @_wbad_(w, "output too large");
    if (w->len + n > w->cap) {
        size_t cap = w->cap < 64 ? 64 : w->cap;
        while (cap < w->len + n)
            cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (nb == NULL) {
            w->oom = 1;
            return -1;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    return 0;
}

static inline int @_put_(@_writer_ *w, size_t n, uint64_t x)
{
    uint8_t b[8];
    for (size_t k = 0; k < n; k++)
        b[k] = (uint8_t)(x >> (8 * k));
    return @_bytes_(w, b, n);
}

/* A list's or string's length; `ptr_ok` is false for a NULL pointer. */
static inline int @_wlen_(@_writer_ *w, bool ptr_ok, size_t n)
{
    if (!ptr_ok && n != 0)
        return @_wbad_(w, "a NULL pointer with a non-zero length");
    if ((uint64_t)n > UINT32_MAX)
        return @_wbad_(w, "a list or string longer than 4294967295");
    return @_put_(w, 4, (uint64_t)n);
}

/* ---- call glue ---- */

static inline int32_t @_dec_failed_(@_call *call, const @_reader_ *r, const char *fn, const char *param)
{
    char msg[512];
    if (r->oom)
        snprintf(msg, sizeof msg, "%s: parameter %s: out of memory while decoding", fn, param);
    else
        snprintf(msg, sizeof msg, "%s: parameter %s: malformed typed payload at byte %zu: %s", fn, param,
                 r->at, r->why ? r->why : "invalid");
    return @_fail(call, r->oom ? ENOMEM : EINVAL, msg);
}

static inline int32_t @_check_end_(@_call *call, const @_reader_ *r, const char *fn)
{
    if (r->pos == r->len)
        return 0;
    char msg[256];
    size_t n = r->len - r->pos;
    snprintf(msg, sizeof msg, "%s: malformed typed payload at byte %zu: %zu trailing byte%s", fn,
             r->pos, n, n == 1 ? "" : "s");
    return @_fail(call, EINVAL, msg);
}

static inline int32_t @_author_failed_(@_call *call, const char *fn, int32_t rc)
{
    if (call->failed_ != 0)
        return call->failed_;
    char msg[256];
    snprintf(msg, sizeof msg, "%s failed with code %ld", fn, (long)rc);
    return @_fail(call, rc, msg);
}

/* Writes the encoded output (or fails the call) and frees the writer's buffer. */
static inline int32_t @_finish_(@_call *call, const char *fn, @_writer_ *w, int enc_rc)
{
    int32_t rc = 0;
    if (enc_rc != 0) {
        char msg[256];
        if (w->oom)
            snprintf(msg, sizeof msg, "%s: result: out of memory while encoding", fn);
        else
            snprintf(msg, sizeof msg, "%s: result: %s", fn, w->why ? w->why : "invalid");
        rc = @_fail(call, w->oom ? ENOMEM : EINVAL, msg);
    } else if (w->len > 0) {
        int32_t st = call->api->write(call->ctx, w->buf, w->len);
        if (st != BH_API_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s: the host refused the output (status %ld%s)", fn,
                     (long)st,
                     st == BH_API_TOO_LARGE ? ": larger than the call's output limit" : "");
            rc = @_fail(call, st, msg);
        }
    }
    free(w->buf);
    w->buf = NULL;
    return rc;
}

"#;

/// Before the writer of an interface with resources: an `own<R>` object of the output.
const OWN_STRUCT: &str =
    "/* An own<R> object of the output: resource index, object, where its handle goes. */
typedef struct @_own_ {
    unsigned ri;
    void *obj;
    size_t at;
} @_own_;

";

/// The writer's fields of an interface with resources: the output's objects, in order.
const OWNS_FIELDS: &str = "    @_own_ *owns;
    size_t nowns, owns_cap;
";

/// The run-time part of an interface with resources (`@` is the prefix), after the per-resource
/// `@_NRES_`, `@_rnames_` and `@_destroy_any_`.
const RES_RUNTIME: &str = r#"/* One slot of a resource's table. A handle is gen << 32 | (slot + 1). */
typedef struct @_slot_ {
    void *obj;     /* NULL: free */
    uint32_t gen;  /* the generation of the handle to obj; changes when obj is dropped */
    uint32_t pins; /* running calls that borrow obj */
    uint32_t next; /* free list: the next free slot + 1 (0: none) */
    bool dropped;  /* dropped while pinned: destroyed when the last pin is released */
} @_slot_;

typedef struct @_rtable_ {
    @_slot_ *slots;
    uint32_t len, cap, free;
    uint32_t gen0; /* first generation of every slot: random per instance and resource */
} @_rtable_;

struct @_resources {
    pthread_mutex_t mu;
    @_rtable_ t[@_NRES_];
};

static uint32_t @_random_u32_(const void *salt)
{
    uint32_t x = 0;
#if defined(__linux__)
    if (getrandom(&x, sizeof x, 0) == (ssize_t)sizeof x)
        return x;
#endif
    /* no entropy: mix the clock and two addresses */
    x ^= (uint32_t)time(NULL) ^ (uint32_t)clock() ^ (uint32_t)(uintptr_t)salt ^
         (uint32_t)((uintptr_t)&x >> 4);
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

@_resources *@_resources_new(void)
{
    @_resources *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    for (unsigned ri = 0; ri < @_NRES_; ri++)
        t->t[ri].gen0 = @_random_u32_(&t->t[ri]);
    return t;
}

void @_resources_free(@_resources *t, void *instance)
{
    if (t == NULL)
        return;
    for (unsigned ri = 0; ri < @_NRES_; ri++) {
        @_rtable_ *rt = &t->t[ri];
        for (uint32_t k = 0; k < rt->len; k++) {
            void *obj = rt->slots[k].obj;
            rt->slots[k].obj = NULL;
            if (obj != NULL)
                @_destroy_any_(instance, ri, obj);
        }
        free(rt->slots);
        rt->slots = NULL;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The live (not dropped) slot of handle h, or NULL. Called with the lock held. */
static inline @_slot_ *@_find_(@_resources *t, unsigned ri, uint64_t h)
{
    uint32_t idx = (uint32_t)h;
    @_rtable_ *rt = &t->t[ri];
    if (idx == 0 || idx > rt->len)
        return NULL;
    @_slot_ *s = &rt->slots[idx - 1];
    if (s->obj == NULL || s->dropped || s->gen != (uint32_t)(h >> 32))
        return NULL;
    return s;
}

/* Puts slot k on the free list. Called with the lock held. */
static inline void @_free_slot_(@_rtable_ *rt, uint32_t k)
{
    rt->slots[k].obj = NULL;
    rt->slots[k].pins = 0;
    rt->slots[k].dropped = false;
    rt->slots[k].next = rt->free;
    rt->free = k + 1;
}

/* A new handle for obj. Called with the lock held; -1 when out of memory or slots. */
static inline int @_insert_(@_resources *t, unsigned ri, void *obj, uint64_t *h)
{
    @_rtable_ *rt = &t->t[ri];
    uint32_t k;
    if (rt->free != 0) {
        k = rt->free - 1;
        rt->free = rt->slots[k].next;
    } else {
        if (rt->len == rt->cap) {
            size_t most = SIZE_MAX / 2 / sizeof(@_slot_); /* slots that fit in memory */
            if (rt->cap > UINT32_MAX / 4 || rt->cap > most)
                return -1;
            uint32_t cap = rt->cap == 0 ? 16u : rt->cap * 2u;
            @_slot_ *ns = realloc(rt->slots, (size_t)cap * sizeof *ns);
            if (ns == NULL)
                return -1;
            rt->slots = ns;
            rt->cap = cap;
        }
        k = rt->len++;
        rt->slots[k].gen = rt->gen0;
    }
    rt->slots[k].obj = obj;
    rt->slots[k].pins = 0;
    rt->slots[k].next = 0;
    rt->slots[k].dropped = false;
    *h = (uint64_t)rt->slots[k].gen << 32 | ((uint64_t)k + 1u);
    return 0;
}

/* A borrowed object, pinned for the call. */
typedef struct @_pin_ {
    unsigned ri;
    uint32_t slot;
    void *obj;
} @_pin_;

static inline int @_pin_obj_(@_resources *t, unsigned ri, uint64_t h, @_pin_ *out)
{
    int rc = -1;
    pthread_mutex_lock(&t->mu);
    @_slot_ *s = @_find_(t, ri, h);
    if (s != NULL) {
        s->pins++;
        out->ri = ri;
        out->slot = (uint32_t)h - 1u;
        out->obj = s->obj;
        rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Releases n pins; an object dropped meanwhile is destroyed with its last pin. */
static inline void @_unpin_all_(@_call *call, @_resources *t, const @_pin_ *pins, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        void *dead = NULL;
        pthread_mutex_lock(&t->mu);
        @_rtable_ *rt = &t->t[pins[k].ri];
        @_slot_ *s = &rt->slots[pins[k].slot];
        if (--s->pins == 0 && s->dropped) {
            dead = s->obj;
            @_free_slot_(rt, pins[k].slot);
        }
        pthread_mutex_unlock(&t->mu);
        if (dead != NULL)
            @_destroy_any_(call->instance, pins[k].ri, dead);
    }
}

/* [resource-drop]: the handle is stale at once; the object is destroyed now, or by the last
 * call that borrows it. -1 for a stale handle. */
static inline int @_drop_(@_call *call, @_resources *t, unsigned ri, uint64_t h)
{
    int rc = -1;
    void *dead = NULL;
    pthread_mutex_lock(&t->mu);
    @_slot_ *s = @_find_(t, ri, h);
    if (s != NULL) {
        s->gen++;
        if (s->pins == 0) {
            dead = s->obj;
            @_free_slot_(&t->t[ri], (uint32_t)h - 1u);
        } else {
            s->dropped = true;
        }
        rc = 0;
    }
    pthread_mutex_unlock(&t->mu);
    if (dead != NULL)
        @_destroy_any_(call->instance, ri, dead);
    return rc;
}

static inline int32_t @_stale_(@_call *call, unsigned ri, uint64_t h)
{
    char msg[256];
    snprintf(msg, sizeof msg, "stale handle: no live %s has handle 0x%016llx", @_rnames_[ri],
             (unsigned long long)h);
    return @_fail(call, EINVAL, msg);
}

static inline int32_t @_no_table_(@_call *call, const char *fn)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: no resource table (@_instance_resources returned NULL)", fn);
    return @_fail(call, EINVAL, msg);
}

/* Encodes an own<R> as a placeholder; its handle is written when it enters the table. */
static inline int @_own_put_(@_writer_ *w, unsigned ri, void *obj)
{
    if (w->nowns == w->owns_cap) {
        size_t cap = w->owns_cap == 0 ? 8 : w->owns_cap * 2;
        @_own_ *no = cap > SIZE_MAX / sizeof *no ? NULL : realloc(w->owns, cap * sizeof *no);
        if (no == NULL) {
            w->oom = 1;
            return -1;
        }
        w->owns = no;
        w->owns_cap = cap;
    }
    w->owns[w->nowns].ri = ri;
    w->owns[w->nowns].obj = obj;
    w->owns[w->nowns].at = w->len;
    w->nowns++;
    return @_put_(w, 8, 0);
}

static inline int @_own_cmp_(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const @_own_ *)a)->obj, y = (uintptr_t)((const @_own_ *)b)->obj;
    return x < y ? -1 : x > y;
}

static inline bool @_pinned_(const void *obj, const @_pin_ *pins, size_t npins)
{
    for (size_t j = 0; j < npins; j++)
        if (pins[j].obj == obj)
            return true;
    return false;
}

/* Destroys the distinct objects of owns[from..n) (sorted by obj) that no parameter pins. */
static inline void @_destroy_owns_(@_call *call, const @_own_ *owns, size_t from, size_t n,
                                   const @_pin_ *pins, size_t npins)
{
    for (size_t k = from; k < n; k++)
        if ((k == from || owns[k].obj != owns[k - 1].obj) && !@_pinned_(owns[k].obj, pins, npins))
            @_destroy_any_(call->instance, owns[k].ri, owns[k].obj);
}

/* After a successful encoding: puts the output's objects into the table, writes their handles
 * and the output. An object twice in the output, or one a parameter borrows, is invalid output;
 * the objects that did not reach the table are then destroyed. */
static inline int32_t @_finish_owns_(@_call *call, const char *fn, @_writer_ *w, @_resources *t,
                                     const @_pin_ *pins, size_t npins)
{
    @_own_ *owns = w->owns;
    size_t n = w->nowns;
    w->owns = NULL;
    w->nowns = w->owns_cap = 0;
    if (n > 1)
        qsort(owns, n, sizeof *owns, @_own_cmp_);
    char msg[512];
    msg[0] = '\0';
    for (size_t k = 0; k < n && msg[0] == '\0'; k++) {
        if (k > 0 && owns[k].obj == owns[k - 1].obj)
            snprintf(msg, sizeof msg, "%s: result: the same object twice as own<%s>", fn,
                     @_rnames_[owns[k].ri]);
        else if (@_pinned_(owns[k].obj, pins, npins))
            snprintf(msg, sizeof msg,
                     "%s: result: own<%s> of an object that already has a handle (a borrowed "
                     "parameter)",
                     fn, @_rnames_[owns[k].ri]);
    }
    int32_t code = EINVAL;
    size_t k = 0;
    if (msg[0] == '\0') {
        pthread_mutex_lock(&t->mu);
        for (; k < n; k++) {
            uint64_t h;
            if (@_insert_(t, owns[k].ri, owns[k].obj, &h) != 0)
                break;
            for (size_t b = 0; b < 8; b++)
                w->buf[owns[k].at + b] = (uint8_t)(h >> (8 * b));
        }
        pthread_mutex_unlock(&t->mu);
        if (k < n) {
            code = ENOMEM;
            snprintf(msg, sizeof msg, "%s: result: out of memory while adding a %s to the table",
                     fn, @_rnames_[owns[k].ri]);
        }
    }
    if (msg[0] != '\0') {
        @_destroy_owns_(call, owns, k, n, pins, npins);
        free(owns);
        free(w->buf);
        w->buf = NULL;
        return @_fail(call, code, msg);
    }
    free(owns);
    return @_finish_(call, fn, w, 0);
}

/* Walks an output the encoder refused, to find its objects. */
typedef struct @_rel_ {
    int mode; /* 0: collect into items; 1: find object number `want`; 2: is it among the first `want`? */
    @_own_ *items;
    size_t n, cap, count, want;
    int oom, dup;
    unsigned found_ri;
    void *found;
} @_rel_;

static inline void @_rel_visit_(@_rel_ *rl, unsigned ri, void *obj)
{
    size_t c = rl->count++;
    if (rl->mode == 1) {
        if (c == rl->want) {
            rl->found = obj;
            rl->found_ri = ri;
        }
        return;
    }
    if (rl->mode == 2) {
        if (c < rl->want && obj == rl->found)
            rl->dup = 1;
        return;
    }
    if (rl->oom)
        return;
    if (rl->n == rl->cap) {
        size_t cap = rl->cap == 0 ? 16 : rl->cap * 2;
        @_own_ *ni = cap > SIZE_MAX / sizeof *ni ? NULL : realloc(rl->items, cap * sizeof *ni);
        if (ni == NULL) {
            rl->oom = 1;
            return;
        }
        rl->items = ni;
        rl->cap = cap;
    }
    rl->items[rl->n].ri = ri;
    rl->items[rl->n].obj = obj;
    rl->items[rl->n].at = 0;
    rl->n++;
}

/* After the author returned success and the output was refused: destroys every object of the
 * output (each once) that no parameter pins. Nothing of it reached the table. */
static inline void @_release_(@_call *call, void (*walk)(@_rel_ *, const void *), const void *out,
                              const @_pin_ *pins, size_t npins)
{
    @_rel_ rl;
    memset(&rl, 0, sizeof rl);
    walk(&rl, out);
    if (!rl.oom) {
        if (rl.n > 1)
            qsort(rl.items, rl.n, sizeof *rl.items, @_own_cmp_);
        @_destroy_owns_(call, rl.items, 0, rl.n, pins, npins);
        free(rl.items);
        return;
    }
    free(rl.items);
    /* Out of memory: find them one at a time, without memory. */
    size_t total = rl.count;
    for (size_t i = 0; i < total; i++) {
        rl.mode = 1;
        rl.count = 0;
        rl.want = i;
        rl.found = NULL;
        walk(&rl, out);
        rl.mode = 2;
        rl.count = 0;
        rl.dup = 0;
        walk(&rl, out);
        if (rl.found != NULL && !rl.dup && !@_pinned_(rl.found, pins, npins))
            @_destroy_any_(call->instance, rl.found_ri, rl.found);
    }
}

"#;

/// Generate the two files for `iface`; `prefix` (a C identifier) defaults to the interface's
/// name in snake case.
pub fn generate(iface: &Interface, prefix: Option<&str>) -> Result<Vec<File>> {
    let p = match prefix {
        Some(p) => p.to_string(),
        None => snake(&iface.name),
    };
    // bh_ is the host's C ABI; bridgehost_ the module ABI's exported symbols
    // (bridgehost_module_v1, bridgehost_module_interface), which a generated
    // PREFIX_FUNCTION could otherwise collide with.
    if !is_c_identifier(&p)
        || KEYWORDS.contains(&p.as_str())
        || p.starts_with("bh_")
        || p.starts_with("bridgehost")
    {
        return Err(unsupported(
            LANG,
            format!(
                "prefix {p:?} is not a usable C identifier (letters, digits, _; not a keyword, \
                 not bh_... or bridgehost..., the ABIs' names)"
            ),
        ));
    }
    let mut g = Gen {
        i: iface,
        p: p.clone(),
        names: BTreeMap::new(),
        types: String::new(),
        emitted: HashSet::new(),
        dec: BTreeMap::new(),
        enc: BTreeMap::new(),
        rel: BTreeMap::new(),
        res: iface.resources().collect(),
    };
    let has_res = !g.res.is_empty();
    for fixed in [
        "call",
        "string",
        "alloc",
        "realloc",
        "fail",
        "dispatch",
        "methods",
        "interface",
    ] {
        g.claim(format!("{p}_{fixed}"), format!("the generated {p}_{fixed}"))?;
    }
    if has_res {
        for fixed in [
            "resources",
            "resources_new",
            "resources_free",
            "instance_resources",
        ] {
            g.claim(format!("{p}_{fixed}"), format!("the generated {p}_{fixed}"))?;
        }
    }
    let upper_p = p.to_ascii_uppercase();
    for fixed in [
        "METHOD_COUNT",
        "METHOD_ENTRIES",
        "IFACE_H",
        "DECODED_MAX",
        "HELPER_",
    ] {
        g.claim(
            format!("{upper_p}_{fixed}"),
            format!("the generated {upper_p}_{fixed}"),
        )?;
    }
    // Direct entries (docs/TYPED.md, "Direct calls"): the direct-eligible functions.
    let sigs: Vec<Option<ScalarSignature>> = iface
        .functions
        .iter()
        .map(|f| ScalarSignature::of(iface, f))
        .collect();
    let has_direct = sigs.iter().any(Option::is_some);
    if has_direct {
        g.claim(
            format!("{p}_instance_api"),
            format!("the generated {p}_instance_api"),
        )?;
        for fixed in ["FIRST_METHOD", "MODULE_METHOD_COUNT"] {
            g.claim(
                format!("{upper_p}_{fixed}"),
                format!("the generated {upper_p}_{fixed}"),
            )?;
        }
    }
    g.emitted.insert(format!("{p}_string"));
    // Resources: where the generator draws the line (docs/TYPED.md, "Resources (handles)").
    for e in &iface.events {
        if let Some(t) = &e.payload {
            if let Some(r) = g.find_handle(t, true).or_else(|| g.find_handle(t, false)) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "event {}: resource {} in an event payload (handles travel only in \
                         results and parameters)",
                        e.topic, iface.types[r].name
                    ),
                ));
            }
        }
    }
    for f in &iface.functions {
        for par in &f.params {
            if let Some(r) = g.find_handle(&par.ty, true) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "function {}: parameter {}: own<{}> in a parameter (passing ownership \
                         into the module) is not supported",
                        f.name, par.name, iface.types[r].name
                    ),
                ));
            }
            if !matches!(g.norm(&par.ty), Type::Borrow(_)) {
                if let Some(r) = g.find_handle(&par.ty, false) {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {}: parameter {}: borrow<{}> inside another type (only a \
                             direct borrow<{2}> parameter is supported)",
                            f.name, par.name, iface.types[r].name
                        ),
                    ));
                }
            }
        }
        if let Some(r) = f.result.as_ref().and_then(|t| g.find_handle(t, false)) {
            return Err(unsupported(
                LANG,
                format!(
                    "function {}: borrow<{}> in a result (a result hands out own<{1}>)",
                    f.name, iface.types[r].name
                ),
            ));
        }
    }
    // Events: one emit function each (claimed before the types, so that a clash names both).
    if !iface.events.is_empty() {
        for fixed in ["EMIT_INVALID_PAYLOAD", "EMIT_OUT_OF_MEMORY"] {
            g.claim(
                format!("{upper_p}_{fixed}"),
                format!("the generated {upper_p}_{fixed}"),
            )?;
        }
    }
    for e in &iface.events {
        g.claim(
            format!("{p}_emit_{}", snake(&e.topic)),
            format!("event {}", e.topic),
        )?;
    }
    for k in 0..iface.types.len() {
        g.ensure_named(k)?;
    }
    for &r in &g.res.clone() {
        let rs = snake(&iface.types[r].name);
        g.claim(
            format!("{p}_{rs}_destroy"),
            format!("the destructor of resource {}", iface.types[r].name),
        )?;
    }
    let mut protos = String::new();
    let mut method_defs = String::new();
    let mut glue = String::new();
    let mut direct_defs = String::new();
    let mut direct_table: Vec<(usize, String)> = Vec::new();
    let mut rel_roots: BTreeMap<String, Type> = BTreeMap::new();
    let winit = if has_res {
        "{NULL, 0, 0, NULL, 0, NULL, 0, 0}"
    } else {
        "{NULL, 0, 0, NULL, 0}"
    };
    for (idx, f) in iface.functions.iter().enumerate() {
        // The C names: p_f for a plain function, p_r_m for resource r's constructor (new),
        // method or static function m.
        let (cname, upper) = match f.kind {
            FunctionKind::Freestanding => (snake(&f.name), upper_snake(&f.name)),
            FunctionKind::Constructor(r) | FunctionKind::Method(r) | FunctionKind::Static(r) => {
                let rname = &iface.types[r].name;
                let m = if matches!(f.kind, FunctionKind::Constructor(_)) {
                    "new".to_string()
                } else {
                    let m = f.name.rsplit('.').next().unwrap_or(&f.name).to_string();
                    if snake(&m) == "new" || snake(&m) == "destroy" {
                        return Err(unsupported(
                            LANG,
                            format!(
                                "function {}: a resource function named {m} would clash with \
                                 the generated {p}_{}_{}",
                                f.name,
                                snake(rname),
                                snake(&m)
                            ),
                        ));
                    }
                    m
                };
                (
                    format!("{}_{}", snake(rname), snake(&m)),
                    format!("{}_{}", upper_snake(rname), upper_snake(&m)),
                )
            }
        };
        let fname = format!("{p}_{cname}");
        g.claim(fname.clone(), format!("function {}", f.name))?;
        if let Some(sig) = &sigs[idx] {
            for par in &f.params {
                g.ensure(&par.ty)?;
            }
            if let Some(t) = &f.result {
                g.ensure(t)?;
            }
            direct_defs.push_str(&g.direct_entry(f, idx, &fname, sig));
            direct_table.push((idx, format!("{p}_direct_{cname}_")));
        }
        let mname = format!("{upper_p}_METHOD_{upper}");
        g.claim(mname.clone(), format!("function {}", f.name))?;
        let _ = writeln!(method_defs, "#define {mname} {idx}u");
        let mut args = vec![format!("{p}_call *call")];
        let mut seen: HashSet<String> = ["call".to_string(), "out".to_string()].into();
        for par in &f.params {
            g.ensure(&par.ty)?;
            let m = member(&par.name);
            if !seen.insert(m.clone()) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "function {}: parameter {} maps to the C name {m}, which is taken",
                        f.name, par.name
                    ),
                ));
            }
            if let Type::Borrow(r) = g.norm(&par.ty) {
                args.push(decl(&g.ctype(&Type::Borrow(r)), &m));
            } else {
                g.need(&par.ty, true);
                args.push(format!("const {} *{m}", g.ctype(&par.ty)));
            }
        }
        let owns = f
            .result
            .as_ref()
            .is_some_and(|t| g.find_handle(t, true).is_some());
        if let Some(t) = &f.result {
            g.ensure(t)?;
            g.need(t, false);
            if owns {
                g.need_rel(t);
                rel_roots.insert(g.key(t), g.norm(t));
            }
            args.push(decl(&g.ctype(t), "*out"));
        }
        let doc = f
            .docs
            .as_deref()
            .map(|d| format!("/* {} */\n", comment(d)))
            .unwrap_or_default();
        let _ = writeln!(
            protos,
            "{doc}/* WIT: {} */\nint32_t {fname}({});\n",
            comment(&iface.signature(f)),
            args.join(", ")
        );
        // The glue.
        let mut body = format!("    {p}_reader_ r = {{call, input, input_len, 0, NULL, 0, 0, {upper_p}_DECODED_MAX(input_len), {{0}}}};\n");
        let mut call_args = vec!["call".to_string()];
        // (parameter index, resource index) of each borrow<R> parameter, in order.
        let mut borrows: Vec<(usize, usize)> = Vec::new();
        for (k, par) in f.params.iter().enumerate() {
            if let Type::Borrow(r) = g.norm(&par.ty) {
                let _ = writeln!(
                    body,
                    "    uint64_t h{k};\n    if ({p}_rd_(&r, 8, &h{k}) != 0)\n        return {p}_dec_failed_(call, &r, \"{}\", \"{}\");",
                    f.name, par.name
                );
                call_args.push(format!(
                    "({}_{} *)pins[{}].obj",
                    p,
                    snake(&iface.types[r].name),
                    borrows.len()
                ));
                borrows.push((k, g.ri(r)));
                continue;
            }
            let _ = writeln!(
                body,
                "    {} p{k};\n    memset(&p{k}, 0, sizeof p{k});\n    if ({p}_dec_{}_(&r, &p{k}) != 0)\n        return {p}_dec_failed_(call, &r, \"{}\", \"{}\");",
                g.ctype(&par.ty),
                g.key(&par.ty),
                f.name,
                par.name
            );
            call_args.push(format!("&p{k}"));
        }
        let _ = writeln!(
            body,
            "    if ({p}_check_end_(call, &r, \"{}\") != 0)\n        return call->failed_;",
            f.name
        );
        if !borrows.is_empty() || owns {
            let _ = writeln!(
                body,
                "    {p}_resources *t = {p}_instance_resources(call->instance);\n    if (t == NULL)\n        return {p}_no_table_(call, \"{}\");",
                f.name
            );
        }
        let (pins, npins) = if borrows.is_empty() {
            ("NULL".to_string(), "0".to_string())
        } else {
            let _ = writeln!(body, "    {p}_pin_ pins[{}];", borrows.len());
            for (j, (k, ri)) in borrows.iter().enumerate() {
                let _ = writeln!(
                    body,
                    "    if ({p}_pin_obj_(t, {ri}u, h{k}, &pins[{j}]) != 0) {{\n        {p}_unpin_all_(call, t, pins, {j});\n        return {p}_stale_(call, {ri}u, h{k});\n    }}"
                );
            }
            ("pins".to_string(), borrows.len().to_string())
        };
        if let Some(t) = &f.result {
            let _ = writeln!(
                body,
                "    {};\n    memset(&out, 0, sizeof out);",
                decl(&g.ctype(t), "out")
            );
            call_args.push("&out".into());
        }
        if borrows.is_empty() && !owns {
            // Nothing to release after the call.
            let _ = writeln!(
                body,
                "    int32_t rc = {fname}({});\n    if (rc != 0 || call->failed_ != 0)\n        return {p}_author_failed_(call, \"{}\", rc);",
                call_args.join(", "),
                f.name
            );
            if let Some(t) = &f.result {
                let _ = writeln!(
                    body,
                    "    {p}_writer_ w = {winit};\n    int e = {p}_enc_{}_(&w, &out);\n    return {p}_finish_(call, \"{}\", &w, e);",
                    g.key(t),
                    f.name
                );
            } else {
                body.push_str("    return 0;\n");
            }
            let _ = write!(
                glue,
                "static int32_t {p}_glue_{idx}_({p}_call *call, const uint8_t *input, size_t input_len)\n{{\n{body}}}\n\n"
            );
            continue;
        }
        let _ = writeln!(
            body,
            "    int32_t rc = {fname}({});\n    if (rc != 0 || call->failed_ != 0)\n        rc = {p}_author_failed_(call, \"{}\", rc);",
            call_args.join(", "),
            f.name
        );
        if let Some(t) = &f.result {
            if owns {
                let _ = writeln!(
                    body,
                    "    else {{\n        {p}_writer_ w = {winit};\n        int e = {p}_enc_{k}_(&w, &out);\n        if (e != 0) {{\n            free(w.owns);\n            {p}_release_(call, {p}_relv_{k}_, &out, {pins}, {npins});\n            rc = {p}_finish_(call, \"{n}\", &w, e);\n        }} else {{\n            rc = {p}_finish_owns_(call, \"{n}\", &w, t, {pins}, {npins});\n        }}\n    }}",
                    k = g.key(t),
                    n = f.name
                );
            } else {
                let _ = writeln!(
                    body,
                    "    else {{\n        {p}_writer_ w = {winit};\n        int e = {p}_enc_{}_(&w, &out);\n        rc = {p}_finish_(call, \"{}\", &w, e);\n    }}",
                    g.key(t),
                    f.name
                );
            }
        }
        if !borrows.is_empty() {
            let _ = writeln!(body, "    {p}_unpin_all_(call, t, pins, {npins});");
        }
        body.push_str("    return rc;\n");
        let _ = write!(
            glue,
            "static int32_t {p}_glue_{idx}_({p}_call *call, const uint8_t *input, size_t input_len)\n{{\n{body}}}\n\n"
        );
    }
    // [resource-drop]R, after the functions.
    let mut drop_names = Vec::new();
    for (j, &r) in g.res.clone().iter().enumerate() {
        let idx = iface.functions.len() + j;
        let name = iface.drop_method(r);
        let mname = format!(
            "{upper_p}_METHOD_{}_RESOURCE_DROP",
            upper_snake(&iface.types[r].name)
        );
        g.claim(mname.clone(), format!("function {name}"))?;
        let _ = writeln!(method_defs, "#define {mname} {idx}u");
        let _ = write!(
            glue,
            "static int32_t {p}_glue_{idx}_({p}_call *call, const uint8_t *input, size_t input_len)\n{{\n\
             \x20   {p}_reader_ r = {{call, input, input_len, 0, NULL, 0, 0, {upper_p}_DECODED_MAX(input_len), {{0}}}};\n\
             \x20   uint64_t h;\n    if ({p}_rd_(&r, 8, &h) != 0)\n        return {p}_dec_failed_(call, &r, \"{name}\", \"handle\");\n\
             \x20   if ({p}_check_end_(call, &r, \"{name}\") != 0)\n        return call->failed_;\n\
             \x20   {p}_resources *t = {p}_instance_resources(call->instance);\n    if (t == NULL)\n        return {p}_no_table_(call, \"{name}\");\n\
             \x20   if ({p}_drop_(call, t, {j}u, h) != 0)\n        return {p}_stale_(call, {j}u, h);\n    return 0;\n}}\n\n"
        );
        drop_names.push(name);
    }
    // The events: an encoder per payload type and one emit function per event.
    let mut event_protos = String::new();
    let mut event_defs = String::new();
    for e in &iface.events {
        let fname = format!("{p}_emit_{}", snake(&e.topic));
        let doc = e
            .docs
            .as_deref()
            .map(|d| format!("/* {} */\n", comment(d)))
            .unwrap_or_default();
        let sig = match &e.payload {
            Some(t) => {
                g.ensure(t)?;
                g.need(t, false);
                format!(
                    "int32_t {fname}(const bh_host_api *api, uint64_t instance_token, const {} *payload)",
                    g.ctype(t)
                )
            }
            None => format!("int32_t {fname}(const bh_host_api *api, uint64_t instance_token)"),
        };
        let _ = writeln!(
            event_protos,
            "{doc}/* WIT event: {}: {} */\n{sig};\n",
            e.topic,
            e.payload
                .as_ref()
                .map_or("no payload".to_string(), |t| comment(&iface.type_name(t)))
        );
        let head = format!(
            "{sig}\n{{\n    static const char topic[] = \"{}\";\n    if (api == NULL || api->emit == NULL)\n        return BH_API_INVALID;\n",
            e.topic
        );
        let body = match &e.payload {
            Some(t) => format!(
                "    if (payload == NULL)\n        return {upper_p}_EMIT_INVALID_PAYLOAD;\n\
                 \x20   {p}_writer_ w = {winit};\n\
                 \x20   if ({p}_enc_{}_(&w, payload) != 0) {{\n\
                 \x20       int32_t rc = w.oom ? {upper_p}_EMIT_OUT_OF_MEMORY : {upper_p}_EMIT_INVALID_PAYLOAD;\n\
                 \x20       free(w.buf);\n        return rc;\n    }}\n\
                 \x20   int32_t st = api->emit(instance_token, topic, sizeof topic - 1, w.buf, w.len);\n\
                 \x20   free(w.buf);\n    return st;\n",
                g.key(t)
            ),
            None => "    return api->emit(instance_token, topic, sizeof topic - 1, NULL, 0);\n"
                .to_string(),
        };
        let _ = write!(event_defs, "{head}{body}}}\n\n");
    }
    let method_count = iface.functions.len() + drop_names.len();
    let method_names: Vec<String> = iface
        .functions
        .iter()
        .map(|f| f.name.clone())
        .chain(drop_names)
        .collect();

    let (direct_what, direct_h, direct_proto) = if has_direct {
        let names: Vec<&str> = iface
            .functions
            .iter()
            .zip(&sigs)
            .filter(|(_, s)| s.is_some())
            .map(|(f, _)| f.name.as_str())
            .collect();
        (
            ", the direct entries",
            format!(
                "/* ---- direct entries; docs/TYPED.md, \"Direct calls\" ----\n\
                 \x20* The functions whose parameters and result are all scalars ({}) also have a direct\n\
                 \x20* entry in the interface's table: the host calls it in-process with the arguments as\n\
                 \x20* 64-bit slots instead of encoding them, and it calls the same author function as\n\
                 \x20* {p}_dispatch does, so both behave the same. It gets the call's api from\n\
                 \x20* {p}_instance_api(instance) (implement it: the api init() got); in it, call->ctx serves\n\
                 \x20* {p}_fail only (a direct call has no byte output).\n\
                 \x20* The table is indexed like the module's descriptor: by default its methods are exactly\n\
                 \x20* {upper_p}_METHOD_ENTRIES. A module that has other methods defines, when compiling {p}_iface.c,\n\
                 \x20* {upper_p}_FIRST_METHOD (the index where it spliced {upper_p}_METHOD_ENTRIES) and\n\
                 \x20* {upper_p}_MODULE_METHOD_COUNT (its descriptor's method_count), e.g.\n\
                 \x20* -D{upper_p}_FIRST_METHOD=3u -D{upper_p}_MODULE_METHOD_COUNT=5u; the host refuses a table\n\
                 \x20* whose size is not the descriptor's method_count. */\n\
                 #ifndef {upper_p}_FIRST_METHOD\n#define {upper_p}_FIRST_METHOD 0u\n#endif\n\
                 #ifndef {upper_p}_MODULE_METHOD_COUNT\n#define {upper_p}_MODULE_METHOD_COUNT {upper_p}_METHOD_COUNT\n#endif\n\n",
                names.join(", ")
            ),
            format!(
                "/* The host API that init() got for this instance (the direct entries fail through it).\n * Optional (weak): a module that does not define it exports no direct entries, and every\n * call takes the bytes entry. */\nconst bh_host_api *{p}_instance_api(void *instance) __attribute__((weak));\n\n"
            ),
        )
    } else {
        ("", String::new(), String::new())
    };
    // Continuation lines of the dispatcher's parameters, aligned after `int32_t P_dispatch(`.
    let pad = " ".repeat("int32_t _dispatch(".len() + p.len());
    // Header.
    let guard = format!("{upper_p}_IFACE_H");
    let mut h = String::new();
    let _ = write!(
        h,
        "/*\n * Module-side C bindings of WIT interface {} ({}), generated by\n * `bridgehost bindgen --lang c`: do not edit. docs/TYPED.md, \"C: module-side bindings\".\n *\n\
         \x20* Implement one function per WIT function (the prototypes at the end). Each gets the call\n\
         \x20* (call->api, call->ctx, call->instance), its parameters as const pointers, and an output\n\
         \x20* struct to fill (zeroed on entry). Return 0, or fail with {p}_fail(call, code, message)\n\
         \x20* and return its result.\n *\n\
         \x20* Strings are UTF-8, {{ptr, len}}, NOT NUL-terminated. Parameters (and everything they\n\
         \x20* point at) are valid until the function returns. Pointers in the output must stay valid\n\
         \x20* until the function has returned and the output is written: point at static data, at the\n\
         \x20* parameters, or at memory from {p}_alloc / {p}_realloc, which the generated code frees\n\
         \x20* after the call. Never return memory you must free yourself.\n */\n",
        iface.name, iface.package
    );
    let _ = write!(
        h,
        "#ifndef {guard}\n#define {guard}\n\n#include \"bridgehost_module.h\"\n\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
    );
    let _ = write!(
        h,
        "/* One call of a typed method. Read api, ctx and instance; the rest is the generated code's. */\n\
         typedef struct {p}_call {{\n    const bh_host_api *api;\n    bh_call_ctx *ctx;\n    void *instance;\n    void *blocks_;\n    int32_t failed_;\n}} {p}_call;\n\n\
         /* string: UTF-8, len bytes, not NUL-terminated. */\ntypedef struct {p}_string {{\n    const char *ptr;\n    size_t len;\n}} {p}_string;\n\n"
    );
    h.push_str(&g.types);
    let mut res_h = String::new();
    let mut res_protos = String::new();
    if has_res {
        let _ = write!(
            res_h,
            "/* ---- resources (handles); docs/TYPED.md, \"C: module-side bindings\" ----\n\
             \x20* The module author defines struct {p}_r for each resource r. An instance's objects live in\n\
             \x20* its handle table: create it with {p}_resources_new() in init() (NULL: out of memory) and\n\
             \x20* free it with {p}_resources_free(table, instance) in destroy(), which first destroys every\n\
             \x20* object still live with {p}_r_destroy (NULL is a no-op). {p}_instance_resources(instance)\n\
             \x20* returns the instance's table. Link with -pthread (the table has a mutex).\n\
             \x20*\n\
             \x20* own<r> in an output is a `{p}_r *`: a new object, never NULL, never one that already has a\n\
             \x20* handle (a borrowed parameter is refused), each at most once. After a successful return the\n\
             \x20* generated code gives each a handle; when it refuses the output (invalid output, out of\n\
             \x20* memory, a refused write) it destroys those that got none with {p}_r_destroy. When the\n\
             \x20* function fails, the output is not touched: destroy what you made before returning.\n\
             \x20* borrow<r> (and self) is the object, pinned for the call: dropped meanwhile, it is destroyed\n\
             \x20* when the last call that borrows it returns. {p}_r_destroy runs on the thread of that call,\n\
             \x20* of the drop or of {p}_resources_free, never under the table's lock. */\n\
             typedef struct {p}_resources {p}_resources;\n\
             {p}_resources *{p}_resources_new(void);\n\
             void {p}_resources_free({p}_resources *t, void *instance);\n\n"
        );
        let _ = writeln!(
            res_protos,
            "/* The handle table of this instance (from {p}_resources_new). */\n{p}_resources *{p}_instance_resources(void *instance);\n"
        );
        for &r in &g.res {
            let rs = snake(&iface.types[r].name);
            let _ = writeln!(
                res_protos,
                "/* Destroy a {}: its last handle was dropped, or the table is freed. */\nvoid {p}_{rs}_destroy(void *instance, {p}_{rs} *self);\n",
                iface.types[r].name
            );
        }
    }
    let events_h = if iface.events.is_empty() {
        String::new()
    } else {
        format!(
            "/* ---- events (the interface `events`); docs/TYPED.md, \"C: module-side bindings\" ----\n\
             \x20* {p}_emit_<topic>(api, instance_token, &payload) checks the payload like an output\n\
             \x20* (UTF-8, tags, discriminants, flag bits, chars, NULL pointers, lengths), encodes it and\n\
             \x20* hands it to api->emit(instance_token, \"<topic>\", ...), and returns what api->emit returned\n\
             \x20* (BH_API_OK; BH_API_OVERLOADED: the queue is full and the event dropped; BH_API_STALE: after\n\
             \x20* destroy; BH_API_TOO_LARGE: above the module's max event size; ...). Without calling emit it\n\
             \x20* returns BH_API_INVALID for a NULL api (or api->emit), {upper_p}_EMIT_INVALID_PAYLOAD for a\n\
             \x20* NULL payload or one that does not check, {upper_p}_EMIT_OUT_OF_MEMORY when the encoding's\n\
             \x20* buffer cannot be allocated. Call it from any thread, at any time between init() and the\n\
             \x20* end of destroy() (api and instance_token are those init() got). It never blocks, but it\n\
             \x20* allocates (malloc/realloc) for the encoding and frees it before returning; the payload is\n\
             \x20* only read, and not retained. */\n\
             #define {upper_p}_EMIT_INVALID_PAYLOAD (-100)\n\
             #define {upper_p}_EMIT_OUT_OF_MEMORY (-101)\n\n{event_protos}"
        )
    };
    let _ = write!(
        h,
        "/* Call-scoped memory, suitably aligned, freed by the generated code when the call is over\n\
         \x20* (after the output is written); NULL when out of memory. {p}_realloc takes a pointer from\n\
         \x20* {p}_alloc/{p}_realloc of the same call (or NULL); on failure the old block stays valid. */\n\
         void *{p}_alloc({p}_call *call, size_t size);\nvoid *{p}_realloc({p}_call *call, void *ptr, size_t size);\n\n\
         /* Fail the call: records code (0 becomes EINVAL) and the NUL-terminated UTF-8 message\n\
         \x20* (at most 4096 bytes are used) through api->fail, and returns the code to return. */\n\
         int32_t {p}_fail({p}_call *call, int32_t code, const char *msg);\n\n{res_h}\
         /* Method-table entries of the typed methods, in this order (splice them into the\n\
         \x20* module's bh_method_desc array), and each method's index among them. */\n\
         #define {upper_p}_METHOD_COUNT {}u\n#define {upper_p}_METHOD_ENTRIES {}\n{method_defs}\n\
         /* Run typed method `index` (0..{upper_p}_METHOD_COUNT-1) from the module's call(). */\n\
         int32_t {p}_dispatch(const bh_host_api *api, void *instance, uint32_t index,\n\
         {pad}const uint8_t *input, size_t input_len, bh_call_ctx *ctx);\n\n\
         /* Exported by the generated source: the interface (WIT text and hash{direct_what}). */\n\
         const bh_module_interface *bridgehost_module_interface(void);\n\n\
         {direct_h}{events_h}/* ---- implemented by the module author ---- */\n\n{direct_proto}{res_protos}{protos}",
        method_count,
        method_names
            .iter()
            .map(|n| format!("{{\"{n}\", 0u, 0u}}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = write!(
        h,
        "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n"
    );

    // Source.
    let mut c = String::new();
    let _ = write!(
        c,
        "/* Generated by `bridgehost bindgen --lang c` from WIT interface {} ({}): do not edit. */\n\
         #include \"{p}_iface.h\"\n\n#include <errno.h>\n#include <stdarg.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n",
        iface.name, iface.package
    );
    if has_res {
        c.push_str(
            "\n#include <pthread.h>\n#include <time.h>\n#if defined(__linux__)\n#include <sys/random.h>\n#endif\n",
        );
    }
    c.push('\n');
    let runtime = if has_res {
        RUNTIME
            .replace("<<OWN>>", OWN_STRUCT)
            .replace("<<OWNS>>", OWNS_FIELDS)
    } else {
        RUNTIME.replace("<<OWN>>", "").replace("<<OWNS>>", "")
    };
    // An interface needs only some of the helpers; clang warns about unused static inline
    // functions in a source file.
    c.push_str(
        "/* Helpers an interface may not use (clang warns about unused static inline functions). */\n#define ^_HELPER_ static inline __attribute__((unused))\n\n"
            .replace('^', &upper_p)
            .as_str(),
    );
    let runtime = runtime.replace("static inline ", "^_HELPER_ ");
    c.push_str(&runtime.replace('@', &p).replace('^', &upper_p));
    if has_res {
        let _ = write!(
            c,
            "/* ---- resources: the instance's handle table ---- */\n\n#define {p}_NRES_ {}u\n\nstatic const char *const {p}_rnames_[{p}_NRES_] = {{{}}};\n\n\
             static void {p}_destroy_any_(void *instance, unsigned ri, void *obj)\n{{\n    switch (ri) {{\n",
            g.res.len(),
            g.res
                .iter()
                .map(|&r| format!("\"{}\"", iface.types[r].name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (j, &r) in g.res.iter().enumerate() {
            let rs = snake(&iface.types[r].name);
            let _ = writeln!(
                c,
                "    case {j}u:\n        {p}_{rs}_destroy(instance, ({p}_{rs} *)obj);\n        break;"
            );
        }
        c.push_str("    default:\n        break;\n    }\n}\n\n");
        c.push_str(
            &RES_RUNTIME
                .replace("static inline ", &format!("{upper_p}_HELPER_ "))
                .replace('@', &p),
        );
    }
    c.push_str("/* ---- codecs ---- */\n\n");
    for (k, t) in &g.dec {
        let _ = writeln!(
            c,
            "static int {p}_dec_{k}_({p}_reader_ *r, {} *out);",
            g.ctype(t)
        );
    }
    for (k, t) in &g.enc {
        let _ = writeln!(
            c,
            "static int {p}_enc_{k}_({p}_writer_ *w, {} *v);",
            const_of(&g.ctype(t))
        );
    }
    for (k, t) in &g.rel {
        let _ = writeln!(
            c,
            "static void {p}_rel_{k}_({p}_rel_ *rl, {} *v);",
            const_of(&g.ctype(t))
        );
    }
    c.push('\n');
    for (k, t) in &g.dec {
        c.push_str(&g.decoder(k, t));
    }
    for (k, t) in &g.enc {
        c.push_str(&g.encoder(k, t));
    }
    for (k, t) in &g.rel {
        c.push_str(&g.releaser(k, t));
    }
    for k in rel_roots.keys() {
        let _ = write!(
            c,
            "static void {p}_relv_{k}_({p}_rel_ *rl, const void *v)\n{{\n    {p}_rel_{k}_(rl, v);\n}}\n\n"
        );
    }
    c.push_str("/* ---- methods ---- */\n\n");
    c.push_str(&glue);
    if !event_defs.is_empty() {
        c.push_str("/* ---- events ---- */\n\n");
        c.push_str(&event_defs);
    }
    if has_direct {
        c.push_str("/* ---- direct entries (docs/TYPED.md, \"Direct calls\") ---- */\n\n");
        c.push_str(
            &DIRECT_RUNTIME
                .replace("static inline ", &format!("{upper_p}_HELPER_ "))
                .replace('@', &p),
        );
        c.push_str(&direct_defs);
        let _ = write!(
            c,
            "_Static_assert({upper_p}_FIRST_METHOD + {upper_p}_METHOD_COUNT <= {upper_p}_MODULE_METHOD_COUNT,\n\
             \x20              \"{upper_p}_MODULE_METHOD_COUNT is the descriptor's method_count, which includes the typed methods\");\n\n\
             /* Indexed like the module's descriptor ({upper_p}_FIRST_METHOD: the first typed method). */\n\
             static const bh_direct_fn {p}_direct_[{upper_p}_MODULE_METHOD_COUNT] = {{\n"
        );
        for (idx, name) in &direct_table {
            let _ = writeln!(c, "    [{upper_p}_FIRST_METHOD + {idx}u] = {name},");
        }
        c.push_str("};\n\n");
    }
    let _ = write!(
        c,
        "int32_t {p}_dispatch(const bh_host_api *api, void *instance, uint32_t index,\n\
         {pad}const uint8_t *input, size_t input_len, bh_call_ctx *ctx)\n{{\n\
         \x20   static const uint8_t empty[1] = {{0}};\n\
         \x20   {p}_call call = {{api, ctx, instance, NULL, 0}};\n\
         \x20   if (input == NULL) {{\n\
         \x20       if (input_len != 0)\n\
         \x20           return {p}_fail(&call, EINVAL, \"input is NULL with a non-zero length\");\n\
         \x20       input = empty;\n    }}\n    int32_t rc;\n    switch (index) {{\n"
    );
    for idx in 0..method_count {
        let _ = writeln!(
            c,
            "    case {idx}u:\n        rc = {p}_glue_{idx}_(&call, input, input_len);\n        break;"
        );
    }
    let _ = write!(
        c,
        "    default:\n        rc = {p}_fail(&call, EINVAL, \"no such typed method index\");\n        break;\n    }}\n    {p}_free_all_(&call);\n    return rc;\n}}\n\n"
    );
    // The interface: the text as bytes (a string literal this long is not portable C11).
    let text = iface.source().as_bytes();
    let _ = write!(
        c,
        "static const unsigned char {p}_wit_[{}] = {{",
        text.len()
    );
    for (k, b) in text.iter().enumerate() {
        if k % 16 == 0 {
            c.push_str("\n   ");
        }
        let _ = write!(c, " {b},");
    }
    c.push_str("\n};\n\n");
    let hash = iface.hash();
    let mut hash_init = String::new();
    for (k, b) in hash.iter().enumerate() {
        if k == 16 {
            hash_init.push_str("\n     ");
        }
        let _ = write!(
            hash_init,
            "{}{b:#04x}",
            if k == 0 || k == 16 { "" } else { ", " }
        );
        if k == 15 {
            hash_init.push(',');
        }
    }
    let iface_struct = |name: &str, direct_fields: &str| {
        format!(
            "static const bh_module_interface {name} = {{\n    sizeof(bh_module_interface), BH_INTERFACE_FORMAT_WIT, (const char *){p}_wit_, sizeof {p}_wit_,\n    {{{hash_init}}},\n    {direct_fields}}};\n"
        )
    };
    let _ = writeln!(
        c,
        "/* SHA-256 of the canonical form: {} */",
        iface.hash_hex()
    );
    if has_direct {
        c.push_str(&iface_struct(
            &format!("{p}_interface_"),
            &format!("{p}_direct_, {upper_p}_MODULE_METHOD_COUNT, 0u"),
        ));
        c.push_str(&iface_struct(
            &format!("{p}_interface_bytes_only_"),
            "NULL, 0u, 0u",
        ));
        let _ = write!(
            c,
            "\n/* The direct entries are exported only when the module defines {p}_instance_api. */\n__attribute__((visibility(\"default\"))) const bh_module_interface *bridgehost_module_interface(void)\n{{\n    return {p}_instance_api != NULL ? &{p}_interface_ : &{p}_interface_bytes_only_;\n}}\n"
        );
    } else {
        c.push_str(&iface_struct(&format!("{p}_interface_"), "NULL, 0u, 0u"));
        let _ = write!(
            c,
            "\n__attribute__((visibility(\"default\"))) const bh_module_interface *bridgehost_module_interface(void)\n{{\n    return &{p}_interface_;\n}}\n"
        );
    }
    Ok(vec![
        File {
            path: format!("{p}_iface.h"),
            text: h,
        },
        File {
            path: format!("{p}_iface.c"),
            text: c,
        },
    ])
}
