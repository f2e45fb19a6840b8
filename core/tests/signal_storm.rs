//! A thread interrupted by signals back to back must still finish its
//! sleeps: `bridgehost::internal::sync::sleep` (used by `Gate::close` while it waits
//! for calls in flight, and by the isolation supervisor) waits on an absolute
//! deadline. `std::thread::sleep` restarts a relative `nanosleep` with the
//! time left after each signal and never finishes under such a storm — what
//! Mono's stop-the-world signals did to a `Module.Dispose` while a test
//! thread forced garbage collections back to back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Handler runs counted (to check the storm really happened).
static HANDLED: AtomicU64 = AtomicU64::new(0);

/// A handler that takes ~300 µs, like a runtime suspending the thread for
/// a collection.
extern "C" fn slow_handler(_sig: libc::c_int) {
    let start = now_ns();
    while now_ns().saturating_sub(start) < 300_000 {
        std::hint::spin_loop();
    }
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// CLOCK_MONOTONIC in ns (async-signal-safe).
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime is
    // async-signal-safe and only writes it.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

#[test]
fn sleep_finishes_under_a_storm_of_slow_signals() {
    // SAFETY: a zeroed sigaction is a valid starting value; we set the
    // handler (an extern "C" fn of the right type that only reads the clock
    // and bumps an atomic, both async-signal-safe) and an empty mask, and
    // install it for SIGUSR2, which nothing else in this test binary uses.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = slow_handler as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut()), 0);
    }

    let done = Arc::new(AtomicBool::new(false));
    // The sleeper stays alive until released, so every pthread_kill below
    // targets a live thread.
    let release = Arc::new(AtomicBool::new(false));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let sleeper = {
        let done = Arc::clone(&done);
        let release = Arc::clone(&release);
        std::thread::spawn(move || {
            // SAFETY: pthread_self has no preconditions.
            tid_tx.send(unsafe { libc::pthread_self() }).unwrap();
            // Let the storm start first.
            while HANDLED.load(Ordering::Relaxed) < 5 {
                std::hint::spin_loop();
            }
            let t0 = Instant::now();
            bridgehost::internal::sync::sleep(Duration::from_millis(5));
            let took = t0.elapsed();
            done.store(true, Ordering::SeqCst);
            while !release.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            took
        })
    };
    let target = tid_rx.recv().unwrap();

    // The storm: a new signal as soon as the previous one was handled.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sent = 0u64;
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        let before = HANDLED.load(Ordering::Relaxed);
        // SAFETY: `target` is the sleeper thread, alive until `release` is
        // set below, with SIGUSR2 handled.
        assert_eq!(unsafe { libc::pthread_kill(target, libc::SIGUSR2) }, 0);
        sent += 1;
        while HANDLED.load(Ordering::Relaxed) == before
            && !done.load(Ordering::SeqCst)
            && Instant::now() < deadline
        {
            std::hint::spin_loop();
        }
    }
    let finished = done.load(Ordering::SeqCst);
    // The storm is over either way: let the sleeper end, and join it.
    release.store(true, Ordering::SeqCst);
    let took = sleeper.join().unwrap();
    assert!(sent > 5, "the storm ran ({sent} signals)");
    assert!(
        finished,
        "a 5 ms sleep had not finished after 5 s of back-to-back signals ({sent} sent)"
    );
    assert!(took >= Duration::from_millis(5), "slept {took:?}");
}
