//! The submit executor: a fixed pool of `bridgehost-pool-N` threads and a
//! bounded queue.
//!
//! * `submit` never blocks: a full queue is [`Error::Overloaded`].
//! * Every accepted task's completion runs **exactly once, on a pool
//!   thread** — with the result, with [`Error::Cancelled`] if it was cancelled
//!   before it started, or with [`Error::Closed`] if the host closed first.
//! * Cancellation is a state transition `Queued → Cancelled`; a task already
//!   running cannot be interrupted in-process (its result is delivered).
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::sync::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const CANCELLED: u8 = 3;

/// Shared state of one submitted task.
#[derive(Debug)]
pub(crate) struct TaskState {
    state: AtomicU8,
}

/// A handle to a submitted task, used to cancel it.
#[derive(Debug, Clone)]
pub struct SubmitHandle {
    state: Arc<TaskState>,
    counters: Option<Arc<crate::counters::Counters>>,
}

impl SubmitHandle {
    /// Cancel the task if it has not started. Returns true when the task
    /// will complete with [`Error::Cancelled`] without running.
    pub fn cancel(&self) -> bool {
        let cancelled = self
            .state
            .state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
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

/// The work a task runs, and the completion that receives its outcome.
pub(crate) type Work = Box<dyn FnOnce(Option<Error>) + Send + 'static>;

struct Job {
    state: Arc<TaskState>,
    work: Work,
}

struct QueueState {
    jobs: VecDeque<Job>,
    closing: bool,
}

pub(crate) struct Executor {
    queue: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
    threads: Mutex<Vec<(ThreadId, JoinHandle<()>)>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Executor {
    pub(crate) fn start(threads: usize, capacity: usize, name: &str) -> Result<Arc<Executor>> {
        let ex = Arc::new(Executor {
            queue: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                closing: false,
            }),
            ready: Condvar::new(),
            capacity,
            threads: Mutex::new(Vec::new()),
        });
        for i in 0..threads.max(1) {
            let worker = Arc::clone(&ex);
            let h = thread::Builder::new()
                .name(format!("{name}-pool-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| Error::Internal(format!("cannot start pool thread: {e}")))?;
            ex.threads.lock().push((h.thread().id(), h));
        }
        Ok(ex)
    }

    /// Queue `work`. `work` receives `None` to run, or `Some(error)` when it
    /// must only report that error (cancelled / closed) to its completion.
    pub(crate) fn submit(&self, work: Work) -> Result<SubmitHandle> {
        let state = Arc::new(TaskState {
            state: AtomicU8::new(QUEUED),
        });
        let mut q = self.queue.lock();
        if q.closing {
            return Err(Error::closed("host"));
        }
        if q.jobs.len() >= self.capacity {
            return Err(Error::Overloaded(format!(
                "submit queue full ({} tasks)",
                self.capacity
            )));
        }
        q.jobs.push_back(Job {
            state: Arc::clone(&state),
            work,
        });
        drop(q);
        self.ready.notify_one();
        Ok(SubmitHandle {
            state,
            counters: None,
        })
    }

    fn run(self: Arc<Self>) {
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
                    self.ready.wait(&mut q);
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
        // `work` owns the front end's completion; it must never unwind into
        // the pool loop (the executor would lose a thread).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || work(outcome)));
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
        let threads: Vec<_> = self.threads.lock().drain(..).collect();
        for (tid, h) in threads {
            if tid != me {
                let _ = h.join();
            }
        }
    }
}
