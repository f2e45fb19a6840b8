//! Isolation benchmarks, each beside its baseline in the same run (bench/README.md format,
//! JSON lines on stdout, everything else on stderr):
//!
//! * `isolation.echo_16B`: a 16-byte call into an isolated worker, vs
//!   `isolation.socketpair_pingpong_16B`: 16 bytes there and back over a Unix socketpair
//!   between two processes (this binary re-executed as the peer), both unpinned.
//! * `isolation.echo_64MiB` / `isolation.checksum_64MiB`: bulk throughput through the
//!   worker, vs `isolation.memcpy_64MiB` (one copy into a warm buffer) and the in-process
//!   checksum; `..._shared`: the same calls with the input in a caller's `SharedBuffer`,
//!   which the worker reads in place.
//! * `isolation.crash_to_next_success`: from a segfaulting call returning its error to the
//!   next successful call returning, with the default warm spare; `isolation.spawn_process`
//!   (a bare `posix_spawn` + wait of `/bin/true`) for scale.
//! * `isolation.worker_idle_cpu`: CPU the worker burns in the second after a burst of calls
//!   (the transport spins briefly, then sleeps).
//!
//! `BENCH_SMOKE=1`: a few iterations of each (numbers meaningless). Exits non-zero if a
//! measured call fails.
#![forbid(unsafe_code)]

use bridgehost::{Error, ErrorKind, Host, HostOptions, ModuleOptions, SharedBuffer};
use std::hint::black_box;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Stats {
    min: f64,
    median: f64,
    max: f64,
    repeats: usize,
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(|a, b| a.total_cmp(b));
    Stats {
        min: v[0],
        median: v[v.len() / 2],
        max: v[v.len() - 1],
        repeats: v.len(),
    }
}

/// `repeats` measurements of `f(iters)` (elapsed for `iters` operations) after a warm-up,
/// scaled to one operation times `per`.
fn measure(repeats: usize, iters: u64, per: f64, mut f: impl FnMut(u64) -> Duration) -> Stats {
    f(iters.div_ceil(10).max(1));
    stats(
        (0..repeats)
            .map(|_| f(iters).as_nanos() as f64 / iters as f64 * per)
            .collect(),
    )
}

fn emit(name: &str, unit: &str, s: &Stats, baseline: Option<&str>, goal: Option<&str>) {
    let mut line = format!(
        "{{\"name\": \"{name}\", \"unit\": \"{unit}\", \"value\": {:.3}, \"min\": {:.3}, \"median\": {:.3}, \"max\": {:.3}, \"repeats\": {}",
        s.median, s.min, s.median, s.max, s.repeats
    );
    if let Some(b) = baseline {
        line.push_str(&format!(", \"baseline\": \"{b}\""));
    }
    if let Some(g) = goal {
        line.push_str(&format!(", \"goal\": \"{g}\""));
    }
    line.push('}');
    println!("{line}");
}

/// ns/op → MB/s for `bytes` per op (min and max swap).
fn throughput(s: &Stats, bytes: f64) -> Stats {
    let f = |ns: f64| bytes / ns * 1e9 / 1e6;
    Stats {
        min: f(s.max),
        median: f(s.median),
        max: f(s.min),
        repeats: s.repeats,
    }
}

/// The ping-pong peer: echo 16-byte messages on stdin (a socket) until EOF.
fn pong() -> std::io::Result<()> {
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    let mut s = UnixStream::from(fd);
    let mut b = [0u8; 16];
    loop {
        if s.read_exact(&mut b).is_err() {
            return Ok(());
        }
        s.write_all(&b)?;
    }
}

fn socketpair_pingpong(repeats: usize, iters: u64) -> std::io::Result<Stats> {
    let (mut a, b) = UnixStream::pair()?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--pong")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(b)))
        .stdout(Stdio::null())
        .spawn()?;
    let msg = [7u8; 16];
    let mut back = [0u8; 16];
    let s = measure(repeats, iters, 1e-3, |n| {
        let t = Instant::now();
        for _ in 0..n {
            a.write_all(&msg).expect("ping");
            a.read_exact(&mut back).expect("pong");
        }
        t.elapsed()
    });
    drop(a);
    child.wait()?;
    Ok(s)
}

/// CPU time (user + system) of process `pid`, from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

/// Our `bridgehost-worker` children.
fn worker_pids() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{me}/task")) {
        for t in tasks.flatten() {
            if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                for pid in c.split_whitespace().filter_map(|p| p.parse::<u32>().ok()) {
                    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                    if exe.file_name().is_some_and(|n| n == "bridgehost-worker") {
                        out.push(pid);
                    }
                }
            }
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("--pong") {
        return Ok(pong()?);
    }
    let smoke = std::env::var_os("BENCH_SMOKE").is_some();
    let (repeats, rt_iters, bulk_iters, crashes) = if smoke {
        (2, 200, 1, 3)
    } else {
        (7, 100_000, 5, 50)
    };
    let dirs = std::env::var_os("BRIDGEHOST_MODULE_PATH")
        .map(|v| std::env::split_paths(&v).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    let host = Host::with_options(HostOptions {
        module_dirs: dirs,
        ..Default::default()
    })?;

    // 1. Round trip: raw socketpair vs an isolated 16-byte echo.
    let sp = socketpair_pingpong(repeats, rt_iters)?;
    emit(
        "isolation.socketpair_pingpong_16B",
        "us/call",
        &sp,
        None,
        None,
    );
    let iso = host.open("std", ModuleOptions::isolated())?;
    let echo = iso.method("echo")?;
    let input = [7u8; 16];
    let mut buf = Vec::with_capacity(64);
    let mut failed: Option<Error> = None;
    let s = measure(repeats, rt_iters, 1e-3, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = echo.call_with(black_box(&input), &mut buf) {
                failed.get_or_insert(e);
            }
        }
        t.elapsed()
    });
    if let Some(e) = failed.take() {
        return Err(e.into());
    }
    emit(
        "isolation.echo_16B",
        "us/call",
        &s,
        Some("isolation.socketpair_pingpong_16B"),
        Some("<= 0.3x baseline"),
    );
    let inproc = host.open("std", ModuleOptions::default())?;
    let echo_in = inproc.method("echo")?;
    let s = measure(repeats, rt_iters, 1e-3, |n| {
        let t = Instant::now();
        for _ in 0..n {
            echo_in
                .call_with(black_box(&input), &mut buf)
                .expect("in-process echo");
        }
        t.elapsed()
    });
    emit("isolation.inprocess_echo_16B", "us/call", &s, None, None);

    // Idle CPU after the burst above: the worker spins briefly, then sleeps.
    let pids = worker_pids();
    let before: Vec<Option<Duration>> = pids.iter().map(|&p| cpu_time(p)).collect();
    let window = if smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };
    std::thread::sleep(window);
    let used: Duration = pids
        .iter()
        .zip(&before)
        .filter_map(|(&p, b)| Some(cpu_time(p)? - (*b)?))
        .sum();
    let pct = used.as_secs_f64() / window.as_secs_f64() * 100.0;
    emit(
        "isolation.worker_idle_cpu",
        "%",
        &stats(vec![pct]),
        None,
        Some("<= 1 %"),
    );

    // 2. Bulk: 64 MiB through the worker vs one memcpy into a warm buffer.
    let size = 64 << 20;
    let big: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let mut dst = vec![0u8; size];
    let m = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            dst.copy_from_slice(black_box(&big));
            black_box(&mut dst);
        }
        t.elapsed()
    });
    emit(
        "isolation.memcpy_64MiB",
        "MB/s",
        &throughput(&m, size as f64),
        None,
        None,
    );
    let mut out = Vec::with_capacity(size);
    let s = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = echo.call_with(&big, &mut out) {
                failed.get_or_insert(e);
            }
        }
        t.elapsed()
    });
    if out != big {
        return Err("64 MiB echo returned different bytes".into());
    }
    emit(
        "isolation.echo_64MiB",
        "MB/s",
        &throughput(&s, size as f64),
        Some("isolation.memcpy_64MiB"),
        Some(">= 0.5x baseline"),
    );
    let checksum_in = inproc.method("checksum")?;
    let s = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            checksum_in
                .call_with(&big, &mut out)
                .expect("in-process checksum");
        }
        t.elapsed()
    });
    emit(
        "isolation.inprocess_checksum_64MiB",
        "MB/s",
        &throughput(&s, size as f64),
        None,
        None,
    );
    let want = out.clone();
    let checksum = iso.method("checksum")?;
    let s = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = checksum.call_with(&big, &mut out) {
                failed.get_or_insert(e);
            }
        }
        t.elapsed()
    });
    if out != want {
        return Err("isolated checksum differs from in-process".into());
    }
    emit(
        "isolation.checksum_64MiB",
        "MB/s",
        &throughput(&s, size as f64),
        Some("isolation.inprocess_checksum_64MiB"),
        Some(">= 0.9x baseline"),
    );
    // The same two calls over a caller's SharedBuffer holding the same bytes:
    // the worker reads it in place (no copy into an input region).
    let mut shared = SharedBuffer::new(size)?;
    shared.copy_from_slice(&big);
    let s = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = echo.call_with(&shared, &mut out) {
                failed.get_or_insert(e);
            }
        }
        t.elapsed()
    });
    if out != big {
        return Err("64 MiB echo from a shared buffer returned different bytes".into());
    }
    emit(
        "isolation.echo_64MiB_shared",
        "MB/s",
        &throughput(&s, size as f64),
        Some("isolation.memcpy_64MiB"),
        Some(">= 0.5x baseline"),
    );
    let s = measure(repeats, bulk_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = checksum.call_with(&shared, &mut out) {
                failed.get_or_insert(e);
            }
        }
        t.elapsed()
    });
    if out != want {
        return Err("isolated checksum of a shared buffer differs from in-process".into());
    }
    emit(
        "isolation.checksum_64MiB_shared",
        "MB/s",
        &throughput(&s, size as f64),
        Some("isolation.inprocess_checksum_64MiB"),
        Some(">= 0.9x baseline"),
    );
    if let Some(e) = failed.take() {
        return Err(e.into());
    }

    // 3. Crash → next success, with the default warm spare.
    let spawn = measure(repeats, if smoke { 2 } else { 50 }, 1e-6, |n| {
        let t = Instant::now();
        for _ in 0..n {
            Command::new("/bin/true").status().expect("spawn /bin/true");
        }
        t.elapsed()
    });
    emit("isolation.spawn_process", "ms", &spawn, None, None);
    let faulty = host.open("faulty", ModuleOptions::isolated())?;
    let segv = faulty.method("segfault")?;
    let ok = faulty.method("ok")?;
    let mut recover = Vec::new();
    let mut crash = Vec::new();
    for _ in 0..crashes {
        ok.call(b"warm")?; // the pool is whole again
        std::thread::sleep(Duration::from_millis(20)); // the spare is back
        let t0 = Instant::now();
        match segv.call(b"") {
            Err(e) if e.kind() == ErrorKind::WorkerCrashed => {}
            other => return Err(format!("segfault returned {other:?}").into()),
        }
        let t1 = Instant::now();
        ok.call(b"after")?;
        let t2 = Instant::now();
        crash.push((t1 - t0).as_secs_f64() * 1e3);
        recover.push((t2 - t1).as_secs_f64() * 1e3);
    }
    emit("isolation.crash_call", "ms", &stats(crash), None, None);
    emit(
        "isolation.crash_to_next_success",
        "ms",
        &stats(recover),
        Some("isolation.spawn_process"),
        Some("<= 2 ms"),
    );
    host.close();
    Ok(())
}
