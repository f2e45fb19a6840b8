//! # bridgehost JNI bridge (`libbridgehost_jni.so`)
//!
//! Translates the core's API for the Java package `io.bridgehost`. No logic
//! lives here: types, errors and threads are translated, nothing else.
//!
//! ## Native methods
//! Every native method is a static method of `io.bridgehost.Native` (plus,
//! with the `bench` cargo feature only, the benchmark baselines of
//! `io.bridgehost.bench.BareEcho`; the shipped library is built without it and
//! needs no bench class), registered
//! with `RegisterNatives` from `JNI_OnLoad` — no mangled symbol is exported
//! besides `JNI_OnLoad`, and a name/descriptor that does not exist in the
//! Java class fails the library load instead of the first call.
//!
//! There are two entry shapes, and every native uses exactly one of them:
//!
//! * **Generic entry** ([`api`], [`bench`]): `jni::native_method!` generates
//!   a compile-time type-checked wrapper that runs the body in
//!   `EnvUnowned::with_env` (panic boundary) and resolves the outcome with
//!   [`error::ThrowTyped`], which throws the typed `BridgeHostException`
//!   subclass (or leaves an already pending exception alone).
//! * **Hot entry** ([`jvm::fast`]): `Method.call(byte[])` and
//!   `Method.call(ByteBuffer)` cannot afford the generic entry (it costs
//!   about as much as the whole raw call, see docs/JAVA.md). They run their
//!   body inside a plain `catch_unwind`, use the raw JNI function table for
//!   the four calls they make (array region in, new array, array region out,
//!   direct buffer address), check for an exception after each of them, and
//!   on any error or panic hand over to the *same* throwing code as the
//!   generic entry. Same guarantees: panic boundary, no JNI call while an
//!   exception is pending, typed exceptions.
//!
//! All raw-table code and every `unsafe` block are in [`jvm`]; every other
//! module is `#![forbid(unsafe_code)]`.
//!
//! ## Handles
//! Java holds `long` ids from generation-checked [`bridgehost::internal::handles::HandleTable`]s
//! ([`registry`]), never pointers: a stale, closed or forged id is a
//! `ClosedException`, never a crash.
//!
//! ## Memory: which path copies and which pins
//! * `byte[]` input is **copied** (`GetByteArrayRegion`) into native memory
//!   before the module runs. No critical region (`GetPrimitiveArrayCritical`)
//!   is ever taken: a module call may block (sleep, I/O, an IPC round trip
//!   under isolation, the instance's serialization lock, a close waiting for
//!   calls in flight), and holding a critical region across a blocking call
//!   stalls every GC in the JVM.
//! * Direct `ByteBuffer` input/output is **zero-copy**: its memory is outside
//!   the Java heap and never moves; the buffer object is a local reference of
//!   the running native method, so it stays reachable (and its memory
//!   allocated) until the call returns.
//! * Output is written by the module into host memory and then copied into a
//!   new `byte[]` (`SetByteArrayRegion`) or straight into a direct buffer.
//! * A `SharedBuffer` ([`shared`]) is native memory Java reaches only by
//!   copy (`put`/`get`); a call reads it in place, and a `put` is refused
//!   while a call reads it.
//! * `submit` copies its input before returning: nothing Java owns is used
//!   after the native method returns.
//!
//! ## Threads
//! Completions run on the core's pool threads and events on its dispatcher
//! thread. Such a thread attaches to the JVM once, as a daemon (so it never
//! holds up JVM exit), and detaches when it exits ([`jvm::attached`]). Every
//! delivery runs in its own local frame; a Java exception thrown by a
//! listener or a future's dependents is caught, cleared, logged and counted.
//! Classes and method ids used from these threads are resolved once in
//! `JNI_OnLoad` ([`cache`]), so delivery never depends on the thread's
//! context class loader.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod api;
#[cfg(feature = "bench")]
mod bench;
mod cache;
mod error;
mod events;
mod hot;
mod jvm;
mod logging;
mod refs;
mod registry;
mod shared;
mod submit;
