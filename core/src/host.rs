//! The Host: owns modules, the submit executor and the event dispatcher.
#![forbid(unsafe_code)]

use crate::counters::{CounterSnapshot, CounterTotals, Counters};
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::executor::Executor;
use crate::ffi::callbacks;
use crate::ffi::loader::{ModuleInfo, ModuleLibrary};
use crate::inproc::InProcess;
use crate::module::{Backend, HostShared, Module, ModuleEvents, ModuleInner};
use crate::options::{HostOptions, Isolation, ModuleOptions};
use crate::sync::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

static NEXT_MODULE_ID: AtomicU64 = AtomicU64::new(1);

struct HostInner {
    options: HostOptions,
    shared: Arc<HostShared>,
    modules: Mutex<Vec<Weak<ModuleInner>>>,
    /// Module directories added after creation ([`Host::add_module_dir`]),
    /// searched after `options.module_dirs`, in the order they were added.
    added_dirs: Mutex<Vec<PathBuf>>,
    /// Every module's counters, summed; closed modules' folded into one
    /// snapshot (nothing kept per closed module).
    counters: Arc<CounterTotals>,
    closed: AtomicBool,
}

impl HostInner {
    /// Refuse a close from inside a call of one of this host's modules (it
    /// would wait for that call, i.e. for itself).
    fn try_close(&self) -> Result<()> {
        let modules: Vec<Arc<ModuleInner>> = self
            .modules
            .lock()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect();
        for m in &modules {
            m.check_close_here()
                .map_err(|_| Error::reentrant("host close", &m.info.name))?;
        }
        self.close();
        Ok(())
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _span = tracing::debug_span!("host_close").entered();
        // 1. No new submits; queued ones complete with Closed. Running ones
        //    go on until their modules close (step 2).
        self.shared.executor.close_queue();
        // 2. Close every module still alive: an isolated call in flight gets
        //    the close grace, then its worker is killed and it fails with
        //    Closed, so a hung submitted call cannot hold the pool (issue 12,
        //    item 2). An in-process call cannot be interrupted: its module's
        //    close waits for it.
        let modules: Vec<Arc<ModuleInner>> = self
            .modules
            .lock()
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        //    Every isolated module refuses new calls and starts its close
        //    grace first, so the graces run together: N modules with calls in
        //    flight take one grace, not N.
        for m in &modules {
            if !m.closed.load(Ordering::Acquire) {
                m.backend.begin_close();
            }
        }
        for m in modules {
            Module { inner: m }.close();
        }
        // 3. Every pool thread is now free: join them.
        self.shared.executor.join();
        // 4. Stop the dispatcher (no callback runs after this returns).
        self.shared.hub.stop();
        tracing::debug!(target: "bridgehost::host", "host closed");
    }
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.close();
    }
}

/// A bridgehost host. Cheap to clone; closes when [`Host::close`] is called
/// or the last clone is dropped.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Host {
    /// A host with default options.
    pub fn new() -> Result<Host> {
        Host::with_options(HostOptions::default())
    }

    /// A host with `options`.
    pub fn with_options(mut options: HostOptions) -> Result<Host> {
        options.validate()?;
        crate::fork::register();
        let hub = EventHub::start_bounded(
            options.event_queue_capacity,
            options.event_queue_bytes,
            &options.thread_name,
        )?;
        let executor = match Executor::start(
            options.submit_threads,
            options.submit_queue_capacity,
            &options.thread_name,
        ) {
            Ok(e) => e,
            Err(e) => {
                hub.stop();
                return Err(e);
            }
        };
        Ok(Host {
            inner: Arc::new(HostInner {
                options,
                shared: Arc::new(HostShared { hub, executor }),
                modules: Mutex::new(Vec::new()),
                added_dirs: Mutex::new(Vec::new()),
                counters: Arc::default(),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The options this host was created with.
    pub fn options(&self) -> &HostOptions {
        &self.inner.options
    }

    /// Add a directory searched for modules by name, after the
    /// [`HostOptions::module_dirs`] and the directories added before it (and
    /// before `BRIDGEHOST_MODULE_PATH` and the bridge library's directory).
    /// Takes effect for the next [`open`](Self::open); adding a directory
    /// already searched is a no-op. `NotFound` if `path` does not exist,
    /// `InvalidArgument` if it is not a directory (or is empty or holds NUL),
    /// `Closed` once the host is closed.
    pub fn add_module_dir(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if self.is_closed() {
            return Err(Error::closed("host"));
        }
        let abs = crate::options::check_module_dir(path, "module directory")?;
        let mut dirs = self.inner.added_dirs.lock();
        if !self.inner.options.module_dirs.contains(&abs) && !dirs.contains(&abs) {
            tracing::debug!(target: "bridgehost::host", dir = %abs.display(), "module directory added");
            dirs.push(abs);
        }
        Ok(())
    }

    /// The directories searched for modules by name before
    /// `BRIDGEHOST_MODULE_PATH`: the options' then the added ones.
    pub fn module_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.inner.options.module_dirs.clone();
        dirs.extend(self.inner.added_dirs.lock().iter().cloned());
        dirs
    }

    /// Open a module by path or bundled name (`"std"`, `"zlib"`, ...).
    pub fn open(&self, spec: &str, options: ModuleOptions) -> Result<Module> {
        if self.is_closed() {
            return Err(Error::closed("host"));
        }
        options.validate()?;
        let path = crate::locate::resolve_module(spec, &self.module_dirs())?;
        let _span = tracing::info_span!("open", module = %path.display(), isolation = options.isolation.name()).entered();
        let id = NEXT_MODULE_ID.fetch_add(1, Ordering::Relaxed);
        let counters = Arc::new(Counters::default());
        let (info, backend): (ModuleInfo, Box<dyn Backend>) = match options.isolation {
            Isolation::InProcess => {
                if options.validate_in_worker {
                    crate::validate::validate_path(&path, &options)?;
                }
                let lib = ModuleLibrary::load(&path)?;
                let info = lib.info().clone();
                let events = Arc::new(ModuleEvents {
                    module_id: id,
                    module_name: info.name.clone(),
                    hub: Arc::downgrade(&self.inner.shared.hub),
                    counters: Arc::clone(&counters),
                    max_event: options.max_event,
                });
                let token = callbacks::register(events);
                match InProcess::start(&lib, token, &options.config, Arc::clone(&counters)) {
                    Ok(b) => (info, Box::new(b)),
                    Err(e) => {
                        callbacks::unregister(token);
                        return Err(e);
                    }
                }
            }
            Isolation::Process => crate::isolation::open(
                &path,
                &options,
                id,
                Arc::downgrade(&self.inner.shared.hub),
                Arc::clone(&counters),
            )?,
        };
        tracing::info!(target: "bridgehost::host", module = %info.name, version = %info.version, "module opened");
        let inner = Arc::new(ModuleInner {
            id,
            info,
            options,
            backend,
            closed: AtomicBool::new(false),
            counters: Arc::clone(&counters),
            shared: Arc::clone(&self.inner.shared),
        });
        {
            let mut mods = self.inner.modules.lock();
            mods.retain(|w| w.strong_count() > 0);
            mods.push(Arc::downgrade(&inner));
        }
        self.inner.counters.track(&counters);
        // A close that raced with this open must not leave the module open.
        if self.is_closed() {
            Module {
                inner: Arc::clone(&inner),
            }
            .close();
            return Err(Error::closed("host"));
        }
        Ok(Module { inner })
    }

    /// Close: queued submits complete with `Closed`; every module is closed
    /// (an isolated call in flight, submitted or not, may finish within the
    /// module's `close_grace`, then its worker is killed and it fails with
    /// `Closed`; an in-process call in flight cannot be interrupted and is
    /// waited for); the pool threads are joined; the dispatcher stops (no
    /// callback runs after this returns, unless it is called from inside
    /// one). Bounded for isolated modules. Idempotent.
    /// From a thread inside a call of one of its modules the close is
    /// refused (logged at `warn`, the host stays open): see
    /// [`try_close`](Self::try_close).
    pub fn close(&self) {
        if let Err(e) = self.inner.try_close() {
            tracing::warn!(target: "bridgehost::host", "{e}");
        }
    }

    /// [`close`](Self::close), refused with `InvalidArgument` (the host stays
    /// open) from a thread inside a call of one of its modules, where it
    /// would wait for itself.
    pub fn try_close(&self) -> Result<()> {
        self.inner.try_close()
    }

    /// Inspect the module `spec` (path or bundled name, found as
    /// [`open`](Self::open) finds it) without loading it into this process:
    /// the validate step ([`crate::validate`]) in a worker process, with
    /// `deadline` for the worker to load it and answer (`None`: the default
    /// `Supervision::startup_timeout`, 10 s). A constructor that exits (with
    /// status 0 too) is `WorkerExited`, one that crashes `WorkerCrashed`,
    /// silence past the deadline `Timeout`, a lying descriptor
    /// `AbiMismatch`; only a validated descriptor is success. A `deadline`
    /// must be positive and at most one year, else `InvalidArgument` by the
    /// one rule every front end shows
    /// ([`Span::InspectDeadline`](crate::options::Span::InspectDeadline):
    /// "inspect deadline must be positive and at most one year, got 0 ns").
    pub fn inspect(&self, spec: &str, deadline: Option<Duration>) -> Result<ModuleInfo> {
        if let Some(d) = deadline {
            crate::options::Span::InspectDeadline.check(d)?;
        }
        if self.is_closed() {
            return Err(Error::closed("host"));
        }
        crate::validate::validate(spec, &self.module_dirs(), deadline)
    }

    /// [`inspect`](Self::inspect) in this process: the module's file is
    /// loaded here (its constructors and entry function run in this
    /// process, which nothing can protect; the descriptor is still read
    /// fault-tolerantly and validated), no instance is created.
    pub fn inspect_in_process(&self, spec: &str) -> Result<ModuleInfo> {
        if self.is_closed() {
            return Err(Error::closed("host"));
        }
        inspect(spec, &self.module_dirs())
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Counters summed over every module this host opened (closed ones included).
    pub fn counters(&self) -> CounterSnapshot {
        self.inner.counters.snapshot()
    }

    /// Modules whose counters are still alive (open, or referenced by a
    /// handle); a closed and released module is not counted (leak tests,
    /// through [`crate::internal::live_module_counters`]).
    pub(crate) fn live_module_counters(&self) -> usize {
        self.inner.counters.live()
    }
}

/// Load and validate a module file without instantiating it (used by
/// `bridgehost inspect`).
pub fn inspect(spec: &str, module_dirs: &[std::path::PathBuf]) -> Result<ModuleInfo> {
    let path = crate::locate::resolve_module(spec, module_dirs)?;
    Ok(ModuleLibrary::load(&path)?.info().clone())
}
