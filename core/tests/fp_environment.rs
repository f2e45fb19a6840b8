//! What an in-process module shares with its host: the calling thread's floating-point
//! environment (docs/MODULES.md, "The floating-point environment"). The host neither resets it
//! before a call nor restores it after one, so a module sees the caller's rounding mode, and a
//! mode the module sets is still set in the caller when the call returns. An isolated module runs
//! on a worker's thread with the default environment, and what it changes stays there.
//!
//! The C fixture core/tests/fixtures/fpenv.c is compiled here (`common::c_fixture_module`).
mod common;

use bridgehost::{Isolation, ModuleOptions};
use std::ffi::c_int;

// <fenv.h> on x86-64 (glibc's values).
const FE_TONEAREST: c_int = 0;
const FE_DOWNWARD: c_int = 0x400;
const FE_UPWARD: c_int = 0x800;

extern "C" {
    fn fegetround() -> c_int;
    fn fesetround(mode: c_int) -> c_int;
}

fn rounding_here() -> c_int {
    // SAFETY: fegetround reads this thread's floating-point control state; no preconditions.
    unsafe { fegetround() }
}

fn set_rounding_here(mode: c_int) {
    // SAFETY: fesetround changes only this thread's rounding mode; the mode is a valid FE_*
    // constant (checked by the return value).
    assert_eq!(unsafe { fesetround(mode) }, 0);
}

fn module_rounding(m: &bridgehost::Module) -> c_int {
    let out = m.method("rounding").unwrap().call(&[]).unwrap();
    c_int::from_le_bytes(out.try_into().unwrap())
}

#[test]
fn an_in_process_module_shares_the_callers_floating_point_environment() {
    let path = common::c_fixture_module("fpenv.c", "libbridgehost_mod_fpenv.so", &["-lm"]);
    let host = common::host();
    // On a thread of its own: the rounding mode this test changes is that thread's.
    std::thread::spawn(move || {
        let inproc = host
            .open(path.to_str().unwrap(), ModuleOptions::default())
            .unwrap();
        let isolated = host
            .open(
                path.to_str().unwrap(),
                ModuleOptions {
                    isolation: Isolation::Process,
                    ..ModuleOptions::default()
                },
            )
            .unwrap();
        assert_eq!(rounding_here(), FE_TONEAREST);

        // The caller's mode reaches the in-process module, not the isolated one.
        set_rounding_here(FE_DOWNWARD);
        assert_eq!(module_rounding(&inproc), FE_DOWNWARD);
        assert_eq!(module_rounding(&isolated), FE_TONEAREST);
        set_rounding_here(FE_TONEAREST);

        // A mode the in-process module sets is the caller's when the call returns.
        inproc
            .method("set_rounding")
            .unwrap()
            .call(&FE_UPWARD.to_le_bytes())
            .unwrap();
        assert_eq!(rounding_here(), FE_UPWARD, "the host does not restore it");
        set_rounding_here(FE_TONEAREST);

        // An isolated module's change stays in its worker.
        isolated
            .method("set_rounding")
            .unwrap()
            .call(&FE_UPWARD.to_le_bytes())
            .unwrap();
        assert_eq!(rounding_here(), FE_TONEAREST);
        assert_eq!(module_rounding(&inproc), FE_TONEAREST);
    })
    .join()
    .unwrap();
}
