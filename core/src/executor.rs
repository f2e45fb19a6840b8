//! The submit executor: a pool of `bridgehost-pool-N` threads that grows on
//! demand up to `HostOptions::submit_threads`, and a bounded queue.
//!
//! * Submitted calls are mostly blocking native work (I/O, waits on a vendor
//!   SDK, a worker process): the pool is sized by how many may wait at once,
//!   not by cores. A task queued while no thread is idle starts a thread (up
//!   to the maximum); a thread idle for [`POOL_THREAD_IDLE`] exits, the last one
//!   too: an idle host holds no pool thread. (Mono waits at exit for every native
//!   thread that ever called into managed code, so a pool thread kept for the
//!   host's life hung the exit of a .NET program that did not dispose its host.)
//! * `submit` never blocks: a full queue is [`Error::Overloaded`], except
//!   for a WIT resource's drop ([`Admission::Release`]), which is queued
//!   anyway: refusing it would leak the module's object.
//! * Every accepted task's completion runs **exactly once, on a pool
//!   thread** — with the result, with [`Error::Cancelled`] if it was cancelled
//!   before it started, or with [`Error::Closed`] if the host closed first.
//! * Cancellation is a state transition `Queued → Cancelled`. A running task
//!   can be interrupted only when its call installed a cancel hook (an
//!   isolated call kills its worker: the call ends with `Cancelled`); a
//!   running in-process call cannot be interrupted (its result is delivered).
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const CANCELLED: u8 = 3;

/// Interrupts the running call of a task (see [`TaskState::set_cancel_hook`]).
pub(crate) type CancelHook = Box<dyn FnOnce() + Send>;

/// Shared state of one submitted task.
pub(crate) struct TaskState {
    state: AtomicU8,
    /// Set by `cancel` on a running task; the call checks it at its
    /// interruptible points.
    cancel_requested: AtomicBool,
    /// Installed by a running call that can be interrupted. `cancel` takes
    /// and runs it under this lock; the call removes it under this lock
    /// before it releases what the hook acts on, so a hook never acts on a
    /// later call.
    hook: Mutex<Option<CancelHook>>,
}

impl std::fmt::Debug for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskState")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish()
    }
}

thread_local! {
    /// The task the current pool thread is running.
    static CURRENT: std::cell::RefCell<Option<Arc<TaskState>>> = const { std::cell::RefCell::new(None) };
}

/// The submitted call is over: its completion runs outside the task (a call
/// the completion makes is not the task's).
pub(crate) fn leave_task() {
    CURRENT.with(|c| c.borrow_mut().take());
}

/// The submitted task this thread is running, if any.
pub(crate) fn current_task() -> Option<Arc<TaskState>> {
    CURRENT.with(|c| c.borrow().clone())
}

impl TaskState {
    /// Let `cancel` interrupt the running call through `hook`. Returns
    /// false (and drops `hook`) when a cancel was already requested: the
    /// caller must then end the call as cancelled itself.
    pub(crate) fn set_cancel_hook(&self, hook: CancelHook) -> bool {
        let mut h = self.hook.lock();
        if self.cancel_requested.load(Ordering::Acquire) {
            return false;
        }
        *h = Some(hook);
        true
    }

    /// Remove the hook (the call is over). Returns true when `cancel` ran it.
    pub(crate) fn clear_cancel_hook(&self) -> bool {
        let mut h = self.hook.lock();
        h.take();
        self.cancel_requested.load(Ordering::Acquire)
    }
}

/// A handle to a submitted task, used to cancel it.
#[derive(Debug, Clone)]
pub struct SubmitHandle {
    state: Arc<TaskState>,
    counters: Option<Arc<crate::counters::Counters>>,
}

impl SubmitHandle {
    /// Cancel the task. Queued: it completes with [`Error::Cancelled`]
    /// without running. Running an isolated call: the worker running it is
    /// killed (and replaced) and the call completes with `Cancelled`; a call
    /// still waiting for a worker completes with `Cancelled` once it gets
    /// one, without running. Returns true in those cases (the task's
    /// outcome is `Cancelled` unless the call finished at that very moment).
    /// A running in-process call cannot be interrupted: returns false, and
    /// the task completes with its result.
    pub fn cancel(&self) -> bool {
        let t = &self.state;
        let mut cancelled = t
            .state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !cancelled && t.state.load(Ordering::Acquire) == RUNNING {
            let mut h = t.hook.lock();
            if !t.cancel_requested.swap(true, Ordering::AcqRel) {
                if let Some(hook) = h.take() {
                    hook();
                    cancelled = true;
                }
            }
        }
        if cancelled {
            // Counted when the cancel takes effect, not when a pool thread
            // later skips the task: the counter is exact as soon as this returns.
            if let Some(c) = &self.counters {
                crate::counters::Counters::inc(&c.cancelled);
            }
        }
        cancelled
    }

    pub(crate) fn with_counters(mut self, counters: Arc<crate::counters::Counters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// True once the task ran to completion (its completion may still be running).
    pub fn is_done(&self) -> bool {
        self.state.state.load(Ordering::Acquire) == DONE
    }
}

/// Asked periodically (about every [`POLL_EVERY`], and when a wait is
/// interrupted by a signal) while a synchronous cancellable call waits for
/// its isolated worker (see [`crate::Method::call_cancellable`]); returning
/// true cancels the call. Runs on the calling thread.
pub type CancelPoll = Arc<dyn Fn() -> bool + Send + Sync>;

/// How often a [`CancelPoll`] is asked while its call waits.
pub const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Cancels a synchronous call from another thread (or from its own
/// [`CancelPoll`]): the same semantics as [`SubmitHandle::cancel`] for a
/// running call. A running isolated call ends with `Cancelled` (its worker
/// is killed and replaced, the module's `cancelled` counter moves); a
/// running in-process call cannot be interrupted (`cancel` returns false).
/// One token serves one call.
#[derive(Debug, Clone)]
pub struct CallCancel {
    state: Arc<TaskState>,
    counters: Arc<std::sync::OnceLock<Arc<crate::counters::Counters>>>,
}

impl Default for CallCancel {
    fn default() -> Self {
        Self::new()
    }
}

impl CallCancel {
    /// A token for one call.
    pub fn new() -> Self {
        CallCancel {
            state: Arc::new(TaskState {
                state: AtomicU8::new(QUEUED),
                cancel_requested: AtomicBool::new(false),
                hook: Mutex::new(None),
            }),
            counters: Arc::default(),
        }
    }

    /// Cancel the call: see the type's docs. Before the call starts, it
    /// will not run (it fails with `Cancelled`). Returns true when the
    /// cancel took effect (counted in `cancelled`).
    pub fn cancel(&self) -> bool {
        let h = SubmitHandle {
            state: Arc::clone(&self.state),
            counters: self.counters.get().cloned(),
        };
        h.cancel()
    }
}

thread_local! {
    /// The poll of the cancellable call running on this thread, and its token.
    static POLL: std::cell::RefCell<Option<(CancelPoll, CallCancel)>> = const { std::cell::RefCell::new(None) };
}

/// Whether the call on this thread has a [`CancelPoll`] (its waits then
/// wake up every [`POLL_EVERY`]).
pub(crate) fn poll_installed() -> bool {
    POLL.with(|p| p.borrow().is_some())
}

/// Ask the poll of the call on this thread, if any; when it says so, cancel
/// the call (its cancel hook runs: the worker is killed, or the wait for
/// one stops). Call with no lock held that the hook or the poll may take.
pub(crate) fn poll_cancel() {
    let Some((poll, token)) = POLL.with(|p| p.borrow().clone()) else {
        return;
    };
    if poll() {
        token.cancel();
    }
}

/// Run `call` as the cancellable call of `token` on this thread, with
/// `poll` asked while it waits. `Cancelled` without running when the token
/// was cancelled before.
pub(crate) fn run_cancellable<R>(
    token: &CallCancel,
    poll: Option<CancelPoll>,
    counters: &Arc<crate::counters::Counters>,
    call: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let _ = token.counters.set(Arc::clone(counters));
    if token
        .state
        .state
        .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(Error::Cancelled);
    }
    let prev_task = CURRENT.with(|c| c.borrow_mut().replace(Arc::clone(&token.state)));
    let prev_poll =
        POLL.with(|p| std::mem::replace(&mut *p.borrow_mut(), poll.map(|f| (f, token.clone()))));
    let r = call();
    POLL.with(|p| *p.borrow_mut() = prev_poll);
    CURRENT.with(|c| *c.borrow_mut() = prev_task);
    token.state.state.store(DONE, Ordering::Release);
    r
}

/// The work a task runs, and the completion that receives its outcome.
pub(crate) type Work = Box<dyn FnOnce(Option<Error>) + Send + 'static>;

struct Job {
    state: Arc<TaskState>,
    work: Work,
}

struct QueueState {
    jobs: VecDeque<Job>,
    closing: bool,
    /// Pool threads waiting for a job.
    idle: usize,
    /// One slot per pool thread that may be running (its name is
    /// `{name}-pool-{slot}`); a retired thread empties its slot.
    slots: Vec<Option<(ThreadId, JoinHandle<()>)>>,
}

impl QueueState {
    fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

/// A pool thread idle this long exits (the last one too).
pub(crate) const POOL_THREAD_IDLE: Duration = Duration::from_secs(2);

/// Whether a task may be refused because the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Refused with [`Error::Overloaded`] when the queue holds `capacity`
    /// tasks: the submitter gets the backpressure.
    Bounded,
    /// Queued whatever the queue holds: a WIT resource's drop, which the
    /// runtimes submit when the garbage collector releases an object. A
    /// refusal there would leak the module's object until the module closes
    /// (nobody is left to retry), and such tasks are bounded anyway: one per
    /// object the module handed out.
    Release,
}

pub(crate) struct Executor {
    queue: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
    /// Most pool threads alive at once.
    max_threads: usize,
    name: String,
    /// [`POOL_THREAD_IDLE`] (shorter in tests).
    idle_timeout: Duration,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("capacity", &self.capacity)
            .field("max_threads", &self.max_threads)
            .finish()
    }
}

impl Executor {
    /// A pool of at most `threads` threads. They start on demand: a task
    /// queued while no thread is idle starts one (up to `threads`), so a
    /// burst of blocking calls runs `threads` at a time; a thread idle for
    /// [`POOL_THREAD_IDLE`] exits, the last one too.
    pub(crate) fn start(threads: usize, capacity: usize, name: &str) -> Result<Arc<Executor>> {
        Self::start_with_idle(threads, capacity, name, POOL_THREAD_IDLE)
    }

    fn start_with_idle(
        threads: usize,
        capacity: usize,
        name: &str,
        idle_timeout: Duration,
    ) -> Result<Arc<Executor>> {
        let ex = Arc::new(Executor {
            queue: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                closing: false,
                idle: 0,
                slots: Vec::new(),
            }),
            ready: Condvar::new(),
            capacity,
            max_threads: threads.max(1),
            name: name.to_string(),
            idle_timeout,
        });
        // One thread at once: a failure to start threads shows at creation.
        let mut q = ex.queue.lock();
        ex.spawn_locked(&mut q)?;
        drop(q);
        Ok(ex)
    }

    /// Pool threads alive now (tests).
    #[cfg(test)]
    pub(crate) fn live_threads(&self) -> usize {
        self.queue.lock().live()
    }

    /// Start one pool thread in the first free slot (the queue lock is held).
    fn spawn_locked(self: &Arc<Self>, q: &mut QueueState) -> Result<()> {
        let slot = match q.slots.iter().position(|s| s.is_none()) {
            Some(i) => i,
            None => {
                q.slots.push(None);
                q.slots.len() - 1
            }
        };
        let worker = Arc::clone(self);
        let h = thread::Builder::new()
            .name(format!("{}-pool-{slot}", self.name))
            .spawn(move || worker.run(slot))
            .map_err(|e| Error::Internal(format!("cannot start pool thread: {e}")))?;
        q.slots[slot] = Some((h.thread().id(), h));
        Ok(())
    }

    /// Queue `work`. `work` receives `None` to run, or `Some(error)` when it
    /// must only report that error (cancelled / closed) to its completion.
    /// A full queue refuses it unless `admission` is [`Admission::Release`].
    pub(crate) fn submit(
        self: &Arc<Self>,
        work: Work,
        admission: Admission,
    ) -> Result<SubmitHandle> {
        let state = Arc::new(TaskState {
            state: AtomicU8::new(QUEUED),
            cancel_requested: AtomicBool::new(false),
            hook: Mutex::new(None),
        });
        let mut q = self.queue.lock();
        if q.closing {
            return Err(Error::closed("host"));
        }
        if q.jobs.len() >= self.capacity && admission == Admission::Bounded {
            return Err(Error::Overloaded(format!(
                "submit queue full ({} tasks)",
                self.capacity
            )));
        }
        q.jobs.push_back(Job {
            state: Arc::clone(&state),
            work,
        });
        // More queued tasks than idle threads: start one more (up to the
        // maximum). A failed start leaves the task queued for the threads
        // that exist; with none (all retired while idle), the task is refused.
        if q.jobs.len() > q.idle && q.live() < self.max_threads {
            if let Err(e) = self.spawn_locked(&mut q) {
                if q.live() == 0 {
                    q.jobs.pop_back();
                    return Err(e);
                }
                tracing::warn!(target: "bridgehost::executor", "{e}");
            }
        }
        drop(q);
        self.ready.notify_one();
        Ok(SubmitHandle {
            state,
            counters: None,
        })
    }

    fn run(self: Arc<Self>, slot: usize) {
        loop {
            let job = {
                let mut q = self.queue.lock();
                loop {
                    if let Some(j) = q.jobs.pop_front() {
                        break j;
                    }
                    if q.closing {
                        return;
                    }
                    q.idle += 1;
                    let waited = self.ready.wait_for(&mut q, self.idle_timeout);
                    q.idle -= 1;
                    if waited.timed_out() && q.jobs.is_empty() && !q.closing {
                        // Retire: nobody will join this thread (its handle
                        // is dropped, detaching it); it runs nothing more.
                        q.slots[slot] = None;
                        return;
                    }
                }
            };
            Self::execute(job, None);
        }
    }

    fn execute(job: Job, forced: Option<Error>) {
        let Job { state, work } = job;
        let outcome = match forced {
            Some(e) => {
                // Closing: report Closed unless the task was already cancelled.
                if state.state.swap(DONE, Ordering::AcqRel) == CANCELLED {
                    Some(Error::Cancelled)
                } else {
                    Some(e)
                }
            }
            None => match state.state.compare_exchange(
                QUEUED,
                RUNNING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => None,
                Err(_) => Some(Error::Cancelled),
            },
        };
        let ran = outcome.is_none();
        if ran {
            CURRENT.with(|c| *c.borrow_mut() = Some(Arc::clone(&state)));
        }
        // `work` owns the front end's completion; it must never unwind into
        // the pool loop (the executor would lose a thread).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || work(outcome)));
        if ran {
            CURRENT.with(|c| c.borrow_mut().take());
        }
        if let Err(p) = result {
            tracing::error!(target: "bridgehost::executor", "completion panicked: {}", crate::error::panic_message(&*p));
        }
        if ran {
            state.state.store(DONE, Ordering::Release);
        }
    }

    /// Refuse new tasks and complete every queued task with `Closed` (on
    /// this thread). Running tasks go on; [`Executor::join`] waits for them.
    pub(crate) fn close_queue(&self) {
        let pending: Vec<Job> = {
            let mut q = self.queue.lock();
            if q.closing {
                Vec::new()
            } else {
                q.closing = true;
                q.jobs.drain(..).collect()
            }
        };
        self.ready.notify_all();
        for job in pending {
            Self::execute(job, Some(Error::closed("host")));
        }
    }

    /// Join the pool threads (except the caller's own). Call after
    /// [`Executor::close_queue`], once running tasks can end (the host
    /// closes its modules first, so a hung isolated call ends with `Closed`
    /// within the module's close grace instead of blocking this forever).
    pub(crate) fn join(&self) {
        let me = thread::current().id();
        let threads: Vec<_> = self
            .queue
            .lock()
            .slots
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for (tid, h) in threads {
            if tid != me {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A full queue refuses a bounded task as overloaded and still takes a
    /// release (a resource's drop), which then runs like any other task.
    #[test]
    fn a_full_queue_refuses_bounded_tasks_and_takes_releases() {
        let ex = Executor::start_with_idle(1, 2, "t", Duration::from_secs(30)).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (tx, rx) = mpsc::channel();
        let blocked = |tag: &'static str| -> Work {
            let g = Arc::clone(&gate);
            let tx = tx.clone();
            Box::new(move |forced| {
                assert!(forced.is_none());
                let mut open = g.0.lock();
                while !*open {
                    g.1.wait(&mut open);
                }
                let _ = tx.send(tag);
            })
        };
        // One running on the only thread, two queued: the queue is full.
        ex.submit(blocked("running"), Admission::Bounded).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !ex.queue.lock().jobs.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never started");
            thread::sleep(Duration::from_millis(5));
        }
        ex.submit(blocked("queued"), Admission::Bounded).unwrap();
        ex.submit(blocked("queued"), Admission::Bounded).unwrap();
        let e = ex
            .submit(blocked("refused"), Admission::Bounded)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.to_string(), "overloaded: submit queue full (2 tasks)");
        for _ in 0..3 {
            ex.submit(blocked("release"), Admission::Release).unwrap();
        }
        *gate.0.lock() = true;
        gate.1.notify_all();
        let mut ran: Vec<&str> = (0..6)
            .map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap())
            .collect();
        ran.sort_unstable();
        assert_eq!(
            ran,
            ["queued", "queued", "release", "release", "release", "running"]
        );
        ex.close_queue();
    }

    /// The pool starts one thread, grows to its maximum while tasks wait
    /// (never beyond), and shrinks to no thread at all once idle; a later
    /// submit starts one again.
    #[test]
    fn pool_grows_on_demand_up_to_its_maximum_and_shrinks_when_idle() {
        let ex = Executor::start_with_idle(8, 1000, "t", Duration::from_millis(100)).unwrap();
        assert_eq!(ex.live_threads(), 1);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (tx, rx) = mpsc::channel();
        for _ in 0..20 {
            let g = Arc::clone(&gate);
            let tx = tx.clone();
            ex.submit(
                Box::new(move |forced| {
                    assert!(forced.is_none());
                    let mut open = g.0.lock();
                    while !*open {
                        g.1.wait(&mut open);
                    }
                    let _ = tx.send(());
                }),
                Admission::Bounded,
            )
            .unwrap();
        }
        assert_eq!(ex.live_threads(), 8, "grown to the maximum, not beyond");
        *gate.0.lock() = true;
        gate.1.notify_all();
        for _ in 0..20 {
            rx.recv_timeout(Duration::from_secs(30)).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while ex.live_threads() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "idle threads never exited"
            );
            thread::sleep(Duration::from_millis(10));
        }
        // Still works after shrinking; grows again.
        ex.submit(
            Box::new(move |_| {
                let _ = tx.send(());
            }),
            Admission::Bounded,
        )
        .unwrap();
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
        ex.close_queue();
        ex.join();
        assert_eq!(ex.live_threads(), 0);
    }
}
