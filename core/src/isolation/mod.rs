//! Process isolation: a module runs in sandboxed, supervised worker
//! processes, so that a segfault, abort, hang, runaway memory or a hostile
//! module fails only the request it was serving.
//!
//! See `docs/ISOLATION.md` for the design. In short:
//!
//! * **Workers** (`bridgehost-worker`, found by [`crate::locate::resolve_worker`])
//!   are started with `posix_spawn` from the module's supervisor thread —
//!   never a bare fork of the host — with an empty environment, no inherited
//!   descriptors and their own session ([`sys::spawn_worker`]).
//! * **Transport**: a `SOCK_SEQPACKET` control socket plus a shared control
//!   block with futex-based wake-ups; payloads above 64 KiB go through
//!   sealed memfd regions ([`protocol`]). Nothing uses stdout/stderr.
//! * **The worker is untrusted**: every field it sends is validated, shared
//!   memory is copied before it is checked, and a violation is
//!   [`Error::Protocol`] plus a kill.
//! * **Supervision**: deadlines, crash / exit / memory classification,
//!   respawn with back-off, a warm spare, a circuit breaker ([`Supervision`]).
//! * **Sandbox**: no_new_privs, a seccomp allow-list, rlimits (address space,
//!   CPU, file size, open files, no core dumps).
//!
//! `unsafe` lives only in `sys/`; every other file here is
//! `#![forbid(unsafe_code)]`.

mod breaker;
mod pool;
pub(crate) mod protocol; // `fuzz_host_decoder`: reached only through `crate::internal`
mod remote;
mod sandbox;
mod shared_buffer;
mod supervisor;
mod sys;
mod transit;
// Reached only through `crate::internal`.
pub use sys::{copy_from_shared, copy_to_shared};
pub(crate) mod worker; // `worker_main`: reached only through `crate::internal`

use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::ffi::loader::ModuleInfo;
use crate::module::Backend;
use crate::options::ModuleOptions;
use crate::output::CallOutput;
use crate::sync::Mutex;
use breaker::Breaker;
use pool::{Config, Outcome, Pool, Role, Shared};
use remote::{CallCx, CallError, Limits};
pub use shared_buffer::{CallLease, GuardedSharedBuffer, RequestedLen, SharedBuffer};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds between the soft and the hard CPU limit: after the soft limit a
/// worker finishes its call and retires; at the hard limit it is killed.
pub(crate) const CPU_LIMIT_GRACE_SECS: u64 = 5;

/// How isolated workers are supervised and sandboxed. The defaults suit most
/// modules; tests and hostile environments tune them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervision {
    /// Ready workers kept warm beside the pool, to replace a crashed one at
    /// once (0..=8).
    pub spare_workers: usize,
    /// Worker failures (crash, exit, timeout, protocol violation, failed
    /// start) within [`Supervision::breaker_window`], with no successful call
    /// in between, that open the circuit breaker.
    pub breaker_failures: u32,
    /// See [`Supervision::breaker_failures`].
    pub breaker_window: Duration,
    /// How long an open breaker refuses calls (doubles on each re-trip, up to
    /// 60 s; a success resets it).
    pub breaker_cooldown: Duration,
    /// Longest a worker may take to load the module and run its `init`.
    pub startup_timeout: Duration,
    /// At close, how long calls in flight may still finish before their
    /// workers are killed (they then fail with `Closed`).
    pub close_grace: Duration,
    /// CPU time a worker may use (RLIMIT_CPU). A worker that reaches it
    /// finishes its call and is replaced; a call still running
    /// [`CPU_LIMIT_GRACE_SECS`] later is killed (`ResourceLimit`). `None`:
    /// unlimited.
    pub cpu_limit: Option<Duration>,
    /// Descriptors a worker may have open (RLIMIT_NOFILE, 16..=65536).
    pub open_files: u64,
    /// Install the seccomp filter and no_new_privs (disable only to debug a
    /// module that needs a forbidden system call).
    pub sandbox: bool,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            spare_workers: 1,
            breaker_failures: 5,
            breaker_window: Duration::from_secs(30),
            breaker_cooldown: Duration::from_secs(1),
            startup_timeout: Duration::from_secs(10),
            close_grace: Duration::from_secs(5),
            cpu_limit: Some(Duration::from_secs(3600)),
            open_files: 64,
            sandbox: true,
        }
    }
}

impl Supervision {
    /// Every setting against its one rule ([`Numeric`](crate::options::Numeric),
    /// [`Span`](crate::options::Span)): the ranges and messages every front end shows.
    pub(crate) fn validate(&self) -> Result<()> {
        use crate::options::{Numeric, Span};
        Numeric::SpareWorkers.check(self.spare_workers as i128)?;
        Numeric::BreakerFailures.check(i128::from(self.breaker_failures))?;
        Span::BreakerWindow.check(self.breaker_window)?;
        Span::BreakerCooldown.check(self.breaker_cooldown)?;
        Span::StartupTimeout.check(self.startup_timeout)?;
        Span::CloseGrace.check(self.close_grace)?;
        if let Some(c) = self.cpu_limit {
            Span::CpuLimit.check(c)?;
        }
        Numeric::OpenFiles.check(i128::from(self.open_files))?;
        Ok(())
    }

    /// The settings that differ from the defaults and mean something only to
    /// a module's own workers (not to `validate_in_worker`'s), by name.
    pub(crate) fn worker_only_changes(&self) -> Vec<&'static str> {
        let d = Supervision::default();
        let mut v = Vec::new();
        let mut check = |changed: bool, name| {
            if changed {
                v.push(name);
            }
        };
        check(self.spare_workers != d.spare_workers, "spare_workers");
        check(
            self.breaker_failures != d.breaker_failures,
            "breaker_failures",
        );
        check(self.breaker_window != d.breaker_window, "breaker_window");
        check(
            self.breaker_cooldown != d.breaker_cooldown,
            "breaker_cooldown",
        );
        check(self.close_grace != d.close_grace, "close_grace");
        check(self.cpu_limit != d.cpu_limit, "cpu_limit");
        check(self.open_files != d.open_files, "open_files");
        v
    }

    /// The settings that differ from the defaults and mean something to a
    /// worker that validates a module (`validate_in_worker`) too.
    pub(crate) fn validation_changes(&self) -> Vec<&'static str> {
        let d = Supervision::default();
        let mut v = Vec::new();
        if self.startup_timeout != d.startup_timeout {
            v.push("startup_timeout");
        }
        if self.sandbox != d.sandbox {
            v.push("sandbox");
        }
        v
    }
}

/// A worker inherits this process's hard resource limits and cannot raise
/// them: a limit the caller set above one is `ResourceLimit` at open,
/// naming both (a default above one is lowered to it by the worker instead,
/// so a host started under `ulimit -t 100` still runs isolated modules).
/// `hard` reads this process's hard limit (`None`: unlimited).
fn check_inherited_limits(
    options: &ModuleOptions,
    hard: impl Fn(sys::Rlimit) -> Option<u64>,
) -> Result<()> {
    let sup = &options.supervision;
    let defaults = Supervision::default();
    let over = |which, wanted: u64, what: String, unit: &str, how: &str| match hard(which) {
        Some(h) if wanted > h => Err(Error::ResourceLimit(format!(
            "{what} needs a hard limit of {wanted} {unit}, above this process's {h} {unit} \
             (which a worker inherits and cannot raise): ask for less, or start the host with \
             a higher one ({how})"
        ))),
        _ => Ok(()),
    };
    if let Some(c) = sup
        .cpu_limit
        .filter(|_| sup.cpu_limit != defaults.cpu_limit)
    {
        let secs = c.as_secs().max(1);
        over(
            sys::Rlimit::Cpu,
            secs.saturating_add(CPU_LIMIT_GRACE_SECS),
            format!("cpu_limit of {secs} s (plus {CPU_LIMIT_GRACE_SECS} s to finish its call)"),
            "s",
            "ulimit -Ht",
        )?;
    }
    if sup.open_files != defaults.open_files {
        over(
            sys::Rlimit::OpenFiles,
            sup.open_files,
            format!("open_files of {}", sup.open_files),
            "descriptors",
            "ulimit -Hn",
        )?;
    }
    if let Some(m) = options.memory_limit {
        over(
            sys::Rlimit::AddressSpace,
            m,
            format!("memory_limit of {m} bytes"),
            "bytes",
            "ulimit -Hv",
        )?;
    }
    Ok(())
}

/// Smallest memory limit accepted: below it the worker cannot even load.
const MIN_MEMORY_LIMIT: u64 = 32 << 20;

/// The backend of a module opened with [`crate::Isolation::Process`].
struct Isolated {
    /// The process that opened the module. In a forked child of the host
    /// (no supervisor thread, the workers are its parent's), close only
    /// releases this copy's descriptors.
    owner: i32,
    shared: Arc<Shared>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
    methods: Vec<String>,
    /// Per method index: a `[resource-drop]R` of the interface (see
    /// [`Shared::checkout`]).
    drops: Vec<bool>,
    limits: Limits,
    closed: AtomicBool,
    /// When calls in flight stop being waited for at close: set by the first
    /// of `begin_close` and `close`.
    close_deadline: std::sync::OnceLock<Instant>,
}

/// Open `path` in worker processes.
pub(crate) fn open(
    path: &Path,
    options: &ModuleOptions,
    module_id: u64,
    hub: Weak<EventHub>,
    counters: Arc<Counters>,
) -> Result<(ModuleInfo, Box<dyn Backend>)> {
    open_with(path, options, module_id, hub, counters, false)
}

/// [`open`]; with `validate_only` the workers load and validate the module
/// and report its descriptor, but create no instance (see `crate::validate`).
pub(crate) fn open_with(
    path: &Path,
    options: &ModuleOptions,
    module_id: u64,
    hub: Weak<EventHub>,
    counters: Arc<Counters>,
    validate_only: bool,
) -> Result<(ModuleInfo, Box<dyn Backend>)> {
    let sup = &options.supervision;
    sup.validate()?;
    if options.memory_limit.is_some_and(|m| m < MIN_MEMORY_LIMIT) {
        return Err(Error::InvalidArgument(format!(
            "memory_limit must be at least {MIN_MEMORY_LIMIT} bytes (the worker's own address space)"
        )));
    }
    check_inherited_limits(options, sys::hard_limit)?;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::NotFound(format!(
                "{} is not a regular file",
                path.display()
            )))
        }
        Err(e) => return Err(Error::NotFound(format!("{}: {e}", path.display()))),
    }
    let exe = crate::locate::resolve_worker(options.worker_path.as_deref())?;
    let path_shown = path.display().to_string();
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let cfg = Config {
        module_id,
        path_shown,
        path,
        exe,
        workers: options.workers,
        spares: sup.spare_workers,
        timeout: options.call_timeout,
        memory_limit: options.memory_limit,
        cpu_limit: sup.cpu_limit,
        open_files: sup.open_files,
        max_input: options.max_input,
        max_event: options.max_event,
        config: options.config.clone(),
        sandbox: sup.sandbox,
        validate_only,
        startup_timeout: sup.startup_timeout,
        close_grace: sup.close_grace,
    };
    let shared = Arc::new(Shared {
        pool: Mutex::new(Pool::new(Breaker::new(
            sup.breaker_failures,
            sup.breaker_window,
            sup.breaker_cooldown,
        ))),
        cv: crate::sync::Condvar::new(),
        wake: sys::EventFd::new().map_err(|e| Error::Internal(format!("eventfd: {e}")))?,
        stop: AtomicBool::new(false),
        arrivals: Mutex::new(()),
        arrivals_cv: crate::sync::Condvar::new(),
        transit: Mutex::new(transit::Transit::default()),
        hub,
        counters,
        cfg,
    });
    let for_thread = Arc::clone(&shared);
    let handle = std::thread::Builder::new()
        .name(format!("bridgehost-sup-{module_id}"))
        .spawn(move || supervisor::run(for_thread))
        .map_err(|e| Error::Internal(format!("cannot start the supervisor thread: {e}")))?;
    let mut backend = Isolated {
        owner: sys::own_pid(),
        limits: Limits {
            memory: options.memory_limit,
            cpu: sup.cpu_limit,
        },
        shared,
        supervisor: Mutex::new(Some(handle)),
        methods: Vec::new(),
        drops: Vec::new(),
        closed: AtomicBool::new(false),
        close_deadline: std::sync::OnceLock::new(),
    };
    let hello = match backend
        .shared
        .wait_first_ready(sup.startup_timeout + Duration::from_secs(1))
    {
        Ok(h) => h,
        Err(e) => {
            backend.close();
            return Err(e);
        }
    };
    if hello.stateful && backend.shared.cfg.workers > 1 && !validate_only {
        let n = backend.shared.cfg.workers;
        backend.close();
        return Err(Error::InvalidArgument(format!(
            "module {:?} declares itself stateful (BH_MODULE_STATEFUL): its state lives in one \
             worker's instance, so workers must be 1 (got {n}); each worker would hold a \
             separate copy of the state (see docs/ISOLATION.md, \"Stateful modules\")",
            hello.name
        )));
    }
    backend.methods = hello.methods.iter().map(|m| m.name.clone()).collect();
    // The worker is not trusted to have validated the interface: do it here.
    let interface = match crate::interface::from_worker(
        &backend.shared.cfg.path_shown,
        hello.interface.as_ref(),
        &hello.methods,
        hello.stateful,
    ) {
        Ok(i) => i,
        Err(e) => {
            backend.close();
            return Err(e);
        }
    };
    backend.drops = backend
        .methods
        .iter()
        .map(|m| interface.as_ref().is_some_and(|i| i.is_drop_method(m)))
        .collect();
    let info = ModuleInfo {
        path: backend.shared.cfg.path_shown.clone(),
        name: hello.name,
        version: hello.version,
        abi_version: hello.abi_version,
        thread_model: hello.thread_model,
        stateful: hello.stateful,
        methods: hello.methods,
        interface,
    };
    Ok((info, Box::new(backend)))
}

impl Backend for Isolated {
    fn call(&self, index: u32, input: &[u8], out: &mut CallOutput<'_>) -> Result<()> {
        self.shared
            .counters
            .timed_on_thread_tick(|| self.call_untimed(index, input, out))
    }

    fn close(&self) {
        self.close_workers();
    }

    fn begin_close(&self) {
        // A forked copy touches nothing of its parent's (see close_workers).
        if sys::own_pid() == self.owner && !self.closed.load(Ordering::Acquire) {
            self.begin_closing();
        }
    }

    fn settle_events(&self, deadline: Option<Instant>) -> Result<()> {
        // Every event a returned call emitted was accepted by its worker
        // before the worker answered, and the answer says how many the
        // worker had accepted: wait until the supervisor has received that
        // many from each worker (a dead worker's unsent events are lost with
        // it). Checked under `arrivals`, which the supervisor takes to
        // notify, so no arrival is missed; the slice bounds the wait for a
        // death, which is not notified.
        let slice = Duration::from_millis(20);
        let mut g = self.shared.arrivals.lock();
        loop {
            let settled = {
                let pool = self.shared.pool.lock();
                pool.slots.iter().all(|s| s.worker.events_settled())
            };
            if settled {
                return Ok(());
            }
            let now = Instant::now();
            let until = match deadline {
                Some(d) if d <= now => {
                    return Err(Error::Timeout(Duration::ZERO));
                }
                Some(d) => d.min(now + slice),
                None => now + slice,
            };
            let _ = self.shared.arrivals_cv.wait_until(&mut g, until);
        }
    }

    fn in_transit(&self) -> Option<Box<dyn crate::events::InTransit>> {
        Some(Box::new(transit::Mark::new(&self.shared)))
    }

    fn reentered(&self) -> bool {
        // The supervisor thread delivers the workers' logs (a log sink may
        // run module code there); closing from it would join itself.
        self.supervisor
            .lock()
            .as_ref()
            .is_some_and(|h| h.thread().id() == std::thread::current().id())
    }
}

impl Isolated {
    fn call_untimed(&self, index: u32, input: &[u8], out: &mut CallOutput<'_>) -> Result<()> {
        Counters::inc(&self.shared.counters.calls);
        if sys::own_pid() != self.owner {
            return Err(Error::Closed(
                "this isolated module belongs to the parent process (the host forked)".into(),
            ));
        }
        let cfg = &self.shared.cfg;

        // A worker that died before it started the call (it retired, or a
        // module thread crashed it while idle) does not fail the call: it is
        // re-dispatched, a bounded number of times.
        let mut redispatched = 0;
        // A submitted call can be cancelled while it runs: the hook kills
        // its worker (the call then fails with `Cancelled`, the worker is
        // replaced). Installed and removed around each worker call, so it
        // never kills a worker serving another call.
        // While it waits for a worker, the hook stops the wait. (`cancel`
        // returns true exactly when it ran a hook, and counts it: the call
        // then ends with `Cancelled`.)
        let task = crate::executor::current_task();
        let deadline = cfg
            .timeout
            .and_then(|t| Some((Instant::now().checked_add(t)?, t)));
        // One deadline from when the call was made: the wait for a free or
        // restarting worker and the run share `call_timeout`.
        let cx = CallCx {
            max_output: out.max(),
            max_input: cfg.max_input,
            timeout: cfg.timeout,
            deadline: deadline.map(|(at, _)| at),
            method: self.methods.get(index as usize).map_or("?", String::as_str),
            limits: self.limits,
        };
        let stop_wait = Arc::new(AtomicBool::new(false));
        loop {
            if let Some(t) = &task {
                let (flag, shared) = (Arc::clone(&stop_wait), Arc::clone(&self.shared));
                let hook = Box::new(move || {
                    flag.store(true, Ordering::Release);
                    shared.cv.notify_all();
                });
                if !t.set_cancel_hook(hook) {
                    return Err(Error::Cancelled);
                }
            }
            let drops = self.drops.get(index as usize).copied().unwrap_or(false);
            let Some(w) = self.shared.checkout(deadline, &stop_wait, drops)? else {
                // A drop with nothing to drop (its instance was lost): done,
                // with no output.
                if let Some(t) = &task {
                    t.clear_cancel_hook();
                }
                return Ok(());
            };
            if let Some(t) = &task {
                let victim = Arc::clone(&w);
                let hook = Box::new(move || victim.kill(remote::KillReason::Cancelled));
                if !t.set_cancel_hook(hook) {
                    // Cancelled before it started: it never runs.
                    self.shared.checkin(&w, Outcome::Healthy);
                    return Err(Error::Cancelled);
                }
            }
            let r = w.call(index, input, out, &cx);
            if let Some(t) = &task {
                t.clear_cancel_hook();
            }
            // A worker replaced after an innocent call (a violation it
            // committed before the call, blamed on no call) goes.
            let kept = |ok: bool| {
                if ok && w.reusable() {
                    Outcome::Healthy
                } else {
                    Outcome::Lost
                }
            };
            match r {
                Ok(()) => {
                    self.shared.checkin(&w, kept(true));
                    return Ok(());
                }
                Err(CallError::NotStarted) => {
                    self.shared.checkin(&w, Outcome::Lost);
                    redispatched += 1;
                    if redispatched > 3 {
                        return Err(Error::Unavailable(
                            "workers keep dying before they can take the call".into(),
                        ));
                    }
                    out.reset();
                }
                Err(CallError::Failed { error, worker_ok }) => {
                    self.shared.checkin(&w, kept(worker_ok));
                    return Err(error);
                }
            }
        }
    }

    /// Refuse new calls (callers waiting for a worker get Closed) and start
    /// the close grace, once; returns when it ends.
    fn begin_closing(&self) -> Instant {
        let shared = &self.shared;
        *self.close_deadline.get_or_init(|| {
            shared.pool.lock().closing = true;
            shared.cv.notify_all();
            Instant::now() + shared.cfg.close_grace
        })
    }

    fn close_workers(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if sys::own_pid() != self.owner {
            // A forked copy: the parent's supervisor thread does not exist
            // here and its locks may be held forever; touch nothing but our
            // own copies of the descriptors (dropped with `self`).
            if let Some(mut g) = self.supervisor.try_lock() {
                std::mem::forget(g.take());
            }
            return;
        }
        let _span =
            tracing::debug_span!("isolation_close", module = %self.shared.cfg.path_shown).entered();
        let shared = &self.shared;
        // 1. No new calls; callers waiting for a worker get Closed.
        // 2. Calls in flight may finish within the grace period (from when
        //    the closing began: a host closing its modules begins them all
        //    first) ...
        let deadline = self.begin_closing();
        let busy = |p: &Pool| p.count(&[Role::Busy]);
        {
            let mut pool = shared.pool.lock();
            while busy(&pool) > 0 {
                if shared.cv.wait_until(&mut pool, deadline).timed_out() {
                    break;
                }
            }
            // 3. ... then their workers are killed and they fail with Closed.
            for s in pool.slots.iter().filter(|s| s.role == Role::Busy) {
                s.worker.kill(remote::KillReason::Closed);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while busy(&pool) > 0 {
                if shared.cv.wait_until(&mut pool, deadline).timed_out() {
                    break;
                }
            }
        }
        // 4. The supervisor shuts every worker down, reaps it, and exits.
        shared.stop.store(true, Ordering::SeqCst);
        shared.wake.signal();
        if let Some(h) = self.supervisor.lock().take() {
            let _ = h.join();
        }
        shared.pool.lock().slots.clear();
        // Every worker is reaped: nothing more arrives.
        shared.transit.lock().clear();
        shared.wake.close();
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_set_above_an_inherited_hard_limit_is_refused_and_a_default_is_not() {
        use sys::Rlimit;
        let low = |r: Rlimit| match r {
            Rlimit::Cpu => Some(100),
            Rlimit::OpenFiles => Some(40),
            Rlimit::AddressSpace => Some(1 << 30),
            _ => None,
        };
        // The defaults (cpu_limit 3600 s, 64 files) pass: the worker lowers them.
        assert!(check_inherited_limits(&ModuleOptions::isolated(), low).is_ok());
        let with = |f: &dyn Fn(&mut ModuleOptions)| {
            let mut o = ModuleOptions::isolated();
            f(&mut o);
            match check_inherited_limits(&o, low) {
                Err(Error::ResourceLimit(m)) => m,
                other => panic!("{other:?}"),
            }
        };
        let m = with(&|o| o.supervision.cpu_limit = Some(Duration::from_secs(96)));
        assert!(m.starts_with("cpu_limit of 96 s (plus 5 s to finish its call) needs a hard limit of 101 s, above this process's 100 s"), "{m}");
        let m = with(&|o| o.supervision.open_files = 64 + 1);
        assert!(m.starts_with("open_files of 65 needs a hard limit of 65 descriptors, above this process's 40 descriptors"), "{m}");
        let m = with(&|o| o.memory_limit = Some(2 << 30));
        assert!(
            m.starts_with("memory_limit of 2147483648 bytes needs"),
            "{m}"
        );
        // Within them, chosen values pass.
        let mut o = ModuleOptions::isolated();
        o.supervision.cpu_limit = Some(Duration::from_secs(95));
        o.supervision.open_files = 40;
        o.memory_limit = Some(1 << 30);
        assert!(check_inherited_limits(&o, low).is_ok());
        // Unlimited: anything passes.
        o.supervision.cpu_limit = Some(Duration::from_secs(365 * 86400));
        o.supervision.open_files = 65536;
        assert!(check_inherited_limits(&o, |_| None).is_ok());
    }

    #[test]
    fn supervision_validation() {
        assert!(Supervision::default().validate().is_ok());
        let bad = [
            Supervision {
                spare_workers: 9,
                ..Default::default()
            },
            Supervision {
                breaker_failures: 0,
                ..Default::default()
            },
            Supervision {
                open_files: 3,
                ..Default::default()
            },
            Supervision {
                cpu_limit: Some(Duration::from_millis(10)),
                ..Default::default()
            },
            Supervision {
                breaker_window: Duration::ZERO,
                ..Default::default()
            },
        ];
        for s in bad {
            assert!(
                matches!(s.validate(), Err(Error::InvalidArgument(_))),
                "{s:?}"
            );
        }
    }
}
