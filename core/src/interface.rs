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
/// without its `[resource-drop]R` method are all [`Error::AbiMismatch`]
/// naming the reason.
pub(crate) fn validate(
    path: &str,
    text: &[u8],
    hash: [u8; 32],
    methods: &[MethodInfo],
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
    }
    Ok(Arc::new(iface))
}
