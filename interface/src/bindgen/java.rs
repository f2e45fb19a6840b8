//! `bridgehost bindgen --lang java`: one Java 17 source file per interface (docs/TYPED.md, "Java").
//!
//! The class wraps a `NativeModule`: it checks the module's interface at open
//! (`NativeModule.checkBinding`, the core's compatibility rule), resolves each function's
//! `Method` once, and offers every WIT function as a typed method in a blocking form and a
//! `CompletableFuture` form. Records become Java records, variants sealed interfaces of records,
//! enums and flags Java enums (`Set<E>` for flags), `option` `Optional`, `result` and `tuple` the
//! runtime's `io.bridgehost.typed.Result` / `Tuple.OfN`; a record or case holding a `byte[]`
//! gets `equals`/`hashCode`/`toString` that treat the bytes as a value. Encoding and decoding go
//! through the runtime's `WireWriter` / `WireReader`, so the generated code holds no byte
//! arithmetic.
//!
//! A WIT resource becomes a nested class owning its handle through the runtime's
//! `io.bridgehost.typed.OwnedHandle` (close, Cleaner, use-after-close checks; docs/TYPED.md "Java:
//! generated bindings", "Resources"): its constructor and static functions are binding methods
//! (`newR`, `rF`), its methods the object's; `borrow<R>` is taken only as a direct parameter and
//! `own<R>` decoded into objects anywhere in a result, through the binding the objects call.

use super::{camel, pascal, unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use crate::scalar::{Scalar, ScalarSignature};
use crate::wire::{self, min_size};
use std::collections::HashSet;
use std::fmt::Write as _;

const LANG: &str = "java";

/// Java's reserved words and literals, and contextual words that cannot name a type or member
/// everywhere.
const KEYWORDS: &[&str] = &[
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
    "true",
    "false",
    "null",
    "var",
    "yield",
    "record",
    "sealed",
    "permits",
];

/// Members every record or object already has: a record component or a binding method with
/// one of these names would clash.
const OBJECT_MEMBERS: &[&str] = &[
    "hashCode",
    "toString",
    "equals",
    "getClass",
    "notify",
    "notifyAll",
    "wait",
    "clone",
    "finalize",
];

/// Simple type names the generated code uses unqualified: a WIT type may not take them.
const RESERVED_TYPES: &[&str] = &[
    "Boolean",
    "Byte",
    "Short",
    "Integer",
    "Long",
    "Float",
    "Double",
    "String",
    "Object",
    "Void",
    "Override",
    "AssertionError",
    "Codec",
    "Class",
    "Runnable",
    "StringBuilder",
];

/// Members of the generated class itself.
const BINDING_MEMBERS: &[&str] = &["open", "bind", "module", "close", "WIT", "HASH"];

/// Members of a generated resource class itself.
const RESOURCE_MEMBERS: &[&str] = &["close", "isClosed", "handle"];

fn member(name: &str) -> String {
    let c = camel(name);
    if KEYWORDS.contains(&c.as_str()) || OBJECT_MEMBERS.contains(&c.as_str()) {
        c + "_"
    } else {
        c
    }
}

/// A Java string literal (ASCII only: everything else as `\uXXXX` UTF-16 units).
fn lit(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            ' '..='~' => o.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(o, "\\u{u:04x}");
                }
            }
        }
    }
    o.push('"');
    o
}

/// A Javadoc comment at `indent` (`*/` and HTML-significant characters escaped).
fn javadoc(out: &mut String, indent: &str, docs: Option<&str>, extra: &[String]) {
    let mut lines: Vec<String> = Vec::new();
    if let Some(d) = docs {
        for l in d.lines() {
            lines.push(
                l.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace("*/", "*&#47;")
                    .replace('@', "&#64;"),
            );
        }
    }
    let mut tags = false;
    for e in extra {
        let tag = e.starts_with('@');
        if !(lines.is_empty() || tag && tags) {
            lines.push(String::new());
        }
        if tag {
            tags = true;
            lines.push(e.clone());
        } else if lines.is_empty() {
            lines.push(e.clone());
        } else {
            lines.push(format!("<p>{e}"));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}/**");
    for l in lines {
        if l.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {l}");
        }
    }
    let _ = writeln!(out, "{indent} */");
}

/// The Java value of type `ty` from `slot`, a direct call's result slot (a `long` expression
/// the host checked against `ty`).
fn from_slot(ty: Scalar, slot: &str) -> String {
    let slots = "io.bridgehost.typed.Slots";
    match ty {
        Scalar::U32 | Scalar::S64 | Scalar::U64 => slot.to_string(),
        Scalar::S8 => format!("(byte) {slot}"),
        Scalar::S16 | Scalar::U8 => format!("(short) {slot}"),
        Scalar::S32 | Scalar::U16 | Scalar::Char => format!("(int) {slot}"),
        Scalar::Bool => format!("{slots}.toBool({slot})"),
        Scalar::F32 => format!("{slots}.toF32({slot})"),
        Scalar::F64 => format!("{slots}.toF64({slot})"),
    }
}

/// `{@code ...}` with the braces and markup a WIT type can contain escaped.
fn code(s: &str) -> String {
    format!(
        "<code>{}</code>",
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('@', "&#64;")
    )
}

struct Gen<'a> {
    i: &'a Interface,
    class: String,
    /// Java name of each named type (records, variants, enums, flags; aliases name their codec).
    names: Vec<String>,
}

impl<'a> Gen<'a> {
    fn new(i: &'a Interface) -> Gen<'a> {
        let class = pascal(&i.name);
        let mut taken: HashSet<String> = HashSet::new();
        taken.insert(class.clone());
        let mut names = Vec::with_capacity(i.types.len());
        for t in &i.types {
            let mut n = pascal(&t.name);
            while RESERVED_TYPES.contains(&n.as_str()) || taken.contains(&n) {
                n.push('_');
            }
            taken.insert(n.clone());
            names.push(n);
        }
        Gen { i, class, names }
    }

    fn resolve(&self, ty: &'a Type) -> &'a Type {
        self.i.resolve(ty)
    }

    fn is_primitive(&self, ty: &Type) -> bool {
        matches!(
            self.resolve(ty),
            Type::Bool
                | Type::S8
                | Type::S16
                | Type::S32
                | Type::S64
                | Type::U8
                | Type::U16
                | Type::U32
                | Type::U64
                | Type::F32
                | Type::F64
                | Type::Char
        )
    }

    /// The Java type of `ty`; `boxed` where it is a type argument.
    fn jtype(&self, ty: &Type, boxed: bool) -> Result<String> {
        self.jtype_in(ty, boxed, false)
    }

    /// [`jtype`](Self::jtype) with the interface's own types named through the outer class
    /// (`Min.Point`) when `qualified`: inside a variant's sealed interface, a case named like a
    /// type (`point(point)`) is a record `Point` that hides the outer `Point`.
    fn jtype_in(&self, ty: &Type, boxed: bool, qualified: bool) -> Result<String> {
        let own = |i: usize| {
            if qualified {
                format!("{}.{}", self.class, self.names[i])
            } else {
                self.names[i].clone()
            }
        };
        let p = |prim: &str, boxd: &str| if boxed { boxd } else { prim }.to_string();
        Ok(match ty {
            Type::Bool => p("boolean", "Boolean"),
            Type::S8 => p("byte", "Byte"),
            Type::S16 | Type::U8 => p("short", "Short"),
            Type::S32 | Type::U16 | Type::Char => p("int", "Integer"),
            Type::S64 | Type::U32 | Type::U64 => p("long", "Long"),
            Type::F32 => p("float", "Float"),
            Type::F64 => p("double", "Double"),
            Type::String => "String".into(),
            Type::List(t) if **t == Type::U8 => "byte[]".into(),
            Type::List(t) => format!("java.util.List<{}>", self.jtype_in(t, true, qualified)?),
            Type::Option(t) => {
                format!("java.util.Optional<{}>", self.jtype_in(t, true, qualified)?)
            }
            Type::Result { ok, err } => format!(
                "io.bridgehost.typed.Result<{}, {}>",
                self.side_in(ok.as_deref(), qualified)?,
                self.side_in(err.as_deref(), qualified)?
            ),
            Type::Tuple(ts) => {
                if ts.len() > 8 {
                    return Err(unsupported(
                        LANG,
                        format!("a tuple of {} elements (at most 8)", ts.len()),
                    ));
                }
                let args = ts
                    .iter()
                    .map(|t| self.jtype_in(t, true, qualified))
                    .collect::<Result<Vec<_>>>()?;
                format!(
                    "io.bridgehost.typed.Tuple.Of{}<{}>",
                    ts.len(),
                    args.join(", ")
                )
            }
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Alias(t) => self.jtype_in(t, boxed, qualified)?,
                TypeDefKind::Flags(_) => format!("java.util.Set<{}>", own(*i)),
                _ => own(*i),
            },
            Type::Own(r) | Type::Borrow(r) => own(*r),
        })
    }

    /// The Java names of variant `name`'s case records: PascalCase, with `_` appended while one
    /// is taken (Java: no nested type shares an enclosing type's name, the variant's or the
    /// class's; no two cases share one; no reserved type name is hidden).
    fn case_names(&self, name: &str, cases: &[crate::model::Case]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in cases {
            let mut n = pascal(&c.name);
            while n == name
                || n == self.class
                || RESERVED_TYPES.contains(&n.as_str())
                || out.contains(&n)
            {
                n.push('_');
            }
            out.push(n);
        }
        out
    }

    fn side(&self, t: Option<&Type>) -> Result<String> {
        self.side_in(t, false)
    }

    fn side_in(&self, t: Option<&Type>, qualified: bool) -> Result<String> {
        match t {
            Some(t) => self.jtype_in(t, true, qualified),
            None => Ok("Void".into()),
        }
    }

    /// Whether `ty` holds an owned handle (`own<R>`, or `R` itself) anywhere, through named types.
    fn has_own(&self, ty: &Type) -> bool {
        self.i.handles_in(ty).own
    }

    /// Whether `ty` holds a `borrow<R>` anywhere, through named types.
    fn has_borrow(&self, ty: &Type) -> bool {
        self.i.handles_in(ty).borrow
    }

    /// The refusal of a handle where the Java mapping has no place for it (docs/TYPED.md,
    /// "Resources (handles)": `own<R>` only in results, `borrow<R>` only as a direct parameter).
    fn misplaced_handle(&self, what: String) -> crate::error::Error {
        unsupported(LANG, what)
    }

    /// Statements that encode `v` (a Java expression of `jtype(ty, boxed)`) into writer `w`;
    /// `what` is a Java `String` expression naming the value for error messages.
    fn enc(
        &self,
        ty: &Type,
        w: &str,
        v: &str,
        what: &str,
        boxed: bool,
        d: usize,
    ) -> Result<String> {
        let req = |v: &str| {
            if boxed {
                format!("io.bridgehost.typed.WireWriter.require({v}, {what})")
            } else {
                v.to_string()
            }
        };
        let lam = |t: &Type, sub: &str| -> Result<String> {
            let inner = if sub.is_empty() {
                what.to_string()
            } else {
                format!("{what} + {}", lit(sub))
            };
            Ok(format!(
                "(_w{d}, _e{d}) -> {{ {} }}",
                self.enc(t, &format!("_w{d}"), &format!("_e{d}"), &inner, true, d + 1)?
            ))
        };
        Ok(match ty {
            Type::Bool => format!("{w}.bool({});", req(v)),
            Type::S8 => format!("{w}.s8({});", req(v)),
            Type::S16 => format!("{w}.s16({});", req(v)),
            Type::S32 => format!("{w}.s32({});", req(v)),
            Type::S64 => format!("{w}.s64({});", req(v)),
            Type::U8 => format!("{w}.u8({}, {what});", req(v)),
            Type::U16 => format!("{w}.u16({}, {what});", req(v)),
            Type::U32 => format!("{w}.u32({}, {what});", req(v)),
            Type::U64 => format!("{w}.u64({});", req(v)),
            Type::F32 => format!("{w}.f32({});", req(v)),
            Type::F64 => format!("{w}.f64({});", req(v)),
            Type::Char => format!("{w}.chr({}, {what});", req(v)),
            Type::String => format!("{w}.string({v}, {what});"),
            Type::List(t) if **t == Type::U8 => format!("{w}.bytes({v}, {what});"),
            // The element's path (`what: element N`) comes from the writer (PathEncoder), built
            // per element only when the element's encoding can refuse something other than a
            // null (which list() refuses itself, naming the index): so the element is unboxed.
            Type::List(t) => {
                let p = format!("_p{d}");
                let body = self.enc(t, &format!("_w{d}"), &format!("_e{d}"), &p, false, d + 1)?;
                let params = if body.contains(&p) {
                    format!("(_w{d}, _e{d}, {p})")
                } else {
                    format!("(_w{d}, _e{d})")
                };
                format!(
                    "{w}.<{}>list({v}, {what}, {params} -> {{ {body} }});",
                    self.jtype(t, true)?
                )
            }
            Type::Option(t) => format!(
                "{w}.<{}>option({v}, {what}, {});",
                self.jtype(t, true)?,
                lam(t, "")?
            ),
            Type::Result { ok, err } => format!(
                "{w}.<{}, {}>result({v}, {what}, {}, {});",
                self.side(ok.as_deref())?,
                self.side(err.as_deref())?,
                match ok {
                    Some(t) => lam(t, ": ok")?,
                    None => "null".into(),
                },
                match err {
                    Some(t) => lam(t, ": err")?,
                    None => "null".into(),
                }
            ),
            Type::Tuple(ts) => {
                let mut s = format!(
                    "{{ {} _t{d} = io.bridgehost.typed.WireWriter.require({v}, {what}); ",
                    self.jtype(ty, true)?
                );
                for (k, t) in ts.iter().enumerate() {
                    s += &self.enc(
                        t,
                        w,
                        &format!("_t{d}.v{k}()"),
                        &format!("{what} + \": element {k}\""),
                        true,
                        d + 1,
                    )?;
                    s.push(' ');
                }
                s.push('}');
                s
            }
            Type::Named(_) if matches!(self.resolve(ty), Type::Borrow(_)) => {
                self.enc(self.resolve(ty), w, v, what, boxed, d)?
            }
            Type::Named(i) => {
                if self.has_own(ty) || self.has_borrow(ty) {
                    return Err(self.misplaced_handle(format!(
                        "{} in a parameter: only a borrow<R> passed directly is mapped",
                        self.i.type_name(ty)
                    )));
                }
                let arg = if self.is_primitive(ty) {
                    req(v)
                } else {
                    v.to_string()
                };
                format!("Codec.encode{}({w}, {arg}, {what});", self.names[*i])
            }
            // A borrowed object: its handle, checked open (ClosedException before anything is sent)
            // and of the module of the binding `_b` the call goes through (an object of another
            // module instance is InvalidArgumentException: its handle means nothing there, or
            // another object).
            Type::Borrow(_) if d == 0 => format!(
                "{w}.handle(io.bridgehost.typed.WireWriter.require({v}, {what})._handleIn(_b, {what}));"
            ),
            Type::Own(_) | Type::Borrow(_) => {
                return Err(self.misplaced_handle(format!(
                    "{} in a parameter: only a borrow<R> passed directly is mapped",
                    self.i.type_name(ty)
                )))
            }
        })
    }

    /// [`Self::enc`], or nothing when `skip` (a type holding `own<R>` gets no encoder).
    #[allow(clippy::too_many_arguments)]
    fn enc_unless(
        &self,
        skip: bool,
        ty: &Type,
        w: &str,
        v: &str,
        what: &str,
        boxed: bool,
        d: usize,
    ) -> Result<String> {
        if skip {
            return Ok(String::new());
        }
        self.enc(ty, w, v, what, boxed, d)
    }

    /// A Java expression that decodes one `ty` from reader `r` (of `jtype(ty, false)`).
    fn dec(&self, ty: &Type, r: &str, d: usize) -> Result<String> {
        let lam = |t: &Type| -> Result<String> {
            Ok(format!(
                "_r{d} -> {}",
                self.dec(t, &format!("_r{d}"), d + 1)?
            ))
        };
        Ok(match ty {
            Type::Bool => format!("{r}.bool()"),
            Type::S8 => format!("{r}.s8()"),
            Type::S16 => format!("{r}.s16()"),
            Type::S32 => format!("{r}.s32()"),
            Type::S64 => format!("{r}.s64()"),
            Type::U8 => format!("{r}.u8()"),
            Type::U16 => format!("{r}.u16()"),
            Type::U32 => format!("{r}.u32()"),
            Type::U64 => format!("{r}.u64()"),
            Type::F32 => format!("{r}.f32()"),
            Type::F64 => format!("{r}.f64()"),
            Type::Char => format!("{r}.chr()"),
            Type::String => format!("{r}.string()"),
            Type::List(t) if **t == Type::U8 => format!("{r}.bytes()"),
            Type::List(t) => format!(
                "{r}.<{}>list({}, {})",
                self.jtype(t, true)?,
                min_size(self.i, t).max(1),
                lam(t)?
            ),
            Type::Option(t) => format!("{r}.<{}>option({})", self.jtype(t, true)?, lam(t)?),
            Type::Result { ok, err } => format!(
                "{r}.<{}, {}>result({}, {})",
                self.side(ok.as_deref())?,
                self.side(err.as_deref())?,
                match ok {
                    Some(t) => lam(t)?,
                    None => "null".into(),
                },
                match err {
                    Some(t) => lam(t)?,
                    None => "null".into(),
                }
            ),
            Type::Tuple(ts) => {
                let args = ts
                    .iter()
                    .map(|t| self.dec(t, r, d))
                    .collect::<Result<Vec<_>>>()?;
                format!("new {}({})", self.jtype(ty, true)?, args.join(", "))
            }
            Type::Named(i) => match self.i.typedef(*i).kind {
                TypeDefKind::Resource => format!("new {}(_b, {r}.handle())", self.names[*i]),
                _ if self.has_own(ty) => format!("Codec.decode{}(_b, {r})", self.names[*i]),
                _ => format!("Codec.decode{}({r})", self.names[*i]),
            },
            // A new handle: an object that owns it (registered with the Cleaner at once, so a
            // later decode failure leaves it to the Cleaner). `_b` is the binding in scope.
            Type::Own(i) => format!("new {}(_b, {r}.handle())", self.names[*i]),
            Type::Borrow(_) => {
                return Err(self.misplaced_handle(format!(
                    "{} in a result: a borrowed handle is only mapped as a parameter",
                    self.i.type_name(ty)
                )))
            }
        })
    }

    /// Whether Java's default record equality would compare a `byte[]` inside a `ty` by
    /// reference: `ty` holds a `list<u8>` through lists, options, results, tuples and aliases.
    /// A named record or variant is not looked into: it gets value equality itself.
    fn holds_bytes(&self, ty: &Type) -> bool {
        match ty {
            Type::List(t) if **t == Type::U8 => true,
            Type::List(t) | Type::Option(t) => self.holds_bytes(t),
            Type::Result { ok, err } => [ok, err]
                .into_iter()
                .any(|t| t.as_deref().is_some_and(|t| self.holds_bytes(t))),
            Type::Tuple(ts) => ts.iter().any(|t| self.holds_bytes(t)),
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Alias(t) => self.holds_bytes(t),
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether some record or variant case of the interface gets [`value_methods`], which call
    /// the class's [`VALUE_HELPERS`].
    fn needs_value_helpers(&self) -> bool {
        self.i.types.iter().any(|t| match &t.kind {
            TypeDefKind::Record(fields) => fields.iter().any(|f| self.holds_bytes(&f.ty)),
            TypeDefKind::Variant(cases) => cases
                .iter()
                .any(|c| c.ty.as_ref().is_some_and(|t| self.holds_bytes(t))),
            _ => false,
        })
    }

    /// The nested Java type declaration of named type `i`, if it has one (aliases do not).
    fn declare(&self, out: &mut String, i: TypeIndex) -> Result<()> {
        let def = self.i.typedef(i);
        let name = &self.names[i];
        let wit = format!("WIT {}: {}", kind_word(&def.kind), code(&def.name));
        if matches!(def.kind, TypeDefKind::Record(_) | TypeDefKind::Variant(_))
            && self.has_borrow(&Type::Named(i))
        {
            return Err(self.misplaced_handle(format!(
                "type {:?} holds a borrow<R>: a borrowed handle is only mapped as a direct parameter",
                def.name
            )));
        }
        match &def.kind {
            TypeDefKind::Record(fields) => {
                let mut comps = Vec::new();
                let mut extra = vec![wit];
                for f in fields {
                    let m = member(&f.name);
                    comps.push(format!("{} {m}", self.jtype(&f.ty, false)?));
                    extra.push(format!(
                        "@param {m} {}{}",
                        code(&format!("{}: {}", f.name, self.i.type_name(&f.ty))),
                        f.docs
                            .as_deref()
                            .map(|d| format!(" {}", d.replace('\n', " ").replace("*/", "*&#47;")))
                            .unwrap_or_default()
                    ));
                }
                javadoc(out, "    ", def.docs.as_deref(), &extra);
                let _ = write!(out, "    public record {name}({}) {{", comps.join(", "));
                if fields.iter().any(|f| self.holds_bytes(&f.ty)) {
                    let ms: Vec<String> = fields.iter().map(|f| member(&f.name)).collect();
                    value_methods(out, "        ", name, &ms);
                    let _ = writeln!(out, "    }}\n");
                } else {
                    let _ = writeln!(out, "}}\n");
                }
            }
            TypeDefKind::Variant(cases) => {
                javadoc(out, "    ", def.docs.as_deref(), &[wit]);
                let case_names = self.case_names(name, cases);
                let _ = writeln!(
                    out,
                    "    public sealed interface {name} permits {} {{",
                    case_names
                        .iter()
                        .map(|c| format!("{name}.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for (c, n) in cases.iter().zip(&case_names) {
                    javadoc(
                        out,
                        "        ",
                        c.docs.as_deref(),
                        &[format!("Case {}.", code(&c.name))],
                    );
                    match &c.ty {
                        Some(t) => {
                            let _ = write!(
                                out,
                                "        record {n}({} value) implements {name} {{",
                                self.jtype_in(t, false, true)?
                            );
                            if self.holds_bytes(t) {
                                value_methods(out, "            ", n, &["value".to_string()]);
                                let _ = writeln!(out, "        }}");
                            } else {
                                let _ = writeln!(out, "}}");
                            }
                        }
                        None => {
                            let _ = writeln!(out, "        record {n}() implements {name} {{}}");
                        }
                    }
                }
                let _ = writeln!(out, "    }}\n");
            }
            TypeDefKind::Enum(cases) | TypeDefKind::Flags(cases) => {
                javadoc(out, "    ", def.docs.as_deref(), &[wit]);
                let _ = writeln!(out, "    public enum {name} {{");
                let consts: Vec<String> = cases
                    .iter()
                    .map(|c| format!("        {}({})", upper_snake(c), lit(c)))
                    .collect();
                let _ = writeln!(out, "{};\n", consts.join(",\n"));
                let _ = writeln!(out, "        static final {name}[] _CASES = values();");
                let _ = writeln!(out, "        private final String witName;\n");
                let _ = writeln!(
                    out,
                    "        {name}(String witName) {{\n            this.witName = witName;\n        }}\n"
                );
                let _ = writeln!(
                    out,
                    "        /** @return the case's name in the WIT */\n        public String witName() {{\n            return witName;\n        }}"
                );
                let _ = writeln!(out, "    }}\n");
            }
            // Aliases have no class; resources get theirs from `resource_class`.
            TypeDefKind::Alias(_) | TypeDefKind::Resource => {}
        }
        Ok(())
    }

    /// The codec helpers of named type `i` in `Codec`.
    fn codec(&self, out: &mut String, i: TypeIndex) -> Result<()> {
        let def = self.i.typedef(i);
        let name = &self.names[i];
        let ty = Type::Named(i);
        // A resource has no codec; a borrow<R> only travels as a direct parameter (an alias of
        // one is encoded where it is used).
        if def.kind == TypeDefKind::Resource || self.has_borrow(&ty) {
            return Ok(());
        }
        // A type holding own<R> only travels from the module (own<R> in a parameter is refused):
        // decoders only, which take the binding that the objects will call through.
        let owns = self.has_own(&ty);
        let jt = self.jtype(&ty, false)?;
        let (enc_body, dec_body) = match &def.kind {
            TypeDefKind::Record(fields) => {
                let mut e = "            io.bridgehost.typed.WireWriter.require(v, what);\n".to_string();
                let mut args = Vec::new();
                for f in fields {
                    let m = member(&f.name);
                    let _ = writeln!(
                        e,
                        "            {}",
                        self.enc_unless(owns, &f.ty, "w", &format!("v.{m}()"), &format!("what + {}", lit(&format!(": {}.{}", def.name, f.name))), false, 0)?
                    );
                    args.push(self.dec(&f.ty, "r", 0)?);
                }
                (e, format!("            return new {name}({});\n", args.join(", ")))
            }
            TypeDefKind::Variant(cases) => {
                let mut e = "            io.bridgehost.typed.WireWriter.require(v, what);\n".to_string();
                let mut dbody = format!(
                    "            switch (r.discriminant({}, \"variant\", {})) {{\n",
                    cases.len(),
                    lit(&def.name)
                );
                let case_names = self.case_names(name, cases);
                for (k, (c, n)) in cases.iter().zip(&case_names).enumerate() {
                    let els = if k == 0 { "" } else { "} else " };
                    let _ = writeln!(e, "            {els}if (v instanceof {name}.{n} _c) {{");
                    let _ = writeln!(e, "                w.discriminant({k}, {});", cases.len());
                    if let Some(t) = &c.ty {
                        let _ = writeln!(
                            e,
                            "                {}",
                            self.enc_unless(owns, t, "w", "_c.value()", &format!("what + {}", lit(&format!(": {}.{}", def.name, c.name))), false, 0)?
                        );
                    }
                    let _ = writeln!(
                        dbody,
                        "                case {k}:\n                    return new {name}.{n}({});",
                        match &c.ty {
                            Some(t) => self.dec(t, "r", 0)?,
                            None => String::new(),
                        }
                    );
                }
                e += "            } else {\n                throw new AssertionError(v);\n            }\n";
                dbody += "                default:\n                    throw new AssertionError();\n            }\n";
                (e, dbody)
            }
            TypeDefKind::Enum(cases) => (
                format!(
                    "            io.bridgehost.typed.WireWriter.require(v, what);\n            w.discriminant(v.ordinal(), {});\n",
                    cases.len()
                ),
                format!(
                    "            return {name}._CASES[r.discriminant({}, \"enum\", {})];\n",
                    cases.len(),
                    lit(&def.name)
                ),
            ),
            TypeDefKind::Flags(flags) => (
                format!(
                    "            io.bridgehost.typed.WireWriter.require(v, what);\n            long bits = 0;\n            for ({name} f : v) {{\n                bits |= 1L << io.bridgehost.typed.WireWriter.require(f, what + \": flag\").ordinal();\n            }}\n            w.flags(bits, {});\n",
                    flags.len()
                ),
                format!(
                    "            long bits = r.flags({}, {});\n            java.util.EnumSet<{name}> set = java.util.EnumSet.noneOf({name}.class);\n            for ({name} f : {name}._CASES) {{\n                if ((bits & (1L << f.ordinal())) != 0) {{\n                    set.add(f);\n                }}\n            }}\n            return java.util.Collections.unmodifiableSet(set);\n",
                    flags.len(),
                    lit(&def.name)
                ),
            ),
            TypeDefKind::Alias(t) => (
                format!("            {}\n", self.enc_unless(owns, t, "w", "v", "what", false, 0)?),
                format!("            return {};\n", self.dec(t, "r", 0)?),
            ),
            TypeDefKind::Resource => return Ok(()),
        };
        let witname = code(&def.name);
        // Decoders of a type holding own<R> take the binding (`_b`) the objects call through.
        let (bp, ba) = if owns {
            (format!("{} _b, ", self.class), "_b, ")
        } else {
            (String::new(), "")
        };
        let bdoc = if owns {
            "\n         * @param _b the bindings the decoded objects call through (and are dropped through)"
        } else {
            ""
        };
        if !owns {
            let _ = writeln!(
                out,
                "        /**\n         * Encodes a {witname} into {{@code w}}.\n         *\n         * @param w the writer\n         * @param v the value\n         * @param what names the value in error messages\n         * @throws io.bridgehost.InvalidArgumentException if the value does not fit the type\n         */\n        public static void encode{name}(io.bridgehost.typed.WireWriter w, {jt} v, String what) {{\n{enc_body}        }}\n"
            );
        }
        let _ = writeln!(
            out,
            "        /**\n         * Decodes a {witname} from {{@code r}}.\n         *{bdoc}\n         * @param r the reader\n         * @return the value\n         * @throws io.bridgehost.AbiMismatchException if the bytes are not a {witname}\n         */\n        public static {jt} decode{name}({bp}io.bridgehost.typed.WireReader r) {{\n{dec_body}        }}\n"
        );
        if !owns {
            let _ = writeln!(
                out,
                "        /**\n         * @param v a {witname}\n         * @return its encoding\n         */\n        public static byte[] encode{name}({jt} v) {{\n            io.bridgehost.typed.WireWriter w = new io.bridgehost.typed.WireWriter();\n            encode{name}(w, v, \"value\");\n            return w.toByteArray();\n        }}\n"
            );
        }
        let _ = writeln!(
            out,
            "        /**\n         * @param bytes exactly one encoded {witname}{bdoc}\n         * @return the value\n         * @throws io.bridgehost.AbiMismatchException if the bytes are not exactly one {witname}\n         */\n        public static {jt} decode{name}({bp}byte[] bytes) {{\n            io.bridgehost.typed.WireReader r = new io.bridgehost.typed.WireReader(bytes);\n            {jt} v = decode{name}({ba}r);\n            r.end();\n            return v;\n        }}\n"
        );
        Ok(())
    }

    /// The Java names of function `f`: its public member, the suffix of its private helpers
    /// (`m_`, `in_`, `out_`), and its asynchronous member. A constructor of resource `r` is the
    /// binding's `newR`, a static function `f` its `rF`, a method `m` the object's `m`.
    fn function_names(&self, f: &Function) -> (String, String, String) {
        let short = f.name.rsplit_once('.').map_or(f.name.as_str(), |(_, s)| s);
        match f.kind {
            FunctionKind::Freestanding => (
                member(&f.name),
                member(&f.name),
                member(&format!("{}-async", f.name)),
            ),
            FunctionKind::Constructor(r) => {
                let n = format!("new-{}", self.i.typedef(r).name);
                (member(&n), camel(&n), member(&format!("{n}-async")))
            }
            FunctionKind::Static(r) => {
                let n = format!("{}-{short}", self.i.typedef(r).name);
                (member(&n), camel(&n), member(&format!("{n}-async")))
            }
            FunctionKind::Method(r) => (
                member(short),
                camel(&format!("{}-{short}", self.i.typedef(r).name)),
                member(&format!("{short}-async")),
            ),
        }
    }

    /// Function `f`: its public blocking and asynchronous methods (returned: they go into the
    /// binding class, or a method's into its resource class) and its private encoder and decoder
    /// (appended to `helpers`, in the binding class). `taken` holds the names already used where
    /// the public methods go; `fields` the binding's field names.
    fn function(
        &self,
        helpers: &mut String,
        f: &Function,
        taken: &mut HashSet<String>,
        fields: &mut HashSet<String>,
    ) -> Result<String> {
        let mut out = String::new();
        let (name, helper, async_name) = self.function_names(f);
        let field = if f.kind == FunctionKind::Freestanding {
            format!("m_{}", camel(&f.name))
        } else {
            format!("m_{helper}")
        };
        let is_method = matches!(f.kind, FunctionKind::Method(_));
        // Where the public methods are: `this` is the binding, or the object (whose binding is
        // `_binding`).
        let (bind, module_field) = if is_method {
            ("_binding", format!("_binding.{field}"))
        } else {
            ("this", field.clone())
        };
        let mut params = Vec::new();
        let mut in_params = Vec::new();
        let mut args = Vec::new();
        let mut pdocs = Vec::new();
        // The objects a call borrows: kept reachable until it returns, so that the Cleaner
        // cannot drop their handles under it.
        let mut keep: Vec<String> = Vec::new();
        let mut borrows = false;
        for (k, p) in f.params.iter().enumerate() {
            if is_method && k == 0 {
                in_params.push(format!("{} _self", self.jtype(&p.ty, false)?));
                args.push("this".to_string());
                keep.push("this".to_string());
                borrows = true;
                continue;
            }
            if self.has_own(&p.ty) {
                return Err(self.misplaced_handle(format!(
                    "function {:?}, parameter {:?}: own<R> in a parameter (passing ownership into the module) is not mapped; take a borrow<R>",
                    f.name, p.name
                )));
            }
            let direct = matches!(self.resolve(&p.ty), Type::Borrow(_));
            if !direct && self.has_borrow(&p.ty) {
                return Err(self.misplaced_handle(format!(
                    "function {:?}, parameter {:?}: borrow<R> inside another type is not mapped; pass it as a parameter of its own",
                    f.name, p.name
                )));
            }
            let mut pn = member(&p.name);
            if pn.starts_with('_') {
                pn.insert(0, 'p');
            }
            let pt = self.jtype(&p.ty, false)?;
            params.push(format!("{pt} {pn}"));
            in_params.push(format!("{pt} {pn}"));
            pdocs.push(format!(
                "@param {pn} {}",
                code(&format!("{}: {}", p.name, self.i.type_name(&p.ty)))
            ));
            if direct {
                keep.push(pn.clone());
                borrows = true;
            }
            args.push(pn);
        }
        if let Some(t) = &f.result {
            if self.has_borrow(t) {
                return Err(self.misplaced_handle(format!(
                    "function {:?}: borrow<R> in a result is not mapped (a borrowed handle is only a parameter)",
                    f.name
                )));
            }
        }
        for n in [name.clone(), async_name.clone()] {
            if !taken.insert(n.clone()) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "function {:?} maps to the Java member {n}, which is already taken",
                        f.name
                    ),
                ));
            }
        }
        if !fields.insert(field.clone()) {
            return Err(unsupported(
                LANG,
                format!(
                    "function {:?} maps to the Java field {field}, which is already taken",
                    f.name
                ),
            ));
        }
        let owns = f.result.as_ref().is_some_and(|t| self.has_own(t));
        // The result: a function returning result<T, E> returns T and throws E.
        let res = f.result.as_ref().map(|t| self.resolve(t));
        let (ret, boxed_ret, throws) = match res {
            None => ("void".to_string(), "Void".to_string(), None),
            Some(Type::Result { ok, err }) => (
                match ok {
                    Some(t) => self.jtype(t, false)?,
                    None => "void".into(),
                },
                self.side(ok.as_deref())?,
                Some(self.side(err.as_deref())?),
            ),
            Some(t) => (self.jtype(t, false)?, self.jtype(t, true)?, None),
        };
        let sig = code(&self.i.signature(f));
        let mut docs = vec![format!("WIT: {sig}")];
        docs.extend(pdocs.iter().cloned());
        if ret != "void" {
            docs.push("@return the result".into());
        }
        if let Some(e) = &throws {
            docs.push(format!(
                "@throws io.bridgehost.TypedModuleException when the function returns its error case; {{@code value()}} is a {{@code {e}}}"
            ));
        }
        docs.push("@throws io.bridgehost.InvalidArgumentException if an argument does not fit its WIT type".into());
        if borrows {
            docs.push(format!(
                "@throws io.bridgehost.ClosedException if {} was closed (nothing is sent)",
                if is_method && keep.len() == 1 {
                    "this object"
                } else if is_method {
                    "this object or a borrowed one"
                } else {
                    "a borrowed object"
                }
            ));
        }
        docs.push("@throws io.bridgehost.AbiMismatchException if the module's output does not decode as the declared result".into());
        let ind = if is_method { "        " } else { "    " };
        javadoc(&mut out, ind, f.docs.as_deref(), &docs);
        let plist = params.join(", ");
        let alist = args.join(", ");
        let ret_kw = if ret == "void" { "" } else { "return " };
        // Every decoder takes the binding: its module's path words a mismatch, and a result
        // holding objects makes them call through it.
        let barg = format!("{bind}, ");
        // One list<u8> in or out: the bridge encodes or decodes it (Method.callTyped), with no copy
        // of the bytes in Java.
        let run_in = !is_method && wire::run_param(self.i, f) == Some(wire::Run::Bytes);
        let run_out = !owns && wire::run_result(self.i, f) == Some(wire::Run::Bytes);
        // All scalars (docs/TYPED.md, "Direct calls"): one slot per argument through
        // Method.callScalar, no byte encoding; the checks and messages are WireWriter's.
        let direct = if keep.is_empty() {
            ScalarSignature::of(self.i, f)
        } else {
            None
        };
        if let Some(sig) = direct {
            let call = format!(
                "{field}.callScalar({})",
                self.slots(f, &sig, &args).join(", ")
            );
            let body = match sig.result {
                None => format!("{call};"),
                Some(r) => format!("return {};", from_slot(r, &call)),
            };
            let _ = writeln!(
                out,
                "    public {ret} {name}({plist}) {{\n        {body}\n    }}\n"
            );
        } else if keep.is_empty() && (run_in || run_out) {
            let input = if run_in {
                format!(
                    "io.bridgehost.typed.WireWriter.require({}, {})",
                    args[0],
                    lit(&format!("parameter {}", f.params[0].name))
                )
            } else {
                format!("in_{helper}({alist})")
            };
            let call = format!("{field}.callTyped({input}, {run_in}, {run_out})");
            let body = if run_out {
                format!("{ret_kw}{call};")
            } else {
                format!("{ret_kw}out_{helper}({barg}{call});")
            };
            let _ = writeln!(
                out,
                "    public {ret} {name}({plist}) {{\n        {body}\n    }}\n"
            );
        } else if keep.is_empty() {
            let _ = writeln!(
                out,
                "    public {ret} {name}({plist}) {{\n        {ret_kw}out_{helper}({barg}{field}.call(in_{helper}({alist})));\n    }}\n"
            );
        } else {
            let _ = write!(
                out,
                "{ind}public {ret} {name}({plist}) {{\n{ind}    try {{\n{ind}        {ret_kw}out_{helper}({barg}{module_field}.call(in_{helper}({bind}, {alist})));\n{ind}    }} finally {{\n"
            );
            for k in &keep {
                let _ = writeln!(
                    out,
                    "{ind}        java.lang.ref.Reference.reachabilityFence({k});"
                );
            }
            let _ = writeln!(out, "{ind}    }}\n{ind}}}\n");
        }
        let mut adocs = vec![format!(
            "The asynchronous form of {{@link #{name}}}: arguments are checked and encoded now, the call runs on the host's submit pool."
        )];
        adocs.extend(pdocs.iter().cloned());
        if borrows {
            adocs.push(
                "@return the result's future; it fails with the exceptions the blocking form throws (a closed object's ClosedException included: nothing is sent)"
                    .into(),
            );
        } else {
            adocs.push(
                "@return the result's future; it fails with the exceptions the blocking form throws"
                    .into(),
            );
        }
        // A future returning objects is a copy of the one that decodes them: cancelling it cannot
        // skip the decoding, so an object the module made is always owned (and, unreachable,
        // dropped by the Cleaner) instead of leaking its handle until the module closes.
        let copy = if owns {
            adocs.insert(1, "Cancelling the future does not lose objects the module made: they are decoded all the same and, unreachable, dropped by the Cleaner.".into());
            ".copy()"
        } else {
            ""
        };
        javadoc(&mut out, ind, None, &adocs);
        if keep.is_empty() {
            let then = if ret == "void" {
                format!(
                    "_o -> {{\n            out_{helper}(this, _o);\n            return null;\n        }}"
                )
            } else {
                format!("_o -> out_{helper}(this, _o)")
            };
            let _ = writeln!(
                out,
                "    public java.util.concurrent.CompletableFuture<{boxed_ret}> {async_name}({plist}) {{\n        return {field}.submit(in_{helper}({alist})).thenApply({then}){copy};\n    }}\n"
            );
        } else {
            // A closed object fails the future, as a closed method or module does; the objects
            // stay reachable (captured by the continuation) until the call has completed.
            let _ = write!(
                out,
                "{ind}public java.util.concurrent.CompletableFuture<{boxed_ret}> {async_name}({plist}) {{\n{ind}    byte[] _in;\n{ind}    try {{\n{ind}        _in = in_{helper}({bind}, {alist});\n{ind}    }} catch (io.bridgehost.ClosedException _e) {{\n{ind}        return java.util.concurrent.CompletableFuture.failedFuture(_e);\n{ind}    }}\n{ind}    return {module_field}.submit(_in).thenApply(_o -> {{\n"
            );
            for k in &keep {
                let _ = writeln!(
                    out,
                    "{ind}        java.lang.ref.Reference.reachabilityFence({k});"
                );
            }
            if ret == "void" {
                let _ = writeln!(
                    out,
                    "{ind}        out_{helper}({barg}_o);\n{ind}        return null;"
                );
            } else {
                let _ = writeln!(out, "{ind}        return out_{helper}({barg}_o);");
            }
            let _ = writeln!(out, "{ind}    }}){copy};\n{ind}}}\n");
        }
        // Encoder of the parameters; with objects borrowed, it takes the binding the call goes
        // through (`_b`), whose module each borrowed object must be of.
        if !keep.is_empty() {
            in_params.insert(0, format!("{} _b", self.class));
        }
        let _ = writeln!(
            helpers,
            "    private static byte[] in_{helper}({}) {{\n        io.bridgehost.typed.WireWriter _w = new io.bridgehost.typed.WireWriter();",
            in_params.join(", ")
        );
        for (k, p) in f.params.iter().enumerate() {
            let (a, what) = if is_method && k == 0 {
                ("_self".to_string(), lit("this object"))
            } else {
                (args[k].clone(), lit(&format!("parameter {}", p.name)))
            };
            let _ = writeln!(
                helpers,
                "        {}",
                self.enc(&p.ty, "_w", &a, &what, false, 0)?
            );
        }
        let _ = writeln!(helpers, "        return _w.toByteArray();\n    }}\n");
        // Decoder of the output. It takes the binding: a mismatch names its module's path (the
        // core's wording, io.bridgehost.typed.WireReader.outputMismatch), and the objects it makes
        // call through it.
        let bparam = format!("{} _b, ", self.class);
        let _ = writeln!(
            helpers,
            "    private static {ret} out_{helper}({bparam}byte[] _out) {{"
        );
        let _ = writeln!(
            helpers,
            "        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_out);"
        );
        let wrap = format!(
            "        }} catch (io.bridgehost.AbiMismatchException _e) {{\n            throw io.bridgehost.typed.WireReader.outputMismatch(_b.module, {}, _e);\n        }}",
            lit(&f.name)
        );
        match (res, &throws) {
            (None, _) => {
                let _ = writeln!(
                    helpers,
                    "        try {{\n            _r.end();\n{wrap}\n    }}\n"
                );
            }
            (Some(t @ Type::Result { ok, .. }), Some(e)) => {
                let rt = format!("io.bridgehost.typed.Result<{boxed_ret}, {e}>");
                let _ = writeln!(
                    helpers,
                    "        {rt} _res;\n        try {{\n            _res = {};\n            _r.end();\n{wrap}\n        if (_res instanceof io.bridgehost.typed.Result.Err<{boxed_ret}, {e}> _err) {{\n            throw new io.bridgehost.TypedModuleException({}, _err.error());\n        }}",
                    self.dec(t, "_r", 0)?,
                    lit(&f.name)
                );
                if ok.is_some() {
                    let _ = writeln!(
                        helpers,
                        "        return ((io.bridgehost.typed.Result.Ok<{boxed_ret}, {e}>) _res).value();"
                    );
                }
                let _ = writeln!(helpers, "    }}\n");
            }
            (Some(_), _) => {
                let t = f.result.as_ref().expect("a result");
                let _ = writeln!(
                    helpers,
                    "        try {{\n            {ret} _v = {};\n            _r.end();\n            return _v;\n{wrap}\n    }}\n",
                    self.dec(t, "_r", 0)?
                );
            }
        }
        Ok(out)
    }

    /// The Java expressions of the slots of `f`'s arguments `args` (a direct call): a check
    /// where the Java type holds values the WIT type does not (with [`Self::enc`]'s message), a
    /// conversion for floats and `bool`; the signed types and `u64` widen to `long` as they are.
    fn slots(&self, f: &Function, sig: &ScalarSignature, args: &[String]) -> Vec<String> {
        f.params
            .iter()
            .zip(sig.params.iter())
            .zip(args)
            .map(|((p, &ty), a)| {
                let what = lit(&format!("parameter {}", p.name));
                let slots = "io.bridgehost.typed.Slots";
                match ty {
                    Scalar::Bool => format!("{slots}.bool({a})"),
                    Scalar::U8 => format!("{slots}.u8({a}, {what})"),
                    Scalar::U16 => format!("{slots}.u16({a}, {what})"),
                    Scalar::U32 => format!("{slots}.u32({a}, {what})"),
                    Scalar::Char => format!("{slots}.chr({a}, {what})"),
                    Scalar::F32 => format!("{slots}.f32({a})"),
                    Scalar::F64 => format!("{slots}.f64({a})"),
                    Scalar::S8 | Scalar::S16 | Scalar::S32 | Scalar::S64 | Scalar::U64 => a.clone(),
                }
            })
            .collect()
    }

    /// The binding's `Method` field of function `f`.
    fn field_of(&self, f: &Function) -> String {
        if f.kind == FunctionKind::Freestanding {
            format!("m_{}", camel(&f.name))
        } else {
            format!("m_{}", self.function_names(f).1)
        }
    }

    /// The nested class of resource `r`, holding `methods` (its methods' public forms).
    fn resource_class(&self, out: &mut String, r: TypeIndex, methods: &str) {
        let def = self.i.typedef(r);
        let name = &self.names[r];
        let wit = code(&def.name);
        let drop = code(&self.i.drop_method(r));
        javadoc(
            out,
            "    ",
            def.docs.as_deref(),
            &[
                format!("WIT resource {wit}: an object that lives in the module instance, owned through its handle. {{@link #close}} drops it ({drop}); one that becomes unreachable without being closed is dropped by a {{@link java.lang.ref.Cleaner}}, which submits the drop and ignores its outcome. Closing the module releases every object."),
                "Thread-safe. Once {@link #close} has begun, calls through this object or borrowing it throw {@link io.bridgehost.ClosedException} before anything is sent. A call that passed that check before another thread closed the object may still reach the module: the module keeps an object alive for a call that is running, and refuses a handle dropped before the call arrives as stale ({@link io.bridgehost.ModuleException}, EINVAL).".into(),
            ],
        );
        let _ = writeln!(
            out,
            "    public static final class {name} implements java.lang.AutoCloseable {{
        private final {class} _binding;
        private final io.bridgehost.typed.OwnedHandle _h;

        private {name}({class} binding, long handle) {{
            this._binding = binding;
            this._h = io.bridgehost.typed.OwnedHandle.own(this, binding.d_{field}, {witlit}, handle);
        }}

        /** @return the handle, to send through {{@code b}}; ClosedException once closed, InvalidArgumentException for an object of another module than {{@code b}}'s */
        private long _handleIn({class} b, String what) {{
            if (b.module != _binding.module) {{
                throw new io.bridgehost.InvalidArgumentException(what + {another});
            }}
            return _h.get();
        }}

        /**
         * Drops the object ({drop}, sent and waited for). Idempotent: the first call marks the object closed and then sends the drop, whose failure it throws (once; the object stays closed); later calls do nothing. When the module is already closed nothing is sent: closing the module released the object.
         */
        @Override
        public void close() {{
            _h.close();
        }}

        /** @return true once {{@link #close}} has begun, or once the module is closed (closing it released the object) */
        public boolean isClosed() {{
            return _h.isClosed();
        }}

        /** @return the handle's number (the {{@code u64}} on the wire, as a {{@code long}}; still readable after close, then stale), as Python's {{@code handle}} and C#'s {{@code Handle}} */
        public long handle() {{
            return _h.value();
        }}

        @Override
        public String toString() {{
            return {prefix} + _h + (_h.isClosed() ? \", closed]\" : \"]\");
        }}
",
            class = self.class,
            field = camel(&def.name),
            witlit = lit(&def.name),
            prefix = lit(&format!("{name}[{} ", def.name)),
            another = lit(&format!(": expected a {name} of this binding's module, got one of another module")),
        );
        out.push_str(methods);
        let _ = writeln!(
            out,
            "    }}
"
        );
    }

    fn file(&self, package: &str) -> Result<String> {
        let i = self.i;
        for e in &i.events {
            if e.payload
                .as_ref()
                .is_some_and(|t| self.has_own(t) || self.has_borrow(t))
            {
                return Err(self.misplaced_handle(format!(
                    "event {:?}: a resource handle in an event payload is not mapped (no call owns it)",
                    e.topic
                )));
            }
        }
        let class = &self.class;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "// Generated by `bridgehost bindgen --lang java` from interface {} of package {} (sha256 {}).\n// Do not edit: regenerate from the WIT instead.\npackage {package};\n",
            i.name,
            i.package,
            i.hash_hex()
        );
        let mut cdocs = vec![
            format!(
                "Typed bindings of WIT interface {} ({}): every function is a blocking method and a {{@code CompletableFuture}} method ({{@code ...Async}}); open one with {{@link #open}} or wrap an open module with {{@link #bind}}. Both check the module's embedded interface first ({{@link io.bridgehost.NativeModule#checkBinding}}).",
                code(&i.name),
                code(&i.package)
            ),
            "Type mapping (docs/TYPED.md, \"Java\"): u8 is a {@code short}, u16 an {@code int}, u32 a {@code long}, all range-checked when encoded; u64 is a {@code long} holding the 64 bits (read it with {@link Long#toUnsignedString(long)}); char is an {@code int} code point; list&lt;u8&gt; is {@code byte[]}.".to_string(),
            "Thread-safe: calls may be made from any thread, as on {@link io.bridgehost.Method}.".to_string(),
        ];
        if i.functions
            .iter()
            .any(|f| ScalarSignature::of(i, f).is_some())
        {
            cdocs.push("Direct calls (docs/TYPED.md, \"Direct calls\"): a function whose parameters and result are all scalars calls {@link io.bridgehost.Method#callScalar(long...)} with one 64-bit slot per argument, no byte encoding (its arguments are checked as for any other call; its asynchronous form takes the ordinary path).".into());
        }
        if i.resources().next().is_some() {
            cdocs.push("Resources (docs/TYPED.md, \"Resources (handles)\"): each is a nested class owning its handle ({@code close()}, or a {@link java.lang.ref.Cleaner} once unreachable); its constructor is {@code newR(...)} and its static functions {@code rF(...)} here. {@link #close} leaves the resources' drop methods open, so objects of a module that stays open (see {@link #bind}) can still be closed.".into());
        }
        if !i.events.is_empty() {
            cdocs.push("Events: {@code on<Topic>(listener)} subscribes with the payload decoded; the listener runs on the host's event thread, and a payload that does not decode is an {@link io.bridgehost.AbiMismatchException} thrown from the listener (handled like any listener exception).".into());
        }
        javadoc(&mut out, "", i.docs.as_deref(), &cdocs);
        let _ = writeln!(
            out,
            "public final class {class} implements AutoCloseable {{"
        );
        let _ = writeln!(
            out,
            "    /** The WIT text these bindings were generated from. */\n    public static final String WIT = wit();\n\n    /** SHA-256 of the interface's canonical form (docs/TYPED.md, \"Hash\"). */\n    public static final String HASH = {};\n",
            lit(&i.hash_hex())
        );
        for t in 0..i.types.len() {
            self.declare(&mut out, t)?;
        }
        let plain: Vec<&Function> = i
            .functions
            .iter()
            .filter(|f| f.kind == FunctionKind::Freestanding)
            .collect();
        let resource_fns: Vec<&Function> = i
            .functions
            .iter()
            .filter(|f| f.kind != FunctionKind::Freestanding)
            .collect();
        let mut with_fields = plain.clone();
        with_fields.extend(resource_fns.iter().copied());
        let _ = writeln!(out, "    private final io.bridgehost.NativeModule module;\n    private final boolean owned;");
        for f in &with_fields {
            let _ = writeln!(
                out,
                "    private final io.bridgehost.Method {};",
                self.field_of(f)
            );
        }
        for r in i.resources() {
            let _ = writeln!(
                out,
                "    private final io.bridgehost.Method d_{};",
                camel(&i.typedef(r).name)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "    private {class}(io.bridgehost.NativeModule module, boolean owned) {{\n        module.checkBinding(WIT);\n        this.module = module;\n        this.owned = owned;"
        );
        for f in &with_fields {
            let _ = writeln!(
                out,
                "        this.{} = module.method({});",
                self.field_of(f),
                lit(&f.name)
            );
        }
        for r in i.resources() {
            let _ = writeln!(
                out,
                "        this.d_{} = module.method({});",
                camel(&i.typedef(r).name),
                lit(&i.drop_method(r))
            );
        }
        let _ = writeln!(out, "    }}\n");
        let _ = writeln!(
            out,
            "    /**\n     * Opens {{@code spec}} and checks its interface. {{@link #close}} closes the module.\n     *\n     * @param host the host\n     * @param spec a module name or path, as {{@link io.bridgehost.Host#open(String)}} takes\n     * @return the bindings\n     * @throws io.bridgehost.AbiMismatchException if the module's interface is missing or not compatible with these bindings\n     */\n    public static {class} open(io.bridgehost.Host host, String spec) {{\n        return open(host, spec, io.bridgehost.ModuleOptions.defaults());\n    }}\n"
        );
        let _ = writeln!(
            out,
            "    /**\n     * Opens {{@code spec}} with {{@code options}} (e.g. isolated) and checks its interface. {{@link #close}} closes the module.\n     *\n     * @param host the host\n     * @param spec a module name or path\n     * @param options the module options\n     * @return the bindings\n     * @throws io.bridgehost.AbiMismatchException if the module's interface is missing or not compatible with these bindings\n     */\n    public static {class} open(io.bridgehost.Host host, String spec, io.bridgehost.ModuleOptions options) {{\n        io.bridgehost.NativeModule m = host.open(spec, options);\n        try {{\n            return new {class}(m, true);\n        }} catch (java.lang.RuntimeException | java.lang.Error e) {{\n            m.close();\n            throw e;\n        }}\n    }}\n"
        );
        let _ = writeln!(
            out,
            "    /**\n     * Binds an open module after checking its interface. {{@link #close}} leaves the module open.\n     *\n     * @param module the module\n     * @return the bindings\n     * @throws io.bridgehost.AbiMismatchException if the module's interface is missing or not compatible with these bindings\n     */\n    public static {class} bind(io.bridgehost.NativeModule module) {{\n        return new {class}(module, false);\n    }}\n"
        );
        let _ = writeln!(
            out,
            "    /** @return the module these bindings call */\n    public io.bridgehost.NativeModule module() {{\n        return module;\n    }}\n"
        );
        let _ = writeln!(out, "    /** Closes the methods, and the module if {{@link #open}} opened it. Idempotent. */\n    @Override\n    public void close() {{");
        for f in &with_fields {
            let _ = writeln!(out, "        {}.close();", self.field_of(f));
        }
        let _ = writeln!(
            out,
            "        if (owned) {{\n            module.close();\n        }}\n    }}\n"
        );
        let mut taken: HashSet<String> = BINDING_MEMBERS.iter().map(|s| s.to_string()).collect();
        let mut fields: HashSet<String> = i
            .resources()
            .map(|r| format!("d_{}", camel(&i.typedef(r).name)))
            .collect();
        for f in &plain {
            let mut helpers = String::new();
            out += &self.function(&mut helpers, f, &mut taken, &mut fields)?;
            out += &helpers;
        }
        for r in i.resources() {
            let mut methods = String::new();
            let mut helpers = String::new();
            let mut obj_taken: HashSet<String> =
                RESOURCE_MEMBERS.iter().map(|s| s.to_string()).collect();
            for f in &resource_fns {
                match f.kind {
                    FunctionKind::Method(x) if x == r => {
                        methods += &self.function(&mut helpers, f, &mut obj_taken, &mut fields)?;
                    }
                    FunctionKind::Constructor(x) | FunctionKind::Static(x) if x == r => {
                        out += &self.function(&mut helpers, f, &mut taken, &mut fields)?;
                    }
                    _ => {}
                }
            }
            self.resource_class(&mut out, r, &methods);
            out += &helpers;
        }
        for e in &i.events {
            let m = format!("on{}", pascal(&e.topic));
            if !taken.insert(m.clone()) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "event {:?} maps to the Java member {m}, which is already taken",
                        e.topic
                    ),
                ));
            }
            let wrap = format!(
                "        }} catch (io.bridgehost.AbiMismatchException _e) {{\n            throw io.bridgehost.typed.WireReader.eventMismatch(_b.module, {}, _e);\n        }}",
                lit(&e.topic)
            );
            match &e.payload {
                Some(t) => {
                    let bt = self.jtype(t, true)?;
                    javadoc(
                        &mut out,
                        "    ",
                        e.docs.as_deref(),
                        &[
                            format!(
                                "Subscribes to event {} with its payload ({}) decoded.",
                                code(&e.topic),
                                code(&i.type_name(t))
                            ),
                            "@param listener receives each payload, on the host's event thread"
                                .into(),
                            "@return the subscription; close it to stop deliveries".into(),
                        ],
                    );
                    let _ = writeln!(
                        out,
                        "    public io.bridgehost.Subscription {m}(java.util.function.Consumer<{bt}> listener) {{\n        java.util.Objects.requireNonNull(listener, \"listener\");\n        return module.subscribe({}, (byte[] _data) -> listener.accept(event_{m}(this, _data)));\n    }}\n",
                        lit(&e.topic)
                    );
                    let _ = writeln!(
                        out,
                        "    private static {bt} event_{m}({} _b, byte[] _data) {{\n        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_data);\n        try {{\n            {bt} _v = {};\n            _r.end();\n            return _v;\n{wrap}\n    }}\n",
                        self.class,
                        self.dec(t, "_r", 0)?
                    );
                }
                None => {
                    javadoc(
                        &mut out,
                        "    ",
                        e.docs.as_deref(),
                        &[
                            format!("Subscribes to event {} (no payload).", code(&e.topic)),
                            "@param listener runs for each event, on the host's event thread"
                                .into(),
                            "@return the subscription; close it to stop deliveries".into(),
                        ],
                    );
                    let _ = writeln!(
                        out,
                        "    public io.bridgehost.Subscription {m}(Runnable listener) {{\n        java.util.Objects.requireNonNull(listener, \"listener\");\n        return module.subscribe({}, (byte[] _data) -> {{\n            event_{m}(this, _data);\n            listener.run();\n        }});\n    }}\n",
                        lit(&e.topic)
                    );
                    let _ = writeln!(
                        out,
                        "    private static void event_{m}({} _b, byte[] _data) {{\n        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_data);\n        try {{\n            _r.end();\n{wrap}\n    }}\n",
                        self.class
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "    /** Encoders and decoders of the interface's named types, for payloads outside calls (e.g. tests, storage). */\n    public static final class Codec {{\n        private Codec() {{}}\n"
        );
        for t in 0..i.types.len() {
            self.codec(&mut out, t)?;
        }
        let _ = writeln!(out, "    }}\n");
        if self.needs_value_helpers() {
            out.push_str(VALUE_HELPERS);
        }
        // The WIT text, in literals short enough for the class file's constant pool.
        let _ = writeln!(
            out,
            "    private static String wit() {{\n        StringBuilder b = new StringBuilder({});",
            i.source().len()
        );
        let chars: Vec<char> = i.source().chars().collect();
        for chunk in chars.chunks(8192) {
            let s: String = chunk.iter().collect();
            let _ = writeln!(out, "        b.append({});", lit(&s));
        }
        let _ = writeln!(out, "        return b.toString();\n    }}\n}}");
        Ok(out)
    }
}

/// `equals`, `hashCode` and `toString` overrides, at `indent` inside record `name` with
/// components `comps`, that treat a `byte[]` anywhere in a component as a value (through the
/// class's [`VALUE_HELPERS`]); the text is Java's record format, `Name[a=1, b=0x01ff]`. The
/// bodies name the components and the helpers only: a component called `java` or `io` would
/// hide those packages inside the record.
fn value_methods(out: &mut String, indent: &str, name: &str, comps: &[String]) {
    let eq: Vec<String> = comps
        .iter()
        .map(|m| format!(" && _eq({m}, _o.{m})"))
        .collect();
    let _ = write!(
        out,
        "\n{indent}@Override\n{indent}public boolean equals(Object _other) {{\n{indent}    return _other instanceof {name} _o{};\n{indent}}}\n",
        eq.concat()
    );
    let _ = write!(
        out,
        "\n{indent}@Override\n{indent}public int hashCode() {{\n{indent}    int _h = 0;\n"
    );
    for m in comps {
        let _ = writeln!(out, "{indent}    _h = 31 * _h + _hash({m});");
    }
    let _ = writeln!(out, "{indent}    return _h;\n{indent}}}");
    let mut text = String::new();
    for (k, m) in comps.iter().enumerate() {
        let head = if k == 0 {
            format!("{name}[")
        } else {
            ", ".into()
        };
        let _ = write!(text, "{} + _str({m}) + ", lit(&format!("{head}{m}=")));
    }
    let _ = writeln!(
        out,
        "\n{indent}@Override\n{indent}public String toString() {{\n{indent}    return {text}\"]\";\n{indent}}}"
    );
}

/// The static helpers of [`value_methods`], in the binding class when some record needs them:
/// `byte[]` compares, hashes and prints by content (hex, the first 64 bytes), and `List`,
/// `Optional`, `Result` and `Tuple` element by element with the same rules, as their own
/// `equals`/`hashCode`/`toString` do. Everything else is `Objects.equals`/`hashCode` and
/// `String.valueOf`, so doubles compare as records compare them (`NaN` equals `NaN`, `0.0` is not
/// `-0.0`). Class names other than `Object` and `String` (which no WIT type may take) are
/// qualified: a WIT type may be called `Math`.
const VALUE_HELPERS: &str = r#"    // Value equality of the records that hold byte[] (docs/TYPED.md, "Java"): byte[] by content,
    // List, Optional, Result and Tuple element by element, everything else by its own equals.
    private static boolean _eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a instanceof byte[] x && b instanceof byte[] y) {
            return java.util.Arrays.equals(x, y);
        }
        if (a instanceof java.util.List<?> x && b instanceof java.util.List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            java.util.Iterator<?> i = y.iterator();
            for (Object e : x) {
                if (!i.hasNext() || !_eq(e, i.next())) {
                    return false;
                }
            }
            return !i.hasNext();
        }
        if (a instanceof java.util.Optional<?> x && b instanceof java.util.Optional<?> y) {
            return x.isPresent() ? y.isPresent() && _eq(x.get(), y.get()) : y.isEmpty();
        }
        Object[] x = _parts(a);
        Object[] y = _parts(b);
        if (x != null && y != null) {
            if (a.getClass() != b.getClass()) {
                return false;
            }
            for (int k = 0; k < x.length; k++) {
                if (!_eq(x[k], y[k])) {
                    return false;
                }
            }
            return true;
        }
        return java.util.Objects.equals(a, b);
    }

    private static int _hash(Object o) {
        if (o instanceof byte[] b) {
            return java.util.Arrays.hashCode(b);
        }
        if (o instanceof java.util.List<?> l) {
            int h = 1;
            for (Object e : l) {
                h = 31 * h + _hash(e);
            }
            return h;
        }
        if (o instanceof java.util.Optional<?> p) {
            return p.isPresent() ? _hash(p.get()) : 0;
        }
        Object[] parts = _parts(o);
        if (parts != null) {
            int h = o.getClass().getName().hashCode();
            for (Object e : parts) {
                h = 31 * h + _hash(e);
            }
            return h;
        }
        return java.util.Objects.hashCode(o);
    }

    private static String _str(Object o) {
        if (o instanceof byte[] b) {
            int n = java.lang.Math.min(b.length, 64);
            String hex = java.util.HexFormat.of().formatHex(b, 0, n);
            return n == b.length ? "0x" + hex : "0x" + hex + "...(" + b.length + " bytes)";
        }
        if (o instanceof java.util.List<?> l) {
            java.util.StringJoiner j = new java.util.StringJoiner(", ", "[", "]");
            for (Object e : l) {
                j.add(_str(e));
            }
            return j.toString();
        }
        if (o instanceof java.util.Optional<?> p) {
            return p.isPresent() ? "Optional[" + _str(p.get()) + "]" : "Optional.empty";
        }
        if (o instanceof io.bridgehost.typed.Result.Ok<?, ?> r) {
            return "Ok[value=" + _str(r.value()) + "]";
        }
        if (o instanceof io.bridgehost.typed.Result.Err<?, ?> r) {
            return "Err[error=" + _str(r.error()) + "]";
        }
        Object[] parts = _parts(o);
        if (parts != null) {
            java.util.StringJoiner j = new java.util.StringJoiner(", ", "Of" + parts.length + "[", "]");
            for (int k = 0; k < parts.length; k++) {
                j.add("v" + k + "=" + _str(parts[k]));
            }
            return j.toString();
        }
        return String.valueOf(o);
    }

    // The components of a Result or Tuple (records whose own equals would compare byte[] by
    // reference), or null.
    private static Object[] _parts(Object o) {
        if (o instanceof io.bridgehost.typed.Result.Ok<?, ?> r) {
            return new Object[] {r.value()};
        }
        if (o instanceof io.bridgehost.typed.Result.Err<?, ?> r) {
            return new Object[] {r.error()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of1<?> t) {
            return new Object[] {t.v0()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of2<?, ?> t) {
            return new Object[] {t.v0(), t.v1()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of3<?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of4<?, ?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2(), t.v3()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of5<?, ?, ?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2(), t.v3(), t.v4()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of6<?, ?, ?, ?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2(), t.v3(), t.v4(), t.v5()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of7<?, ?, ?, ?, ?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2(), t.v3(), t.v4(), t.v5(), t.v6()};
        }
        if (o instanceof io.bridgehost.typed.Tuple.Of8<?, ?, ?, ?, ?, ?, ?, ?> t) {
            return new Object[] {t.v0(), t.v1(), t.v2(), t.v3(), t.v4(), t.v5(), t.v6(), t.v7()};
        }
        return null;
    }

"#;

fn kind_word(k: &TypeDefKind) -> &'static str {
    match k {
        TypeDefKind::Record(_) => "record",
        TypeDefKind::Variant(_) => "variant",
        TypeDefKind::Enum(_) => "enum",
        TypeDefKind::Flags(_) => "flags",
        TypeDefKind::Resource => "resource",
        TypeDefKind::Alias(_) => "type",
    }
}

/// Default Java package for an interface: `namespace.name` of its WIT package.
fn default_package(i: &Interface) -> String {
    let pkg = i.package.split('@').next().unwrap_or("");
    pkg.split([':', '/'])
        .map(|part| {
            let s: String = part
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            if KEYWORDS.contains(&s.as_str()) || s.starts_with(|c: char| c.is_ascii_digit()) {
                format!("_{s}")
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn valid_package(p: &str) -> bool {
    !p.is_empty()
        && p.split('.').all(|part| {
            let mut c = part.chars();
            matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
                && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !KEYWORDS.contains(&part)
        })
}

/// Generate the Java source of `iface`'s bindings: one file, `<package path>/<Class>.java`.
pub fn generate(iface: &Interface, package: Option<&str>) -> Result<Vec<File>> {
    let package = package.map_or_else(|| default_package(iface), str::to_string);
    if !valid_package(&package) {
        return Err(crate::error::Error::Value(format!(
            "{package:?} is not a Java package name"
        )));
    }
    let g = Gen::new(iface);
    let text = g.file(&package)?;
    Ok(vec![File {
        path: format!("{}/{}.java", package.replace('.', "/"), g.class),
        text,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scalar type through a direct call: arguments checked or converted to slots as
    /// docs/TYPED.md's "Direct calls" table says (with the byte path's messages), results
    /// converted back; more than four arguments still one `callScalar` (its varargs form); a
    /// function that is not direct-eligible keeps the byte path.
    #[test]
    fn direct_eligible_functions_call_call_scalar() {
        let wit = "package t:t;
interface t {
    type n = u16;
    f: func(a: bool, b: s8, c: s16, d: s32, e: s64, f: u8, g: u16, h: u32) -> char;
    g: func(i: u64, x: f32, y: f64, c: char, m: n) -> f32;
    h: func() -> f64;
    i: func(b: u8) -> u8;
    j: func(b: bool) -> bool;
    k: func(v: s8) -> s8;
    l: func(v: s16, w: u16) -> n;
    s: func(v: string) -> u32;
}";
        let iface = Interface::parse(wit).unwrap();
        let t = &generate(&iface, Some("a.b")).unwrap()[0].text;
        let s = "io.bridgehost.typed.Slots";
        let has = |want: &str| assert!(t.contains(want), "missing {want:?} in:\n{t}");
        has(&format!(
            "    public int f(boolean a, byte b, short c, int d, long e, short f, int g, long h) {{\n        return (int) m_f.callScalar({s}.bool(a), b, c, d, e, {s}.u8(f, \"parameter f\"), {s}.u16(g, \"parameter g\"), {s}.u32(h, \"parameter h\"));\n    }}"
        ));
        has(&format!(
            "        return {s}.toF32(m_g.callScalar(i, {s}.f32(x), {s}.f64(y), {s}.chr(c, \"parameter c\"), {s}.u16(m, \"parameter m\")));"
        ));
        has(&format!("        return {s}.toF64(m_h.callScalar());"));
        has(&format!(
            "        return (short) m_i.callScalar({s}.u8(b, \"parameter b\"));"
        ));
        has(&format!(
            "        return {s}.toBool(m_j.callScalar({s}.bool(b)));"
        ));
        has("        return (byte) m_k.callScalar(v);");
        has(&format!(
            "        return (int) m_l.callScalar(v, {s}.u16(w, \"parameter w\"));"
        ));
        has("        return out_s(this, m_s.call(in_s(v)));");
        // The asynchronous forms keep the byte path.
        has("        return m_f.submit(in_f(a, b, c, d, e, f, g, h)).thenApply(");
    }
}
