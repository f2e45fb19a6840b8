//! `bridgehost bindgen --lang python`: one Python module per interface (docs/TYPED.md, "Python:
//! generated bindings").
//!
//! The generated class wraps a `bridgehost.Module`: it checks the module's interface at open
//! (`Module.check_binding`, the core's compatibility rule) and offers every WIT function as a
//! typed method and an asyncio method (`..._async`). Records become frozen dataclasses, variants a
//! `Union` of one frozen dataclass per case, enums `enum.Enum` (values: the WIT case names),
//! flags `enum.Flag`, `option<T>` `Optional[T]` (`Optional[Some[T]]` when `T` is itself an
//! option), `result` values `Ok`/`Err`, tuples tuples and `list<u8>` bytes. Encoding and decoding
//! go through the run-time typed view (`module.typed()`, the interface crate's codec): the
//! generated code converts its classes to the view's values, and binds its record, enum, flags
//! and variant case classes to the view, which then decodes results into them in one pass (only
//! `own<R>`, and what holds one, is converted in Python), so there is no second codec in Python.
//! The annotations pass `mypy --strict`. A direct-eligible function (scalar parameters and
//! result, docs/TYPED.md "Direct calls") keeps its typed method on the class, and
//! on each instance the view's function itself stands in for it (no Python frame per call: the
//! view's scalar fast path is then the whole call).
//!
//! A resource `R` becomes a class (a `bridgehost.typed.Resource`) owning its handle: constructor
//! `binding.new_r(...)`, static functions `binding.r_f(...)`, methods `r.m(...)`, each with its
//! `..._async` twin; `own<R>` in results is decoded into objects, `borrow<R>` is mapped only as a
//! direct parameter (docs/TYPED.md, "Resources (handles)").

use super::{pascal, unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use std::collections::HashSet;
use std::fmt::Write as _;

const LANG: &str = "python";

/// Modules the generated file imports: a binding named like one would shadow it.
const IMPORTED_MODULES: &[&str] = &["bridgehost", "dataclasses", "enum", "typing"];

/// Python's keywords and soft keywords, and names the generated file uses at module level.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "match", "case", "type", "_",
];

/// Names the generated module defines or imports: a WIT type may not take them.
const RESERVED_TYPES: &[&str] = &[
    "Any",
    "Dict",
    "FrozenSet",
    "List",
    "Optional",
    "Tuple",
    "Union",
    "Ok",
    "Err",
    "Some",
    "Variant",
    "WIT",
    "HASH",
    "bridgehost",
    "dataclasses",
    "enum",
    "cast",
    "Resource",
];

/// Python's builtin classes (exceptions, warnings) and constants whose names a PascalCase
/// class name can take: a class named like one would shadow the builtin in the generated
/// module and in `from binding import *` (found by a docs-only client: `record syntax-error`).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
];

/// Members of the generated class itself.
const BINDING_MEMBERS: &[&str] = &["open", "module", "view", "close", "WIT", "HASH"];

/// Members every resource object has (`bridgehost.typed.Resource`).
const RESOURCE_MEMBERS: &[&str] = &["close", "closed", "handle", "module", "WIT_NAME"];

/// `interval-ms` → `interval_ms`, a keyword gets a `_` (as the run-time view names them).
fn ident(name: &str) -> String {
    let n = name.replace('-', "_");
    if KEYWORDS.contains(&n.as_str()) {
        n + "_"
    } else {
        n
    }
}

fn class_name(name: &str) -> String {
    let p = pascal(name);
    if RESERVED_TYPES.contains(&p.as_str())
        || KEYWORDS.contains(&p.as_str())
        || BUILTINS.contains(&p.as_str())
    {
        p + "_"
    } else {
        p
    }
}

fn py_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn doc_line(docs: &Option<String>, fallback: &str) -> String {
    let d = docs.as_deref().unwrap_or(fallback).trim();
    let d = if d.is_empty() { fallback } else { d };
    d.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A doc comment as the body of a docstring indented by `indent` spaces.
fn doc_at(docs: &Option<String>, fallback: &str, indent: usize) -> String {
    doc_line(docs, fallback).replace('\n', &format!("\n{}", " ".repeat(indent)))
}

struct Gen<'a> {
    i: &'a Interface,
    /// The binding class's name: a type named like it gets a `_`.
    binding: String,
    /// Fresh variable counter for comprehensions.
    n: std::cell::Cell<usize>,
}

impl Gen<'_> {
    fn fresh(&self) -> String {
        let k = self.n.get();
        self.n.set(k + 1);
        format!("_v{k}")
    }

    /// The class of a named type: its name in PascalCase (a reserved name or the binding
    /// class's name gets a `_`).
    fn cls(&self, idx: TypeIndex) -> String {
        let c = class_name(&self.i.typedef(idx).name);
        if c == self.binding {
            c + "_"
        } else {
            c
        }
    }

    /// The class of case `case` of variant `idx`: the variant's class and the case in
    /// PascalCase (`XmlEvent` + `start`), a `_` after a keyword or a builtin's name (it would
    /// shadow the builtin, here and in `from binding import *`: variant `value` with case `error`
    /// is `ValueError_`); a name the module itself defines is refused.
    fn case_cls(&self, idx: TypeIndex, case: &str) -> Result<String> {
        let c = format!("{}{}", self.cls(idx), pascal(case));
        if RESERVED_TYPES.contains(&c.as_str()) {
            return Err(unsupported(LANG, format!("variant case class {c}")));
        }
        if KEYWORDS.contains(&c.as_str()) || BUILTINS.contains(&c.as_str()) {
            Ok(c + "_")
        } else {
            Ok(c)
        }
    }

    /// Every public name the module defines, in the order of `__all__`: the binding class, each
    /// type's class (a variant followed by its case classes), `WIT` and `HASH`. Two of them
    /// mapping to one Python name are refused.
    fn public_names(&self) -> Result<Vec<String>> {
        let mut names = vec![self.binding.clone()];
        for idx in 0..self.i.types.len() {
            names.push(self.cls(idx));
            if let TypeDefKind::Variant(cases) = &self.i.typedef(idx).kind {
                for c in cases {
                    names.push(self.case_cls(idx, &c.name)?);
                }
            }
        }
        names.extend(["WIT".to_string(), "HASH".to_string()]);
        let mut seen = HashSet::new();
        for n in &names {
            if !seen.insert(n.as_str()) {
                return Err(unsupported(
                    LANG,
                    format!("two types map to the Python name {n}"),
                ));
            }
        }
        Ok(names)
    }

    /// A resource named without `own`/`borrow` (wit-parser gives handles; kept as a refusal).
    fn bare_resource(&self, idx: TypeIndex) -> crate::error::Error {
        unsupported(
            LANG,
            format!(
                "resource {} used as a value type: only own<{0}> and borrow<{0}> are mapped",
                self.i.typedef(idx).name
            ),
        )
    }

    /// `own<R>` (through aliases, records, variants, ...) somewhere in `t`.
    fn has_own(&self, t: &Type) -> bool {
        self.i.handles_in(t).own
    }

    /// `borrow<R>` somewhere in `t`.
    fn has_borrow(&self, t: &Type) -> bool {
        self.i.handles_in(t).borrow
    }

    fn is_option(&self, t: &Type) -> bool {
        matches!(self.i.resolve(t), Type::Option(_))
    }

    /// The Python annotation of a type.
    fn ty(&self, t: &Type) -> Result<String> {
        Ok(match t {
            Type::Bool => "bool".into(),
            Type::S8
            | Type::S16
            | Type::S32
            | Type::S64
            | Type::U8
            | Type::U16
            | Type::U32
            | Type::U64 => "int".into(),
            Type::F32 | Type::F64 => "float".into(),
            Type::Char | Type::String => "str".into(),
            Type::List(e) if **e == Type::U8 => "bytes".into(),
            Type::List(e) => format!("List[{}]", self.ty(e)?),
            Type::Option(e) if self.is_option(e) => format!("Optional[Some[{}]]", self.ty(e)?),
            Type::Option(e) => format!("Optional[{}]", self.ty(e)?),
            Type::Result { ok, err } => format!(
                "Union[Ok[{}], Err[{}]]",
                self.opt_ty(ok.as_deref())?,
                self.opt_ty(err.as_deref())?
            ),
            Type::Tuple(ts) => format!(
                "Tuple[{}]",
                ts.iter()
                    .map(|t| self.ty(t))
                    .collect::<Result<Vec<_>>>()?
                    .join(", ")
            ),
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Resource => return Err(self.bare_resource(*i)),
                _ => self.cls(*i),
            },
            Type::Own(i) | Type::Borrow(i) => self.cls(*i),
        })
    }

    fn opt_ty(&self, t: Option<&Type>) -> Result<String> {
        match t {
            Some(t) => self.ty(t),
            None => Ok("None".into()),
        }
    }

    /// An expression converting `e` (an argument, annotated as the generated classes but any
    /// object at run time) to the view's value. A part that needs no conversion is passed as it
    /// is (`inner == v`), for the view to check; every part the generated code converts is
    /// checked first: a wrong type raises `_Wrong` (the message relative to `e`; `_arg` adds the
    /// parameter and turns it into `TypeError`), never a raw `AttributeError`.
    fn encode_expr(&self, t: &Type, e: &str) -> Result<String> {
        Ok(match t {
            Type::List(x) if **x == Type::U8 => e.into(),
            Type::List(x) => {
                let v = self.fresh();
                let inner = self.encode_expr(x, &v)?;
                if inner == v {
                    e.into()
                } else {
                    format!("_list({e}, lambda {v}: {inner}, {})", py_str(&self.ty(t)?))
                }
            }
            Type::Option(x) => {
                let v = self.fresh();
                let inner = self.encode_expr(x, &v)?;
                if self.is_option(x) {
                    format!("_some({e}, lambda {v}: {inner}, {})", py_str(&self.ty(t)?))
                } else if inner == v {
                    e.into()
                } else {
                    format!("_opt({e}, lambda {v}: {inner})")
                }
            }
            Type::Result { ok, err } => {
                // A side without payload is passed as it is: the view checks it is None.
                let side = |t: &Option<Box<Type>>| -> Result<(String, String)> {
                    let v = self.fresh();
                    let inner = match t {
                        Some(t) => self.encode_expr(t, &v)?,
                        None => v.clone(),
                    };
                    Ok((v, inner))
                };
                let ((ok_v, ok_e), (err_v, err_e)) = (side(ok)?, side(err)?);
                if ok_e == ok_v && err_e == err_v {
                    e.into()
                } else {
                    format!(
                        "_result({e}, lambda {ok_v}: {ok_e}, lambda {err_v}: {err_e}, {})",
                        py_str(&self.ty(t)?)
                    )
                }
            }
            Type::Tuple(ts) => {
                let mut parts = Vec::new();
                let mut identity = true;
                for t in ts {
                    let v = self.fresh();
                    let inner = self.encode_expr(t, &v)?;
                    identity &= inner == v;
                    parts.push(format!("lambda {v}: {inner}"));
                }
                if identity {
                    e.into()
                } else {
                    format!(
                        "_tuple({e}, ({},), {}, {})",
                        parts.join(", "),
                        py_str(&self.ty(t)?),
                        py_str(&self.i.type_name(t))
                    )
                }
            }
            Type::Named(i) => {
                let d = self.i.typedef(*i);
                match &d.kind {
                    TypeDefKind::Resource => return Err(self.bare_resource(*i)),
                    _ => format!("_to_{}({e})", ident(&d.name)),
                }
            }
            // Direct `borrow<R>` parameters are handled by the function (`param`); a parameter
            // holding a handle anywhere else is refused there, with the reason, before this.
            Type::Own(i) | Type::Borrow(i) => return Err(self.bare_resource(*i)),
            _ => e.into(),
        })
    }

    /// `encode_expr` of a part of a value: a refusal inside it names `ctx` (`point.label`, the
    /// view's path for a record field or a variant case's payload).
    fn encode_at(&self, ctx: &str, t: &Type, e: &str) -> Result<String> {
        let v = self.fresh();
        let inner = self.encode_expr(t, &v)?;
        Ok(if inner == v {
            e.into()
        } else {
            format!("_at({}, lambda {v}: {inner}, {e})", py_str(ctx))
        })
    }

    /// Whether the view's value of `t` already is the generated one, so the binding passes it on
    /// as it is: everything but a resource handle (`own<R>` becomes an object of the binding,
    /// made here) and what holds one. Primitives, strings, `bytes`, lists, options (`Some`),
    /// results (`Ok`/`Err`) and tuples are the view's own values; records, enums, flags and
    /// variants are built by the view as the generated classes: the binding binds them to it
    /// (`module.typed(records=..., enums=..., flags=..., variants=...)`: `_RECORDS`, `_ENUMS`,
    /// `_FLAGS`, `_VARIANTS`), so a value is decoded in one pass, in the extension.
    fn lifts_as_is(&self, t: &Type) -> bool {
        match t {
            Type::List(x) => **x == Type::U8 || self.lifts_as_is(x),
            Type::Option(x) => self.lifts_as_is(x),
            Type::Result { ok, err } => [ok, err]
                .iter()
                .all(|side| side.as_deref().is_none_or(|t| self.lifts_as_is(t))),
            Type::Tuple(ts) => ts.iter().all(|t| self.lifts_as_is(t)),
            Type::Own(_) | Type::Borrow(_) => false,
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Record(fields) => fields.iter().all(|f| self.lifts_as_is(&f.ty)),
                TypeDefKind::Variant(cases) => cases
                    .iter()
                    .all(|c| c.ty.as_ref().is_none_or(|t| self.lifts_as_is(t))),
                TypeDefKind::Enum(_) | TypeDefKind::Flags(_) => true,
                TypeDefKind::Alias(t) => self.lifts_as_is(t),
                TypeDefKind::Resource => false,
            },
            _ => true,
        }
    }

    /// The types of kind `kind` (a record, a variant, ...) the binding binds to the view
    /// (`lifts_as_is`).
    fn bound(&self, kind: fn(&TypeDefKind) -> bool) -> Vec<TypeIndex> {
        (0..self.i.types.len())
            .filter(|&i| kind(&self.i.typedef(i).kind) && self.lifts_as_is(&Type::Named(i)))
            .collect()
    }

    /// An expression converting `e` (a value the view decoded, `Any`) to the generated classes;
    /// a part that needs no conversion is left as it is (`inner == v`).
    /// `b` is the expression of the binding object (an `own<R>` becomes an object of it).
    fn decode_expr(&self, t: &Type, e: &str, b: &str) -> Result<String> {
        if self.lifts_as_is(t) {
            return Ok(e.into());
        }
        Ok(match t {
            Type::List(x) => {
                let v = self.fresh();
                let inner = self.decode_expr(x, &v, b)?;
                format!("[{inner} for {v} in {e}]")
            }
            Type::Option(x) => {
                let v = self.fresh();
                if self.is_option(x) {
                    format!(
                        "_opt({e}, lambda {v}: Some({}))",
                        self.decode_expr(x, &format!("{v}.value"), b)?
                    )
                } else {
                    let inner = self.decode_expr(x, &v, b)?;
                    if inner == v {
                        e.into()
                    } else {
                        format!("_opt({e}, lambda {v}: {inner})")
                    }
                }
            }
            Type::Result { ok, err } => {
                let v = self.fresh();
                let side = |t: &Option<Box<Type>>| match t {
                    Some(t) => self.decode_expr(t, &format!("{v}.value"), b),
                    None => Ok("None".into()),
                };
                let (ok_e, err_e) = (side(ok)?, side(err)?);
                format!("(lambda {v}: Ok({ok_e}) if isinstance({v}, Ok) else Err({err_e}))({e})")
            }
            Type::Tuple(ts) => {
                let v = self.fresh();
                let parts = ts
                    .iter()
                    .enumerate()
                    .map(|(k, t)| self.decode_expr(t, &format!("{v}[{k}]"), b))
                    .collect::<Result<Vec<_>>>()?;
                format!("(lambda {v}: ({},))({e})", parts.join(", "))
            }
            Type::Named(i) => {
                let d = self.i.typedef(*i);
                match &d.kind {
                    TypeDefKind::Resource => return Err(self.bare_resource(*i)),
                    // A type holding handles is decoded with the binding that owns them.
                    _ if self.has_own(t) => format!("_from_{}({b}, {e})", ident(&d.name)),
                    _ => format!("_from_{}({e})", ident(&d.name)),
                }
            }
            Type::Own(i) => format!("{}({b}, {e})", self.cls(*i)),
            Type::Borrow(i) => {
                return Err(unsupported(
                    LANG,
                    format!(
                        "borrow<{}> in a result: a borrowed handle is mapped only as a direct \
                         parameter",
                        self.i.typedef(*i).name
                    ),
                ))
            }
            _ => e.into(),
        })
    }

    fn typedef(&self, out: &mut String, idx: TypeIndex) -> Result<()> {
        let d = self.i.typedef(idx);
        let cls = self.cls(idx);
        let f = ident(&d.name);
        let doc = doc_line(&d.docs, &format!("WIT {}", d.name));
        let named = Type::Named(idx);
        if !matches!(d.kind, TypeDefKind::Resource) && self.has_borrow(&named) {
            return Err(unsupported(
                LANG,
                format!(
                    "type {}: borrow<R> inside another type (a borrowed handle is mapped only as \
                     a direct parameter)",
                    d.name
                ),
            ));
        }
        // A type holding `own<R>` only travels from the module (an `own<R>` parameter is
        // refused): it gets no `_to_` conversion, and its `_from_` takes the binding.
        let owns = self.has_own(&named);
        let from_sig = |ret: &str| {
            if owns {
                format!("def _from_{f}(b: {}, v: Any) -> {ret}:", self.binding)
            } else {
                format!("def _from_{f}(v: Any) -> {ret}:")
            }
        };
        // The first lines of a `_to_` function: an argument of another type is refused.
        let check = |cls: &str| {
            format!(
                "    if not isinstance(v, {cls}):\n        raise _wrong({}, v)\n",
                py_str(cls)
            )
        };
        match &d.kind {
            // The class is written with the functions (`resource_class`).
            TypeDefKind::Resource => {}
            TypeDefKind::Alias(t) => {
                let _ = writeln!(out, "{cls} = {}\n", self.ty(t)?);
                if !owns {
                    let _ = writeln!(
                        out,
                        "def _to_{f}(v: \"{cls}\") -> Any:\n    return {}\n\n",
                        self.encode_expr(t, "v")?
                    );
                }
                let _ = writeln!(
                    out,
                    "{}\n    r: {cls} = {}\n    return r\n\n",
                    from_sig(&format!("\"{cls}\"")),
                    self.decode_expr(t, "v", "b")?
                );
            }
            TypeDefKind::Record(fields) => {
                let _ = writeln!(
                    out,
                    "@dataclasses.dataclass(frozen=True)\nclass {cls}:\n    \"\"\"{doc}\"\"\"\n"
                );
                let mut seen = HashSet::new();
                for fl in fields {
                    let n = ident(&fl.name);
                    if !seen.insert(n.clone()) {
                        return Err(unsupported(
                            LANG,
                            format!("record {}: two fields map to the Python name {n}", d.name),
                        ));
                    }
                    let _ = writeln!(out, "    {n}: {}", self.ty(&fl.ty)?);
                }
                if fields.is_empty() {
                    out.push_str("    pass\n");
                }
                out.push_str("\n\n");
                let mut to = Vec::new();
                let mut from = Vec::new();
                for fl in fields {
                    let n = ident(&fl.name);
                    if !owns {
                        to.push(format!(
                            "{}: {}",
                            py_str(&n),
                            self.encode_at(
                                &format!("{}.{}", d.name, fl.name),
                                &fl.ty,
                                &format!("v.{n}")
                            )?
                        ));
                    }
                    from.push(format!(
                        "{n}={}",
                        self.decode_expr(&fl.ty, &format!("v.{n}"), "b")?
                    ));
                }
                if !owns {
                    let _ = writeln!(
                        out,
                        "def _to_{f}(v: {cls}) -> Any:\n{}    return {{{}}}\n\n",
                        check(&cls),
                        to.join(", ")
                    );
                }
                let _ = writeln!(
                    out,
                    "{}\n    return {cls}({})\n\n",
                    from_sig(&cls),
                    from.join(", ")
                );
            }
            TypeDefKind::Enum(cases) => {
                let _ = writeln!(out, "class {cls}(enum.Enum):\n    \"\"\"{doc}\"\"\"\n");
                let mut seen = HashSet::new();
                for c in cases {
                    let n = upper_snake(c);
                    if !seen.insert(n.clone()) {
                        return Err(unsupported(
                            LANG,
                            format!("enum {}: two cases map to {n}", d.name),
                        ));
                    }
                    let _ = writeln!(out, "    {n} = {}", py_str(c));
                }
                out.push_str("\n\n");
                let _ = writeln!(
                    out,
                    "def _to_{f}(v: {cls}) -> Any:\n{}    return v.value\n\n",
                    check(&cls)
                );
                let _ = writeln!(
                    out,
                    "def _from_{f}(v: Any) -> {cls}:\n    return {cls}(v)\n\n"
                );
            }
            TypeDefKind::Flags(flags) => {
                let _ = writeln!(out, "class {cls}(enum.Flag):\n    \"\"\"{doc}\"\"\"\n");
                let mut seen = HashSet::new();
                for (k, fl) in flags.iter().enumerate() {
                    let n = upper_snake(fl);
                    if !seen.insert(n.clone()) {
                        return Err(unsupported(
                            LANG,
                            format!("flags {}: two flags map to {n}", d.name),
                        ));
                    }
                    let _ = writeln!(out, "    {n} = {}", 1u128 << k);
                }
                if flags.is_empty() {
                    out.push_str("    pass\n");
                }
                out.push_str("\n\n");
                let names = flags
                    .iter()
                    .map(|fl| format!("({cls}.{}, {})", upper_snake(fl), py_str(fl)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let up = upper_snake(&d.name);
                let _ = writeln!(
                    out,
                    "_{up}_NAMES: Tuple[Tuple[{cls}, str], ...] = ({names}{})\n\n",
                    if flags.len() == 1 { "," } else { "" }
                );
                let _ = writeln!(
                    out,
                    "def _to_{f}(v: {cls}) -> Any:\n{}    return frozenset(n for m, n in _{up}_NAMES if m in v)\n\n",
                    check(&cls)
                );
                let _ = writeln!(
                    out,
                    "def _from_{f}(v: Any) -> {cls}:\n    r = {cls}(0)\n    for m, n in _{up}_NAMES:\n        if n in v:\n            r |= m\n    return r\n\n"
                );
            }
            TypeDefKind::Variant(cases) => {
                let mut members = Vec::new();
                let mut to = String::new();
                let mut from = String::new();
                for c in cases {
                    let ccls = self.case_cls(idx, &c.name)?;
                    let cdoc = doc_line(&c.docs, &format!("WIT {} case {}", d.name, c.name));
                    let _ = writeln!(
                        out,
                        "@dataclasses.dataclass(frozen=True)\nclass {ccls}:\n    \"\"\"{cdoc}\"\"\"\n"
                    );
                    match &c.ty {
                        Some(t) => {
                            let _ = writeln!(out, "    value: {}\n\n", self.ty(t)?);
                            if !owns {
                                let _ = write!(
                                    to,
                                    "    if isinstance(v, {ccls}):\n        return Variant({}, {})\n",
                                    py_str(&c.name),
                                    self.encode_at(
                                        &format!("{}.{}", d.name, c.name),
                                        t,
                                        "v.value"
                                    )?
                                );
                            }
                            let _ = write!(
                                from,
                                "    if v.case == {}:\n        return {ccls}({})\n",
                                py_str(&c.name),
                                self.decode_expr(t, "v.value", "b")?
                            );
                        }
                        None => {
                            out.push_str("\n\n");
                            let _ = write!(
                                to,
                                "    if isinstance(v, {ccls}):\n        return Variant({})\n",
                                py_str(&c.name)
                            );
                            let _ = write!(
                                from,
                                "    if v.case == {}:\n        return {ccls}()\n",
                                py_str(&c.name)
                            );
                        }
                    }
                    members.push(ccls);
                }
                if members.is_empty() {
                    return Err(unsupported(LANG, format!("variant {} has no case", d.name)));
                }
                let _ = writeln!(
                    out,
                    "{cls} = Union[{}]\n\"\"\"{doc}\"\"\"\n\n",
                    members.join(", ")
                );
                if !owns {
                    let _ = writeln!(
                        out,
                        "def _to_{f}(v: {cls}) -> Any:\n{to}    raise _wrong({}, v)\n\n",
                        py_str(&cls)
                    );
                }
                let _ = writeln!(
                    out,
                    "{}\n{from}    raise bridgehost.AbiMismatchError(f\"unknown case of {}: {{v!r}}\")\n\n",
                    from_sig(&cls),
                    d.name
                );
            }
        }
        Ok(())
    }
}

/// The name after the resource in `[method]R.name` / `[static]R.name`.
fn member_of(function: &str) -> &str {
    function.rsplit_once('.').map_or(function, |(_, m)| m)
}

/// Where a function's Python method goes.
struct Target<'s> {
    /// Its Python name (the `_async` twin gets the suffix).
    name: &'s str,
    /// The expression of its `TypedFunction`.
    attr: String,
    /// The expression of the binding object (`self` or `self._b`).
    bind: &'s str,
    /// A resource method: the first parameter is the object itself.
    method: bool,
}

impl Gen<'_> {
    /// One WIT function as a Python method and its asyncio twin.
    fn function(&self, out: &mut String, f: &Function, t: &Target<'_>) -> Result<()> {
        let mut params = Vec::new();
        let mut args = Vec::new();
        let mut borrowed = Vec::new();
        let mut seen = HashSet::new();
        for (k, p) in f.params.iter().enumerate() {
            if k == 0 && t.method {
                // `self: borrow<R>`: the object the method is called on.
                args.push("self".to_string());
                borrowed.push(k);
                continue;
            }
            let pn = ident(&p.name);
            if pn == "self" || !seen.insert(pn.clone()) {
                return Err(unsupported(
                    LANG,
                    format!("function {}: parameter name {pn}", f.name),
                ));
            }
            let v = self.fresh();
            if let Type::Borrow(r) = self.i.resolve(&p.ty) {
                let rc = self.cls(*r);
                params.push(format!(", {pn}: {rc}"));
                args.push(format!(
                    "_arg({}, lambda {v}: _borrow({rc}, {}.module, {v}), {pn})",
                    py_str(&p.name),
                    t.bind
                ));
                borrowed.push(k);
                continue;
            }
            if self.has_own(&p.ty) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "function {}: parameter {}: own<R> in a parameter passes ownership into \
                         the module, which the bindings do not map (docs/TYPED.md, \"Resources \
                         (handles)\")",
                        f.name, p.name
                    ),
                ));
            }
            if self.has_borrow(&p.ty) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "function {}: parameter {}: borrow<R> inside another type (a borrowed \
                         handle is mapped only as a direct parameter)",
                        f.name, p.name
                    ),
                ));
            }
            params.push(format!(", {pn}: {}", self.ty(&p.ty)?));
            // A refused argument is `TypeError` naming the parameter as the view does.
            let c = self.encode_expr(&p.ty, &v)?;
            args.push(if c == v {
                pn
            } else {
                format!("_arg({}, lambda {v}: {c}, {pn})", py_str(&p.name))
            });
        }
        let params = params.concat();
        let doc = doc_at(&f.docs, &self.i.signature(f), 8);
        let b = t.bind;
        // The result: `result<T, E>` returns T and raises TypedModuleError carrying E.
        let (ret, conv, err) = match f.result.as_ref().map(|t| self.i.resolve(t)) {
            None => ("None".to_string(), None, None),
            Some(Type::Result { ok, err }) => (
                self.opt_ty(ok.as_deref())?,
                ok.as_deref()
                    .map(|t| self.decode_expr(t, "_r", b))
                    .transpose()?,
                match err.as_deref() {
                    Some(t) => {
                        Some(self.decode_expr(t, "_e.value", b)?).filter(|c| c != "_e.value")
                    }
                    None => None,
                },
            ),
            Some(_) => {
                let r = f.result.as_ref().expect("checked");
                (self.ty(r)?, Some(self.decode_expr(r, "_r", b)?), None)
            }
        };
        let body = |call: &str| -> String {
            let mut b = String::new();
            let ret_line = match &conv {
                Some(c) => format!("_out: {ret} = {c}\n        return _out"),
                None => "return None".into(),
            };
            match &err {
                Some(ec) => {
                    let _ = write!(
                        b,
                        "        try:\n            _r = {call}\n        except bridgehost.TypedModuleError as _e:\n            _e.value = {ec}\n            _e.args = (f\"{{_e.function}} returned an error: {{_e.value!r}}\",) + _e.args[1:]\n            raise\n        {ret_line}\n"
                    );
                }
                None if conv.is_none() => {
                    let _ = writeln!(b, "        {call}");
                }
                None => {
                    let _ = write!(b, "        _r = {call}\n        {ret_line}\n");
                }
            }
            b
        };
        let (sync, asyn) = if borrowed.is_empty() {
            let args = args.join(", ");
            (
                format!("{}.call({args})", t.attr),
                format!("await {}.submit_async({args})", t.attr),
            )
        } else {
            // The objects passed as handles stay live (their close() waits) during the call.
            let tuple = |items: Vec<String>| match items.len() {
                1 => format!("({},)", items[0]),
                _ => format!("({})", items.join(", ")),
            };
            let args = tuple(args.clone());
            let idx = tuple(borrowed.iter().map(|k| k.to_string()).collect());
            (
                format!("Resource.call_borrowing({}, {args}, {idx})", t.attr),
                format!("await Resource.submit_borrowing({}, {args}, {idx})", t.attr),
            )
        };
        let n = t.name;
        let _ = write!(
            out,
            "    def {n}(self{params}) -> {ret}:\n        \"\"\"{doc}\"\"\"\n{}\n",
            body(&sync)
        );
        let _ = write!(
            out,
            "    async def {n}_async(self{params}) -> {ret}:\n        \"\"\"{doc} (asyncio: runs on bridgehost's pool)\"\"\"\n{}\n",
            body(&asyn)
        );
        Ok(())
    }

    /// The class of resource `r`: owns one handle (`bridgehost.typed.Resource`), its methods.
    fn resource_class(&self, out: &mut String, r: TypeIndex) -> Result<()> {
        let d = self.i.typedef(r);
        let rc = self.cls(r);
        let rn = ident(&d.name);
        let doc = doc_at(&d.docs, &format!("WIT resource {}", d.name), 4);
        let _ = write!(
            out,
            "class {rc}(Resource):\n    \"\"\"{doc}\n\n    Owns one handle of the module instance: release it with ``close()`` or \
             ``with``; an object never released is dropped by its ``weakref.finalize`` \
             (``bridgehost.typed.Resource``). Made by the binding's functions.\"\"\"\n\n    \
             __slots__ = (\"_b\",)\n    WIT_NAME = {}\n\n    \
             def __init__(self, binding: {}, handle: int) -> None:\n        \
             super().__init__(binding.module, binding._d_{rn}, handle)\n        \
             self._b = binding\n\n",
            py_str(&d.name),
            self.binding
        );
        let mut members: HashSet<String> = RESOURCE_MEMBERS.iter().map(|s| s.to_string()).collect();
        for f in &self.i.functions {
            if f.kind != FunctionKind::Method(r) {
                continue;
            }
            let m = ident(member_of(&f.name));
            for n in [m.clone(), format!("{m}_async")] {
                if !members.insert(n.clone()) {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {}: the Python name {n} is taken (every resource object has \
                             {})",
                            f.name,
                            RESOURCE_MEMBERS.join(", ")
                        ),
                    ));
                }
            }
            self.function(
                out,
                f,
                &Target {
                    name: &m,
                    attr: format!("self._b._m_{rn}__{m}"),
                    bind: "self._b",
                    method: true,
                },
            )?;
        }
        out.push('\n');
        Ok(())
    }
}

/// The check of a `borrow<R>` argument: an object of the class, of this binding's module.
const BORROW_CHECK: &str = r#"def _borrow(cls: "type[Resource]", module: bridgehost.Module, v: Any) -> Any:
    if not isinstance(v, cls):
        raise _wrong(cls.__name__, v)
    if v.module is not module:
        raise _Wrong(f"expected a {cls.__name__} of this binding's module, got {v!r} of another one", True)
    return v


"#;

/// The generated module's checks of arguments before they reach the view: what the generated
/// code converts itself (its dataclasses, enums, flags, variant cases, and the lists, options,
/// results and tuples holding them) it checks first, so that a wrong type is `TypeError` naming
/// the parameter and the path like the view's own errors, never a raw `AttributeError`.
const ARG_CHECKS: &str = r#"class _Wrong(Exception):
    """An argument part the conversion to the view's values refuses: ``msg`` is relative to the
    part; ``invalid``: InvalidArgumentError rather than TypeError."""

    def __init__(self, msg: str, invalid: bool = False) -> None:
        super().__init__(msg)
        self.msg = msg
        self.invalid = invalid


def _wrong(expected: str, v: object) -> _Wrong:
    r = repr(v)
    if len(r) > 60:
        r = r[:57] + "..."
    return _Wrong(f"expected {expected}, got {r} ({type(v).__name__})")


def _at(ctx: str, f: Callable[[Any], Any], v: Any) -> Any:
    try:
        return f(v)
    except _Wrong as w:
        raise _Wrong(f"{ctx}: {w.msg}", w.invalid) from None


def _arg(name: str, f: Callable[[Any], Any], v: Any) -> Any:
    try:
        return f(v)
    except _Wrong as w:
        if w.invalid:
            raise bridgehost.InvalidArgumentError(
                f"invalid argument: parameter {name}: {w.msg}"
            ) from None
        raise TypeError(f"parameter {name}: {w.msg}") from None


def _list(v: Any, f: Callable[[Any], Any], expected: str) -> List[Any]:
    if not isinstance(v, (list, tuple)):
        raise _wrong(expected, v)
    out = []
    for i, x in enumerate(v):
        try:
            out.append(f(x))
        except _Wrong as w:
            raise _Wrong(f"element {i}: {w.msg}", w.invalid) from None
    return out


def _some(v: Any, f: Callable[[Any], Any], expected: str) -> Any:
    if v is None:
        return None
    if not isinstance(v, Some):
        raise _wrong(expected, v)
    return Some(f(v.value))


def _result(v: Any, ok: Callable[[Any], Any], err: Callable[[Any], Any], expected: str) -> Any:
    if isinstance(v, Ok):
        return Ok(_at("ok", ok, v.value))
    if isinstance(v, Err):
        return Err(_at("err", err, v.value))
    raise _wrong(expected, v)


def _tuple(v: Any, fs: Tuple[Callable[[Any], Any], ...], expected: str, wit: str) -> Any:
    if not isinstance(v, (list, tuple)):
        raise _wrong(expected, v)
    if len(v) != len(fs):
        raise _Wrong(f"{wit} has {len(fs)} elements, got {len(v)}", True)
    return tuple(_at(f"element {i}", f, x) for i, (f, x) in enumerate(zip(fs, v)))


"#;

/// The generated module's file name: the interface name in snake case (`std` → `std.py`).
pub fn module_name(iface: &Interface) -> String {
    ident(&iface.name)
}

/// Generate the Python module for `iface`. `module` overrides the file's module name.
pub fn generate(iface: &Interface, module: Option<&str>) -> Result<Vec<File>> {
    let cls = class_name(&iface.name);
    let g = Gen {
        i: iface,
        binding: cls.clone(),
        n: std::cell::Cell::new(0),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "\"\"\"Typed bindings of WIT interface {} ({}), generated by `bridgehost bindgen --lang \
         python`: do not edit.\n\n{}\n\"\"\"\n\n",
        iface.name,
        iface.package,
        doc_line(&iface.docs, "")
    );
    out.push_str(
        "from __future__ import annotations\n\n\
         import dataclasses\n\
         import enum\n\
         from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union\n\n\
         import bridgehost\n\
         from bridgehost.typed import Err, Ok, Some, TypedFunction, Variant\n",
    );
    if iface.resources().next().is_some() {
        out.push_str("from bridgehost.typed import Resource\n");
    }
    out.push('\n');
    // Every public name: `from binding import *` gives the variant case classes too.
    let _ = writeln!(
        out,
        "__all__ = [{}]\n",
        g.public_names()?
            .iter()
            .map(|n| py_str(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "WIT: str = {}\n\"\"\"The WIT text these bindings were generated from.\"\"\"\n\nHASH: str = {}\n\"\"\"SHA-256 of the interface's canonical form (docs/TYPED.md, \"Hash\").\"\"\"\n",
        py_str(iface.source()),
        py_str(&iface.hash_hex())
    );
    out.push_str(
        "_A = TypeVar(\"_A\")\n_B = TypeVar(\"_B\")\n\n\n\
         def _opt(v: Optional[_A], f: Callable[[_A], _B]) -> Optional[_B]:\n    \
         return None if v is None else f(v)\n\n\n",
    );
    out.push_str(ARG_CHECKS);
    let resources: Vec<TypeIndex> = iface.resources().collect();
    if !resources.is_empty() {
        out.push_str(BORROW_CHECK);
    }
    // Resource classes first: a type alias of `own<R>` names the class at import.
    let mut members: HashSet<String> = BINDING_MEMBERS.iter().map(|s| s.to_string()).collect();
    let mut take = |m: String, what: &str| -> Result<String> {
        if !members.insert(m.clone()) || m.starts_with("__") {
            return Err(unsupported(
                LANG,
                format!("{what}: the Python name {m} is taken"),
            ));
        }
        Ok(m)
    };
    // (function, its TypedFunction attribute, its Python name on the binding) for the binding
    // class; resource methods go to their class.
    let mut on_binding: Vec<(&Function, String, String)> = Vec::new();
    // The Python names of the direct-eligible plain functions (`crate::scalar`): on an instance
    // their method is the view's function itself (see `__init__` below).
    let mut direct: Vec<String> = Vec::new();
    let mut attrs = String::new();
    for &r in &resources {
        let rn = ident(&iface.typedef(r).name);
        let d = take(
            format!("_d_{rn}"),
            &format!("resource {}", iface.typedef(r).name),
        )?;
        let _ = writeln!(
            attrs,
            "        self.{d}: bridgehost.Method = module.method({})",
            py_str(&iface.drop_method(r))
        );
    }
    for f in &iface.functions {
        let what = format!("function {}", f.name);
        let (attr, name) = match f.kind {
            FunctionKind::Freestanding => {
                let n = ident(&f.name);
                (format!("_f_{n}"), n)
            }
            FunctionKind::Constructor(r) => {
                let rn = iface.typedef(r).name.clone();
                (format!("_c_{}", ident(&rn)), ident(&format!("new-{rn}")))
            }
            FunctionKind::Static(r) => {
                let rn = iface.typedef(r).name.clone();
                let m = member_of(&f.name);
                (
                    format!("_s_{}__{}", ident(&rn), ident(m)),
                    ident(&format!("{rn}-{m}")),
                )
            }
            FunctionKind::Method(r) => {
                let rn = iface.typedef(r).name.clone();
                let attr = take(
                    format!("_m_{}__{}", ident(&rn), ident(member_of(&f.name))),
                    &what,
                )?;
                let _ = writeln!(
                    attrs,
                    "        self.{attr}: TypedFunction = self.view.function({})",
                    py_str(&f.name)
                );
                continue;
            }
        };
        let attr = take(attr, &what)?;
        take(name.clone(), &what)?;
        take(format!("{name}_async"), &what)?;
        let _ = writeln!(
            attrs,
            "        self.{attr}: TypedFunction = self.view.function({})",
            py_str(&f.name)
        );
        // Every parameter and the result a scalar (or an alias of one): the method passes its
        // arguments to the view and returns its value as they are (`encode_expr` and
        // `lifts_as_is` need no conversion), so the view's function can stand in for it.
        if crate::scalar::ScalarSignature::of(iface, f).is_some() {
            debug_assert_eq!(attr, format!("_f_{name}"));
            direct.push(py_str(&name));
        }
        on_binding.push((f, attr, name));
    }
    // Typed events: `on_<topic>(callback)` subscribes with the payload decoded.
    let mut on_events: Vec<(&crate::model::Event, String)> = Vec::new();
    for e in &iface.events {
        let what = format!("event {}", e.topic);
        if let Some(t) = &e.payload {
            if g.has_own(t) || g.has_borrow(t) {
                return Err(unsupported(
                    LANG,
                    format!("{what}: a resource handle in an event payload"),
                ));
            }
        }
        let name = take(ident(&format!("on-{}", e.topic)), &what)?;
        on_events.push((e, name));
    }
    for &r in &resources {
        g.resource_class(&mut out, r)?;
    }
    for idx in 0..iface.types.len() {
        g.typedef(&mut out, idx)?;
    }

    // The classes the view builds itself (`lifts_as_is`): records always (`_RECORDS`), enums,
    // flags and variants when the interface has such a type.
    let by_name = |kind: fn(&TypeDefKind) -> bool| -> Vec<String> {
        g.bound(kind)
            .into_iter()
            .map(|i| format!("{}: {}", py_str(&iface.typedef(i).name), g.cls(i)))
            .collect()
    };
    let records = by_name(|k| matches!(k, TypeDefKind::Record(_)));
    let enums = by_name(|k| matches!(k, TypeDefKind::Enum(_)));
    let flags = by_name(|k| matches!(k, TypeDefKind::Flags(_)));
    let mut variants = Vec::new();
    for i in g.bound(|k| matches!(k, TypeDefKind::Variant(_))) {
        let TypeDefKind::Variant(cases) = &iface.typedef(i).kind else {
            unreachable!("bound() checked the kind")
        };
        let cases = cases
            .iter()
            .map(|c| Ok(format!("{}: {}", py_str(&c.name), g.case_cls(i, &c.name)?)))
            .collect::<Result<Vec<_>>>()?;
        variants.push(format!(
            "{}: {{{}}}",
            py_str(&iface.typedef(i).name),
            cases.join(", ")
        ));
    }
    let _ = writeln!(
        out,
        "# The classes the view builds values as (Module.typed's records, enums, flags, variants).\n\
         _RECORDS: Dict[str, type] = {{{}}}",
        records.join(", ")
    );
    let mut typed_args = String::from("records=_RECORDS");
    for (name, ty, items) in [
        ("enums", "Dict[str, type]", &enums),
        ("flags", "Dict[str, type]", &flags),
        ("variants", "Dict[str, Dict[str, type]]", &variants),
    ] {
        if !items.is_empty() {
            let up = name.to_uppercase();
            let _ = writeln!(out, "_{up}: {ty} = {{{}}}", items.join(", "));
            let _ = write!(typed_args, ", {name}=_{up}");
        }
    }
    out.push_str("\n\n");

    // The binding class.
    let _ = write!(
        out,
        "class {cls}:\n    \"\"\"Typed bindings of WIT interface {}: every function is a method and an \
         asyncio method (``..._async``). Construct with an open ``bridgehost.Module`` or use \
         :meth:`open`; both check the module's embedded interface first \
         (``Module.check_binding``: ``AbiMismatchError`` naming the first difference).\"\"\"\n\n",
        iface.name
    );
    out.push_str(
        "    WIT = WIT\n    HASH = HASH\n\n\
         \x20   def __init__(self, module: bridgehost.Module) -> None:\n\
         \x20       module.check_binding(WIT)\n\
         \x20       self.module = module\n\
         \x20       self.view = module.typed(",
    );
    let _ = writeln!(out, "{typed_args})");
    out.push_str(&attrs);
    if !direct.is_empty() {
        // A Python method around such a function costs a frame per call, more than the native
        // call itself; the view's function takes the same arguments (by position or by name)
        // and returns the same values. A subclass that overrides the method keeps its override.
        let _ = write!(
            out,
            "        # Direct-eligible functions (scalar parameters and result: docs/TYPED.md, \"Direct\n\
             \x20       # calls\"): on the instance each method is the view's function itself, which takes\n\
             \x20       # the same arguments and returns the same value with no Python frame in between.\n\
             \x20       for _name in ({}{}):\n\
             \x20           if getattr(type(self), _name) is getattr({cls}, _name):\n\
             \x20               vars(self)[_name] = getattr(self, \"_f_\" + _name)\n",
            direct.join(", "),
            if direct.len() == 1 { "," } else { "" }
        );
    }
    out.push_str(
        "\n    @classmethod\n    def open(cls, host: bridgehost.Host, spec: str, **options: Any) -> \"",
    );
    out.push_str(&cls);
    out.push_str(
        "\":\n        \"\"\"Open module ``spec`` on ``host`` (``Host.open``'s options) and bind it; \
         the module is closed if its interface does not match.\"\"\"\n        \
         module = host.open(spec, **options)\n        try:\n            return cls(module)\n        \
         except BaseException:\n            module.close()\n            raise\n\n\
         \x20   def close(self) -> None:\n        \"\"\"Close the module (and with it every object \
         of its resources).\"\"\"\n        self.module.close()\n\n\
         \x20   def __enter__(self) -> \"",
    );
    out.push_str(&cls);
    out.push_str(
        "\":\n        return self\n\n    def __exit__(self, *exc: object) -> None:\n        self.close()\n\n",
    );
    let mut methods = String::new();
    for (f, attr, name) in &on_binding {
        g.function(
            &mut methods,
            f,
            &Target {
                name,
                attr: format!("self.{attr}"),
                bind: "self",
                method: false,
            },
        )?;
    }
    out.push_str(&methods);
    for (e, name) in &on_events {
        let doc = doc_at(&e.docs, &format!("Event {}.", e.topic), 8);
        let (cb, call) = match &e.payload {
            Some(t) => (
                format!("Callable[[{}], object]", g.ty(t)?),
                format!("callback({})", g.decode_expr(t, "_v", "self")?),
            ),
            None => ("Callable[[], object]".to_string(), "callback()".to_string()),
        };
        let _ = write!(
            out,
            "    def {name}(self, callback: {cb}) -> bridgehost.Subscription:\n        \"\"\"{doc}\n\n        \
             Subscribes to event ``{topic}`` with its payload decoded: ``callback({arg})`` runs \
             on the host's event thread, like ``Module.subscribe``'s callback, and its \
             exception goes to ``sys.unraisablehook``. A payload that does not decode is \
             ``AbiMismatchError``, reported the same way (the callback is not called). \
             Unsubscribe with the returned ``Subscription`` (or a ``with`` block).\n        \
             \"\"\"\n        return self.view.subscribe({topic_lit}, lambda _t, _v: {call})\n\n",
            topic = e.topic,
            topic_lit = py_str(&e.topic),
            arg = if e.payload.is_some() { "value" } else { "" },
        );
    }
    let name = match module {
        Some(m) => m.to_string(),
        None => module_name(iface),
    };
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
        || KEYWORDS.contains(&name.as_str())
        || IMPORTED_MODULES.contains(&name.as_str())
    {
        return Err(unsupported(
            LANG,
            format!(
                "module name {name:?}: must be a plain Python identifier, not a keyword nor a \
                 module the binding imports ({})",
                IMPORTED_MODULES.join(", ")
            ),
        ));
    }
    Ok(vec![File {
        path: format!("{name}.py"),
        text: out.trim_end().to_string() + "\n",
    }])
}
