//! The native Rust floor: what each workload costs with no runtime in the way, and what the
//! core adds on top, measured in the same process. Prints JSON lines (bench/README.md).
#![forbid(unsafe_code)]

use bridgehost::internal::handles::HandleTable;
use bridgehost::{Host, HostOptions, Method, ModuleOptions};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Stats {
    min: f64,
    median: f64,
    max: f64,
    repeats: usize,
}

/// Run `f(iters)` `repeats` times after one warm-up; each returns elapsed time for `iters`
/// operations; report per-operation figures scaled by `per`.
fn measure(repeats: usize, iters: u64, per: f64, mut f: impl FnMut(u64) -> Duration) -> Stats {
    f(iters.div_ceil(10).max(1)); // warm-up
    let mut v: Vec<f64> = (0..repeats)
        .map(|_| f(iters).as_nanos() as f64 / iters as f64 * per)
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        min: v[0],
        median: v[v.len() / 2],
        max: v[v.len() - 1],
        repeats,
    }
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

/// Min/median/max of already-measured samples (None if there are none).
fn stats_of(v: &mut [f64]) -> Option<Stats> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(Stats {
        min: v[0],
        median: v[v.len() / 2],
        max: v[v.len() - 1],
        repeats: v.len(),
    })
}

/// CPU time (ns) run so far by this process's threads whose name starts with `prefix`, from
/// `/proc/self/task/*/schedstat` (Linux; None elsewhere or if there is no such thread).
fn thread_cpu_ns(prefix: &str) -> Option<u64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let dir = entry.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
        let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
        total = Some(total.unwrap_or(0) + ns);
    }
    total
}

/// Rates: convert ns/op stats into ops/s (min and max swap).
fn rate(s: &Stats, scale: f64) -> Stats {
    Stats {
        min: scale / s.max,
        median: scale / s.median,
        max: scale / s.min,
        repeats: s.repeats,
    }
}

/// `BENCH_ONLY=echo,handle` runs only the sections named (for profiling one path); unset: all.
fn selected(section: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(v) if !v.is_empty() => v.split(',').any(|s| s.trim() == section),
        _ => true,
    }
}

fn main() -> Result<(), bridgehost::Error> {
    let smoke = std::env::var_os("BENCH_SMOKE").is_some();
    let (repeats, echo_iters, bulk_iters, events) = if smoke {
        (2, 1_000, 1, 10_000u32)
    } else {
        (7, 2_000_000, 5, 1_000_000u32)
    };
    let dirs = std::env::var_os("BRIDGEHOST_MODULE_PATH")
        .map(|v| std::env::split_paths(&v).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    let host = Host::with_options(HostOptions {
        module_dirs: dirs,
        ..Default::default()
    })?;
    let std_mod = host.open("std", ModuleOptions::default())?;
    let echo = std_mod.method("echo")?;
    let checksum = std_mod.method("checksum")?;
    let input = [7u8; 16];

    let mut out = Vec::with_capacity(64);
    if selected("echo") {
        bench_echo(repeats, echo_iters, &echo, &input, &mut out)?;
    }
    if selected("typed") {
        bench_typed_add(repeats, echo_iters, &std_mod.method("add")?)?;
    }
    if selected("handle") {
        bench_handles(repeats, echo_iters, &echo, &input, &mut out)?;
    }
    if selected("checksum") {
        // 3. 64 MiB checksum: the std module's CRC-32C called directly, vs through the core.
        let big: Vec<u8> = (0..64u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let mib = big.len() as f64 / 1e6;
        let direct = measure(repeats.min(5), bulk_iters, 1.0, |n| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(bridgehost_mod_std::crc32c::crc32c(black_box(&big)));
            }
            t.elapsed()
        });
        emit(
            "native.crc32c_64MiB",
            "MB/s",
            &rate(&direct, mib * 1e9),
            None,
            None,
        );
        let via_core = measure(repeats.min(5), bulk_iters, 1.0, |n| {
            let t = Instant::now();
            for _ in 0..n {
                checksum.call_with(black_box(&big), &mut out).unwrap();
                black_box(&out);
            }
            t.elapsed()
        });
        emit(
            "native.core_checksum_64MiB",
            "MB/s",
            &rate(&via_core, mib * 1e9),
            Some("native.crc32c_64MiB"),
            None,
        );
    }
    if selected("events") {
        // 4. Event delivery: a module-owned thread emits N events; a Rust callback counts them.
        let ticker = std_mod.method("ticker")?;
        let count = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&count);
        let _sub = std_mod.subscribe(
            "tick",
            Box::new(move |_| {
                c.fetch_add(1, Ordering::Relaxed);
            }),
        )?;
        // CPU time per event of the emitting thread (module thread → EventHub::emit) and of
        // the dispatcher (queue → callback, its idle spin included), from the threads' own
        // run-time counters: unlike the wall-clock rate, barely moved by other load on the machine.
        let (mut emit_cpu, mut dispatch_cpu) = (Vec::new(), Vec::new());
        let mut warm_up = true;
        let ev = measure(repeats.min(5), u64::from(events), 1.0, |n| {
            count.store(0, Ordering::SeqCst);
            let cpu0 = (
                thread_cpu_ns("bh-std-ticker"),
                thread_cpu_ns("bridgehost-even"),
            );
            let t = Instant::now();
            ticker.call(&(n as u32).to_le_bytes()).unwrap();
            while count.load(Ordering::Relaxed) < n {
                std::thread::yield_now();
            }
            let elapsed = t.elapsed();
            let cpu1 = (
                thread_cpu_ns("bh-std-ticker"),
                thread_cpu_ns("bridgehost-even"),
            );
            if std::mem::take(&mut warm_up) {
                return elapsed;
            }
            if let (Some(a), Some(b)) = (cpu0.0, cpu1.0) {
                emit_cpu.push((b - a) as f64 / n as f64);
            }
            if let (Some(a), Some(b)) = (cpu0.1, cpu1.1) {
                dispatch_cpu.push((b - a) as f64 / n as f64);
            }
            elapsed
        });
        emit("native.events", "events/s", &rate(&ev, 1e9), None, None);
        for (name, v) in [
            ("native.events_emit_cpu", &mut emit_cpu),
            ("native.events_dispatch_cpu", &mut dispatch_cpu),
        ] {
            if let Some(s) = stats_of(v) {
                emit(name, "ns/event", &s, None, None);
            }
        }
        let dropped = std_mod.counters().events_dropped;
        eprintln!("native: events dropped during the run: {dropped}");
    }
    host.close();
    Ok(())
}

/// 1. 16-byte echo: a Rust function that copies into a reused Vec, vs the core call.
fn bench_echo(
    repeats: usize,
    iters: u64,
    echo: &Method,
    input: &[u8; 16],
    out: &mut Vec<u8>,
) -> Result<(), bridgehost::Error> {
    let mut buf = Vec::with_capacity(64);
    let raw = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            buf.clear();
            buf.extend_from_slice(black_box(input));
            black_box(&buf);
        }
        t.elapsed()
    });
    emit("native.rust_echo_16B", "ns/call", &raw, None, None);
    let mut failed = None;
    let core = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = echo.call_with(black_box(input), out) {
                failed = Some(e);
                break;
            }
            black_box(&*out);
        }
        t.elapsed()
    });
    if let Some(e) = failed {
        return Err(e);
    }
    emit(
        "native.core_echo_16B",
        "ns/call",
        &core,
        Some("native.rust_echo_16B"),
        None,
    );
    Ok(())
}

/// 1b. Typed `add(u32, u32) -> u32` (docs/TYPED.md, "Direct calls"): a Rust function, vs
/// `Method::call_scalar` (the module's direct entry, in-process), vs the same call through the
/// bytes entry (the arguments in the wire format, the result decoded), the path every typed call
/// took before direct entries.
fn bench_typed_add(repeats: usize, iters: u64, add: &Method) -> Result<(), bridgehost::Error> {
    #[inline(never)]
    fn rust_add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    let raw = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for i in 0..n {
            black_box(rust_add(black_box(i as u32), black_box(7)));
        }
        t.elapsed()
    });
    emit("native.rust_add", "ns/call", &raw, None, None);
    let mut failed = None;
    let direct = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for i in 0..n {
            match add.call_scalar(black_box(&[i & 0xffff_ffff, 7])) {
                Ok(r) => {
                    black_box(r);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        t.elapsed()
    });
    if let Some(e) = failed.take() {
        return Err(e);
    }
    emit(
        "native.typed_add_direct",
        "ns/call",
        &direct,
        Some("native.rust_add"),
        None,
    );
    let bytes = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        let mut out = [0u8; 8];
        for i in 0..n {
            let mut input = [0u8; 8];
            input[..4].copy_from_slice(&(i as u32).to_le_bytes());
            input[4..].copy_from_slice(&7u32.to_le_bytes());
            match add.call_to_slice(black_box(&input), &mut out) {
                Ok(len) => {
                    black_box(
                        u32::from_le_bytes(out[..4].try_into().unwrap_or([0; 4])) + len as u32,
                    );
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        t.elapsed()
    });
    if let Some(e) = failed {
        return Err(e);
    }
    emit(
        "native.typed_add_bytes",
        "ns/call",
        &bytes,
        Some("native.rust_add"),
        None,
    );
    Ok(())
}

/// 2. Handle lookups, the per-call cost every front end pays before the core call.
///
/// A raw `Vec<Arc<T>>` index (no generation check, no concurrency: the floor),
/// `HandleTable::get` (an owned `Arc`), `HandleTable::with` and `borrow`, and a front end's
/// whole call path (`with` + `call_with`) beside the bare core call.
fn bench_handles(
    repeats: usize,
    iters: u64,
    echo: &Method,
    input: &[u8; 16],
    out: &mut Vec<u8>,
) -> Result<(), bridgehost::Error> {
    let table: HandleTable<Method> = HandleTable::new(0x7e);
    // A few neighbours so the looked-up slot is not alone in the table.
    let others: Vec<u64> = (0..8)
        .map(|_| table.insert(Arc::new(echo.clone())))
        .collect();
    let h = table.insert(Arc::new(echo.clone()));
    let raw_slots: Vec<Arc<Method>> = (0..9).map(|_| Arc::new(echo.clone())).collect();
    let idx = 8usize;

    let raw = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            let m: &Method = &raw_slots[black_box(idx)];
            black_box(m.name().len());
        }
        t.elapsed()
    });
    emit("native.raw_slot_lookup", "ns/call", &raw, None, None);
    let mut missing = false;
    let get = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            match table.get(black_box(h)) {
                Some(m) => {
                    black_box(m.name().len());
                }
                None => missing = true,
            }
        }
        t.elapsed()
    });
    emit(
        "native.handle_get",
        "ns/call",
        &get,
        Some("native.raw_slot_lookup"),
        None,
    );
    let with = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if table
                .with(black_box(h), |m| black_box(m.name().len()))
                .is_none()
            {
                missing = true;
            }
        }
        t.elapsed()
    });
    emit(
        "native.handle_with",
        "ns/call",
        &with,
        Some("native.raw_slot_lookup"),
        None,
    );
    let borrow = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            match table.borrow(black_box(h)) {
                Some(m) => {
                    black_box(m.name().len());
                }
                None => missing = true,
            }
        }
        t.elapsed()
    });
    emit(
        "native.handle_borrow",
        "ns/call",
        &borrow,
        Some("native.raw_slot_lookup"),
        None,
    );
    // Handle churn (a per-call buffer or task handle): insert + remove, for a default table
    // (remove = membarrier) and a short-lived one (remove = fence + scan), beside the
    // allocation an owned value costs anyway.
    let churn_iters = (iters / 20).max(1);
    let alloc = measure(repeats, churn_iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            black_box(Arc::new(black_box(vec![7u8; 16])));
        }
        t.elapsed()
    });
    emit("native.raw_arc_vec_16B", "ns/call", &alloc, None, None);
    for (name, churn) in [
        (
            "native.handle_insert_remove",
            HandleTable::<Vec<u8>>::new(0x7d),
        ),
        (
            "native.handle_insert_remove_short_lived",
            HandleTable::<Vec<u8>>::new_short_lived(0x7c),
        ),
    ] {
        let s = measure(repeats, churn_iters, 1.0, |n| {
            let t = Instant::now();
            for _ in 0..n {
                let h = churn.insert(Arc::new(black_box(vec![7u8; 16])));
                if churn.remove(black_box(h)).is_none() {
                    missing = true;
                }
            }
            t.elapsed()
        });
        emit(name, "ns/call", &s, Some("native.raw_arc_vec_16B"), None);
    }
    let mut failed = None;
    let core = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            if let Err(e) = echo.call_with(black_box(input), out) {
                failed = Some(e);
                break;
            }
            black_box(&*out);
        }
        t.elapsed()
    });
    emit(
        "native.core_echo_16B_same_section",
        "ns/call",
        &core,
        None,
        None,
    );
    let via = measure(repeats, iters, 1.0, |n| {
        let t = Instant::now();
        for _ in 0..n {
            match table.with(black_box(h), |m| m.call_with(black_box(input), out)) {
                Some(Ok(())) => {
                    black_box(&*out);
                }
                Some(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                None => missing = true,
            }
        }
        t.elapsed()
    });
    emit(
        "native.handle_with_echo_16B",
        "ns/call",
        &via,
        Some("native.core_echo_16B_same_section"),
        None,
    );
    if let Some(e) = failed {
        return Err(e);
    }
    if missing {
        return Err(bridgehost::Error::Internal(
            "a live handle was not found".into(),
        ));
    }
    for o in others.into_iter().chain([h]) {
        if table.remove(o).is_none() {
            return Err(bridgehost::Error::Internal(
                "a live handle was not removable".into(),
            ));
        }
    }
    Ok(())
}
