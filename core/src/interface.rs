//! A module's typed interface (docs/TYPED.md): the model, codec and JSON
//! mapping live in the `bridgehost-interface` crate, re-exported here as
//! [`typed`]; this file checks what a module embeds before the host trusts it.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::ffi::loader::MethodInfo;
pub use bridgehost_interface as typed;
pub use bridgehost_interface::Interface;
use std::sync::Arc;

/// Validate the interface a module exports: the text is hostile input.
/// Parse errors, unsupported WIT, exceeded limits, a hash that is not the
/// text's, a function that names no method of the descriptor and a resource
/// without its `[resource-drop]R` method, and a resource in a module that
/// does not declare itself stateful (`BH_MODULE_STATEFUL`: its objects live
/// in one instance, docs/TYPED.md "Resources (handles)") are all
/// [`Error::AbiMismatch`] naming the reason.
pub(crate) fn validate(
    path: &str,
    text: &[u8],
    hash: [u8; 32],
    methods: &[MethodInfo],
    stateful: bool,
) -> Result<Arc<Interface>> {
    let bad = |reason: String| Error::AbiMismatch {
        path: path.to_string(),
        reason: format!("typed interface: {reason}"),
    };
    let iface = parsed(text).map_err(|e| bad(e.to_string()))?;
    if iface.hash() != hash {
        return Err(bad(format!(
            "hash mismatch: the module declares {}, its text hashes to {}",
            typed::hex(&hash),
            iface.hash_hex()
        )));
    }
    if let Some(f) = iface
        .functions
        .iter()
        .find(|f| !methods.iter().any(|m| m.name == f.name))
    {
        return Err(bad(format!(
            "function {:?} is not a method of the module",
            f.name
        )));
    }
    for r in iface.resources() {
        let drop = iface.drop_method(r);
        if !methods.iter().any(|m| m.name == drop) {
            return Err(bad(format!(
                "resource {:?} has no drop method {drop:?}",
                iface.types[r].name
            )));
        }
        if !stateful {
            return Err(bad(format!(
                "resource {:?} lives in the module instance: the module must declare itself \
                 stateful (BH_MODULE_STATEFUL in C, `stateful: true` in the Rust SDK's \
                 export_module!)",
                iface.types[r].name
            )));
        }
    }
    Ok(iface)
}

/// Check the module's direct entries (docs/TYPED.md, "Direct calls"):
/// `has(i)` says whether method `i` has one. A direct entry on a method that
/// is no function of the interface, or whose function is not
/// direct-eligible, is [`Error::AbiMismatch`] naming it.
pub(crate) fn validate_direct(
    path: &str,
    iface: &Interface,
    methods: &[MethodInfo],
    has: impl Fn(usize) -> bool,
) -> Result<()> {
    for (i, m) in methods.iter().enumerate().filter(|(i, _)| has(*i)) {
        let eligible = iface
            .function(&m.name)
            .is_some_and(|f| typed::scalar::ScalarSignature::of(iface, f).is_some());
        if !eligible {
            return Err(Error::AbiMismatch {
                path: path.to_string(),
                reason: format!(
                    "typed interface: method {:?} (index {i}) has a direct entry but {}",
                    m.name,
                    if iface.function(&m.name).is_some() {
                        "its function is not direct-eligible (a plain function with at most \
                         8 parameters and at most one result, all bool, integers, floats or \
                         char)"
                    } else {
                        "is no function of the interface"
                    }
                ),
            });
        }
    }
    Ok(())
}

/// Interfaces parsed so far, by their exact text: how many are kept.
const PARSED_KEPT: usize = 32;

/// `text` parsed, from [`PARSED_KEPT`] interfaces parsed before or parsed now.
///
/// Parsing is a pure function of the bytes, so an interface whose text is
/// byte for byte one parsed before is that one (`Interface` is immutable and
/// shared). It is the cost of a module open: the parse runs on a thread of its
/// own with a large stack (hostile nesting), about half of what an open costs
/// without this. Only successes are kept; the texts are bounded by the
/// interface size limit, so the cache is too. Everything that depends on more
/// than the text (the declared hash, the descriptor's methods, the stateful
/// flag) is checked on every open by [`validate`].
///
/// The lock is only ever tried, never waited for: a thread that finds it
/// busy parses the text itself. So the cache adds no lock to what `fork()`
/// must consider (`fork.rs`): in a child forked while another thread held
/// it, every open parses, as it did before the cache.
fn parsed(text: &[u8]) -> std::result::Result<Arc<Interface>, typed::Error> {
    use crate::sync::Mutex;
    use std::collections::VecDeque;
    /// (exact text, what it parsed to), oldest first.
    type Kept = VecDeque<(Box<[u8]>, Arc<Interface>)>;
    static PARSED: Mutex<Kept> = Mutex::new(VecDeque::new());
    if let Some(kept) = PARSED.try_lock() {
        if let Some((_, iface)) = kept.iter().find(|(t, _)| **t == *text) {
            return Ok(Arc::clone(iface));
        }
    }
    let iface = Arc::new(Interface::parse_bytes(text)?);
    if let Some(mut kept) = PARSED.try_lock() {
        if kept.len() == PARSED_KEPT {
            kept.pop_front();
        }
        kept.push_back((text.into(), Arc::clone(&iface)));
    }
    Ok(iface)
}

/// The interface an isolation worker reported in its `HELLO` (text and
/// declared hash), validated exactly like one read in-process: the worker
/// runs the module's code and is not trusted to have checked anything.
pub(crate) fn from_worker(
    path: &str,
    reported: Option<&(String, [u8; 32])>,
    methods: &[MethodInfo],
    stateful: bool,
) -> Result<Option<Arc<Interface>>> {
    match reported {
        None => Ok(None),
        Some((text, hash)) => validate(path, text.as_bytes(), *hash, methods, stateful).map(Some),
    }
}

/// Whether bindings generated from the WIT text `binding` (`bridgehost bindgen`, docs/TYPED.md)
/// work against a module whose interface is `module` (`None`: a bytes-only module). The one rule,
/// for every runtime's generated bindings: `binding` that does not parse is
/// [`Error::InvalidArgument`]; a module without an interface or with an incompatible one
/// ([`typed::compat::check`], naming the first difference) is [`Error::AbiMismatch`].
pub fn check_binding(path: &str, module: Option<&Interface>, binding: &str) -> Result<()> {
    let binding = Interface::parse(binding)
        .map_err(|e| Error::InvalidArgument(format!("the binding's interface: {e}")))?;
    let bad = |reason: String| Error::AbiMismatch {
        path: path.to_string(),
        reason,
    };
    let module = module.ok_or_else(|| {
        bad(format!(
            "the binding is for interface {} ({}), the module has no typed interface",
            binding.name, binding.package
        ))
    })?;
    if module.hash() == binding.hash() {
        return Ok(());
    }
    typed::compat::check(&binding, module).map_err(|e| bad(e.to_string()))
}

/// The typed event of `topic` in `iface` (`None`: the interface declares no such event).
/// One rule for every runtime that decodes events at run time (Python's typed view); generated
/// bindings apply the same rule in their own code.
pub fn event_index(iface: &Interface, topic: &str) -> Option<usize> {
    iface.events.iter().position(|e| e.topic == topic)
}

/// The error of a module output that does not decode as function `function`'s
/// result: [`Error::AbiMismatch`], "output of F does not match its interface:
/// ...", as every runtime's typed call reports it.
pub fn output_mismatch(path: &str, function: &str, reason: &typed::Error) -> Error {
    Error::AbiMismatch {
        path: path.to_string(),
        reason: format!("output of {function} does not match its interface: {reason}"),
    }
}

/// A caller's claim that typed function `method` takes exactly one `list<u8>`
/// (`list_input`) and/or returns one (`list_output`), checked against the
/// module's interface before the module runs: a claim the declared signature
/// contradicts is the caller's mistake, [`Error::InvalidArgument`] naming the
/// declared types (`"{what}: lie returns list<string>, not list<u8>"`), never
/// an output the module wrote correctly reported as a mismatch. So is a claim
/// about a method no interface declares (a bytes-only module's, or one the
/// module's interface leaves out): it has no types to claim anything about.
/// Which claims hold is worked out once, when the method is resolved
/// ([`ListClaims::of`]); the message only when one is refused.
pub fn check_list_claim(
    method: &crate::Method,
    list_input: bool,
    list_output: bool,
    what: &str,
) -> Result<()> {
    let holds = method.list_claims();
    if (list_input && !holds.input) || (list_output && !holds.output) {
        return Err(list_claim_refused(method, list_input && !holds.input, what));
    }
    Ok(())
}

/// The error of a refused claim (`input`: the input claim, else the output
/// claim), off the call path.
#[cold]
#[inline(never)]
fn list_claim_refused(method: &crate::Method, input: bool, what: &str) -> Error {
    let module = method.module();
    let name = method.name();
    let Some((iface, f)) = module
        .interface()
        .and_then(|i| i.function(name).map(|f| (i, f)))
    else {
        return Error::InvalidArgument(format!(
            "{what}: {name} is not a function of the module's typed interface{}, so it has no \
             list<u8> to encode or check",
            if module.interface().is_some() {
                ""
            } else {
                " (the module has none)"
            }
        ));
    };
    Error::InvalidArgument(if input {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, iface.type_name(&p.ty)))
            .collect();
        format!(
            "{what}: {name} takes ({}), not one list<u8>",
            params.join(", ")
        )
    } else {
        format!(
            "{what}: {name} returns {}, not list<u8>",
            f.result
                .as_ref()
                .map_or_else(|| "nothing".to_string(), |t| iface.type_name(t))
        )
    })
}

/// Which of a typed call's `list<u8>` claims hold for one method: see
/// [`check_list_claim`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ListClaims {
    /// Its parameters are exactly one `list<u8>`.
    input: bool,
    /// Its result is one `list<u8>`.
    output: bool,
}

impl ListClaims {
    /// The claims about method `name` of a module whose interface is `iface`
    /// (none hold for a method no interface declares).
    pub(crate) fn of(iface: Option<&Interface>, name: &str) -> ListClaims {
        let Some((iface, f)) = iface.and_then(|i| i.function(name).map(|f| (i, f))) else {
            return ListClaims::default();
        };
        let bytes =
            |ty: &typed::Type| typed::wire::run_of(iface, ty) == Some(typed::wire::Run::Bytes);
        ListClaims {
            input: matches!(f.params.as_slice(), [p] if bytes(&p.ty)),
            output: f.result.as_ref().is_some_and(bytes),
        }
    }
}

/// A typed call's output that must be one `list<u8>` (a function whose result
/// is [`typed::wire::Run::Bytes`]): its payload, borrowed, or
/// [`output_mismatch`] for the method's module.
pub fn bytes_output<'a>(method: &crate::Method, out: &'a [u8]) -> Result<&'a [u8]> {
    typed::wire::decode_bytes(out)
        .map_err(|e| output_mismatch(&method.module().info().path, method.name(), &e))
}

/// Decode the data of one delivery of event `index` of `iface` as hostile bytes: its payload
/// (`None` for an event declared without one, whose data must be empty). Data that does not
/// decode is [`Error::AbiMismatch`], "event T does not match its interface: ...", as generated
/// bindings report it.
pub fn decode_event(
    path: &str,
    iface: &Interface,
    index: usize,
    data: &[u8],
) -> Result<Option<typed::Value>> {
    let e = &iface.events[index];
    let bad = |reason: String| Error::AbiMismatch {
        path: path.to_string(),
        reason: format!("event {} does not match its interface: {reason}", e.topic),
    };
    match &e.payload {
        Some(ty) => typed::wire::decode(iface, ty, data)
            .map(Some)
            .map_err(|err| bad(err.to_string())),
        None if data.is_empty() => Ok(None),
        None => Err(bad(format!(
            "{} byte(s) of data for an event declared without a payload",
            data.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_as_hostile_bytes() {
        let iface = Interface::parse(
            "package t:e; interface t { f: func(); } interface events { tick: func(seq: u64); bare: func(); }",
        )
        .unwrap();
        let tick = event_index(&iface, "tick").unwrap();
        let bare = event_index(&iface, "bare").unwrap();
        assert_eq!(event_index(&iface, "nosuch"), None);
        assert_eq!(
            decode_event("m", &iface, tick, &7u64.to_le_bytes()).unwrap(),
            Some(typed::Value::U64(7))
        );
        assert_eq!(decode_event("m", &iface, bare, b"").unwrap(), None);
        for (i, data) in [(tick, &b"\x01\x02\x03"[..]), (bare, &b"x"[..])] {
            match decode_event("m", &iface, i, data).unwrap_err() {
                Error::AbiMismatch { reason, .. } => {
                    assert!(reason.contains("does not match its interface"), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    const TEXT: &str = "package t:t; interface t { add: func(a: u32, b: u32) -> u32; }";

    fn methods(names: &[&str]) -> Vec<MethodInfo> {
        names
            .iter()
            .map(|n| MethodInfo {
                name: n.to_string(),
                flags: 0,
            })
            .collect()
    }

    fn reason(e: Error) -> String {
        match e {
            Error::AbiMismatch { reason, .. } => reason,
            other => panic!("expected AbiMismatch, got {other:?}"),
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "four WIT parses are minutes under Miri; the next test takes the cached path there"
    )]
    fn a_text_parsed_before_is_that_interface_and_only_its_exact_bytes_match() {
        let text = "package t:cache; interface t { f: func(a: u8); }";
        let a = parsed(text.as_bytes()).unwrap();
        let b = parsed(text.as_bytes()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // One byte more (a space): parsed on its own, same meaning, same hash.
        let spaced = format!("{text} ");
        let c = parsed(spaced.as_bytes()).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.hash(), a.hash());
        assert_eq!(c.source(), spaced);
        // A failure is not kept: it fails again, with the same reason.
        let bad = b"package t:bad; interface t { f: func(a: nosuch); }";
        let e1 = parsed(bad).unwrap_err().to_string();
        let e2 = parsed(bad).unwrap_err().to_string();
        assert_eq!(e1, e2);
    }

    #[test]
    fn a_lying_worker_is_caught_by_the_host() {
        let good = Interface::parse(TEXT).unwrap();
        let ok = (TEXT.to_string(), good.hash());
        let got = from_worker("m.so", Some(&ok), &methods(&["add"]), false)
            .unwrap()
            .unwrap();
        assert_eq!(*got, good);
        assert!(from_worker("m.so", None, &methods(&["add"]), false)
            .unwrap()
            .is_none());
        // A hash that is not the text's.
        let e = from_worker(
            "m.so",
            Some(&(TEXT.into(), [1; 32])),
            &methods(&["add"]),
            false,
        );
        assert!(reason(e.unwrap_err()).contains("hash mismatch"));
        // A text naming a method the worker's own method table lacks.
        let e = from_worker("m.so", Some(&ok), &methods(&["sub"]), false);
        assert!(reason(e.unwrap_err()).contains("is not a method"));
        // Text that is not WIT, or beyond the limits.
        let e = from_worker(
            "m.so",
            Some(&("}{".into(), [0; 32])),
            &methods(&["add"]),
            false,
        );
        assert!(reason(e.unwrap_err()).contains("WIT parse error"));
        let huge = "x".repeat(typed::limits::MAX_TEXT + 1);
        let e = from_worker("m.so", Some(&(huge, [0; 32])), &methods(&["add"]), false);
        assert!(reason(e.unwrap_err()).contains("limit exceeded"));
        // Resources in a worker's module that is not stateful.
        let res = "package t:m; interface m { resource r { constructor(); } }";
        let hash = Interface::parse(res).unwrap().hash();
        let ms = methods(&["[constructor]r", "[resource-drop]r"]);
        let e = from_worker("m.so", Some(&(res.into(), hash)), &ms, false);
        assert!(reason(e.unwrap_err())
            .contains("must declare itself stateful (BH_MODULE_STATEFUL in C"));
        assert!(from_worker("m.so", Some(&(res.into(), hash)), &ms, true).is_ok());
    }
}
