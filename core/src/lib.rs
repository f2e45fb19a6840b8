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
pub mod handles;
mod host;
mod inproc;
pub mod interface;
pub mod isolation;
pub mod locate;
pub mod logging;
mod module;
pub mod options;
pub mod output;
pub mod sync;
pub mod validate;

pub use counters::{CounterSnapshot, Counters};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventCallback, Subscription};
pub use executor::{CallCancel, CancelPoll, SubmitHandle, POLL_EVERY};
pub use ffi::loader::{MethodInfo, ModuleInfo, ThreadModel};
pub use host::{inspect, Host};
pub use interface::Interface;
pub use module::{Method, Module};
pub use options::{HostOptions, Isolation, ModuleOptions};
pub use output::CallOutput;
pub use validate::{encode_info, validate};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
