//! A call that records a failure with `api->fail` fails, whatever status the module returns
//! (docs/MODULES.md, "Errors and errno"): `fail` then `return 0` is a module error with `fail`'s
//! code and message, and the output written before it is discarded; `fail` then a non-zero
//! status keeps `fail`'s code too. Both isolation modes, and the instance serves the next call.
//!
//! The C fixture core/tests/fixtures/fail_status.c is compiled here (`common::c_fixture_module`).
mod common;

use bridgehost::{Error, Isolation, ModuleOptions};

#[test]
fn fail_then_return_0_is_a_module_error_in_both_modes() {
    let path = common::c_fixture_module("fail_status.c", "libbridgehost_mod_fail_status.so", &[]);
    let host = common::host();
    for isolation in [Isolation::InProcess, Isolation::Process] {
        let m = host
            .open(
                path.to_str().unwrap(),
                ModuleOptions {
                    isolation,
                    ..ModuleOptions::default()
                },
            )
            .unwrap();
        // fail(5, "boom") after writing "output", then return 0: the call fails with fail's code
        // and message; the output is not returned.
        match m.method("fail_then_ok").unwrap().call(b"") {
            Err(Error::Module { code, message }) => {
                assert_eq!((code, message.as_str()), (5, "boom"), "{isolation:?}")
            }
            other => panic!("{isolation:?}: fail then 0: {other:?}"),
        }
        // fail(5, "boom") then return 7: fail's code wins over the status.
        match m.method("fail_then_7").unwrap().call(b"") {
            Err(Error::Module { code, message }) => {
                assert_eq!((code, message.as_str()), (5, "boom"), "{isolation:?}")
            }
            other => panic!("{isolation:?}: fail then 7: {other:?}"),
        }
        // The failure belonged to that call: the next one succeeds.
        assert_eq!(
            m.method("echo").unwrap().call(b"next").unwrap(),
            b"next",
            "{isolation:?}"
        );
        m.close();
    }
}
