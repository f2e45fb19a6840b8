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
    let iface = Interface::parse_bytes(text).map_err(|e| bad(e.to_string()))?;
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
                "resource {:?} lives in the module instance: the module must declare \
                 BH_MODULE_STATEFUL",
                iface.types[r].name
            )));
        }
    }
    Ok(Arc::new(iface))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(reason(e.unwrap_err()).contains("must declare BH_MODULE_STATEFUL"));
        assert!(from_worker("m.so", Some(&(res.into(), hash)), &ms, true).is_ok());
    }
}
