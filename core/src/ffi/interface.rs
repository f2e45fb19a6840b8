//! Reading a module's optional typed-interface export
//! (`bridgehost_module_interface`, see `plugins/include/bridgehost_module.h`):
//! the raw read only. The text is copied out under a size limit and checked
//! by [`crate::interface`], never trusted here.

use super::probe::ForeignReader;
use crate::error::{Error, Result};
use bridgehost_module_abi as abi;
use libloading::os::unix::Library;

/// What the export says, copied into owned memory.
#[derive(Debug)]
pub(crate) struct RawInterface {
    pub(crate) text: Vec<u8>,
    pub(crate) hash: [u8; 32],
    /// The direct entries, one per method, or empty when the module has
    /// none (each checked to point into executable memory; whether its
    /// function may have one is [`crate::interface::validate_direct`]'s).
    pub(crate) direct: Vec<Option<abi::DirectFn>>,
}

fn abi_err(path: &str, reason: impl Into<String>) -> Error {
    Error::AbiMismatch {
        path: path.to_string(),
        reason: format!("typed interface: {}", reason.into()),
    }
}

/// Read the export of the loaded library `lib`; `None` when the module has
/// none (a v1 module that stays bytes-only).
///
/// Module memory is read only through [`ForeignReader`] (as the descriptor
/// is, `ffi/probe.rs`): the descriptor and the text are copied once by the
/// kernel, so a pointer into an unmapped page is `AbiMismatch`, not SIGSEGV.
pub(crate) fn read(
    lib: &Library,
    code: &super::probe::ExecutableMaps,
    path: &str,
    method_count: usize,
) -> Result<Option<RawInterface>> {
    // SAFETY: the symbol's type is the ABI's interface entry type; a library
    // exporting the name with another type breaks the ABI contract, which the
    // checks below catch as far as they can (as for the module entry symbol).
    let Ok(entry) = (unsafe { lib.get::<abi::InterfaceFn>(abi::INTERFACE_SYMBOL) }).map(|s| *s)
    else {
        return Ok(None);
    };
    super::loader::check_code(code, path, "bridgehost_module_interface", entry as usize)?;
    // SAFETY: the ABI documents the function as taking no arguments and
    // returning a pointer to static data; it lies in executable memory
    // (checked above).
    let p = unsafe { entry() } as usize;
    if p == 0 {
        return Err(abi_err(
            path,
            "bridgehost_module_interface returned a null pointer",
        ));
    }
    if !p.is_multiple_of(std::mem::align_of::<abi::InterfaceDesc>()) {
        return Err(abi_err(path, "descriptor pointer is misaligned"));
    }
    let mem = ForeignReader::new().map_err(|e| {
        Error::Internal(format!(
            "cannot read module memory through the probe pipe: {e}"
        ))
    })?;
    let probe = |addr: usize, buf: &mut [u8]| -> Result<bool> {
        mem.read_exact(addr, buf).map_err(|e| {
            Error::Internal(format!(
                "cannot read module memory through the probe pipe: {e}"
            ))
        })
    };
    // Every version of the struct starts with struct_size and format (two u32s).
    let mut head = [0u8; 8];
    if !probe(p, &mut head)? {
        return Err(abi_err(
            path,
            format!("descriptor at 0x{p:x} is not readable"),
        ));
    }
    let size = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]);
    let format = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
    let full = std::mem::size_of::<abi::InterfaceDesc>();
    if (size as usize) < abi::INTERFACE_V1_SIZE {
        return Err(abi_err(
            path,
            format!(
                "struct_size {size} is smaller than the first bh_module_interface ({} bytes)",
                abi::INTERFACE_V1_SIZE
            ),
        ));
    }
    // The prefix rule: a module built against the first struct has no
    // direct entries (the fields appended since read as zero).
    let need = (size as usize).min(full);
    if format != abi::INTERFACE_FORMAT_WIT {
        return Err(abi_err(
            path,
            format!(
                "unknown format {format} (this host reads {})",
                abi::INTERFACE_FORMAT_WIT
            ),
        ));
    }
    let mut raw = [0u8; std::mem::size_of::<abi::InterfaceDesc>()];
    if !probe(p, &mut raw[..need])? {
        return Err(abi_err(
            path,
            format!("descriptor at 0x{p:x} is not readable for {need} bytes"),
        ));
    }
    // SAFETY: `raw` holds exactly size_of::<InterfaceDesc>() initialised
    // bytes (copied from the module, zero past its struct_size); every field
    // (integers, raw pointers, a byte array) accepts any bit pattern, and
    // read_unaligned needs no alignment of the byte array.
    let d: abi::InterfaceDesc = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
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
    let mut text = vec![0u8; d.text_len];
    if !probe(d.text as usize, &mut text)? {
        return Err(abi_err(
            path,
            format!(
                "text is not readable for its text_len of {} bytes",
                d.text_len
            ),
        ));
    }
    let direct = read_direct(&d, method_count, code, path, &probe)?;
    Ok(Some(RawInterface {
        text,
        hash: d.hash,
        direct,
    }))
}

/// The direct-entry table: null with a zero count (none), or exactly one
/// entry per method, readable, each null or code of the module's mappings.
fn read_direct(
    d: &abi::InterfaceDesc,
    method_count: usize,
    code: &super::probe::ExecutableMaps,
    path: &str,
    probe: &dyn Fn(usize, &mut [u8]) -> Result<bool>,
) -> Result<Vec<Option<abi::DirectFn>>> {
    if d.reserved != 0 {
        return Err(abi_err(
            path,
            format!("reserved is {}, must be 0", d.reserved),
        ));
    }
    match (d.direct.is_null(), d.direct_count) {
        (true, 0) => return Ok(Vec::new()),
        (true, n) => {
            return Err(abi_err(
                path,
                format!("direct is a null pointer with direct_count {n}"),
            ))
        }
        (false, 0) => {
            return Err(abi_err(path, "direct is not null but direct_count is 0"));
        }
        (false, n) if n as usize != method_count => {
            return Err(abi_err(
                path,
                format!("direct_count is {n}, the module has {method_count} methods"),
            ));
        }
        _ => {}
    }
    let word = std::mem::size_of::<usize>();
    let mut table = vec![0u8; method_count * word];
    if !probe(d.direct as usize, &mut table)? {
        return Err(abi_err(
            path,
            format!("the direct table is not readable for {method_count} entries"),
        ));
    }
    let mut out = Vec::with_capacity(method_count);
    for (i, w) in table.chunks_exact(word).enumerate() {
        let mut b = [0u8; std::mem::size_of::<usize>()];
        b.copy_from_slice(w);
        let addr = usize::from_ne_bytes(b);
        if addr == 0 {
            out.push(None);
            continue;
        }
        super::loader::check_code(
            code,
            path,
            &format!("typed interface: direct entry {i}"),
            addr,
        )?;
        // SAFETY: `addr` is a non-null address inside the module's
        // executable mappings (checked above), which stay mapped (the
        // library is pinned); the ABI declares the entry's type as
        // bh_direct_fn. That the code behind it has that signature is the
        // module's promise, as for its call() entry.
        out.push(Some(unsafe {
            std::mem::transmute::<usize, abi::DirectFn>(addr)
        }));
    }
    Ok(out)
}
