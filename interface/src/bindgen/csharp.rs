//! `bridgehost bindgen --lang csharp`: one C# 7.2 source file per interface (docs/TYPED.md,
//! "C#: generated bindings").
//!
//! The class wraps a `BridgeHost.Module`: it checks the module's interface at open
//! (`Module.CheckBinding`, the core's compatibility rule), resolves each function's `Method` once,
//! and offers every WIT function as a typed method in a blocking form and a `Task` form
//! (`...Async`). Records become sealed classes with value equality, variants an abstract class
//! with one nested sealed class per case, enums C# enums, flags `[Flags]` enums, `option`
//! `BridgeHost.Typed.Option<T>`, `result` `BridgeHost.Typed.Result<T, E>` and `tuple` a
//! `System.ValueTuple`. Encoding and decoding go through the library's `WireWriter` /
//! `WireReader`, so the generated code holds no byte arithmetic. Every name the generated code
//! uses from outside is `global::`-qualified, so no namespace or type of the caller shadows it.

use super::{camel, pascal, unsupported, File};
use crate::error::{Error, Result};
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind, TypeIndex};
use crate::scalar::{Scalar, ScalarSignature};
use crate::wire::{self, min_size};
use std::collections::HashSet;
use std::fmt::Write as _;

const LANG: &str = "C#";

/// The `BridgeHost.Typed.Slot` member of a scalar (`U32`; `ToU32` for a result).
fn slot_fn(s: Scalar) -> &'static str {
    match s {
        Scalar::Bool => "Bool",
        Scalar::S8 => "S8",
        Scalar::S16 => "S16",
        Scalar::S32 => "S32",
        Scalar::S64 => "S64",
        Scalar::U8 => "U8",
        Scalar::U16 => "U16",
        Scalar::U32 => "U32",
        Scalar::U64 => "U64",
        Scalar::F32 => "F32",
        Scalar::F64 => "F64",
        Scalar::Char => "Char",
    }
}

/// C#'s reserved keywords (contextual keywords are valid identifiers where the generator uses them).
const KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "base",
    "bool",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "checked",
    "class",
    "const",
    "continue",
    "decimal",
    "default",
    "delegate",
    "do",
    "double",
    "else",
    "enum",
    "event",
    "explicit",
    "extern",
    "false",
    "finally",
    "fixed",
    "float",
    "for",
    "foreach",
    "goto",
    "if",
    "implicit",
    "in",
    "int",
    "interface",
    "internal",
    "is",
    "lock",
    "long",
    "namespace",
    "new",
    "null",
    "object",
    "operator",
    "out",
    "override",
    "params",
    "private",
    "protected",
    "public",
    "readonly",
    "ref",
    "return",
    "sbyte",
    "sealed",
    "short",
    "sizeof",
    "stackalloc",
    "static",
    "string",
    "struct",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "uint",
    "ulong",
    "unchecked",
    "unsafe",
    "ushort",
    "using",
    "virtual",
    "void",
    "volatile",
    "while",
];

/// Members every class has: a property, nested type or method with one of these names would
/// hide or clash with them.
const OBJECT_MEMBERS: &[&str] = &[
    "Equals",
    "GetHashCode",
    "ToString",
    "GetType",
    "MemberwiseClone",
    "Finalize",
    "ReferenceEquals",
];

/// Public members of the generated binding class itself, and the namespaces its doc comments
/// name unqualified (mcs takes no `global::` in a `cref`): no nested type may take them.
const BINDING_MEMBERS: &[&str] = &[
    "Wit",
    "Hash",
    "Open",
    "Bind",
    "Module",
    "Dispose",
    "Codec",
    "BridgeHost",
    "System",
];

/// Members of a generated resource class besides its methods (and the class's own name).
const RESOURCE_MEMBERS: &[&str] = &["Handle", "Dispose", "IsDisposed"];

/// Per named type of `i`: does it hold an `own<R>` / a `borrow<R>`, directly or through other
/// named types (the model's table, [`Interface::handles_in`]).
fn holds(i: &Interface) -> Vec<(bool, bool)> {
    (0..i.types.len())
        .map(|k| {
            let h = i.handles_in(&Type::Named(k));
            (h.own, h.borrow)
        })
        .collect()
}

/// The name of the `CancellationToken` parameter of every `...Async` method.
const CT: &str = "cancellationToken";

/// A parameter name: lowerCamelCase, a keyword escaped with `@`.
fn param(name: &str, taken: &HashSet<String>) -> String {
    let mut c = camel(name);
    while taken.contains(&c) || c == CT {
        c.push('_');
    }
    if KEYWORDS.contains(&c.as_str()) {
        format!("@{c}")
    } else {
        c
    }
}

/// A C# regular string literal (ASCII only: everything else as `\uXXXX` UTF-16 units).
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

/// Text for an XML doc comment.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A `/// <summary>` comment at `indent`: the WIT docs (if any), then `extra` sentences.
fn summary(out: &mut String, indent: &str, docs: Option<&str>, extra: &str) {
    let mut lines: Vec<String> = docs
        .map(|d| d.lines().map(xml).collect())
        .unwrap_or_default();
    if !extra.is_empty() {
        lines.push(extra.to_string());
    }
    let _ = writeln!(out, "{indent}/// <summary>");
    for l in lines {
        let _ = writeln!(out, "{indent}/// {l}");
    }
    let _ = writeln!(out, "{indent}/// </summary>");
}

fn code(s: &str) -> String {
    format!("<c>{}</c>", xml(s))
}

const W: &str = "global::BridgeHost.Typed.WireWriter";
const R: &str = "global::BridgeHost.Typed.WireReader";
const UNIT: &str = "global::BridgeHost.Typed.Unit";
const EQ: &str = "global::BridgeHost.Typed.Structural";

struct Gen<'a> {
    i: &'a Interface,
    class: String,
    /// `global::<namespace>.<class>`: named types are spelled through it, so that no nested
    /// name (a variant case called like a record, or like the class) can capture them.
    qual: String,
    /// C# name of each named type (records, variants, enums, flags; aliases name their codec).
    names: Vec<String>,
    /// C# method name of each freestanding function (same order as `plain`).
    fnames: Vec<String>,
    plain: Vec<&'a Function>,
    /// C# method name of each event's subscription (`On<Topic>`), in `i.events` order.
    enames: Vec<String>,
    /// Resource functions: the function, its C# member name (on the binding class for
    /// constructors and static functions, on the resource's class for methods) and the key naming
    /// its helpers (`_m_<key>`, `In_<key>`, ...), unique in the binding class.
    rfuncs: Vec<(&'a Function, String, String)>,
    /// Per named type: does it hold an `own<R>` / a `borrow<R>` (through other named types)?
    holds: Vec<(bool, bool)>,
}

impl<'a> Gen<'a> {
    fn new(i: &'a Interface, namespace: &str) -> Result<Gen<'a>> {
        let class = pascal(&i.name);
        let qual = format!("global::{namespace}.{class}");
        let mut taken: HashSet<String> = BINDING_MEMBERS
            .iter()
            .chain(OBJECT_MEMBERS)
            .map(|s| s.to_string())
            .collect();
        taken.insert(class.clone());
        let plain: Vec<&Function> = i
            .functions
            .iter()
            .filter(|f| f.kind == FunctionKind::Freestanding)
            .collect();
        let mut fnames = Vec::new();
        for f in &plain {
            let n = pascal(&f.name);
            for m in [n.clone(), format!("{n}Async")] {
                if !taken.insert(m.clone()) {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {:?} maps to the C# member {m}, which is already taken",
                            f.name
                        ),
                    ));
                }
            }
            fnames.push(n);
        }
        let mut enames = Vec::new();
        for e in &i.events {
            let m = format!("On{}", pascal(&e.topic));
            if !taken.insert(m.clone()) {
                return Err(unsupported(
                    LANG,
                    format!(
                        "event {:?} maps to the C# member {m}, which is already taken",
                        e.topic
                    ),
                ));
            }
            enames.push(m);
        }
        // Resource functions: constructors `New<R>` and static functions `<R><F>` on the binding
        // class; methods on the resource's class, where they may not take its other members.
        let mut rfuncs = Vec::new();
        let mut members: Vec<(TypeIndex, HashSet<String>)> = Vec::new();
        for f in &i.functions {
            let (ti, short) = match f.kind {
                FunctionKind::Freestanding => continue,
                FunctionKind::Constructor(ti) => (ti, None),
                FunctionKind::Method(ti) | FunctionKind::Static(ti) => {
                    (ti, Some(f.name.rsplit('.').next().unwrap_or(&f.name)))
                }
            };
            let r = pascal(&i.typedef(ti).name);
            let (member, key) = match (f.kind, short) {
                (FunctionKind::Constructor(_), _) => (format!("New{r}"), format!("New{r}")),
                (FunctionKind::Static(_), Some(s)) => {
                    (format!("{r}{}", pascal(s)), format!("{r}{}", pascal(s)))
                }
                (_, s) => {
                    let m = pascal(s.unwrap_or_default());
                    (m.clone(), format!("{r}_{m}"))
                }
            };
            let mut names = vec![member.clone(), format!("{member}Async")];
            if let FunctionKind::Method(_) = f.kind {
                let k = match members.iter().position(|(t, _)| *t == ti) {
                    Some(k) => k,
                    None => {
                        let mut set: HashSet<String> = RESOURCE_MEMBERS
                            .iter()
                            .chain(OBJECT_MEMBERS)
                            .map(|s| s.to_string())
                            .collect();
                        set.insert(r.clone());
                        members.push((ti, set));
                        members.len() - 1
                    }
                };
                for m in names.drain(..) {
                    if !members[k].1.insert(m.clone()) {
                        return Err(unsupported(
                            LANG,
                            format!(
                                "function {:?} maps to the C# member {m} of resource {:?}, which is already taken",
                                f.name,
                                i.typedef(ti).name
                            ),
                        ));
                    }
                }
            }
            for m in names {
                if !taken.insert(m.clone()) {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {:?} maps to the C# member {m}, which is already taken",
                            f.name
                        ),
                    ));
                }
            }
            rfuncs.push((f, member, key));
        }
        let holds = holds(i);
        let mut names = Vec::with_capacity(i.types.len());
        for t in &i.types {
            let mut n = pascal(&t.name);
            while taken.contains(&n) {
                n.push('_');
            }
            taken.insert(n.clone());
            names.push(n);
        }
        Ok(Gen {
            i,
            class,
            qual,
            names,
            fnames,
            plain,
            enames,
            rfuncs,
            holds,
        })
    }

    /// Which handles `ty` holds: (`own<R>`, `borrow<R>`), through named types.
    fn handles(&self, ty: &Type) -> (bool, bool) {
        let h = self.i.handles_in(ty);
        (h.own, h.borrow)
    }

    /// Refuses what the resource rules do not map (docs/TYPED.md, "Resources (handles)"):
    /// `borrow<R>` anywhere but as a function's direct parameter, `own<R>` in a parameter, and
    /// handles in event payloads.
    fn check_handles(&self) -> Result<()> {
        let i = self.i;
        for (k, t) in i.types.iter().enumerate() {
            if self.holds[k].1 && t.kind != TypeDefKind::Resource {
                return Err(unsupported(
                    LANG,
                    format!(
                        "type {:?} holds a borrow<...>: a borrowed handle is only mapped as a function's direct parameter",
                        t.name
                    ),
                ));
            }
        }
        for f in &i.functions {
            for p in &f.params {
                if matches!(p.ty, Type::Borrow(_)) {
                    continue;
                }
                let (own, borrow) = self.handles(&p.ty);
                if own {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {:?}: parameter {} passes an owned handle ({}) into the module: passing ownership is not mapped, take a borrow<...>",
                            f.name,
                            p.name,
                            i.type_name(&p.ty)
                        ),
                    ));
                }
                if borrow {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "function {:?}: parameter {} holds a borrow<...> inside {}: a borrowed handle is only mapped as a direct parameter",
                            f.name,
                            p.name,
                            i.type_name(&p.ty)
                        ),
                    ));
                }
            }
            // wit-parser itself refuses a borrow<...> in a result.
        }
        for e in &i.events {
            if let Some(t) = &e.payload {
                let (own, borrow) = self.handles(t);
                if own || borrow {
                    return Err(unsupported(
                        LANG,
                        format!(
                            "event {:?}: a resource handle in an event payload ({}) is not mapped",
                            e.topic,
                            i.type_name(t)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The C# type of `ty`.
    fn cs(&self, ty: &Type) -> Result<String> {
        Ok(match ty {
            Type::Bool => "bool".into(),
            Type::S8 => "sbyte".into(),
            Type::S16 => "short".into(),
            Type::S32 => "int".into(),
            Type::S64 => "long".into(),
            Type::U8 => "byte".into(),
            Type::U16 => "ushort".into(),
            Type::U32 => "uint".into(),
            Type::U64 => "ulong".into(),
            Type::F32 => "float".into(),
            Type::F64 => "double".into(),
            Type::Char => "int".into(),
            Type::String => "string".into(),
            Type::List(t) if **t == Type::U8 => "byte[]".into(),
            Type::List(t) => format!(
                "global::System.Collections.Generic.IReadOnlyList<{}>",
                self.cs(t)?
            ),
            Type::Option(t) => format!("global::BridgeHost.Typed.Option<{}>", self.cs(t)?),
            Type::Result { ok, err } => format!(
                "global::BridgeHost.Typed.Result<{}, {}>",
                self.side(ok.as_deref())?,
                self.side(err.as_deref())?
            ),
            Type::Tuple(ts) => {
                if ts.len() > 7 {
                    return Err(unsupported(
                        LANG,
                        format!("a tuple of {} elements (at most 7)", ts.len()),
                    ));
                }
                let args = ts.iter().map(|t| self.cs(t)).collect::<Result<Vec<_>>>()?;
                format!("global::System.ValueTuple<{}>", args.join(", "))
            }
            Type::Named(i) => match &self.i.typedef(*i).kind {
                TypeDefKind::Alias(t) => self.cs(t)?,
                _ => self.q(*i),
            },
            Type::Own(i) | Type::Borrow(i) => self.q(*i),
        })
    }

    /// The qualified C# name of named type `i`.
    fn q(&self, i: TypeIndex) -> String {
        format!("{}.{}", self.qual, self.names[i])
    }

    fn side(&self, t: Option<&Type>) -> Result<String> {
        match t {
            Some(t) => self.cs(t),
            None => Ok(UNIT.into()),
        }
    }

    /// Statements that encode `v` (a C# expression of `cs(ty)`) into writer `w`; `what` is a C#
    /// `string` expression naming the value for error messages; `d` numbers lambda parameters.
    fn enc(&self, ty: &Type, w: &str, v: &str, what: &str, d: usize) -> Result<String> {
        let lam = |t: &Type, sub: &str| -> Result<String> {
            let inner = if sub.is_empty() {
                what.to_string()
            } else {
                format!("{what} + {}", lit(sub))
            };
            Ok(format!(
                "(_w{d}, _e{d}) => {{ {} }}",
                self.enc(t, &format!("_w{d}"), &format!("_e{d}"), &inner, d + 1)?
            ))
        };
        Ok(match ty {
            Type::Bool => format!("{w}.Bool({v});"),
            Type::S8 => format!("{w}.S8({v});"),
            Type::S16 => format!("{w}.S16({v});"),
            Type::S32 => format!("{w}.S32({v});"),
            Type::S64 => format!("{w}.S64({v});"),
            Type::U8 => format!("{w}.U8({v});"),
            Type::U16 => format!("{w}.U16({v});"),
            Type::U32 => format!("{w}.U32({v});"),
            Type::U64 => format!("{w}.U64({v});"),
            Type::F32 => format!("{w}.F32({v});"),
            Type::F64 => format!("{w}.F64({v});"),
            Type::Char => format!("{w}.Char({v}, {what});"),
            Type::String => format!("{w}.String({v}, {what});"),
            Type::List(t) if **t == Type::U8 => format!("{w}.Bytes({v}, {what});"),
            // The element's path (`what: element N`) comes from the writer, built per element
            // only when the element's encoding can refuse something.
            Type::List(t) => {
                let p = format!("_p{d}");
                let body = self.enc(t, &format!("_w{d}"), &format!("_e{d}"), &p, d + 1)?;
                let params = if body.contains(&p) {
                    format!("(_w{d}, _e{d}, {p})")
                } else {
                    format!("(_w{d}, _e{d})")
                };
                format!(
                    "{w}.List<{}>({v}, {what}, {params} => {{ {body} }});",
                    self.cs(t)?
                )
            }
            Type::Option(t) => format!("{w}.Option<{}>({v}, {});", self.cs(t)?, lam(t, "")?),
            Type::Result { ok, err } => format!(
                "{w}.Result<{}, {}>({v}, {}, {});",
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
                let mut s = format!("{{ var _t{d} = {v}; ");
                for (k, t) in ts.iter().enumerate() {
                    s += &self.enc(
                        t,
                        w,
                        &format!("_t{d}.Item{}", k + 1),
                        &format!("{what} + \": element {k}\""),
                        d + 1,
                    )?;
                    s.push(' ');
                }
                s.push('}');
                s
            }
            // A borrowed handle: the object is null-checked before encoding starts; reading its
            // Handle throws ClosedException once it is disposed, before anything is sent.
            Type::Borrow(_) => format!("{w}.U64({v}.HandleIn(_b, {what}));"),
            // check_handles keeps owned handles out of everything that is encoded.
            Type::Own(_) => {
                return Err(Error::Value(
                    "C# bindings: internal error: an owned handle reached the encoder".into(),
                ))
            }
            Type::Named(i) => {
                if self.holds[*i].0 {
                    return Err(Error::Value(
                        "C# bindings: internal error: an owned handle reached the encoder".into(),
                    ));
                }
                format!("Codec.Encode{}({w}, {v}, {what});", self.names[*i])
            }
        })
    }

    /// A C# expression that decodes one `ty` from reader `r`.
    fn dec(&self, ty: &Type, r: &str, d: usize) -> Result<String> {
        let lam = |t: &Type| -> Result<String> {
            Ok(format!(
                "_r{d} => {}",
                self.dec(t, &format!("_r{d}"), d + 1)?
            ))
        };
        Ok(match ty {
            Type::Bool => format!("{r}.Bool()"),
            Type::S8 => format!("{r}.S8()"),
            Type::S16 => format!("{r}.S16()"),
            Type::S32 => format!("{r}.S32()"),
            Type::S64 => format!("{r}.S64()"),
            Type::U8 => format!("{r}.U8()"),
            Type::U16 => format!("{r}.U16()"),
            Type::U32 => format!("{r}.U32()"),
            Type::U64 => format!("{r}.U64()"),
            Type::F32 => format!("{r}.F32()"),
            Type::F64 => format!("{r}.F64()"),
            Type::Char => format!("{r}.Char()"),
            Type::String => format!("{r}.String()"),
            Type::List(t) if **t == Type::U8 => format!("{r}.Bytes()"),
            Type::List(t) => format!(
                "{r}.List<{}>({}, {})",
                self.cs(t)?,
                // An element this large cannot fit any payload: clamping keeps the C# literal an
                // int and still refuses every count but 0.
                min_size(self.i, t).clamp(1, i32::MAX as usize),
                lam(t)?
            ),
            Type::Option(t) => format!("{r}.Option<{}>({})", self.cs(t)?, lam(t)?),
            Type::Result { ok, err } => format!(
                "{r}.Result<{}, {}>({}, {})",
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
                // Arguments are evaluated left to right (C# spec, 12.6.2.2): the wire order.
                let args = ts
                    .iter()
                    .map(|t| self.dec(t, r, d))
                    .collect::<Result<Vec<_>>>()?;
                format!("new {}({})", self.cs(ty)?, args.join(", "))
            }
            // An owned handle becomes its object as it is decoded (decoders of types holding one
            // are instance methods of the binding class: `this` is the binding).
            Type::Own(i) | Type::Borrow(i) => format!("new {}(this, {r}.U64())", self.q(*i)),
            Type::Named(i) if matches!(self.i.typedef(*i).kind, TypeDefKind::Resource) => {
                format!("new {}(this, {r}.U64())", self.q(*i))
            }
            Type::Named(i) if self.holds[*i].0 => format!("Dec_{}({r})", self.names[*i]),
            Type::Named(i) => format!("Codec.Decode{}({r})", self.names[*i]),
        })
    }

    /// Case class names of a variant: PascalCase, never the variant's own name, an object
    /// member, `Value` (the payload property) or a sibling's.
    fn case_names(&self, variant: &str, cases: &[crate::model::Case]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in cases {
            let mut n = pascal(&c.name);
            while n == variant
                || n == "Value"
                || OBJECT_MEMBERS.contains(&n.as_str())
                || out.contains(&n)
            {
                n.push('_');
            }
            out.push(n);
        }
        out
    }

    /// Equals / GetHashCode / ToString of a class whose state is `props` (C# expressions on
    /// `this` and on `o`, of the same class).
    fn equality(
        out: &mut String,
        ind: &str,
        class: &str,
        props: &[String],
        show: &str,
        seed: usize,
    ) {
        let _ = writeln!(
            out,
            "{ind}/// <summary>Value equality: the same class with structurally equal contents (<c>BridgeHost.Typed.Structural</c>).</summary>"
        );
        let cmp: Vec<String> = props
            .iter()
            .map(|p| format!(" && {EQ}.Equal({p}, _o.{p})"))
            .collect();
        let bind = if props.is_empty() { "" } else { " _o" };
        let _ = writeln!(
            out,
            "{ind}public override bool Equals(object obj) => obj is {class}{bind}{};\n",
            cmp.concat()
        );
        let _ = writeln!(
            out,
            "{ind}/// <summary>A hash consistent with <see cref=\"Equals(object)\"/>.</summary>"
        );
        let mut h = format!("{}", 17 + seed);
        for p in props {
            h = format!("unchecked({h} * 31 + {EQ}.Hash({p}))");
        }
        let _ = writeln!(out, "{ind}public override int GetHashCode() => {h};\n");
        let _ = writeln!(
            out,
            "{ind}/// <summary>The contents, for messages.</summary>"
        );
        let _ = writeln!(out, "{ind}public override string ToString() => {show};");
    }

    /// The nested C# declaration of named type `i`, if it has one (aliases do not).
    fn declare(&self, out: &mut String, ti: TypeIndex) -> Result<()> {
        let def = self.i.typedef(ti);
        let name = &self.names[ti];
        match &def.kind {
            TypeDefKind::Record(fields) => {
                summary(
                    out,
                    "        ",
                    def.docs.as_deref(),
                    &format!(
                        "WIT record {}: an immutable class with value equality.",
                        code(&def.name)
                    ),
                );
                let _ = writeln!(out, "        public sealed class {name}\n        {{");
                let mut props: Vec<String> = Vec::new();
                let mut ctor_params = Vec::new();
                let mut assigns = Vec::new();
                let mut taken: HashSet<String> = HashSet::new();
                let mut shows = Vec::new();
                for f in fields {
                    let mut p = pascal(&f.name);
                    while &p == name || OBJECT_MEMBERS.contains(&p.as_str()) || props.contains(&p) {
                        p.push('_');
                    }
                    let a = param(&f.name, &taken);
                    taken.insert(a.trim_start_matches('@').to_string());
                    let t = self.cs(&f.ty)?;
                    summary(
                        out,
                        "            ",
                        f.docs.as_deref(),
                        &format!(
                            "Field {}.",
                            code(&format!("{}: {}", f.name, self.i.type_name(&f.ty)))
                        ),
                    );
                    let _ = writeln!(out, "            public {t} {p} {{ get; }}\n");
                    ctor_params.push(format!("{t} {a}"));
                    assigns.push(format!("                {p} = {a};"));
                    shows.push(format!(
                        "{} + {EQ}.Show({p})",
                        lit(&format!(
                            "{}{} = ",
                            if shows.is_empty() { "" } else { ", " },
                            f.name
                        ))
                    ));
                    props.push(p);
                }
                let _ = writeln!(
                    out,
                    "            /// <summary>Creates the record from its fields, in WIT order.</summary>\n            public {name}({})\n            {{\n{}\n            }}\n",
                    ctor_params.join(", "),
                    assigns.join("\n")
                );
                let show = if shows.is_empty() {
                    lit(&format!("{} {{ }}", def.name))
                } else {
                    format!(
                        "{} + {} + \" }}\"",
                        lit(&format!("{} {{ ", def.name)),
                        shows.join(" + ")
                    )
                };
                Self::equality(out, "            ", name, &props, &show, 0);
                let _ = writeln!(out, "        }}\n");
            }
            TypeDefKind::Variant(cases) => {
                summary(
                    out,
                    "        ",
                    def.docs.as_deref(),
                    &format!(
                        "WIT variant {}: one nested sealed class per case (<c>Value</c> holds the payload).",
                        code(&def.name)
                    ),
                );
                let _ = writeln!(
                    out,
                    "        public abstract class {name}\n        {{\n            private {name}() {{ }}\n"
                );
                for (k, (c, n)) in cases.iter().zip(self.case_names(name, cases)).enumerate() {
                    summary(
                        out,
                        "            ",
                        c.docs.as_deref(),
                        &format!("Case {}.", code(&c.name)),
                    );
                    let _ = writeln!(
                        out,
                        "            public sealed class {n} : {name}\n            {{"
                    );
                    match &c.ty {
                        Some(t) => {
                            let t = self.cs(t)?;
                            let _ = writeln!(
                                out,
                                "                /// <summary>Creates the case with its payload.</summary>\n                public {n}({t} value) {{ Value = value; }}\n\n                /// <summary>The payload.</summary>\n                public {t} Value {{ get; }}\n"
                            );
                            Self::equality(
                                out,
                                "                ",
                                n.as_str(),
                                &["Value".to_string()],
                                &format!(
                                    "{} + {EQ}.Show(Value) + \")\"",
                                    lit(&format!("{}(", c.name))
                                ),
                                k,
                            );
                        }
                        None => {
                            let _ = writeln!(
                                out,
                                "                /// <summary>Creates the case.</summary>\n                public {n}() {{ }}\n"
                            );
                            Self::equality(
                                out,
                                "                ",
                                n.as_str(),
                                &[],
                                &lit(&c.name),
                                k,
                            );
                        }
                    }
                    let _ = writeln!(out, "            }}\n");
                }
                let _ = writeln!(out, "        }}\n");
            }
            TypeDefKind::Enum(cases) => {
                summary(
                    out,
                    "        ",
                    def.docs.as_deref(),
                    &format!("WIT enum {}.", code(&def.name)),
                );
                let _ = writeln!(out, "        public enum {name}\n        {{");
                for c in cases {
                    let _ = writeln!(
                        out,
                        "            /// <summary>Case {}.</summary>\n            {},",
                        code(c),
                        pascal(c)
                    );
                }
                let _ = writeln!(out, "        }}\n");
            }
            TypeDefKind::Flags(flags) => {
                summary(
                    out,
                    "        ",
                    def.docs.as_deref(),
                    &format!(
                        "WIT flags {}: flag <c>i</c> is bit <c>1 &lt;&lt; i</c>.",
                        code(&def.name)
                    ),
                );
                let _ = writeln!(
                    out,
                    "        [global::System.Flags]\n        public enum {name} : uint\n        {{\n            /// <summary>No flag set.</summary>\n            None = 0,"
                );
                for (k, f) in flags.iter().enumerate() {
                    let mut n = pascal(f);
                    if n == "None" {
                        n.push('_');
                    }
                    let _ = writeln!(
                        out,
                        "            /// <summary>Flag {}.</summary>\n            {n} = 1u << {k},",
                        code(f)
                    );
                }
                let _ = writeln!(out, "        }}\n");
            }
            TypeDefKind::Alias(_) => {}
            TypeDefKind::Resource => self.resource(out, ti)?,
        }
        Ok(())
    }

    /// The class of resource `ti`: it owns one handle (a `BridgeHost.Typed.ResourceHandle`) and
    /// holds the binding it came from, whose methods its own methods call.
    fn resource(&self, out: &mut String, ti: TypeIndex) -> Result<()> {
        let def = self.i.typedef(ti);
        let name = &self.names[ti];
        let drop = self.i.drop_method(ti);
        summary(
            out,
            "        ",
            def.docs.as_deref(),
            &format!(
                "WIT resource {}: an object that lives in the module instance; this class owns its handle. <see cref=\"Dispose\"/> (or <c>using</c>) sends {} once; an object nobody disposed is dropped by its finalizer (submitted, never waited for). A disposed object throws <c>BridgeHost.ClosedException</c> before anything is sent. Thread-safe.",
                code(&def.name),
                code(&drop)
            ),
        );
        // The binding, for the methods' calls and for the module a borrowed object must be of.
        let (field, assign) = (
            format!("            private readonly {} _b;\n", self.qual),
            "                _b = binding;\n",
        );
        let _ = writeln!(
            out,
            "        public sealed class {name} : global::System.IDisposable\n        {{\n{field}            private readonly global::BridgeHost.Typed.ResourceHandle _h;\n"
        );
        let _ = writeln!(
            out,
            "            internal {name}({} binding, ulong handle)\n            {{\n{assign}                _h = new global::BridgeHost.Typed.ResourceHandle(binding._d_{}, {}, handle);\n            }}\n",
            self.qual,
            pascal(&def.name),
            lit(&def.name)
        );
        let _ = writeln!(
            out,
            "            /// <summary>The module's handle of this object (for logs and <c>bridgehost call --json</c>).</summary>\n            /// <exception cref=\"BridgeHost.ClosedException\">The object was disposed.</exception>\n            public ulong Handle => _h.Value;\n"
        );
        // A borrowed object's handle, to send through `binding`: an object of another module
        // instance is refused (its handle means nothing there, or another object).
        let _ = writeln!(
            out,
            "            internal ulong HandleIn({} binding, string what)\n            {{\n                if (!ReferenceEquals(binding.Module, _b.Module)) throw new global::BridgeHost.InvalidArgumentException(what + {});\n                return _h.Value;\n            }}\n",
            self.qual,
            lit(&format!(": expected a {name} of this binding's module, got one of another module"))
        );
        let _ = writeln!(
            out,
            "            /// <summary>True once <see cref=\"Dispose\"/> began, or once the module is disposed (closing it released the object).</summary>\n            public bool IsDisposed => _h.IsReleased;\n"
        );
        let _ = writeln!(
            out,
            "            /// <summary>Drops the object: the first call sends {} and waits for it (a failure is thrown once, the object is disposed all the same); later calls, and any call once the module is closed (closing it dropped every object), do nothing.</summary>\n            /// <exception cref=\"BridgeHost.ModuleException\">The module refused the drop (e.g. a stale handle after a worker restart).</exception>\n            public void Dispose()\n            {{\n                _h.Dispose();\n            }}\n",
            code(&drop)
        );
        let _ = writeln!(
            out,
            "            /// <summary>The resource's WIT name and the handle, e.g. <c>{} 0x1a2b00000001</c>.</summary>\n            public override string ToString() => _h.ToString();\n",
            xml(&def.name)
        );
        for (f, member, key) in &self.rfuncs {
            if f.kind != FunctionKind::Method(ti) {
                continue;
            }
            let mut m = String::new();
            self.function(&mut m, Some(&mut String::new()), f, member, key, Some(ti))?;
            for l in m.lines() {
                if l.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {l}");
                }
            }
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        let _ = writeln!(out, "        }}\n");
        Ok(())
    }

    /// `enc`, or nothing for a type that holds an owned handle (never encoded).
    fn enc_unless(
        &self,
        own: bool,
        ty: &Type,
        w: &str,
        v: &str,
        what: &str,
        d: usize,
    ) -> Result<String> {
        if own {
            Ok(String::new())
        } else {
            self.enc(ty, w, v, what, d)
        }
    }

    /// The codec methods of named type `ti` in `Codec` (into `out`), or, for a type holding an
    /// owned handle, its private instance decoder in the binding class (into `inst`).
    fn codec(&self, out: &mut String, inst: &mut String, ti: TypeIndex) -> Result<()> {
        let def = self.i.typedef(ti);
        let name = &self.names[ti];
        let ty = Type::Named(ti);
        let ct = self.cs(&ty)?;
        // A type holding an owned handle is only ever decoded, from a call's output, into objects
        // owned by this binding: a private instance decoder, no Codec methods.
        let own = self.holds[ti].0;
        if def.kind == TypeDefKind::Resource {
            return Ok(());
        }
        let (enc_body, dec_body) = match &def.kind {
            TypeDefKind::Record(fields) => {
                let mut e = format!("                {W}.Require(v, what);\n");
                let mut args = Vec::new();
                let mut props: Vec<String> = Vec::new();
                for f in fields {
                    let mut p = pascal(&f.name);
                    while &p == name || OBJECT_MEMBERS.contains(&p.as_str()) || props.contains(&p) {
                        p.push('_');
                    }
                    let _ = writeln!(
                        e,
                        "                {}",
                        self.enc_unless(
                            own,
                            &f.ty,
                            "w",
                            &format!("v.{p}"),
                            &format!("what + {}", lit(&format!(": {}.{}", def.name, f.name))),
                            0
                        )?
                    );
                    args.push(self.dec(&f.ty, "r", 0)?);
                    props.push(p);
                }
                // Fields are decoded in order: constructor arguments are evaluated left to right.
                (
                    e,
                    format!(
                        "                return new {}({});\n",
                        self.q(ti),
                        args.join(", ")
                    ),
                )
            }
            TypeDefKind::Variant(cases) => {
                let qn = self.q(ti);
                let mut e = format!("                {W}.Require(v, what);\n");
                let mut dbody = format!(
                    "                switch (r.Discriminant({}, \"variant\", {}))\n                {{\n",
                    cases.len(),
                    lit(&def.name)
                );
                for (k, (c, n)) in cases.iter().zip(self.case_names(name, cases)).enumerate() {
                    let els = if k == 0 { "" } else { "else " };
                    let bind = if c.ty.is_some() {
                        format!(" _c{k}")
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        e,
                        "                {els}if (v is {qn}.{n}{bind})\n                {{\n                    w.Discriminant({k}, {}, what);",
                        cases.len()
                    );
                    if let Some(t) = &c.ty {
                        let _ = writeln!(
                            e,
                            "                    {}",
                            self.enc_unless(
                                own,
                                t,
                                "w",
                                &format!("_c{k}.Value"),
                                &format!("what + {}", lit(&format!(": {}.{}", def.name, c.name))),
                                0
                            )?
                        );
                    }
                    let _ = writeln!(e, "                }}");
                    let _ = writeln!(
                        dbody,
                        "                    case {k}:\n                        return new {qn}.{n}({});",
                        match &c.ty {
                            Some(t) => self.dec(t, "r", 0)?,
                            None => String::new(),
                        }
                    );
                }
                // The base class's constructor is private: every instance is one of the cases.
                e += "                else\n                {\n                    throw new global::System.InvalidOperationException(\"unreachable: an unknown case class\");\n                }\n";
                dbody += "                    default:\n                        throw new global::System.InvalidOperationException(\"unreachable: Discriminant checked the range\");\n                }\n";
                (e, dbody)
            }
            TypeDefKind::Enum(cases) => (
                format!(
                    "                w.Discriminant((int)v, {}, what);\n",
                    cases.len()
                ),
                format!(
                    "                return ({})r.Discriminant({}, \"enum\", {});\n",
                    self.q(ti),
                    cases.len(),
                    lit(&def.name)
                ),
            ),
            TypeDefKind::Flags(flags) => (
                format!(
                    "                w.Flags((ulong)v, {}, what);\n",
                    flags.len()
                ),
                format!(
                    "                return ({})r.Flags({}, {});\n",
                    self.q(ti),
                    flags.len(),
                    lit(&def.name)
                ),
            ),
            TypeDefKind::Alias(t) => (
                format!(
                    "                {}\n",
                    self.enc_unless(own, t, "w", "v", "what", 0)?
                ),
                format!("                return {};\n", self.dec(t, "r", 0)?),
            ),
            TypeDefKind::Resource => return Ok(()),
        };
        let wn = code(&def.name);
        if own {
            let body: String = dec_body
                .lines()
                .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
                .collect();
            let _ = writeln!(
                inst,
                "        /// <summary>Decodes a {wn} from a call's output, its handles into objects of this binding.</summary>\n        private {ct} Dec_{name}({R} r)\n        {{\n{body}        }}\n"
            );
            return Ok(());
        }
        let _ = writeln!(
            out,
            "            /// <summary>Encodes a {wn} into <paramref name=\"w\"/>; <paramref name=\"what\"/> names the value in errors (<c>BridgeHost.InvalidArgumentException</c> when it does not fit the type).</summary>\n            /// <param name=\"w\">The writer.</param>\n            /// <param name=\"v\">The value.</param>\n            /// <param name=\"what\">The value's name in error messages.</param>\n            public static void Encode{name}({W} w, {ct} v, string what)\n            {{\n{enc_body}            }}\n"
        );
        let _ = writeln!(
            out,
            "            /// <summary>Decodes a {wn} from <paramref name=\"r\"/> (<c>BridgeHost.AbiMismatchException</c> when the bytes are not one).</summary>\n            /// <param name=\"r\">The reader.</param>\n            public static {ct} Decode{name}({R} r)\n            {{\n{dec_body}            }}\n"
        );
        let _ = writeln!(
            out,
            "            /// <summary>The encoding of a {wn}.</summary>\n            /// <param name=\"v\">The value.</param>\n            public static byte[] Encode{name}({ct} v)\n            {{\n                var w = new {W}();\n                Encode{name}(w, v, \"value\");\n                return w.ToArray();\n            }}\n"
        );
        let _ = writeln!(
            out,
            "            /// <summary>Decodes exactly one {wn} (<c>BridgeHost.AbiMismatchException</c> otherwise).</summary>\n            /// <param name=\"bytes\">The encoded value.</param>\n            public static {ct} Decode{name}(byte[] bytes)\n            {{\n                var r = new {R}(bytes);\n                var v = Decode{name}(r);\n                r.End();\n                return v;\n            }}\n"
        );
        Ok(())
    }

    /// The members of function `f`: its public blocking and `...Async` methods (`name`) go to
    /// `out`, its private helpers (`In_<key>`, `Async_<key>`, `Out_<key>`, on the binding class)
    /// to `helpers` (or to `out`, in place, when `None`). A method of a resource (`owner`) is
    /// generated for the resource's class: its `self` is the object, and it calls through the
    /// binding `_b`.
    fn function(
        &self,
        out: &mut String,
        helpers: Option<&mut String>,
        f: &Function,
        name: &str,
        key: &str,
        owner: Option<TypeIndex>,
    ) -> Result<()> {
        let field = format!("_m_{key}");
        let mut params = Vec::new();
        let mut args = Vec::new();
        let mut pdocs = String::new();
        let mut taken: HashSet<String> = HashSet::new();
        // Objects the call borrows: `this` for a method, then each borrow<R> parameter; they are
        // kept reachable until the module has answered, so their finalizers cannot drop them
        // under the call.
        let mut keep: Vec<String> = Vec::new();
        let mut nulls = String::new();
        if owner.is_some() {
            keep.push("this".into());
        }
        let own_params = &f.params[usize::from(owner.is_some()).min(f.params.len())..];
        for p in own_params {
            let pn = param(&p.name, &taken);
            taken.insert(pn.trim_start_matches('@').to_string());
            params.push(format!("{} {pn}", self.cs(&p.ty)?));
            let _ = writeln!(
                pdocs,
                "        /// <param name=\"{}\">{}</param>",
                pn.trim_start_matches('@'),
                code(&format!("{}: {}", p.name, self.i.type_name(&p.ty)))
            );
            if matches!(p.ty, Type::Borrow(_)) {
                keep.push(pn.clone());
                let _ = writeln!(
                    nulls,
                    "            if ({pn} == null) throw new global::System.ArgumentNullException(nameof({pn}));"
                );
            }
            args.push(pn);
        }
        // A function returning result<T, E> returns T and throws TypedModuleException<E>.
        let res = f.result.as_ref().map(|t| self.i.resolve(t));
        let (ret, throws) = match res {
            None => ("void".to_string(), None),
            Some(Type::Result { ok, err }) => (
                match ok {
                    Some(t) => self.cs(t)?,
                    None => "void".into(),
                },
                Some(self.side(err.as_deref())?),
            ),
            Some(_) => (self.cs(f.result.as_ref().expect("a result"))?, None),
        };
        // A result holding owned handles is decoded into objects of this binding.
        let inst = f.result.as_ref().is_some_and(|t| self.handles(t).0);
        // Every decoder is an instance member of the binding (reached through `_b` from a
        // resource's class): a mismatch names its module's path, and the objects it makes belong
        // to it.
        let (b, ob) = if owner.is_some() {
            ("_b.", "_b.")
        } else {
            ("", "")
        };
        let sig = code(&self.i.signature(f));
        let mut exc = String::new();
        if let Some(e) = &throws {
            let _ = writeln!(
                exc,
                "        /// <exception cref=\"BridgeHost.TypedModuleException{{E}}\">The function returned its error case; <c>Error</c> is a <c>{}</c>.</exception>",
                xml(e)
            );
        }
        exc += "        /// <exception cref=\"BridgeHost.InvalidArgumentException\">An argument does not fit its WIT type.</exception>\n";
        exc += "        /// <exception cref=\"BridgeHost.AbiMismatchException\">The module's output does not decode as the declared result.</exception>\n";
        if !keep.is_empty() {
            exc += "        /// <exception cref=\"BridgeHost.ClosedException\">The object (or a borrowed one) was disposed: nothing was sent.</exception>\n";
        }
        if keep.len() > usize::from(owner.is_some()) {
            exc += "        /// <exception cref=\"System.ArgumentNullException\">A borrowed object is null.</exception>\n";
        }
        // With objects borrowed besides `this`, the encoder takes the binding the call goes
        // through (`_b`): each borrowed object must be of its module.
        let borrows = keep.len() > usize::from(owner.is_some());
        let bind_arg = match (borrows, owner.is_some()) {
            (false, _) => None,
            (true, true) => Some("_b".to_string()),
            (true, false) => Some("this".to_string()),
        };
        let in_args = bind_arg
            .into_iter()
            .chain(owner.is_some().then(|| "this".to_string()))
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ");
        let bind_param = if borrows {
            format!("{} _b", self.qual)
        } else {
            String::new()
        };
        let self_param = match owner {
            Some(ti) => format!("{} _self", self.q(ti)),
            None => String::new(),
        };
        let ret_kw = if ret == "void" { "" } else { "return " };
        let task = if ret == "void" {
            "global::System.Threading.Tasks.Task".to_string()
        } else {
            format!("global::System.Threading.Tasks.Task<{ret}>")
        };
        let keep_arg = match keep.len() {
            0 => String::new(),
            1 => format!(", {}", keep[0]),
            _ => format!(", new object[] {{ {} }}", keep.join(", ")),
        };
        // The byte[] form, and (when a parameter is a list<u8>) an overload taking
        // ArraySegment<byte> there, so a caller can pass part of a buffer without copying it.
        let mut forms = vec![(params.join(", "), false)];
        let bytes = |t: &Type| matches!(self.i.resolve(t), Type::List(e) if **e == Type::U8);
        if own_params.iter().any(|p| bytes(&p.ty)) {
            let seg: Vec<String> = own_params
                .iter()
                .zip(&params)
                .zip(&args)
                .map(|((p, decl), a)| {
                    if bytes(&p.ty) {
                        format!("global::System.ArraySegment<byte> {a}")
                    } else {
                        decl.clone()
                    }
                })
                .collect();
            forms.push((seg.join(", "), true));
        }
        let mut h = String::new();
        for (plist, seg) in &forms {
            let lead = if *seg {
                format!("The overload of <c>{name}</c> that takes each <c>list&lt;u8&gt;</c> parameter as an <c>ArraySegment&lt;byte&gt;</c> (part of a caller's buffer; a default segment is <c>BridgeHost.InvalidArgumentException</c>). ")
            } else {
                String::new()
            };
            summary(
                out,
                "        ",
                f.docs.as_deref(),
                &format!("{lead}WIT: {sig}"),
            );
            out.push_str(&pdocs);
            if ret != "void" {
                let _ = writeln!(out, "        /// <returns>The result.</returns>");
            }
            out.push_str(&exc);
            // One list<u8> in (the byte[] form) or out: the bridge encodes or decodes it
            // (Method.CallTyped), with no copy of the bytes in .NET.
            let run_in =
                !*seg && owner.is_none() && wire::run_param(self.i, f) == Some(wire::Run::Bytes);
            let run_out = !inst && wire::run_result(self.i, f) == Some(wire::Run::Bytes);
            // A direct-eligible function (scalars only): its arguments as 64-bit slots through
            // Method.CallScalar, no encoding and no allocation (docs/TYPED.md, "Direct calls").
            let direct = if owner.is_none() && keep.is_empty() {
                ScalarSignature::of(self.i, f)
            } else {
                None
            };
            if let Some(sig) = direct {
                let body = self.direct_body(f, &sig, &args, &field, ret_kw);
                let _ = writeln!(
                    out,
                    "        public {ret} {name}({plist})\n        {{\n{body}        }}\n"
                );
            } else if keep.is_empty() && (run_in || run_out) {
                let input = if run_in {
                    format!(
                        "global::BridgeHost.Typed.WireWriter.Require({}, {})",
                        args[0],
                        lit(&format!("parameter {}", f.params[0].name))
                    )
                } else {
                    format!("In_{key}({in_args})")
                };
                let call = format!("{b}{field}.CallTyped({input}, {run_in}, {run_out})");
                let body = if run_out {
                    format!("{ret_kw}{call};")
                } else {
                    format!("{ret_kw}{ob}Out_{key}({call});")
                };
                let _ = writeln!(
                    out,
                    "        public {ret} {name}({plist})\n        {{\n            {body}\n        }}\n"
                );
            } else if keep.is_empty() {
                let _ = writeln!(
                    out,
                    "        public {ret} {name}({plist})\n        {{\n            {ret_kw}{ob}Out_{key}({b}{field}.Call(In_{key}({in_args})));\n        }}\n"
                );
            } else {
                let alive: String = keep
                    .iter()
                    .map(|k| format!("            global::System.GC.KeepAlive({k});\n"))
                    .collect();
                let _ = writeln!(
                    out,
                    "        public {ret} {name}({plist})\n        {{\n            var _out = {b}{field}.Call(In_{key}({in_args}));\n{alive}            {ret_kw}{ob}Out_{key}(_out);\n        }}\n"
                );
            }
            let _ = writeln!(
                out,
                "        /// <summary>The asynchronous form of <c>{name}</c>: the arguments are checked and encoded now (so a bad argument throws here), the call runs on the host's submit pool.</summary>"
            );
            out.push_str(&pdocs);
            let _ = writeln!(
                out,
                "        /// <param name=\"{CT}\">Cancels the call (the task ends canceled).</param>\n        /// <returns>The result's task; it fails with the exceptions the blocking form throws.</returns>"
            );
            let comma = if plist.is_empty() { "" } else { ", " };
            let _ = writeln!(
                out,
                "        public {task} {name}Async({plist}{comma}global::System.Threading.CancellationToken {CT} = default(global::System.Threading.CancellationToken))\n        {{\n            return {ob}Async_{key}({b}{field}.SubmitAsync(In_{key}({in_args}), {CT}){keep_arg});\n        }}\n"
            );
            // Encoder of the parameters (WireWriter.Bytes has both forms). Borrowed objects are
            // null-checked first; reading a disposed one's Handle throws before anything is sent.
            let in_plist = [bind_param.clone(), self_param.clone(), plist.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                h,
                "        private static byte[] In_{key}({in_plist})\n        {{\n{nulls}            var _w = new {W}();"
            );
            if owner.is_some() {
                let _ = writeln!(h, "            _w.U64(_self.Handle);");
            }
            for (p, a) in own_params.iter().zip(&args) {
                let _ = writeln!(
                    h,
                    "            {}",
                    self.enc(&p.ty, "_w", a, &lit(&format!("parameter {}", p.name)), 0)?
                );
            }
            let _ = writeln!(h, "            return _w.ToArray();\n        }}\n");
            if helpers.is_none() {
                out.push_str(&h);
                h.clear();
            }
        }
        if keep.is_empty() {
            let _ = writeln!(
                h,
                "        private async {task} Async_{key}(global::System.Threading.Tasks.Task<byte[]> call)\n        {{\n            {ret_kw}Out_{key}(await call.ConfigureAwait(false));\n        }}\n"
            );
        } else {
            let _ = writeln!(
                h,
                "        private async {task} Async_{key}(global::System.Threading.Tasks.Task<byte[]> call, object keep)\n        {{\n            var _out = await call.ConfigureAwait(false);\n            global::System.GC.KeepAlive(keep);\n            {ret_kw}Out_{key}(_out);\n        }}\n"
            );
        }
        // Decoder of the output.
        // A mismatch is worded as the core words it (BridgeHost.Typed.WireReader.OutputMismatch).
        let catch = format!(
            "            catch (global::BridgeHost.AbiMismatchException _e)\n            {{\n                throw global::BridgeHost.Typed.WireReader.OutputMismatch(_module, {}, _e);\n            }}",
            lit(&f.name)
        );
        let _ = writeln!(
            h,
            "        private {ret} Out_{key}(byte[] _out)\n        {{\n            var _r = new {R}(_out);"
        );
        match (res, &throws) {
            (None, _) => {
                let _ = writeln!(h, "            try\n            {{\n                _r.End();\n            }}\n{catch}");
            }
            (Some(t @ Type::Result { ok, .. }), Some(e)) => {
                let okt = self.side(ok.as_deref())?;
                let _ = writeln!(
                    h,
                    "            global::BridgeHost.Typed.Result<{okt}, {e}> _res;\n            try\n            {{\n                _res = {};\n                _r.End();\n            }}\n{catch}\n            if (!_res.IsOk)\n            {{\n                throw new global::BridgeHost.TypedModuleException<{e}>({}, _res.Error);\n            }}",
                    self.dec(t, "_r", 0)?,
                    lit(&f.name)
                );
                if ok.is_some() {
                    let _ = writeln!(h, "            return _res.Value;");
                }
            }
            (Some(_), _) => {
                let t = f.result.as_ref().expect("a result");
                let _ = writeln!(
                    h,
                    "            try\n            {{\n                var _v = {};\n                _r.End();\n                return _v;\n            }}\n{catch}",
                    self.dec(t, "_r", 0)?
                );
            }
        }
        let _ = writeln!(h, "        }}\n");
        match helpers {
            Some(hs) => hs.push_str(&h),
            None => out.push_str(&h),
        }
        Ok(())
    }

    /// The body of a direct-eligible function's blocking form: each argument converted to its
    /// slot (`BridgeHost.Typed.Slot`; a `char` checked with the message the encoder gives), one
    /// `Method.CallScalar` (its fixed-arity overloads up to 4 slots, a stack-allocated span
    /// beyond), the result converted back.
    fn direct_body(
        &self,
        f: &Function,
        sig: &ScalarSignature,
        args: &[String],
        field: &str,
        ret_kw: &str,
    ) -> String {
        const SLOT: &str = "global::BridgeHost.Typed.Slot";
        let slots: Vec<String> = sig
            .params
            .iter()
            .zip(args)
            .zip(&f.params)
            .map(|((ty, a), p)| match ty {
                Scalar::Char => format!(
                    "{SLOT}.Char({a}, {})",
                    lit(&format!("parameter {}", p.name))
                ),
                _ => format!("{SLOT}.{}({a})", slot_fn(*ty)),
            })
            .collect();
        let mut body = String::new();
        let call = if slots.len() <= 4 {
            format!("{field}.CallScalar({})", slots.join(", "))
        } else {
            let _ = writeln!(
                body,
                "            global::System.Span<ulong> _s = stackalloc ulong[{}];",
                slots.len()
            );
            for (k, s) in slots.iter().enumerate() {
                let _ = writeln!(body, "            _s[{k}] = {s};");
            }
            format!("{field}.CallScalar(_s)")
        };
        match sig.result {
            Some(r) => {
                let _ = writeln!(body, "            {ret_kw}{SLOT}.To{}({call});", slot_fn(r));
            }
            None => {
                let _ = writeln!(body, "            {call};");
            }
        }
        body
    }

    /// `On<Topic>(listener)`: a subscription whose listener gets the payload decoded.
    fn event(&self, out: &mut String, e: &crate::model::Event, m: &str) -> Result<()> {
        let catch = format!(
            "            catch (global::BridgeHost.AbiMismatchException _e)\n            {{\n                throw global::BridgeHost.Typed.WireReader.EventMismatch(_module, {}, _e);\n            }}",
            lit(&e.topic)
        );
        let (action, call, ret, body) = match &e.payload {
            Some(t) => {
                let ct = self.cs(t)?;
                (
                    format!("global::System.Action<{ct}>"),
                    format!("listener(Event_{m}(_ev.Data))"),
                    ct,
                    format!(
                        "                var _v = {};\n                _r.End();\n                return _v;",
                        self.dec(t, "_r", 0)?
                    ),
                )
            }
            None => (
                "global::System.Action".to_string(),
                format!("{{ Event_{m}(_ev.Data); listener(); }}"),
                "void".to_string(),
                "                _r.End();".to_string(),
            ),
        };
        let what = match &e.payload {
            Some(t) => format!("with its payload ({}) decoded", code(&self.i.type_name(t))),
            None => "(no payload)".to_string(),
        };
        summary(
            out,
            "        ",
            e.docs.as_deref(),
            &format!(
                "Subscribes to event {} {what}. The listener runs on the host's event thread; a payload that does not decode is an <c>BridgeHost.AbiMismatchException</c> thrown from the handler (reported like any handler exception, on <c>Host.CallbackException</c>). Dispose the subscription to stop deliveries.",
                code(&e.topic)
            ),
        );
        let _ = writeln!(
            out,
            "        /// <param name=\"listener\">Receives each event.</param>\n        /// <returns>The subscription.</returns>\n        public global::BridgeHost.Subscription {m}({action} listener)\n        {{\n            if (listener == null) throw new global::System.ArgumentNullException(nameof(listener));\n            return _module.Subscribe({}, (global::BridgeHost.ModuleEvent _ev) => {call});\n        }}\n",
            lit(&e.topic)
        );
        let _ = writeln!(
            out,
            "        private {ret} Event_{m}(byte[] _data)\n        {{\n            var _r = new {R}(_data);\n            try\n            {{\n{body}\n            }}\n{catch}\n        }}\n"
        );
        Ok(())
    }

    fn file(&self, namespace: &str) -> Result<String> {
        let i = self.i;
        self.check_handles()?;
        let resources: Vec<String> = i.resources().map(|t| pascal(&i.typedef(t).name)).collect();
        let class = &self.class;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "// Generated by `bridgehost bindgen --lang csharp` from interface {} of package {} (sha256 {}).\n// Do not edit: regenerate from the WIT instead.\nnamespace {namespace}\n{{",
            i.name,
            i.package,
            i.hash_hex()
        );
        summary(
            &mut out,
            "    ",
            i.docs.as_deref(),
            &format!(
                "Typed bindings of WIT interface {} ({}): every function is a blocking method and a <c>Task</c> method (<c>...Async</c>). <see cref=\"Open\"/> and <see cref=\"Bind\"/> check the module's embedded interface first (<c>BridgeHost.Module.CheckBinding</c>). Thread-safe, like <c>BridgeHost.Method</c>. Type mapping: docs/TYPED.md, \"C#: generated bindings\".",
                code(&i.name),
                code(&i.package)
            ),
        );
        let _ = writeln!(
            out,
            "    public sealed class {class} : global::System.IDisposable\n    {{"
        );
        let _ = writeln!(
            out,
            "        /// <summary>The WIT text these bindings were generated from.</summary>\n        public const string Wit = {};\n\n        /// <summary>SHA-256 of the interface's canonical form (docs/TYPED.md, \"Hash\").</summary>\n        public const string Hash = {};\n",
            lit(i.source()),
            lit(&i.hash_hex())
        );
        for t in 0..i.types.len() {
            self.declare(&mut out, t)?;
        }
        let _ = writeln!(
            out,
            "        private readonly global::BridgeHost.Module _module;\n        private readonly bool _owned;"
        );
        for n in self
            .fnames
            .iter()
            .chain(self.rfuncs.iter().map(|(_, _, k)| k))
        {
            let _ = writeln!(
                out,
                "        private readonly global::BridgeHost.Method _m_{n};"
            );
        }
        for r in &resources {
            let _ = writeln!(
                out,
                "        private readonly global::BridgeHost.Method _d_{r};"
            );
        }
        let _ = writeln!(
            out,
            "\n        private {class}(global::BridgeHost.Module module, bool owned)\n        {{\n            if (module == null) throw new global::System.ArgumentNullException(nameof(module));\n            module.CheckBinding(Wit);\n            _module = module;\n            _owned = owned;\n            try\n            {{"
        );
        for (f, n) in self
            .plain
            .iter()
            .copied()
            .zip(&self.fnames)
            .chain(self.rfuncs.iter().map(|(f, _, k)| (*f, k)))
        {
            let _ = writeln!(
                out,
                "                _m_{n} = module.GetMethod({});",
                lit(&f.name)
            );
        }
        for (t, r) in i.resources().zip(&resources) {
            let _ = writeln!(
                out,
                "                _d_{r} = module.GetMethod({});",
                lit(&i.drop_method(t))
            );
        }
        let drops: String = resources
            .iter()
            .map(|r| format!("                _d_{r}?.Dispose();\n"))
            .collect();
        let _ = writeln!(
            out,
            "            }}\n            catch\n            {{\n                DisposeMethods();\n{drops}                throw;\n            }}\n        }}\n"
        );
        let _ = writeln!(
            out,
            "        /// <summary>Opens <paramref name=\"spec\"/> (as <c>BridgeHost.Host.Open</c> does) and checks its interface; <see cref=\"Dispose\"/> closes the module. The module is closed again when it does not match.</summary>\n        /// <param name=\"host\">The host.</param>\n        /// <param name=\"spec\">A module name or path.</param>\n        /// <param name=\"options\">The module's options (e.g. process isolation), or null for the defaults.</param>\n        /// <exception cref=\"BridgeHost.AbiMismatchException\">The module has no interface, or one that does not serve these bindings (the message names the first difference).</exception>\n        public static {class} Open(global::BridgeHost.Host host, string spec, global::BridgeHost.ModuleOptions options = null)\n        {{\n            if (host == null) throw new global::System.ArgumentNullException(nameof(host));\n            var m = host.Open(spec, options);\n            try\n            {{\n                return new {class}(m, true);\n            }}\n            catch\n            {{\n                m.Dispose();\n                throw;\n            }}\n        }}\n"
        );
        let _ = writeln!(
            out,
            "        /// <summary>Binds an open module after checking its interface; <see cref=\"Dispose\"/> leaves the module open.</summary>\n        /// <param name=\"module\">The module.</param>\n        /// <exception cref=\"BridgeHost.AbiMismatchException\">The module has no interface, or one that does not serve these bindings.</exception>\n        public static {class} Bind(global::BridgeHost.Module module)\n        {{\n            return new {class}(module, false);\n        }}\n"
        );
        let _ = writeln!(
            out,
            "        /// <summary>The module these bindings call.</summary>\n        public global::BridgeHost.Module Module => _module;\n"
        );
        let _ = writeln!(out, "        private void DisposeMethods()\n        {{");
        for n in self
            .fnames
            .iter()
            .chain(self.rfuncs.iter().map(|(_, _, k)| k))
        {
            let _ = writeln!(out, "            _m_{n}?.Dispose();");
        }
        let _ = writeln!(out, "        }}\n");
        if resources.is_empty() {
            let _ = writeln!(
                out,
                "        /// <summary>Disposes the methods, and the module if <see cref=\"Open\"/> opened it. Idempotent.</summary>\n        public void Dispose()\n        {{\n            DisposeMethods();\n            if (_owned)\n            {{\n                _module.Dispose();\n            }}\n        }}\n"
            );
        } else {
            let _ = writeln!(
                out,
                "        /// <summary>Disposes the methods, and the module if <see cref=\"Open\"/> opened it (which drops every object of its resources). Idempotent. The objects' drop methods stay open while the module does (after <see cref=\"Bind\"/>, objects can still be disposed, or be dropped by their finalizers, which keep them alive); calling a method of an object throws <c>System.ObjectDisposedException</c> from then on.</summary>\n        public void Dispose()\n        {{\n            DisposeMethods();\n            if (_owned)\n            {{\n{drops}                _module.Dispose();\n            }}\n        }}\n"
            );
        }
        for (f, n) in self.plain.iter().zip(&self.fnames) {
            self.function(&mut out, None, f, n, n, None)?;
        }
        for (f, member, key) in &self.rfuncs {
            match f.kind {
                FunctionKind::Method(ti) => {
                    let mut public = String::new();
                    self.function(&mut public, Some(&mut out), f, member, key, Some(ti))?;
                }
                _ => self.function(&mut out, None, f, member, key, None)?,
            }
        }
        for (e, m) in self.i.events.iter().zip(&self.enames) {
            self.event(&mut out, e, m)?;
        }
        let _ = writeln!(
            out,
            "        /// <summary>Encoders and decoders of the interface's named types, for payloads outside calls (events, tests, storage).</summary>\n        public static class Codec\n        {{"
        );
        let mut inst = String::new();
        for t in 0..i.types.len() {
            self.codec(&mut out, &mut inst, t)?;
        }
        // Drop the blank line after the last codec method.
        while out.ends_with("\n\n") {
            out.pop();
        }
        if inst.is_empty() {
            let _ = writeln!(out, "        }}\n    }}\n}}");
        } else {
            let _ = writeln!(out, "        }}\n");
            out.push_str(inst.trim_end_matches('\n'));
            let _ = writeln!(out, "\n    }}\n}}");
        }
        Ok(out)
    }
}

/// Default namespace of an interface: the PascalCase parts of its WIT package
/// (`bridgehost:std@0.1.0` → `Bridgehost.Std`).
fn default_namespace(i: &Interface) -> String {
    let pkg = i.package.split('@').next().unwrap_or("");
    pkg.split([':', '/'])
        .map(pascal)
        .collect::<Vec<_>>()
        .join(".")
}

fn valid_namespace(p: &str) -> bool {
    !p.is_empty()
        && p.split('.').all(|part| {
            let mut c = part.chars();
            matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
                && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !KEYWORDS.contains(&part)
        })
}

/// Generate the C# source of `iface`'s bindings: one file, `<Class>.cs`, in namespace
/// `namespace` (default: the WIT package's parts in PascalCase).
pub fn generate(iface: &Interface, namespace: Option<&str>) -> Result<Vec<File>> {
    let namespace = namespace.map_or_else(|| default_namespace(iface), str::to_string);
    if !valid_namespace(&namespace) {
        return Err(Error::Value(format!(
            "{namespace:?} is not a C# namespace name"
        )));
    }
    let g = Gen::new(iface, &namespace)?;
    let text = g.file(&namespace)?;
    Ok(vec![File {
        path: format!("{}.cs", g.class),
        text,
    }])
}
