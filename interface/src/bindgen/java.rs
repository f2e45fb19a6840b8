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

use super::{camel, pascal, unsupported, upper_snake, File};
use crate::error::Result;
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use crate::wire::min_size;
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
            Type::List(t) => format!("java.util.List<{}>", self.jtype(t, true)?),
            Type::Option(t) => format!("java.util.Optional<{}>", self.jtype(t, true)?),
            Type::Result { ok, err } => format!(
                "io.bridgehost.typed.Result<{}, {}>",
                self.side(ok.as_deref())?,
                self.side(err.as_deref())?
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
                    .map(|t| self.jtype(t, true))
                    .collect::<Result<Vec<_>>>()?;
                format!(
                    "io.bridgehost.typed.Tuple.Of{}<{}>",
                    ts.len(),
                    args.join(", ")
                )
            }
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Alias(t) => self.jtype(t, boxed)?,
                TypeDefKind::Flags(_) => format!("java.util.Set<{}>", self.names[*i]),
                TypeDefKind::Resource => return Err(self.no_resources()),
                _ => self.names[*i].clone(),
            },
            Type::Own(_) | Type::Borrow(_) => return Err(self.no_resources()),
        })
    }

    fn side(&self, t: Option<&Type>) -> Result<String> {
        match t {
            Some(t) => self.jtype(t, true),
            None => Ok("Void".into()),
        }
    }

    fn no_resources(&self) -> crate::error::Error {
        unsupported(
            LANG,
            "resource types are not mapped by the Java generator yet (issue 16): \
             use the bytes-level Method for resource functions"
                .into(),
        )
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
            Type::List(t) => format!(
                "{w}.<{}>list({v}, {what}, {});",
                self.jtype(t, true)?,
                lam(t, ": element")?
            ),
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
            Type::Named(i) => {
                let arg = if self.is_primitive(ty) {
                    req(v)
                } else {
                    v.to_string()
                };
                if matches!(self.i.typedef(*i).kind, TypeDefKind::Resource) {
                    return Err(self.no_resources());
                }
                format!("Codec.encode{}({w}, {arg}, {what});", self.names[*i])
            }
            Type::Own(_) | Type::Borrow(_) => return Err(self.no_resources()),
        })
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
            Type::Named(i) => {
                if matches!(self.i.typedef(*i).kind, TypeDefKind::Resource) {
                    return Err(self.no_resources());
                }
                format!("Codec.decode{}({r})", self.names[*i])
            }
            Type::Own(_) | Type::Borrow(_) => return Err(self.no_resources()),
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
                let mut case_names: Vec<String> = Vec::new();
                for c in cases {
                    let mut n = pascal(&c.name);
                    while &n == name
                        || RESERVED_TYPES.contains(&n.as_str())
                        || case_names.contains(&n)
                    {
                        n.push('_');
                    }
                    case_names.push(n);
                }
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
                                self.jtype(t, false)?
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
            TypeDefKind::Alias(_) => {}
            TypeDefKind::Resource => return Err(self.no_resources()),
        }
        Ok(())
    }

    /// The codec helpers of named type `i` in `Codec`.
    fn codec(&self, out: &mut String, i: TypeIndex) -> Result<()> {
        let def = self.i.typedef(i);
        let name = &self.names[i];
        let ty = Type::Named(i);
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
                        self.enc(&f.ty, "w", &format!("v.{m}()"), &format!("what + {}", lit(&format!(": field {}", f.name))), false, 0)?
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
                let mut case_names: Vec<String> = Vec::new();
                for c in cases {
                    let mut n = pascal(&c.name);
                    while &n == name || RESERVED_TYPES.contains(&n.as_str()) || case_names.contains(&n)
                    {
                        n.push('_');
                    }
                    case_names.push(n);
                }
                for (k, (c, n)) in cases.iter().zip(&case_names).enumerate() {
                    let els = if k == 0 { "" } else { "} else " };
                    let _ = writeln!(e, "            {els}if (v instanceof {name}.{n} _c) {{");
                    let _ = writeln!(e, "                w.discriminant({k}, {});", cases.len());
                    if let Some(t) = &c.ty {
                        let _ = writeln!(
                            e,
                            "                {}",
                            self.enc(t, "w", "_c.value()", &format!("what + {}", lit(&format!(": case {}", c.name))), false, 0)?
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
                format!("            {}\n", self.enc(t, "w", "v", "what", false, 0)?),
                format!("            return {};\n", self.dec(t, "r", 0)?),
            ),
            TypeDefKind::Resource => return Err(self.no_resources()),
        };
        let witname = code(&def.name);
        let _ = writeln!(
            out,
            "        /**\n         * Encodes a {witname} into {{@code w}}.\n         *\n         * @param w the writer\n         * @param v the value\n         * @param what names the value in error messages\n         * @throws io.bridgehost.InvalidArgumentException if the value does not fit the type\n         */\n        public static void encode{name}(io.bridgehost.typed.WireWriter w, {jt} v, String what) {{\n{enc_body}        }}\n"
        );
        let _ = writeln!(
            out,
            "        /**\n         * Decodes a {witname} from {{@code r}}.\n         *\n         * @param r the reader\n         * @return the value\n         * @throws io.bridgehost.AbiMismatchException if the bytes are not a {witname}\n         */\n        public static {jt} decode{name}(io.bridgehost.typed.WireReader r) {{\n{dec_body}        }}\n"
        );
        let _ = writeln!(
            out,
            "        /**\n         * @param v a {witname}\n         * @return its encoding\n         */\n        public static byte[] encode{name}({jt} v) {{\n            io.bridgehost.typed.WireWriter w = new io.bridgehost.typed.WireWriter();\n            encode{name}(w, v, \"value\");\n            return w.toByteArray();\n        }}\n"
        );
        let _ = writeln!(
            out,
            "        /**\n         * @param bytes exactly one encoded {witname}\n         * @return the value\n         * @throws io.bridgehost.AbiMismatchException if the bytes are not exactly one {witname}\n         */\n        public static {jt} decode{name}(byte[] bytes) {{\n            io.bridgehost.typed.WireReader r = new io.bridgehost.typed.WireReader(bytes);\n            {jt} v = decode{name}(r);\n            r.end();\n            return v;\n        }}\n"
        );
        Ok(())
    }

    fn function(&self, out: &mut String, f: &Function, taken: &mut HashSet<String>) -> Result<()> {
        let name = member(&f.name);
        let field = format!("m_{}", camel(&f.name));
        let mut params = Vec::new();
        let mut args = Vec::new();
        let mut pdocs = Vec::new();
        for p in &f.params {
            let mut pn = member(&p.name);
            if pn.starts_with('_') {
                pn.insert(0, 'p');
            }
            params.push(format!("{} {pn}", self.jtype(&p.ty, false)?));
            pdocs.push(format!(
                "@param {pn} {}",
                code(&format!("{}: {}", p.name, self.i.type_name(&p.ty)))
            ));
            args.push(pn);
        }
        let async_name = member(&format!("{}-async", f.name));
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
        docs.push("@throws io.bridgehost.AbiMismatchException if the module's output does not decode as the declared result".into());
        javadoc(out, "    ", f.docs.as_deref(), &docs);
        let plist = params.join(", ");
        let alist = args.join(", ");
        let ret_kw = if ret == "void" { "" } else { "return " };
        let _ = writeln!(
            out,
            "    public {ret} {name}({plist}) {{\n        {ret_kw}out_{name}({field}.call(in_{name}({alist})));\n    }}\n"
        );
        let mut adocs = vec![format!(
            "The asynchronous form of {{@link #{name}}}: arguments are checked and encoded now, the call runs on the host's submit pool."
        )];
        adocs.extend(pdocs.iter().cloned());
        adocs.push(
            "@return the result's future; it fails with the exceptions the blocking form throws"
                .into(),
        );
        javadoc(out, "    ", None, &adocs);
        let then = if ret == "void" {
            format!("_o -> {{\n            out_{name}(_o);\n            return null;\n        }}")
        } else {
            format!("{}::out_{name}", self.class)
        };
        let _ = writeln!(
            out,
            "    public java.util.concurrent.CompletableFuture<{boxed_ret}> {async_name}({plist}) {{\n        return {field}.submit(in_{name}({alist})).thenApply({then});\n    }}\n"
        );
        // Encoder of the parameters.
        let _ = writeln!(
            out,
            "    private static byte[] in_{name}({plist}) {{\n        io.bridgehost.typed.WireWriter _w = new io.bridgehost.typed.WireWriter();"
        );
        for (p, a) in f.params.iter().zip(&args) {
            let _ = writeln!(
                out,
                "        {}",
                self.enc(
                    &p.ty,
                    "_w",
                    a,
                    &lit(&format!("parameter {}", p.name)),
                    false,
                    0
                )?
            );
        }
        let _ = writeln!(out, "        return _w.toByteArray();\n    }}\n");
        // Decoder of the output.
        let _ = writeln!(out, "    private static {ret} out_{name}(byte[] _out) {{");
        let _ = writeln!(
            out,
            "        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_out);"
        );
        let wrap = format!(
            "        }} catch (io.bridgehost.AbiMismatchException _e) {{\n            throw new io.bridgehost.AbiMismatchException({} + _e.getMessage());\n        }}",
            lit(&format!("output of {} does not match its interface: ", f.name))
        );
        match (res, &throws) {
            (None, _) => {
                let _ = writeln!(
                    out,
                    "        try {{\n            _r.end();\n{wrap}\n    }}\n"
                );
            }
            (Some(t @ Type::Result { ok, .. }), Some(e)) => {
                let rt = format!("io.bridgehost.typed.Result<{boxed_ret}, {e}>");
                let _ = writeln!(
                    out,
                    "        {rt} _res;\n        try {{\n            _res = {};\n            _r.end();\n{wrap}\n        if (_res instanceof io.bridgehost.typed.Result.Err<{boxed_ret}, {e}> _err) {{\n            throw new io.bridgehost.TypedModuleException({}, _err.error());\n        }}",
                    self.dec(t, "_r", 0)?,
                    lit(&f.name)
                );
                if ok.is_some() {
                    let _ = writeln!(
                        out,
                        "        return ((io.bridgehost.typed.Result.Ok<{boxed_ret}, {e}>) _res).value();"
                    );
                }
                let _ = writeln!(out, "    }}\n");
            }
            (Some(_), _) => {
                let t = f.result.as_ref().expect("a result");
                let _ = writeln!(
                    out,
                    "        try {{\n            {ret} _v = {};\n            _r.end();\n            return _v;\n{wrap}\n    }}\n",
                    self.dec(t, "_r", 0)?
                );
            }
        }
        Ok(())
    }

    fn file(&self, package: &str) -> Result<String> {
        let i = self.i;
        if i.resources().next().is_some() {
            return Err(self.no_resources());
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
        let _ = writeln!(out, "    private final io.bridgehost.NativeModule module;\n    private final boolean owned;");
        for f in &plain {
            let _ = writeln!(
                out,
                "    private final io.bridgehost.Method m_{};",
                camel(&f.name)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "    private {class}(io.bridgehost.NativeModule module, boolean owned) {{\n        module.checkBinding(WIT);\n        this.module = module;\n        this.owned = owned;"
        );
        for f in &plain {
            let _ = writeln!(
                out,
                "        this.m_{} = module.method({});",
                camel(&f.name),
                lit(&f.name)
            );
        }
        let _ = writeln!(out, "    }}\n");
        let _ = writeln!(
            out,
            "    /**\n     * Opens {{@code spec}} and checks its interface. {{@link #close}} closes the module.\n     *\n     * @param host the host\n     * @param spec a module name or path, as {{@link io.bridgehost.Host#open(String)}} takes\n     * @return the bindings\n     * @throws io.bridgehost.AbiMismatchException if the module's interface is missing or not compatible with these bindings\n     */\n    public static {class} open(io.bridgehost.Host host, String spec) {{\n        return open(host, spec, io.bridgehost.ModuleOptions.defaults());\n    }}\n"
        );
        let _ = writeln!(
            out,
            "    /**\n     * Opens {{@code spec}} with {{@code options}} (e.g. isolated) and checks its interface. {{@link #close}} closes the module.\n     *\n     * @param host the host\n     * @param spec a module name or path\n     * @param options the module options\n     * @return the bindings\n     * @throws io.bridgehost.AbiMismatchException if the module's interface is missing or not compatible with these bindings\n     */\n    public static {class} open(io.bridgehost.Host host, String spec, io.bridgehost.ModuleOptions options) {{\n        io.bridgehost.NativeModule m = host.open(spec, options);\n        try {{\n            return new {class}(m, true);\n        }} catch (RuntimeException | Error e) {{\n            m.close();\n            throw e;\n        }}\n    }}\n"
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
        for f in &plain {
            let _ = writeln!(out, "        m_{}.close();", camel(&f.name));
        }
        let _ = writeln!(
            out,
            "        if (owned) {{\n            module.close();\n        }}\n    }}\n"
        );
        let mut taken: HashSet<String> = BINDING_MEMBERS.iter().map(|s| s.to_string()).collect();
        for f in &plain {
            self.function(&mut out, f, &mut taken)?;
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
                "        }} catch (io.bridgehost.AbiMismatchException _e) {{\n            throw new io.bridgehost.AbiMismatchException({} + _e.getMessage());\n        }}",
                lit(&format!("event {} does not match its interface: ", e.topic))
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
                        "    public io.bridgehost.Subscription {m}(java.util.function.Consumer<{bt}> listener) {{\n        java.util.Objects.requireNonNull(listener, \"listener\");\n        return module.subscribe({}, (byte[] _data) -> listener.accept(event_{m}(_data)));\n    }}\n",
                        lit(&e.topic)
                    );
                    let _ = writeln!(
                        out,
                        "    private static {bt} event_{m}(byte[] _data) {{\n        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_data);\n        try {{\n            {bt} _v = {};\n            _r.end();\n            return _v;\n{wrap}\n    }}\n",
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
                        "    public io.bridgehost.Subscription {m}(Runnable listener) {{\n        java.util.Objects.requireNonNull(listener, \"listener\");\n        return module.subscribe({}, (byte[] _data) -> {{\n            event_{m}(_data);\n            listener.run();\n        }});\n    }}\n",
                        lit(&e.topic)
                    );
                    let _ = writeln!(
                        out,
                        "    private static void event_{m}(byte[] _data) {{\n        io.bridgehost.typed.WireReader _r = new io.bridgehost.typed.WireReader(_data);\n        try {{\n            _r.end();\n{wrap}\n    }}\n"
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
