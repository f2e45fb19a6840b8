//! `bridgehost-worker`: the process an isolated bridgehost module runs in.
//!
//! It is started by the bridgehost library (`posix_spawn`, control socket on
//! descriptor 3) and is not meant to be run by hand. All of its logic —
//! the sandbox, the module loader, the call loop — lives in the core crate
//! (`bridgehost::internal::worker_main`), so the worker runs the module with exactly the
//! validation the in-process host applies. This binary links nothing else.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(bridgehost::internal::worker_main());
}
