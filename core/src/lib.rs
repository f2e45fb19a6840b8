//! # bridgehost core
//!
//! Loads native modules (shared libraries exporting the bridgehost module
//! ABI v1, see `plugins/include/bridgehost_module.h`), validates them as
//! hostile input, and runs them in-process or in sandboxed worker processes.
//! The Java, Python and .NET front ends are thin translations of this API.
//!
//! ```no_run
//! use bridgehost::{Host, ModuleOptions};
//! let host = Host::new()?;
//! let zlib = host.open("zlib", ModuleOptions::default())?;
//! let compress = zlib.method("compress")?;   // resolved once
//! let packed = compress.call(b"hello hello hello")?;
//! # Ok::<(), bridgehost::Error>(())
//! ```
//!
//! ## Threads
//! * `call` runs on the caller's thread.
//! * `submit` completions run on the host's pool threads (`bridgehost-pool-N`).
//! * Event callbacks run on the host's dispatcher thread (`bridgehost-events`).
//!
//! ## Unsafe
//! All `unsafe` lives in `ffi/` (module loading, host callbacks, `dladdr`),
//! `isolation/sys` (process spawning, shared memory, sandbox) and `fork`
//! (the `pthread_atfork` registration). Every
//! other file is `#![forbid(unsafe_code)]`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod counters;
pub mod error;
pub mod events;
mod executor;
mod ffi;
mod fork;
mod handles;
mod host;
mod inproc;
pub mod interface;
pub mod isolation;
mod locate;
pub mod logging;
mod module;
pub mod options;
pub mod output;
mod registry;
mod sync;
pub mod validate;

pub use counters::{CounterSnapshot, Counters};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventCallback, Subscription};
pub use executor::{CallCancel, CancelPoll, SubmitHandle, POLL_EVERY};
pub use ffi::loader::{MethodInfo, ModuleInfo, ThreadModel};
pub use host::{inspect, Host};
pub use interface::Interface;
pub use isolation::{CallLease, GuardedSharedBuffer, RequestedLen, SharedBuffer};
pub use module::{Method, Module};
pub use options::{HostOptions, Isolation, ModuleOptions};
pub use output::CallOutput;
pub use validate::{encode_info, validate};

/// Not a public API: what the bundled front ends (jni-bridge, py-bridge, the
/// C ABI), the worker binary, the benchmarks, the fuzz targets and the core's
/// own integration tests share with the core. It follows the core, not semver:
/// anything here may change in any release. Everything a Rust user of the
/// library needs is at the crate root and in the documented public modules.
#[doc(hidden)]
pub mod internal {
    /// Generation-checked lock-free handle tables (the C ABI's and the JNI
    /// bridge's registries).
    pub mod handles {
        pub use crate::handles::{HandleTable, Ref};
        pub use crate::registry::{Registry, Stale};
    }
    /// Poison-free locks and the signal-proof sleep the front ends use.
    pub mod sync {
        pub use crate::sync::{sleep, Condvar, Mutex, MutexGuard, RwLock, WaitTimeoutResult};
    }
    /// Where modules and the worker are found.
    pub mod locate {
        pub use crate::locate::*;
    }
    /// The host-side protocol decoders under arbitrary input (cargo-fuzz
    /// target; only with the `fuzz` feature, so shipped libraries lack it).
    #[cfg(feature = "fuzz")]
    pub use crate::isolation::protocol::fuzz_host_decoder;
    /// The first byte of a [`crate::SharedBuffer`], for the C ABI's
    /// `bh_shared_buffer_data` (see `SharedBuffer::raw_ptr`).
    pub fn shared_buffer_ptr(b: &crate::SharedBuffer) -> *mut u8 {
        b.raw_ptr()
    }
    /// `vzeroupper` for the foreign entries (the C ABI's and the JNI
    /// bridge's): see `core/src/ffi/vector_state.rs`.
    pub use crate::ffi::vector_state::clear_upper as clear_upper_vector_state;
    /// Dirty the upper vector state and read it back (tests only).
    #[cfg(all(target_arch = "x86_64", feature = "test-support"))]
    pub use crate::ffi::vector_state::probe as vector_state_probe;
    /// The worker process's entry point (the `bridgehost-worker` binary).
    pub use crate::isolation::worker::worker_main;
    /// Copies to and from memory another thread or process may write during
    /// the copy (a front end's writable caller buffer: a numpy array some
    /// thread writes without the GIL, a shared mapping): volatile accesses,
    /// never a Rust reference to that memory; a concurrent write leaves each
    /// byte old or new. The core's own copies of worker memory use them.
    pub use crate::isolation::{copy_from_shared, copy_to_shared};
    /// The message of a panic payload (`&str` or `String`), or a placeholder
    /// (a front end's panic boundary).
    pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
        crate::error::panic_message(payload)
    }
    /// Modules of `host` whose counters are still alive (open, or referenced
    /// by a handle): the leak tests' probe.
    pub fn live_module_counters(host: &crate::Host) -> usize {
        host.live_module_counters()
    }
}

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
