//! Reading a module's optional typed-interface export
//! (`bridgehost_module_interface`, see `plugins/include/bridgehost_module.h`):
//! the raw read only. The text is copied out under a size limit and checked
//! by [`crate::interface`], never trusted here.

use crate::error::{Error, Result};
use bridgehost_module_abi as abi;
use libloading::os::unix::Library;

/// What the export says, copied into owned memory.
#[derive(Debug)]
pub(crate) struct RawInterface {
    pub(crate) text: Vec<u8>,
    pub(crate) hash: [u8; 32],
}

fn abi_err(path: &str, reason: impl Into<String>) -> Error {
    Error::AbiMismatch {
        path: path.to_string(),
        reason: format!("typed interface: {}", reason.into()),
    }
}

/// Read the export of the loaded library `lib`; `None` when the module has
/// none (a v1 module that stays bytes-only).
pub(crate) fn read(lib: &Library, path: &str) -> Result<Option<RawInterface>> {
    // SAFETY: the symbol's type is the ABI's interface entry type; a library
    // exporting the name with another type breaks the ABI contract, which the
    // checks below catch as far as they can (as for the module entry symbol).
    let Ok(entry) = (unsafe { lib.get::<abi::InterfaceFn>(abi::INTERFACE_SYMBOL) }).map(|s| *s)
    else {
        return Ok(None);
    };
    // SAFETY: the ABI documents the function as taking no arguments and
    // returning a pointer to static data.
    let p = unsafe { entry() };
    if p.is_null() {
        return Err(abi_err(
            path,
            "bridgehost_module_interface returned a null pointer",
        ));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<abi::InterfaceDesc>()) {
        return Err(abi_err(path, "descriptor pointer is misaligned"));
    }
    // SAFETY: p is non-null and aligned, and every version of the struct
    // starts with struct_size and format (two u32s) in the module's static data.
    let (size, format) = unsafe { (p.cast::<u32>().read(), p.cast::<u32>().add(1).read()) };
    let need = std::mem::size_of::<abi::InterfaceDesc>();
    if (size as usize) < need {
        return Err(abi_err(
            path,
            format!("struct_size {size} is smaller than bh_module_interface ({need} bytes)"),
        ));
    }
    if format != abi::INTERFACE_FORMAT_WIT {
        return Err(abi_err(
            path,
            format!(
                "unknown format {format} (this host reads {})",
                abi::INTERFACE_FORMAT_WIT
            ),
        ));
    }
    // SAFETY: struct_size says the module compiled a descriptor at least as
    // large as ours at this aligned address; every field accepts any bits.
    let d: abi::InterfaceDesc = unsafe { p.read() };
    if d.text_len == 0 || d.text_len > abi::INTERFACE_MAX_TEXT {
        return Err(abi_err(
            path,
            format!(
                "text_len {} is outside 1..={} bytes",
                d.text_len,
                abi::INTERFACE_MAX_TEXT
            ),
        ));
    }
    if d.text.is_null() {
        return Err(abi_err(path, "text is a null pointer"));
    }
    // SAFETY: text is non-null and the module declares text_len (bounded
    // above) readable bytes of static data there; they are copied at once.
    let text = unsafe { std::slice::from_raw_parts(d.text.cast::<u8>(), d.text_len) }.to_vec();
    Ok(Some(RawInterface { text, hash: d.hash }))
}
