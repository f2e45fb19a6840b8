//! The in-process backend: the module runs on the caller's thread.
//!
//! * Thread-safe and serialized modules are called directly on the caller's
//!   thread (serialization is enforced inside [`Instance::call`]).
//! * Single-thread modules get one owner thread (`bridgehost-st-<name>`)
//!   that runs `init`, every call and `destroy`; callers hand it owned copies
//!   of their input and wait for the reply.
//! * `close` takes the instance out of its [`Gate`], which refuses new calls
//!   and waits for every call in flight, then destroys it and retires the
//!   instance token — after that a late `emit` is `BH_API_STALE`.
//! * The backend counts calls (`counters.calls`, per thread through
//!   `counters.calls_local` on the direct path): the gate counts its entries,
//!   and the hot path executes no locked instruction to enter, count or
//!   leave (see `ffi/gate.rs`).
#![forbid(unsafe_code)]

use crate::counters::{self, Counters};
use crate::error::{Error, Result};
use crate::ffi::callbacks;
use crate::ffi::gate::Gate;
use crate::ffi::loader::{Instance, ModuleLibrary, ThreadModel};
use crate::module::{Backend, Direct};
use crate::output::CallOutput;
use crate::sync::Mutex;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

enum Mode {
    Direct(Gate<Instance>),
    Owner(Mutex<Option<OwnerThread>>),
}

struct OwnerThread {
    tx: mpsc::Sender<Job>,
    handle: JoinHandle<()>,
}

impl OwnerThread {
    fn is_current(&self) -> bool {
        self.handle.thread().id() == std::thread::current().id()
    }
}

struct Job {
    index: u32,
    input: Vec<u8>,
    max_output: usize,
    reply: mpsc::SyncSender<(Result<()>, Vec<u8>)>,
}

pub(crate) struct InProcess {
    name: String,
    token: u64,
    mode: Mode,
    counters: Arc<Counters>,
    /// Which methods have a direct entry (by index; empty: none).
    direct: Box<[bool]>,
}

impl InProcess {
    /// A sampled call (see [`counters::is_sampled`]): timed.
    #[cold]
    #[inline(never)]
    fn timed_call(
        &self,
        instance: &crate::ffi::gate::GateGuard<'_, Instance>,
        index: u32,
        input: &[u8],
        out: &mut CallOutput<'_>,
        here: Option<crate::ffi::hazard::Here>,
    ) -> Result<()> {
        self.counters.timed(true, instance.thread_index(), || {
            instance.call_in(index, input, out, here)
        })
    }

    /// A sampled direct call (see [`counters::is_sampled`]): timed.
    #[cold]
    #[inline(never)]
    fn timed_direct(
        &self,
        instance: &Instance,
        index: u32,
        args: &[u64],
        here: crate::ffi::hazard::Here,
    ) -> Direct {
        self.counters.timed(true, Some(here.thread_index()), || {
            instance.call_direct(index, args, here)
        })
    }

    pub(crate) fn start(
        lib: &Arc<ModuleLibrary>,
        token: u64,
        config: &[u8],
        counters: Arc<Counters>,
    ) -> Result<InProcess> {
        let mode = match lib.info().thread_model {
            ThreadModel::SingleThread => {
                Mode::Owner(Mutex::new(Some(Self::start_owner(lib, token, config)?)))
            }
            _ => Mode::Direct(Gate::new(
                lib.instantiate(token, config)?,
                Arc::clone(&counters),
            )),
        };
        Ok(InProcess {
            name: lib.info().name.clone(),
            token,
            mode,
            counters,
            direct: (0..lib.info().methods.len())
                .map(|i| lib.has_direct(i))
                .collect(),
        })
    }

    fn start_owner(lib: &Arc<ModuleLibrary>, token: u64, config: &[u8]) -> Result<OwnerThread> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (init_tx, init_rx) = mpsc::sync_channel::<Result<()>>(1);
        let lib = Arc::clone(lib);
        let config = config.to_vec();
        let name = format!("bridgehost-st-{}", lib.info().name);
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let instance = match lib.instantiate(token, &config) {
                    Ok(i) => {
                        let _ = init_tx.send(Ok(()));
                        i
                    }
                    Err(e) => {
                        let _ = init_tx.send(Err(e));
                        return;
                    }
                };
                // Runs until every sender is gone (close drops it), then the
                // instance is destroyed here, on its owner thread.
                while let Ok(job) = rx.recv() {
                    let mut buf = Vec::new();
                    let r = {
                        let mut out = CallOutput::to_vec(&mut buf, job.max_output);
                        instance.call(job.index, &job.input, &mut out)
                    };
                    let _ = job.reply.send((r, buf));
                }
                drop(instance);
            })
            .map_err(|e| Error::Internal(format!("cannot start module thread: {e}")))?;
        match init_rx.recv() {
            Ok(Ok(())) => Ok(OwnerThread { tx, handle }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err(Error::Internal(
                    "module owner thread died during init".into(),
                ))
            }
        }
    }
}

impl Backend for InProcess {
    fn call(&self, index: u32, input: &[u8], out: &mut CallOutput<'_>) -> Result<()> {
        match &self.mode {
            Mode::Direct(gate) => {
                // One thread-local lookup serves the gate and the call's
                // context record.
                let here = crate::ffi::hazard::here();
                let instance = gate.enter_in(here).ok_or_else(|| Error::closed("module"))?;
                // The gate's per-thread entry count is the sampling tick.
                // The unsampled call is written out (see `call_direct`).
                if counters::is_sampled(instance.entries_before()) {
                    return self.timed_call(&instance, index, input, out, here);
                }
                instance.call_in(index, input, out, here)
            }
            Mode::Owner(owner) => self.counters.timed_on_thread_tick(|| {
                Self::call_owner(owner, &self.name, &self.counters, index, input, out)
            }),
        }
    }

    #[inline]
    fn call_direct(
        &self,
        index: u32,
        args: &[u64],
        here: Option<crate::ffi::hazard::Here>,
    ) -> Direct {
        let Mode::Direct(gate) = &self.mode else {
            return Direct::Bytes;
        };
        // No record (this thread's thread-local storage is gone): no direct
        // context either; the bytes entry serves the call.
        let Some(here) = here else {
            return Direct::Bytes;
        };
        // Checked before entering: the gate counts its entries as calls.
        if !self.direct.get(index as usize).copied().unwrap_or(false) {
            return Direct::Bytes;
        }
        let Some(instance) = gate.enter_in(Some(here)) else {
            return Direct::Failed(Box::new(Error::closed("module")));
        };
        // The unsampled call written out here, not through
        // `Counters::timed`: its closure, called on two branches, was not
        // inlined, and the guard and the result went through memory.
        if counters::is_sampled(instance.entries_before()) {
            return self.timed_direct(&instance, index, args, here);
        }
        instance.call_direct(index, args, here)
    }

    fn reentered(&self) -> bool {
        match &self.mode {
            // This thread announces the gate: it is inside a call.
            Mode::Direct(gate) => gate.entered_here(),
            // This is the owner thread: every call runs on it.
            Mode::Owner(owner) => owner.lock().as_ref().is_some_and(OwnerThread::is_current),
        }
    }

    fn close(&self) {
        match &self.mode {
            Mode::Direct(gate) => {
                // destroy() runs here, after every call in flight returned
                drop(gate.close());
            }
            Mode::Owner(owner) => {
                let o = owner.lock().take();
                if let Some(OwnerThread { tx, handle }) = o {
                    drop(tx);
                    let _ = handle.join();
                }
            }
        }
        callbacks::unregister(self.token);
    }
}

impl InProcess {
    /// A call on a single-thread module: handed to its owner thread (kept
    /// out of line: the direct path above is the hot one).
    #[inline(never)]
    fn call_owner(
        owner: &Mutex<Option<OwnerThread>>,
        name: &str,
        counters: &Counters,
        index: u32,
        input: &[u8],
        out: &mut CallOutput<'_>,
    ) -> Result<()> {
        Counters::inc(&counters.calls);
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        {
            let guard = owner.lock();
            let o = guard.as_ref().ok_or_else(|| Error::closed("module"))?;
            // From the owner thread (a module's own call reaching back into
            // the host): the job would queue behind the call that waits
            // for it.
            if o.is_current() {
                return Err(Error::reentrant("call", name));
            }
            o.tx.send(Job {
                index,
                input: input.to_vec(),
                max_output: out.max(),
                reply: reply_tx,
            })
            .map_err(|_| Error::closed("module"))?;
        }
        let (r, buf) = reply_rx.recv().map_err(|_| Error::closed("module"))?;
        r?;
        out.write(&buf)
            .map_err(|_| out.finish().expect_err("write refused"))?;
        out.finish().map(|_| ())
    }
}
