//! Every `unsafe` line of the SDK, one file per concern:
//! - `descriptor.rs`: the static descriptor wrappers ([`SyncDesc`],
//!   [`SyncInterface`], [`SyncMethods`], [`SyncDirect`]);
//! - `host.rs`: calls through the host's function pointers (`fail`, `emit`,
//!   `log`, and `write` bound to one call by [`CallSink`]);
//! - `shims.rs`: the `extern "C"` shims the export macro installs
//!   ([`init_shim`], [`call_shim`], [`destroy_shim`], and the body of every
//!   direct entry's shim, [`direct_shim`]);
//! - `test_host.rs`: the in-process test host behind [`crate::testing`].
//!
//! Invariants relied on throughout:
//! - A [`HostApi`](bridgehost_module_abi::HostApi) value held by a
//!   [`Host`](crate::Host) was copied from the `api` the
//!   host passed to `init` (after checking its size and version); the host
//!   guarantees its function pointers may be called from any thread, at any
//!   time while the module is loaded, and never unwind.
//! - An instance pointer handed to the host is a `Box<Instance<M>>` leaked by
//!   `init_shim::<M>` and is passed back only to `call_shim::<M>` /
//!   `destroy_shim::<M>` of the same descriptor (the descriptor is generated
//!   for exactly one `M`).
#![allow(unsafe_code)]

mod descriptor;
mod host;
mod shims;
pub mod test_host;

pub use descriptor::{SyncDesc, SyncDirect, SyncInterface, SyncMethods};
pub(crate) use host::{host_emit, host_log, CallSink};
pub use shims::{call_shim, destroy_shim, direct_shim, init_shim};

/// Borrow `len` bytes at `data` (`&[]` for a zero length, whatever `data`).
///
/// # Safety
/// If `len > 0` and `data` is non-null, `data` must point to `len` readable
/// bytes that stay valid and unmodified for `'a`.
unsafe fn borrow_bytes<'a>(data: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if data.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-null and len <= isize::MAX checked above; readability for
    // 'a is the caller's contract.
    Some(unsafe { std::slice::from_raw_parts(data, len) })
}
