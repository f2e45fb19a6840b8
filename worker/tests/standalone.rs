//! The worker refuses to run when it was not started by a bridgehost host (no control socket
//! on descriptor 3), with a message and a distinct exit status instead of reading whatever
//! descriptor 3 happens to be. (Having an integration test here also makes `cargo test
//! --workspace` build the `bridgehost-worker` binary that the core's isolation tests spawn.)
use std::process::Command;

#[test]
fn run_by_hand_it_explains_itself_and_exits_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_bridgehost-worker"))
        .output()
        .expect("run the worker");
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not meant to be run by hand"), "{err}");
    assert!(out.stdout.is_empty());
}
