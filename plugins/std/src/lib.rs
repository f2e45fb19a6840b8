//! The bundled Rust module `"std"` (thread model THREAD_SAFE), built as
//! `libbridgehost_mod_std.so`.
//!
//! | method     | flags       | input                                              | output |
//! |------------|-------------|----------------------------------------------------|--------|
//! | `echo`     | NONBLOCKING | any bytes                                          | the input |
//! | `checksum` | NONBLOCKING | any bytes                                          | CRC-32C of the input, 4 bytes big-endian |
//! | `sleep_ms` | -           | decimal ASCII milliseconds, 0..=60000 (surrounding ASCII whitespace allowed) | empty |
//! | `ticker`   | -           | `count: u32 LE` [`interval_ms: u32 LE` [`topic: UTF-8`]] | empty; then `count` events on `topic` (default `"tick"`) with payload `seq: u64 LE`, seq = 0..count-1, from a module-owned thread |
//! | `fail`     | -           | message bytes (lossy UTF-8)                        | always module error code 42 with that message |
//! | `panic`    | -           | message bytes (lossy UTF-8)                        | panics; the SDK turns it into error code 101, `"panic: <message>"` |
//! | `emit`     | -           | `topic` NUL `payload` (no NUL: all topic, empty payload) | empty; emits one event synchronously from the calling thread; a refused emit is a module error whose code is the `BH_API_*` status |
//! | `config`   | NONBLOCKING | ignored                                            | the config bytes given to init |
//! | `log`      | NONBLOCKING | message bytes (lossy UTF-8)                        | empty; logs the message at level info (2) |
//! | `gate_wait` | -          | `timeout_ms: u32 LE` (at most 60000) then `key` (0..=64 bytes) | 1 byte: 1 when `gate_open(key)` released the call, 0 when the timeout passed first; on entry it emits event `"gate"` with payload `key` (the "started" signal, also under isolation) |
//! | `gate_count` | NONBLOCKING | `key`                                            | `u32 LE`: how many calls are inside `gate_wait(key)` now |
//! | `gate_open` | NONBLOCKING | `key`                                             | `u32 LE`: how many waiting calls it released (a pulse: later waits block again) |
//!
//! Typed methods (interface `std.wit`, exported with the module, wire format
//! of docs/TYPED.md):
//!
//! | method   | WIT signature |
//! |----------|---------------|
//! | `echo`   | `func(data: list<u8>) -> list<u8>` (the byte method above: its output is its input) |
//! | `add`    | `func(a: u32, b: u32) -> u32` (modulo 2^32) |
//! | `crc32c` | `func(data: list<u8>) -> u32` |
//! | `sleep`  | `func(ms: u32)` (at most 60000) |
//! | `tick`   | `func(count: u32, interval-ms: u32, topic: option<string>)`: as `ticker`; event `tick: func(seq: u64)` |
//! | `stats`  | `func(values: list<f64>) -> option<summary>`, `record summary { count: u32, min: f64, max: f64, mean: f64 }` |
//!
//! Invalid input is module error [`ERR_INVALID_INPUT`] (22, like EINVAL).
//!
//! Gates are for tests that must know, without a sleep, that calls are inside
//! native code at the same time (or that one is running): callers block in
//! `gate_wait(key)`, the test polls `gate_count(key)` until the number it
//! expects is inside, then lets them go with `gate_open(key)`. Gates are
//! per module instance, so under isolation each worker process has its own.
//!
//! Ticker: each instance owns at most one ticker thread, started by the first
//! `ticker` call; later calls queue their run behind the current one. An
//! event refused with `BH_API_OVERLOADED` is retried (1 ms back-off) so that
//! every sequence number is delivered unless the instance is destroyed; a
//! `BH_API_STALE` ends the run. `destroy` stops the thread (also during an
//! interval wait) and joins it: nothing is emitted after `destroy` returns.
#![deny(unsafe_code)]

pub mod crc32c;

use bridgehost_module_sdk::{
    export_module, EmitError, Host, LogLevel, Module, ModuleError, Output, ThreadModel, NONBLOCKING,
};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Module error code for malformed input.
pub const ERR_INVALID_INPUT: i32 = 22;
/// Module error code when the ticker thread cannot be started.
pub const ERR_RESOURCE: i32 = 11;
/// Module error code of method `fail`.
pub const FAIL_CODE: i32 = 42;
/// Longest accepted `sleep_ms` / ticker interval.
pub const MAX_SLEEP_MS: u32 = 60_000;
/// Default ticker topic.
pub const DEFAULT_TICK_TOPIC: &str = "tick";
/// Longest topic the host accepts.
const MAX_TOPIC_LEN: usize = 128;
/// Longest gate key.
pub const MAX_GATE_KEY: usize = 64;
/// Topic of the event `gate_wait` emits when a call enters (payload: the key).
pub const GATE_TOPIC: &str = "gate";

/// The instance's gates: per key, the calls waiting and a generation that
/// `gate_open` bumps to release them.
#[derive(Debug, Default)]
struct Gates {
    state: Mutex<std::collections::HashMap<Vec<u8>, Gate>>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct Gate {
    waiting: u32,
    generation: u64,
}

fn gate_key<'a>(what: &str, key: &'a [u8]) -> Result<&'a [u8], ModuleError> {
    if key.len() > MAX_GATE_KEY {
        return Err(invalid(format!(
            "{what}: key of {} bytes exceeds {MAX_GATE_KEY}",
            key.len()
        )));
    }
    Ok(key)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(msg: impl Into<String>) -> ModuleError {
    ModuleError::new(ERR_INVALID_INPUT, msg)
}

/// A stop flag a thread can sleep on.
#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    fn set(&self) {
        *lock(&self.stopped) = true;
        self.cv.notify_all();
    }

    fn is_set(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Sleep up to `d`; true when stopped (immediately or during the wait).
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut stopped = lock(&self.stopped);
        while !*stopped {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = match self.cv.wait_timeout(stopped, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

#[derive(Debug)]
struct TickJob {
    count: u32,
    interval: Duration,
    topic: String,
}

#[derive(Debug)]
struct Ticker {
    jobs: mpsc::Sender<TickJob>,
    thread: JoinHandle<()>,
}

/// One instance of module "std".
#[derive(Debug)]
pub struct Std {
    host: Host,
    config: Vec<u8>,
    stop: Arc<Stop>,
    ticker: Mutex<Option<Ticker>>,
    gates: Gates,
}

impl Module for Std {
    fn init(host: Host, config: &[u8]) -> Result<Self, ModuleError> {
        Ok(Std {
            host,
            config: config.to_vec(),
            stop: Arc::new(Stop::default()),
            ticker: Mutex::new(None),
            gates: Gates::default(),
        })
    }
}

impl Drop for Std {
    fn drop(&mut self) {
        self.stop.set();
        let ticker = self
            .ticker
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Ticker { jobs, thread }) = ticker {
            drop(jobs); // wakes a thread idle in recv()
            if thread.join().is_err() {
                self.host
                    .log(LogLevel::Error, "std: ticker thread panicked");
            }
        }
    }
}

/// Emit one event, retrying while the queue is full. False: stop the run.
fn emit_reliably(host: &Host, stop: &Stop, topic: &str, data: &[u8]) -> bool {
    loop {
        if stop.is_set() {
            return false;
        }
        match host.emit(topic, data) {
            Ok(()) => return true,
            Err(EmitError::Overloaded) => {
                if stop.sleep(Duration::from_millis(1)) {
                    return false;
                }
            }
            Err(EmitError::Stale) => return false,
            Err(e) => {
                host.log(LogLevel::Warn, &format!("std ticker: event dropped: {e}"));
                return true;
            }
        }
    }
}

fn ticker_thread(host: Host, stop: Arc<Stop>, jobs: mpsc::Receiver<TickJob>) {
    while let Ok(job) = jobs.recv() {
        for seq in 0..u64::from(job.count) {
            if !emit_reliably(&host, &stop, &job.topic, &seq.to_le_bytes()) {
                return;
            }
            if !job.interval.is_zero() && seq + 1 < u64::from(job.count) && stop.sleep(job.interval)
            {
                return;
            }
        }
        if stop.is_set() {
            return;
        }
    }
}

fn parse_ticker(input: &[u8]) -> Result<TickJob, ModuleError> {
    let u32_at = |at: usize| -> Option<u32> {
        input
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = u32_at(0).ok_or_else(|| invalid("ticker: input must start with a u32 LE count"))?;
    let interval_ms = match input.len() {
        4 => 0,
        5..=7 => {
            return Err(invalid(
                "ticker: input is count (4 bytes) [+ interval_ms (4 bytes) [+ topic]]",
            ))
        }
        _ => u32_at(4).unwrap_or(0),
    };
    if interval_ms > MAX_SLEEP_MS {
        return Err(invalid(format!(
            "ticker: interval {interval_ms} ms exceeds {MAX_SLEEP_MS} ms"
        )));
    }
    let topic = match input.get(8..) {
        None | Some([]) => DEFAULT_TICK_TOPIC.to_string(),
        Some(t) => {
            let t = std::str::from_utf8(t).map_err(|_| invalid("ticker: topic is not UTF-8"))?;
            if t.len() > MAX_TOPIC_LEN {
                return Err(invalid("ticker: topic longer than 128 bytes"));
            }
            t.to_string()
        }
    };
    Ok(TickJob {
        count,
        interval: Duration::from_millis(u64::from(interval_ms)),
        topic,
    })
}

/// Sleep until `deadline`. Not `std::thread::sleep`, which restarts a
/// relative sleep after every signal: a storm of them (a managed runtime
/// stopping the world for back-to-back collections) can keep it from ever
/// finishing. A condition variable nobody notifies waits on the absolute
/// deadline (std's futex wait retries an interrupted wait against it).
fn sleep_until(deadline: Instant) {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let mut g = lock(&m);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        g = match cv.wait_timeout(g, left) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
    }
}

fn parse_sleep_ms(input: &[u8]) -> Result<u32, ModuleError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| invalid("sleep_ms: input must be decimal ASCII"))?
        .trim_ascii();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "sleep_ms: input must be decimal ASCII milliseconds, got {text:?}"
        )));
    }
    match text.parse::<u64>() {
        Ok(ms) if ms <= u64::from(MAX_SLEEP_MS) => Ok(ms as u32),
        _ => Err(invalid(format!(
            "sleep_ms: {text} ms exceeds the limit of {MAX_SLEEP_MS} ms"
        ))),
    }
}

/// The module's typed interface (embedded; the host validates it).
pub const INTERFACE: &str = include_str!("../std.wit");

/// Reads typed-method input (docs/TYPED.md wire format): hostile bytes, so
/// every read is bounds-checked and trailing bytes are refused.
struct Wire<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Wire<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModuleError> {
        if n > self.b.len() {
            return Err(invalid(format!("{}: input is truncated", self.what)));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }

    fn u8(&mut self) -> Result<u8, ModuleError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, ModuleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64, ModuleError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ModuleError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<&'a str, ModuleError> {
        let what = self.what;
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| invalid(format!("{what}: string is not UTF-8")))
    }

    fn end(&self) -> Result<(), ModuleError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!(
                "{}: {} trailing input bytes",
                self.what,
                self.b.len()
            )))
        }
    }
}

fn wire<'a>(what: &'static str, b: &'a [u8]) -> Wire<'a> {
    Wire { b, what }
}

impl Std {
    fn gate_wait(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let Some((ms, key)) = input.split_first_chunk::<4>() else {
            return Err(invalid(
                "gate_wait: input is timeout_ms (u32 LE) then the key",
            ));
        };
        let ms = u32::from_le_bytes(*ms);
        if ms > MAX_SLEEP_MS {
            return Err(invalid(format!(
                "gate_wait: timeout {ms} ms exceeds {MAX_SLEEP_MS} ms"
            )));
        }
        let key = gate_key("gate_wait", key)?;
        let deadline = Instant::now() + Duration::from_millis(u64::from(ms));
        let mut gates = lock(&self.gates.state);
        let entry = gates.entry(key.to_vec()).or_default();
        entry.waiting += 1;
        let generation = entry.generation;
        drop(gates);
        // Counted first, then announced: a caller told by the event may rely on gate_count.
        if let Err(e) = self.host.emit(GATE_TOPIC, key) {
            self.host.log(
                LogLevel::Warn,
                &format!("std gate_wait: started event dropped: {e}"),
            );
        }
        let mut gates = lock(&self.gates.state);
        let opened = loop {
            let gate = gates
                .get(key)
                .expect("a gate with waiters stays in the map");
            if gate.generation != generation {
                break true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            gates = match self.gates.cv.wait_timeout(gates, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        };
        let gate = gates
            .get_mut(key)
            .expect("a gate with waiters stays in the map");
        gate.waiting -= 1;
        if gate.waiting == 0 {
            gates.remove(key);
        }
        drop(gates);
        out.write(&[u8::from(opened)])?;
        Ok(())
    }

    fn gate_count(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let key = gate_key("gate_count", input)?;
        let n = lock(&self.gates.state).get(key).map_or(0, |g| g.waiting);
        out.write(&n.to_le_bytes())?;
        Ok(())
    }

    fn gate_open(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let key = gate_key("gate_open", input)?;
        let n = match lock(&self.gates.state).get_mut(key) {
            Some(g) => {
                g.generation += 1;
                g.waiting
            }
            None => 0,
        };
        self.gates.cv.notify_all();
        out.write(&n.to_le_bytes())?;
        Ok(())
    }

    fn add(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let mut w = wire("add", input);
        let (a, b) = (w.u32()?, w.u32()?);
        w.end()?;
        out.write(&a.wrapping_add(b).to_le_bytes())?;
        Ok(())
    }

    fn crc32c(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let mut w = wire("crc32c", input);
        let data = w.bytes()?;
        w.end()?;
        out.write(&crc32c::crc32c(data).to_le_bytes())?;
        Ok(())
    }

    fn sleep(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        let mut w = wire("sleep", input);
        let ms = w.u32()?;
        w.end()?;
        if ms > MAX_SLEEP_MS {
            return Err(invalid(format!("sleep: {ms} ms exceeds {MAX_SLEEP_MS} ms")));
        }
        sleep_until(Instant::now() + Duration::from_millis(u64::from(ms)));
        Ok(())
    }

    fn tick(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let mut w = wire("tick", input);
        let (count, interval) = (w.u32()?, w.u32()?);
        let topic = match w.u8()? {
            0 => None,
            1 => Some(w.string()?),
            t => return Err(invalid(format!("tick: option tag {t}"))),
        };
        w.end()?;
        // The byte method's encoding: count, interval, topic bytes.
        let mut legacy = Vec::with_capacity(8 + topic.map_or(0, str::len));
        legacy.extend_from_slice(&count.to_le_bytes());
        legacy.extend_from_slice(&interval.to_le_bytes());
        match topic {
            Some("") => return Err(invalid("tick: empty topic")),
            Some(t) => legacy.extend_from_slice(t.as_bytes()),
            None => {}
        }
        self.ticker(&legacy, out)
    }

    fn stats(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        let mut w = wire("stats", input);
        let n = w.u32()? as usize;
        if n.saturating_mul(8) > w.b.len() {
            return Err(invalid("stats: list length exceeds the input"));
        }
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for _ in 0..n {
            let x = w.f64()?;
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        w.end()?;
        if n == 0 {
            out.write(&[0])?;
            return Ok(());
        }
        let mut b = Vec::with_capacity(29);
        b.push(1);
        b.extend_from_slice(&(n as u32).to_le_bytes());
        for x in [min, max, sum / n as f64] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        out.write(&b)?;
        Ok(())
    }

    fn echo(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        out.write(input)?;
        Ok(())
    }

    fn checksum(&self, input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        out.write(&crc32c::crc32c(input).to_be_bytes())?;
        Ok(())
    }

    fn sleep_ms(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        let ms = parse_sleep_ms(input)?;
        sleep_until(Instant::now() + Duration::from_millis(u64::from(ms)));
        Ok(())
    }

    fn ticker(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        let job = parse_ticker(input)?;
        if job.count == 0 {
            return Ok(());
        }
        let mut slot = lock(&self.ticker);
        if slot.is_none() {
            let (tx, rx) = mpsc::channel();
            let host = self.host.clone();
            let stop = Arc::clone(&self.stop);
            let thread = std::thread::Builder::new()
                .name("bh-std-ticker".into())
                .spawn(move || ticker_thread(host, stop, rx))
                .map_err(|e| {
                    ModuleError::new(ERR_RESOURCE, format!("ticker: cannot start thread: {e}"))
                })?;
            *slot = Some(Ticker { jobs: tx, thread });
        }
        let ticker = slot
            .as_ref()
            .ok_or_else(|| ModuleError::new(ERR_RESOURCE, "ticker: no thread"))?;
        ticker
            .jobs
            .send(job)
            .map_err(|_| ModuleError::new(ERR_RESOURCE, "ticker: thread is gone"))
    }

    fn fail(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        Err(ModuleError::new(
            FAIL_CODE,
            String::from_utf8_lossy(input).into_owned(),
        ))
    }

    fn panic(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        panic!("{}", String::from_utf8_lossy(input));
    }

    fn emit(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        let (topic, payload) = match input.iter().position(|&b| b == 0) {
            Some(nul) => (&input[..nul], &input[nul + 1..]),
            None => (input, &[][..]),
        };
        let topic = std::str::from_utf8(topic).map_err(|_| invalid("emit: topic is not UTF-8"))?;
        self.host.emit(topic, payload)?;
        Ok(())
    }

    fn config(&self, _input: &[u8], out: &mut Output<'_>) -> Result<(), ModuleError> {
        out.write(&self.config)?;
        Ok(())
    }

    fn log(&self, input: &[u8], _out: &mut Output<'_>) -> Result<(), ModuleError> {
        self.host
            .log(LogLevel::Info, &String::from_utf8_lossy(input));
        Ok(())
    }
}

export_module! {
    module: Std,
    name: "std",
    version: env!("CARGO_PKG_VERSION"),
    thread_model: ThreadModel::ThreadSafe,
    methods: [
        ("echo", NONBLOCKING, Std::echo),
        ("checksum", NONBLOCKING, Std::checksum),
        ("sleep_ms", 0, Std::sleep_ms),
        ("ticker", 0, Std::ticker),
        ("fail", 0, Std::fail),
        ("panic", 0, Std::panic),
        ("emit", 0, Std::emit),
        ("config", NONBLOCKING, Std::config),
        ("log", NONBLOCKING, Std::log),
        ("add", NONBLOCKING, Std::add),
        ("crc32c", NONBLOCKING, Std::crc32c),
        ("sleep", 0, Std::sleep),
        ("tick", 0, Std::tick),
        ("stats", NONBLOCKING, Std::stats),
        ("gate_wait", 0, Std::gate_wait),
        ("gate_count", NONBLOCKING, Std::gate_count),
        ("gate_open", NONBLOCKING, Std::gate_open),
    ],
    interface: INTERFACE,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_input() {
        assert_eq!(parse_sleep_ms(b"0").unwrap(), 0);
        assert_eq!(parse_sleep_ms(b" 250\n").unwrap(), 250);
        assert_eq!(parse_sleep_ms(b"60000").unwrap(), 60000);
        for bad in [
            &b"60001"[..],
            b"",
            b"-1",
            b"1.5",
            b"99999999999999999999999",
            b"\xff",
        ] {
            assert_eq!(
                parse_sleep_ms(bad).unwrap_err().code,
                ERR_INVALID_INPUT,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ticker_input() {
        let j = parse_ticker(&3u32.to_le_bytes()).unwrap();
        assert_eq!(
            (j.count, j.interval, j.topic.as_str()),
            (3, Duration::ZERO, "tick")
        );
        let mut v = 5u32.to_le_bytes().to_vec();
        v.extend_from_slice(&7u32.to_le_bytes());
        let j = parse_ticker(&v).unwrap();
        assert_eq!(
            (j.count, j.interval, j.topic.as_str()),
            (5, Duration::from_millis(7), "tick")
        );
        v.extend_from_slice(b"clock");
        assert_eq!(parse_ticker(&v).unwrap().topic, "clock");
        assert!(parse_ticker(b"abc").is_err());
        assert!(parse_ticker(b"abcde").is_err());
        let mut v = 1u32.to_le_bytes().to_vec();
        v.extend_from_slice(&60001u32.to_le_bytes());
        assert!(parse_ticker(&v).is_err());
    }
}
