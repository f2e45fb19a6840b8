//! Compatibility between two versions of an interface: can bindings
//! generated from `binding` call a module whose interface is `module`?
//! The rules are docs/TYPED.md's "Versioning"; they follow from the wire
//! format and the direction each value travels:
//!
//! * Parameters travel binding → module: the module's type must accept every
//!   value the binding's type can encode.
//! * Results and event payloads travel module → binding: the binding's type
//!   must accept every value the module's type can encode.
//!
//! A type accepts another when it has the same shape, with the same names
//! (fields, cases and flags are positional on the wire and named in every
//! runtime), except that the reading side may know *more* enum cases,
//! variant cases or flags than the writing side, as long as the discriminant
//! or flags width stays the same. So an added enum case is compatible in a
//! parameter type and breaks old bindings when it can come back in a result.
//! Added functions and events are compatible; a removed or changed one is
//! not. Type names, parameter names, docs and item order do not matter.

use crate::error::{Error, Result};
use crate::model::{Function, FunctionKind, Interface, Type, TypeDefKind};
use crate::wire::{discriminant_size, flags_size};
use std::collections::HashSet;

/// Check that bindings built from `binding` work against a module built
/// from `module`. The error names the first difference, e.g.
/// `function query: parameter 2 (sql): string here, list<u8> in the module`.
pub fn check(binding: &Interface, module: &Interface) -> Result<()> {
    let mut c = Checker {
        binding,
        module,
        proven: HashSet::new(),
    };
    for f in &binding.functions {
        let Some(g) = module.function(&f.name) else {
            return Err(Error::Incompatible(format!(
                "function {}: missing in the module",
                f.name
            )));
        };
        c.function(f, g)
            .map_err(|m| Error::Incompatible(format!("function {}: {m}", f.name)))?;
    }
    for e in &binding.events {
        let Some(g) = module.event(&e.topic) else {
            return Err(Error::Incompatible(format!(
                "event {}: missing in the module",
                e.topic
            )));
        };
        match (&e.payload, &g.payload) {
            (None, None) => {}
            (Some(r), Some(w)) => c
                .accepts(Side::Binding, r, w)
                .map_err(|m| Error::Incompatible(format!("event {}: payload {m}", e.topic)))?,
            _ => {
                return Err(Error::Incompatible(format!(
                    "event {}: payload present on one side only",
                    e.topic
                )))
            }
        }
    }
    Ok(())
}

/// Which interface reads (decodes) the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Binding,
    Module,
}

struct Checker<'a> {
    binding: &'a Interface,
    module: &'a Interface,
    /// (reader side, reader type, writer type) pairs already checked: types
    /// may share named types many times over, so each pair is walked once.
    proven: HashSet<(Side, usize, usize)>,
}

type Diff = String;

impl<'a> Checker<'a> {
    fn function(&mut self, f: &Function, g: &Function) -> std::result::Result<(), Diff> {
        let kind = |k: &FunctionKind| match k {
            FunctionKind::Freestanding => "function",
            FunctionKind::Constructor(_) => "constructor",
            FunctionKind::Method(_) => "method",
            FunctionKind::Static(_) => "static function",
        };
        if kind(&f.kind) != kind(&g.kind) {
            return Err(format!(
                "a {} here, a {} in the module",
                kind(&f.kind),
                kind(&g.kind)
            ));
        }
        if f.params.len() != g.params.len() {
            return Err(format!(
                "{} parameter(s) here, {} in the module",
                f.params.len(),
                g.params.len()
            ));
        }
        for (i, (p, q)) in f.params.iter().zip(&g.params).enumerate() {
            self.accepts(Side::Module, &q.ty, &p.ty)
                .map_err(|m| format!("parameter {} ({}): {m}", i + 1, p.name))?;
        }
        match (&f.result, &g.result) {
            (None, None) => Ok(()),
            (Some(r), Some(w)) => self
                .accepts(Side::Binding, r, w)
                .map_err(|m| format!("result: {m}")),
            (Some(_), None) => Err("returns a value here, nothing in the module".into()),
            (None, Some(_)) => Err("returns nothing here, a value in the module".into()),
        }
    }

    fn ifaces(&self, reader: Side) -> (&'a Interface, &'a Interface) {
        match reader {
            Side::Binding => (self.binding, self.module),
            Side::Module => (self.module, self.binding),
        }
    }

    /// Does `r` (in the reader's interface) accept every value of `w` (in
    /// the writer's)? The message is phrased as "X here, Y in the module".
    fn accepts(&mut self, reader: Side, r: &Type, w: &Type) -> std::result::Result<(), Diff> {
        let (ri, wi) = self.ifaces(reader);
        let r = ri.resolve(r);
        let w = wi.resolve(w);
        let differ = || {
            let (here, there) = match reader {
                Side::Binding => (ri.type_name(r), wi.type_name(w)),
                Side::Module => (wi.type_name(w), ri.type_name(r)),
            };
            format!("{here} here, {there} in the module")
        };
        match (r, w) {
            (Type::List(a), Type::List(b)) | (Type::Option(a), Type::Option(b)) => {
                self.accepts(reader, a, b)
            }
            (Type::Result { ok: ro, err: re }, Type::Result { ok: wo, err: we }) => {
                for (a, b) in [(ro, wo), (re, we)] {
                    match (a, b) {
                        (None, None) => {}
                        (Some(a), Some(b)) => self.accepts(reader, a, b)?,
                        _ => return Err(differ()),
                    }
                }
                Ok(())
            }
            (Type::Tuple(a), Type::Tuple(b)) => {
                if a.len() != b.len() {
                    return Err(differ());
                }
                for (x, y) in a.iter().zip(b) {
                    self.accepts(reader, x, y)?;
                }
                Ok(())
            }
            (Type::Own(a), Type::Own(b)) | (Type::Borrow(a), Type::Borrow(b)) => {
                if ri.typedef(*a).name == wi.typedef(*b).name {
                    Ok(())
                } else {
                    Err(differ())
                }
            }
            (Type::Named(a), Type::Named(b)) => {
                if self.proven.contains(&(reader, *a, *b)) {
                    return Ok(());
                }
                self.named(reader, *a, *b)?;
                self.proven.insert((reader, *a, *b));
                Ok(())
            }
            (a, b) if a == b && !matches!(a, Type::Named(_)) => Ok(()),
            _ => Err(differ()),
        }
    }

    fn named(&mut self, reader: Side, a: usize, b: usize) -> std::result::Result<(), Diff> {
        let (ri, wi) = self.ifaces(reader);
        let (rd, wd) = (ri.typedef(a), wi.typedef(b));
        let here_there = |what: String| -> Diff {
            match reader {
                Side::Binding => format!("{}: {what}", rd.name),
                Side::Module => format!("{}: {what}", wd.name),
            }
        };
        let names = |rn: &[String], wn: &[String], what: &str, width: fn(usize) -> usize| {
            if width(rn.len()) != width(wn.len()) {
                return Err(here_there(format!(
                    "{what} width changes ({} here, {} in the module)",
                    if reader == Side::Binding {
                        rn.len()
                    } else {
                        wn.len()
                    },
                    if reader == Side::Binding {
                        wn.len()
                    } else {
                        rn.len()
                    }
                )));
            }
            // The first difference in order decides the message: a name
            // inserted or removed there shifts every later discriminant, and
            // naming the last extra name instead would blame the wrong one.
            for (x, y) in rn.iter().zip(wn) {
                if x == y {
                    continue;
                }
                // `y` is the writer's name where the reader has `x`; the
                // module is the writer when the binding reads.
                let (binding, module) = if reader == Side::Binding {
                    (x, y)
                } else {
                    (y, x)
                };
                let (bn, mn) = if reader == Side::Binding {
                    (rn, wn)
                } else {
                    (wn, rn)
                };
                let shift = if what == "flag" {
                    "so every later flag's bit moves"
                } else {
                    "so every later discriminant shifts"
                };
                if !bn.contains(module) && mn.contains(binding) {
                    return Err(here_there(format!(
                        "{what} {module:?} is new in the module, before {binding:?}, {shift}"
                    )));
                }
                if !mn.contains(binding) && bn.contains(module) {
                    return Err(here_there(format!(
                        "{what} {binding:?} is removed in the module, before {module:?}, {shift}"
                    )));
                }
                return Err(here_there(format!(
                    "{what} {x:?} / {y:?} renamed or reordered"
                )));
            }
            if wn.len() > rn.len() {
                let extra = &wn[rn.len()];
                return Err(here_there(format!(
                    "{what} {extra:?} is {}",
                    if reader == Side::Binding {
                        "new in the module, and an old binding cannot decode it"
                    } else {
                        "removed in the module, and this binding may still send it"
                    }
                )));
            }
            Ok(())
        };
        match (&rd.kind, &wd.kind) {
            (TypeDefKind::Record(rf), TypeDefKind::Record(wf)) => {
                if rf.len() != wf.len() {
                    return Err(here_there("record fields added or removed".into()));
                }
                for (x, y) in rf.iter().zip(wf) {
                    if x.name != y.name {
                        return Err(here_there(format!(
                            "field {:?} / {:?} renamed or reordered",
                            x.name, y.name
                        )));
                    }
                    let (xt, yt) = (x.ty.clone(), y.ty.clone());
                    self.accepts(reader, &xt, &yt)
                        .map_err(|m| format!("{}.{}: {m}", rd.name, x.name))?;
                }
                Ok(())
            }
            (TypeDefKind::Variant(rc), TypeDefKind::Variant(wc)) => {
                let rn: Vec<String> = rc.iter().map(|c| c.name.clone()).collect();
                let wn: Vec<String> = wc.iter().map(|c| c.name.clone()).collect();
                names(&rn, &wn, "case", discriminant_size)?;
                let pairs: Vec<(Option<Type>, Option<Type>, String)> = rc
                    .iter()
                    .zip(wc)
                    .map(|(x, y)| (x.ty.clone(), y.ty.clone(), x.name.clone()))
                    .collect();
                for (x, y, n) in pairs {
                    match (x, y) {
                        (None, None) => {}
                        (Some(x), Some(y)) => self
                            .accepts(reader, &x, &y)
                            .map_err(|m| format!("{}.{n}: {m}", rd.name))?,
                        _ => {
                            return Err(here_there(format!("case {n:?} payload added or removed")))
                        }
                    }
                }
                Ok(())
            }
            (TypeDefKind::Enum(rc), TypeDefKind::Enum(wc)) => {
                names(rc, wc, "enum case", discriminant_size)
            }
            (TypeDefKind::Flags(rf), TypeDefKind::Flags(wf)) => names(rf, wf, "flag", flags_size),
            (TypeDefKind::Resource, TypeDefKind::Resource) if rd.name == wd.name => Ok(()),
            _ => {
                let (h, t) = match reader {
                    Side::Binding => (ri.type_name(&Type::Named(a)), wi.type_name(&Type::Named(b))),
                    Side::Module => (wi.type_name(&Type::Named(b)), ri.type_name(&Type::Named(a))),
                };
                Err(format!(
                    "{h} here, {t} in the module (a different kind of type)"
                ))
            }
        }
    }
}
