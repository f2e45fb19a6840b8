//! Baselines for the Python benchmarks (bench/python/bench.py):
//!
//! * `echo` / `echo_released`: the barest PyO3 echo, without and with
//!   releasing the GIL — the binding floor `bridgehost.Method.call` is
//!   measured against (no buffer protocol, no error mapping, no module).
//! * `add` / `echo_string_released`: the bare PyO3 functions with the signatures of std's typed
//!   `add: func(a: u32, b: u32) -> u32` and `echo-string: func(s: string) -> string`: the
//!   baselines of the typed-call figures (argument conversion and range checks by PyO3 alone).
//! * `native_call_seconds`: the same module method called from Rust through
//!   the core, no Python in the loop — the "native" figure for bulk calls.
//! * `attach_per_event`: delivering N callbacks from a native thread that
//!   attaches to the interpreter for every event (a fresh thread state each
//!   time) — the baseline for bridgehost's event delivery.
#![forbid(unsafe_code)]

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::time::Instant;

/// Echo without releasing the GIL.
#[pyfunction]
fn echo<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, data)
}

/// Echo, copying the input with the GIL released (as a bridge must around
/// native work).
#[pyfunction]
fn echo_released<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let out = py.detach(|| data.to_vec());
    PyBytes::new(py, &out)
}

/// `a + b` modulo 2^32, PyO3 converting and range-checking both arguments.
#[pyfunction]
fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

/// Echo a string, copying it with the GIL released (as a bridge must around native work).
#[pyfunction]
fn echo_string_released(py: Python<'_>, s: &str) -> String {
    py.detach(|| s.to_owned())
}

/// Seconds per call of `method` of the module at `path` on `size` bytes,
/// measured `repeats` times over `calls` calls each, from Rust.
#[pyfunction]
fn native_call_seconds(
    py: Python<'_>,
    path: &str,
    method: &str,
    size: usize,
    calls: usize,
    repeats: usize,
) -> PyResult<Vec<f64>> {
    let err = |e: bridgehost::Error| PyRuntimeError::new_err(e.to_string());
    py.detach(|| {
        let host = bridgehost::Host::new().map_err(err)?;
        let m = host
            .open(path, bridgehost::ModuleOptions::default())
            .map_err(err)?;
        let f = m.method(method).map_err(err)?;
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut out = Vec::new();
        f.call_with(&data, &mut out).map_err(err)?; // warm up
        let mut times = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let t0 = Instant::now();
            for _ in 0..calls {
                f.call_with(&data, &mut out).map_err(err)?;
            }
            times.push(t0.elapsed().as_secs_f64() / calls as f64);
        }
        host.close();
        Ok(times)
    })
}

/// Call `callback(topic, data)` `n` times from a new native thread that
/// attaches to the interpreter for each call; returns the elapsed seconds.
#[pyfunction]
fn attach_per_event(py: Python<'_>, callback: Py<PyAny>, n: usize) -> PyResult<f64> {
    py.detach(move || {
        std::thread::spawn(move || {
            let t0 = Instant::now();
            for i in 0..n {
                let r = Python::attach(|py| {
                    let data = (i as u32).to_be_bytes();
                    callback
                        .call1(py, (PyString::new(py, "tick"), PyBytes::new(py, &data)))
                        .map(|_| ())
                });
                r?;
            }
            Ok(t0.elapsed().as_secs_f64())
        })
        .join()
        .map_err(|_| PyRuntimeError::new_err("attach_per_event thread panicked"))?
    })
}

#[pymodule]
fn bridgehost_bench_bare(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(echo, m)?)?;
    m.add_function(wrap_pyfunction!(echo_released, m)?)?;
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(echo_string_released, m)?)?;
    m.add_function(wrap_pyfunction!(native_call_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(attach_per_event, m)?)?;
    Ok(())
}
