//! Every export clears the upper vector state before its body runs
//! (core/src/ffi/vector_state.rs): a JIT caller (CoreCLR 8) may call with it
//! dirty, and the library's and the module's SSE code then runs several
//! times slower. tests/exports.rs proves every export is one
//! `ffi_boundary!`; this proves `ffi_boundary!` clears the state.

#![cfg(target_arch = "x86_64")]

use bhcore::internal::vector_state_probe as probe;
use bridgehost_c::*;

#[test]
fn an_export_called_with_the_upper_vector_state_dirty_leaves_it_clean() {
    // bh_version's body does no vector work of its own (no copy, no
    // allocation) that could clear the state by accident.
    let clean = probe::clean_after(|| assert!(!bh_version().is_null()));
    match clean {
        Some(clean) => assert!(clean, "ffi_boundary! ran vzeroupper before the body"),
        None => eprintln!("skipped: no AVX or no XGETBV(1) on this CPU"),
    }
}
