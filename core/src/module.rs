//! Module and Method: the objects front ends hold.
#![forbid(unsafe_code)]

use crate::counters::{CounterSnapshot, Counters};
use crate::error::{Error, Result};
use crate::events::{EventCallback, EventHub, Subscription};
use crate::executor::{Executor, SubmitHandle};
use crate::ffi::callbacks::InstanceEvents;
use crate::ffi::loader::{MethodInfo, ModuleInfo};
use crate::interface::typed::scalar::ScalarSignature;
use crate::options::ModuleOptions;
use crate::output::{CallOutput, Spilled};
use bridgehost_module_abi as abi;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// The outcome of [`Backend::call_direct`]: two words, returned in
/// registers (a `Result` with the full [`Error`] inline is returned through
/// memory, on every call, across the backend's dynamic dispatch).
pub(crate) enum Direct {
    /// The direct entry ran: its result slot, as the module wrote it.
    Done(u64),
    /// No direct entry to call: use the bytes entry with the wire format.
    Bytes,
    /// The call failed (kept boxed: the error path is cold).
    Failed(Box<Error>),
}

/// What runs a module's calls: in-process or in worker processes.
pub(crate) trait Backend: Send + Sync {
    /// Run method `index`; output through `out`. Counts the call in the
    /// module's counters (`calls`, or `calls_local` for the in-process
    /// backend's gate).
    fn call(&self, index: u32, input: &[u8], out: &mut CallOutput<'_>) -> Result<()>;
    /// Run method `index` through its direct entry with checked argument
    /// slots, counted like `call`; [`Direct::Bytes`] when this backend has
    /// no direct entry to call for it (isolated workers, single-thread
    /// modules, a method without one, a thread without a hazard record): the
    /// caller then uses `call` with the wire format.
    /// `here`: the calling thread's record, looked up by the caller.
    fn call_direct(
        &self,
        _index: u32,
        _args: &[u64],
        _here: Option<crate::ffi::hazard::Here>,
    ) -> Direct {
        Direct::Bytes
    }
    /// Stop: wait for or fail in-flight calls, destroy the instance(s).
    /// Called once.
    fn close(&self);
    /// The first step of `close`, for a host closing all its modules: refuse
    /// new calls and start the time calls in flight are given to finish, so
    /// that the modules' grace periods run at once, not one after another.
    /// `close` must still be called.
    fn begin_close(&self) {}
    /// True when the calling thread is serving this backend right now
    /// (inside one of its calls, or its own service thread): a `close`
    /// from here would wait for itself.
    fn reentered(&self) -> bool;
    /// Wait until every event emitted by a call that has returned is in the
    /// host's event queue (isolated workers send theirs after answering).
    /// `Err(Timeout)` at `deadline`.
    fn settle_events(&self, _deadline: Option<std::time::Instant>) -> Result<()> {
        Ok(())
    }
    /// For a subscription made now: how to count, when it ends, the events
    /// accepted but not yet in the host's queue (isolated workers'), if any.
    fn in_transit(&self) -> Option<Box<dyn crate::events::InTransit>> {
        None
    }
}

/// The longest [`Module::subscribe`] waits for events an isolated module's
/// workers accepted during calls that returned to reach the host.
pub const SUBSCRIBE_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Shared by the host and its modules.
#[derive(Debug)]
pub(crate) struct HostShared {
    pub(crate) hub: Arc<EventHub>,
    pub(crate) executor: Arc<Executor>,
}

pub(crate) struct ModuleInner {
    pub(crate) id: u64,
    pub(crate) info: ModuleInfo,
    pub(crate) options: ModuleOptions,
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) closed: AtomicBool,
    pub(crate) counters: Arc<Counters>,
    pub(crate) shared: Arc<HostShared>,
}

impl ModuleInner {
    /// Refuse a close from a thread the close would wait for.
    pub(crate) fn check_close_here(&self) -> Result<()> {
        if !self.closed.load(Ordering::Acquire) && self.backend.reentered() {
            return Err(Error::reentrant("close", &self.info.name));
        }
        Ok(())
    }

    fn try_close(&self) -> Result<()> {
        self.check_close_here()?;
        self.close();
        Ok(())
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _span = tracing::debug_span!("close", module = %self.info.name).entered();
        self.shared.hub.unsubscribe_module(self.id);
        self.backend.close();
        tracing::debug!(target: "bridgehost::module", module = %self.info.name, "module closed");
    }
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        self.close();
    }
}

/// Routes an instance's events into the host's event hub.
pub(crate) struct ModuleEvents {
    pub(crate) module_id: u64,
    pub(crate) module_name: String,
    pub(crate) hub: Weak<EventHub>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) max_event: usize,
}

impl InstanceEvents for ModuleEvents {
    fn emit(&self, topic: &str, data: &[u8]) -> i32 {
        let Some(hub) = self.hub.upgrade() else {
            return abi::API_STALE;
        };
        match hub.emit(self.module_id, topic, data, &self.counters) {
            Ok(()) => abi::API_OK,
            Err(Error::Overloaded(_)) => {
                // The module is told; it may retry: a refusal, not a loss.
                Counters::inc(&self.counters.events_refused);
                abi::API_OVERLOADED
            }
            Err(_) => abi::API_STALE,
        }
    }

    fn max_event_size(&self) -> usize {
        self.max_event
    }

    fn log(&self, level: i32, msg: &str) {
        let m = &self.module_name;
        match level {
            i32::MIN..=0 => tracing::error!(target: "bridgehost::module", module = %m, "{msg}"),
            1 => tracing::warn!(target: "bridgehost::module", module = %m, "{msg}"),
            2 => tracing::info!(target: "bridgehost::module", module = %m, "{msg}"),
            3 => tracing::debug!(target: "bridgehost::module", module = %m, "{msg}"),
            _ => tracing::trace!(target: "bridgehost::module", module = %m, "{msg}"),
        }
    }
}

/// An open module. Cheap to clone; every clone refers to the same module.
/// The module closes on [`Module::close`], when its host closes, or when the
/// last clone (and every [`Method`] resolved from it) is dropped.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.inner.info.name)
            .field("isolation", &self.inner.options.isolation)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Module {
    /// What the module's descriptor declared.
    pub fn info(&self) -> &ModuleInfo {
        &self.inner.info
    }

    /// The typed interface the module embeds (docs/TYPED.md), validated
    /// when the module was opened (in either isolation mode); `None` for a
    /// bytes-only module.
    pub fn interface(&self) -> Option<&crate::interface::Interface> {
        self.inner.info.interface.as_deref()
    }

    /// Checks that bindings generated from the WIT text `binding` work against this module
    /// ([`crate::interface::check_binding`]): generated bindings call it when they open.
    pub fn check_binding(&self, binding: &str) -> Result<()> {
        crate::interface::check_binding(&self.inner.info.path, self.interface(), binding)
    }

    /// The options it was opened with.
    pub fn options(&self) -> &ModuleOptions {
        &self.inner.options
    }

    /// Resolve a method by name, once. Calls on the returned [`Method`] pay
    /// no string lookup.
    pub fn method(&self, name: &str) -> Result<Method> {
        if self.is_closed() {
            return Err(Error::closed("module"));
        }
        let index = self
            .inner
            .info
            .methods
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "method {name:?} in module {:?}",
                    self.inner.info.name
                ))
            })?;
        let scalar = self.interface().and_then(|iface| {
            let function = iface.function(name)?;
            let signature = ScalarSignature::of(iface, function)?;
            Some(Arc::new(ScalarMethod {
                function: function.clone(),
                float_params: signature.params.iter().any(|p| p.is_float()),
                signature,
            }))
        });
        Ok(Method {
            module: Arc::clone(&self.inner),
            index: index as u32,
            info: Arc::new(self.inner.info.methods[index].clone()),
            scalar,
            lists: crate::interface::ListClaims::of(self.interface(), name),
            releases: self.interface().is_some_and(|i| i.is_drop_method(name)),
        })
    }

    /// Subscribe to events on `topic` (`"*"` for every topic). `callback`
    /// runs on the host's dispatcher thread; see [`crate::events`].
    ///
    /// The subscription gets the events accepted after it began, never one
    /// accepted before, even if that one is still queued for delivery: an
    /// event a call emitted is not delivered to a subscription made after
    /// the call returned. Isolated, an event a worker accepted during a call
    /// that returned reaches the host a little later; this first waits (at
    /// most [`SUBSCRIBE_SETTLE`]) until those announced by the workers'
    /// answers have arrived, as [`flush`](Self::flush) does, so they are not
    /// this subscription's either.
    pub fn subscribe(&self, topic: &str, callback: EventCallback) -> Result<Subscription> {
        if self.is_closed() {
            return Err(Error::closed("module"));
        }
        // A worker that does not deliver in time (stopped, dying) does not
        // hold the subscription up: its late events may then be delivered.
        let _ = self
            .inner
            .backend
            .settle_events(std::time::Instant::now().checked_add(SUBSCRIBE_SETTLE));
        self.inner.shared.hub.subscribe(
            self.inner.id,
            topic,
            callback,
            Arc::clone(&self.inner.counters),
            self.inner.backend.in_transit(),
        )
    }

    /// Close: unsubscribe everything (waiting out deliveries in progress),
    /// wait for calls in flight, destroy the instance. Idempotent; later
    /// calls fail with [`Error::Closed`].
    ///
    /// From a thread inside one of this module's own calls (module code
    /// that reached back into the host, a log sink running on the calling
    /// thread) the close would wait for itself: it is refused with
    /// `InvalidArgument` and the module stays open.
    pub fn try_close(&self) -> Result<()> {
        self.inner.try_close()
    }

    /// [`try_close`](Self::try_close) for callers that cannot handle the
    /// error: a refused (re-entrant) close is logged at `warn` and the
    /// module stays open.
    pub fn close(&self) {
        if let Err(e) = self.inner.try_close() {
            tracing::warn!(target: "bridgehost::module", "{e}");
        }
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Wait until every event emitted so far (accepted by the host before
    /// this call) has been delivered to every subscriber it was for: when
    /// this returns `Ok`, their callbacks have returned. Events are
    /// delivered asynchronously, so call this before unsubscribing or
    /// closing when the last events matter. It waits for the host's whole
    /// event queue (which includes this module's events).
    ///
    /// For an isolated module, every event emitted by a call that has
    /// returned is covered (the worker's answer says how many events it had
    /// accepted; this first waits until they arrived); an event a module
    /// thread emits on its own between calls, once a later call returned
    /// (see docs/ISOLATION.md).
    ///
    /// `timeout`: the longest wait, 0 up to one year (0: what was delivered
    /// already, without waiting), or `Duration::MAX` for no limit; any other
    /// value is `InvalidArgument` by the one rule every front end shows
    /// ([`Span::FlushTimeout`](crate::options::Span::FlushTimeout): "flush
    /// timeout must be at most one year, got 63072000000000000 ns").
    ///
    /// Errors: `Timeout` when `timeout` passes first, `Closed` when the
    /// module or host closed (undelivered events were discarded),
    /// `InvalidArgument` from inside an event callback.
    pub fn flush(&self, timeout: std::time::Duration) -> Result<()> {
        if timeout != std::time::Duration::MAX {
            crate::options::Span::FlushTimeout.check(timeout)?;
        }
        if self.is_closed() {
            return Err(Error::closed("module"));
        }
        let deadline = std::time::Instant::now().checked_add(timeout);
        self.inner
            .backend
            .settle_events(deadline)
            .map_err(|_| Error::Timeout(timeout))?;
        let left = deadline.map_or(timeout, |d| {
            d.saturating_duration_since(std::time::Instant::now())
        });
        self.inner.shared.hub.flush(left)
    }

    /// This module's counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.inner.counters.snapshot()
    }

    /// The live counters (front ends add callback errors to them).
    pub fn counters_ref(&self) -> &Arc<Counters> {
        &self.inner.counters
    }
}

/// A resolved method. Cheap to clone; keeps its module alive.
#[derive(Clone)]
pub struct Method {
    module: Arc<ModuleInner>,
    index: u32,
    info: Arc<MethodInfo>,
    /// The method's typed function when it is direct-eligible.
    scalar: Option<Arc<ScalarMethod>>,
    /// What a typed call may claim about its `list<u8>` input and output
    /// ([`crate::interface::check_list_claim`]).
    lists: crate::interface::ListClaims,
    /// The method is the `[resource-drop]R` of a resource the module's
    /// interface declares: its submits are never refused as overloaded.
    releases: bool,
}

/// A direct-eligible method's function and signature (docs/TYPED.md,
/// "Direct calls").
#[derive(Debug)]
struct ScalarMethod {
    function: crate::interface::typed::Function,
    signature: ScalarSignature,
    /// A parameter is `f32`/`f64`: its NaNs are made canonical before the
    /// module sees them, as the wire encoders do.
    float_params: bool,
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Method")
            .field("module", &self.module.info.name)
            .field("name", &self.info.name)
            .finish()
    }
}

impl Method {
    /// See [`crate::interface::check_list_claim`].
    pub(crate) fn list_claims(&self) -> crate::interface::ListClaims {
        self.lists
    }

    /// The method's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Its flags.
    pub fn info(&self) -> &MethodInfo {
        &self.info
    }

    /// True when the module promises the method never blocks (front ends may
    /// skip releasing the GIL or similar per-call transitions).
    /// Always false under isolation: an IPC round trip blocks.
    pub fn is_nonblocking(&self) -> bool {
        self.info.is_nonblocking()
            && self.module.options.isolation == crate::options::Isolation::InProcess
    }

    /// The module this method belongs to.
    pub fn module(&self) -> Module {
        Module {
            inner: Arc::clone(&self.module),
        }
    }

    /// Largest output this method may produce.
    pub fn max_output(&self) -> usize {
        self.module.options.max_output
    }

    /// Largest input this method accepts (larger is `ResourceLimit`).
    pub fn max_input(&self) -> usize {
        self.module.options.max_input
    }

    /// The core's input-length rule, for a bridge that must refuse an input
    /// before it copies it (a Java array, a C pointer): `ResourceLimit` with
    /// the same message as a call's own refusal. Not counted as an error (the
    /// call never started).
    #[inline]
    pub fn check_input_len(&self, len: usize) -> Result<()> {
        if len > self.module.options.max_input {
            return Err(self.input_too_large(len));
        }
        Ok(())
    }

    /// The `ResourceLimit` of an input over `max_input` (kept off the call path).
    #[cold]
    #[inline(never)]
    fn input_too_large(&self, input_len: usize) -> Error {
        Error::ResourceLimit(format!(
            "input of {input_len} bytes exceeds max_input of {} bytes",
            self.module.options.max_input
        ))
    }

    /// Call on this thread; the output is a new `Vec`.
    pub fn call(&self, input: &[u8]) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.call_with(input, &mut v)?;
        Ok(v)
    }

    /// Call on this thread, writing the output into `buf` (cleared first):
    /// lets a front end reuse one buffer across calls.
    pub fn call_with(&self, input: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let mut out = CallOutput::to_vec(buf, self.module.options.max_output);
        self.call_into(input, &mut out).map(|_| ())
    }

    /// Call on this thread, writing into a caller buffer. If the output does
    /// not fit, the result is [`Error::BufferTooSmall`] with the size
    /// required (the method ran; run it again with a larger buffer only if it
    /// is idempotent).
    pub fn call_to_slice(&self, input: &[u8], buf: &mut [u8]) -> Result<usize> {
        let mut out = CallOutput::to_slice(buf, self.module.options.max_output);
        self.call_into(input, &mut out)
    }

    /// Call on this thread, writing into `buf` while the output fits; an
    /// output that does not fit is returned whole in a new `Vec` instead. The
    /// method runs exactly once whatever the output's size (front ends use
    /// this to avoid both a second call and a copy of small outputs).
    #[inline]
    pub fn call_spill(&self, input: &[u8], buf: &mut [u8]) -> Result<Spilled> {
        let mut out = CallOutput::to_slice_or_spill(buf, self.module.options.max_output);
        self.call_into(input, &mut out)?;
        out.finish_spill()
    }

    /// [`call_with`](Self::call_with), cancellable through `token` (from
    /// another thread, or by `poll`, which is asked on this thread about
    /// every [`crate::executor::POLL_EVERY`] while the call waits for its
    /// isolated worker, and at once when a signal interrupts the wait; a
    /// front end polls its runtime's pending signals there). A cancelled
    /// isolated call ends with `Cancelled` (its worker is killed and
    /// replaced; `cancelled` counts it). A running in-process call cannot be
    /// interrupted: it never waits here, `poll` is not asked and a cancel
    /// returns false.
    pub fn call_cancellable(
        &self,
        input: &[u8],
        buf: &mut Vec<u8>,
        token: &crate::CallCancel,
        poll: Option<crate::executor::CancelPoll>,
    ) -> Result<()> {
        self.cancellable(token, poll, || self.call_with(input, buf))
    }

    /// Run `call`, one call of this method on this thread (e.g. a
    /// [`call_scalar`](Self::call_scalar) or a [`call_into`](Self::call_into)),
    /// cancellable through `token` and `poll` exactly as
    /// [`call_cancellable`](Self::call_cancellable) is: the front ends'
    /// typed calls use it so that a signal interrupts them as it interrupts a
    /// bytes call.
    pub fn cancellable<R>(
        &self,
        token: &crate::CallCancel,
        poll: Option<crate::executor::CancelPoll>,
        call: impl FnOnce() -> Result<R>,
    ) -> Result<R> {
        crate::executor::run_cancellable(token, poll, &self.module.counters, call)
    }

    /// Call on this thread with an explicit sink.
    #[inline]
    pub fn call_into(&self, input: &[u8], out: &mut CallOutput<'_>) -> Result<usize> {
        let m = &*self.module;
        if m.closed.load(Ordering::Acquire) || input.len() > m.options.max_input {
            return Err(self.refused(input.len()));
        }
        // The backend samples latencies (`Counters::timed`).
        match m.backend.call(self.index, input, out) {
            // A `[resource-drop]R` has no output: one that returns some is
            // refused here, for every front end and both modes (the module
            // dropped the object or not; the caller's handle is released).
            Ok(()) if self.releases && !out.is_empty() => Err(self.drop_output(out.len())),
            Ok(()) => Ok(out.len()),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// The refusal of a resource drop that returned `len` bytes (kept off
    /// the call path).
    #[cold]
    #[inline(never)]
    fn drop_output(&self, len: usize) -> Error {
        let unit = if len == 1 { "byte" } else { "bytes" };
        self.bad_result(format!("{len} {unit}, expected none"))
    }

    /// Why a call was refused before it started (kept off the call path).
    #[cold]
    #[inline(never)]
    fn refused(&self, input_len: usize) -> Error {
        let m = &*self.module;
        if m.closed.load(Ordering::Acquire) {
            return Error::closed("module");
        }
        Counters::inc(&m.counters.errors);
        self.input_too_large(input_len)
    }

    /// Count and trace a failed call (kept off the call path).
    #[cold]
    #[inline(never)]
    fn failed(&self, e: Error) -> Error {
        let m = &*self.module;
        Counters::inc(&m.counters.errors);
        if matches!(e, Error::Timeout(_)) {
            Counters::inc(&m.counters.timeouts);
        }
        tracing::trace!(target: "bridgehost::call", module = %m.info.name, method = %self.info.name, error = %e, "call failed");
        e
    }

    /// The parameter and result types of this method's typed function when
    /// it is direct-eligible (plain, at most 8 parameters and none or one
    /// result, all scalars): then [`call_scalar`](Self::call_scalar) takes
    /// it. `None` for every other method and for bytes-only modules.
    pub fn scalar_signature(&self) -> Option<&ScalarSignature> {
        self.scalar.as_deref().map(|s| &s.signature)
    }

    /// Call a direct-eligible method (see
    /// [`scalar_signature`](Self::scalar_signature)) with one 64-bit slot per
    /// argument, returning the result's slot (0 for a function without a
    /// result); the slots are docs/TYPED.md's "Direct calls" encoding.
    ///
    /// In-process, a module that exports a direct entry for the method runs
    /// it: no encoding, no output buffer. Otherwise (isolated workers,
    /// single-thread modules, no direct entry) the same arguments go through
    /// the ordinary call in the wire format, so the result is the same.
    /// A method without a scalar signature, a wrong count or a slot that is
    /// not a value of its parameter's type is `InvalidArgument` (no module
    /// code runs); a result slot that is not a value of the result type is
    /// `AbiMismatch`, as a malformed typed result is.
    pub fn call_scalar(&self, args: &[u64]) -> Result<u64> {
        self.call_scalar_in(crate::ffi::hazard::here(), args)
    }

    /// [`call_scalar`](Self::call_scalar) with the calling thread's record
    /// already looked up (see [`Registry::call_scalar`](crate::registry::Registry::call_scalar)).
    #[inline]
    pub(crate) fn call_scalar_in(
        &self,
        here: Option<crate::ffi::hazard::Here>,
        args: &[u64],
    ) -> Result<u64> {
        let Some(s) = self.scalar.as_deref() else {
            return Err(self.not_scalar());
        };
        if let Err(e) = s.signature.check_args(&s.function, args) {
            return Err(self.bad_scalar_args(e));
        }
        let m = &*self.module;
        if m.closed.load(Ordering::Acquire) {
            return Err(Error::closed("module"));
        }
        // Every NaN argument is the canonical one, whichever entry runs (the
        // wire encoders write it so).
        let canonical: [u64; crate::interface::typed::scalar::MAX_PARAMS];
        let args = if s.float_params {
            canonical = std::array::from_fn(|i| match (s.signature.params.get(i), args.get(i)) {
                (Some(ty), Some(&a)) => ty.canonical(a),
                _ => 0,
            });
            &canonical[..args.len()]
        } else {
            args
        };
        match m.backend.call_direct(self.index, args, here) {
            Direct::Done(slot) => match s.signature.invalid_result(slot) {
                // A NaN result is the canonical one, as the wire decoders
                // yield it.
                None => Ok(s.signature.result.map_or(slot, |r| r.canonical(slot))),
                Some(why) => Err(self.bad_result(format!("direct result slot: {why}"))),
            },
            Direct::Failed(e) => Err(self.failed(*e)),
            Direct::Bytes => self.call_scalar_bytes(s, args),
        }
    }

    /// [`call_scalar`](Self::call_scalar) through the bytes entry.
    #[inline(never)]
    fn call_scalar_bytes(&self, s: &ScalarMethod, args: &[u64]) -> Result<u64> {
        let mut input = [0u8; crate::interface::typed::scalar::MAX_WIRE_PARAMS];
        let n = s.signature.encode_args(args, &mut input);
        let mut out = [0u8; 16];
        let spilled;
        let bytes = match self.call_spill(&input[..n], &mut out)? {
            Spilled::InBuffer(len) => &out[..len],
            Spilled::Spilled(v) => {
                spilled = v;
                &spilled[..]
            }
        };
        let Some(iface) = self.module.info.interface.as_deref() else {
            return Err(self.not_scalar());
        };
        // Decoded by the wire codec: an output that does not match is
        // refused in the words every other typed call uses.
        s.signature
            .decode_result(iface, &s.function, bytes)
            .map_err(|e| self.bad_result(e.to_string()))
    }

    #[cold]
    #[inline(never)]
    fn not_scalar(&self) -> Error {
        Error::InvalidArgument(format!(
            "method {:?} has no scalar signature (its typed function is not \
             direct-eligible, or the module has no typed interface)",
            self.info.name
        ))
    }

    #[cold]
    #[inline(never)]
    fn bad_scalar_args(&self, e: crate::interface::typed::Error) -> Error {
        match e {
            crate::interface::typed::Error::Value(m) => Error::InvalidArgument(m),
            other => Error::InvalidArgument(other.to_string()),
        }
    }

    /// A result the module returned that is not a value of the result
    /// type: counted as a failed call.
    #[cold]
    #[inline(never)]
    fn bad_result(&self, reason: String) -> Error {
        self.failed(Error::AbiMismatch {
            path: self.module.info.path.clone(),
            reason: format!(
                "output of {} does not match its interface: {reason}",
                self.info.name
            ),
        })
    }

    /// Run the call on the host's pool threads. `done` is invoked exactly
    /// once, on a pool thread (or, for tasks still queued when the host
    /// closes, on the closing thread), with the output or the error
    /// ([`Error::Cancelled`] when cancelled before it started,
    /// [`Error::Closed`] when the host closed first).
    /// `input` is owned: nothing the caller pinned is used after `submit` returns.
    /// A full queue is [`Error::Overloaded`], except for the `[resource-drop]R`
    /// of a resource the module's interface declares, which is queued anyway
    /// (the runtimes submit it when the garbage collector releases an object:
    /// a refusal would leak the module's object until the module closes).
    pub fn submit<F>(&self, input: Vec<u8>, done: F) -> Result<SubmitHandle>
    where
        F: FnOnce(Result<Vec<u8>>) + Send + 'static,
    {
        if self.module.closed.load(Ordering::Acquire) {
            return Err(Error::closed("module"));
        }
        let method = self.clone();
        let executor: &Arc<Executor> = &self.module.shared.executor;
        // A resource's drop is queued even when the queue is full: the
        // runtimes submit it when the garbage collector releases an object,
        // and a refusal there would leak the module's object.
        let admission = if self.releases {
            crate::executor::Admission::Release
        } else {
            crate::executor::Admission::Bounded
        };
        let h = executor.submit(
            Box::new(move |forced| {
                let r = match forced {
                    Some(e) => Err(e),
                    None => method.call(&input),
                };
                crate::executor::leave_task();
                drop(method);
                done(r)
            }),
            admission,
        )?;
        Counters::inc(&self.module.counters.submits);
        Ok(h.with_counters(Arc::clone(&self.module.counters)))
    }
}
