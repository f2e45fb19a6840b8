//! Python arguments → core options.
//!
//! Sizes and counts arrive as Python ints of any magnitude. The type is
//! checked here (`TypeError`); the range is the core's one rule per option
//! (`bridgehost::options::Numeric`), applied to the whole value *before* it is
//! narrowed, so `-1`, `2**31`, `2**64` or a float never wrap into a plausible
//! value: out of range is `InvalidArgumentError` (a `ValueError`) with the
//! same message as in every other runtime.
#![forbid(unsafe_code)]

use crate::buffer::InputBuffer;
use crate::errors::{invalid, to_pyerr};
use bridgehost::options::{Numeric, Span};
use bridgehost::{CounterSnapshot, Isolation, ModuleOptions};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use std::path::PathBuf;
use std::time::Duration;

/// An integer option: the type is checked here (`TypeError`), the range by
/// the core's one rule for that option ([`Numeric::check`]), before anything
/// is narrowed, so `-1`, `2**31` or `2**64` never wrap into a plausible value.
pub(crate) fn numeric(py: Python<'_>, opt: Numeric, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if v.is_instance_of::<PyBool>() || !v.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{} must be an int, not {}",
            opt.name(),
            v.get_type().name()?
        )));
    }
    let checked = match v.extract::<i128>() {
        Ok(n) => opt.check(n),
        // Beyond i128: out of every range; shown as the caller wrote it.
        Err(_) => Err(opt.refuse(v.repr()?)),
    };
    checked.map_err(|e| to_pyerr(py, &e))
}

/// A duration in seconds (int or float), as `call_timeout`, the supervision
/// settings and the waits' arguments (`Module.flush(timeout)`: [`Span::FlushTimeout`],
/// `Host.inspect(timeout)`: [`Span::InspectDeadline`]) take it: the type is checked here (`TypeError`), the
/// range by the core's one rule for that option ([`Span::from_nanos`]), so the
/// message is the one every runtime shows. An int is converted exactly (one
/// too large even for 128 bits of nanoseconds is refused as written); a float
/// is rounded away from zero to whole nanoseconds; NaN and infinities are
/// refused as out of range.
pub(crate) fn span(py: Python<'_>, opt: Span, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if v.is_instance_of::<PyBool>()
        || !(v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>())
    {
        return Err(PyTypeError::new_err(format!(
            "{} must be a number of seconds, not {}",
            opt.name(),
            v.get_type().name()?
        )));
    }
    let checked = if v.is_instance_of::<PyInt>() {
        match v
            .extract::<i128>()
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000))
        {
            Some(nanos) => opt.from_nanos(nanos),
            None => Err(opt.refuse(format!("{} s", v.repr()?))),
        }
    } else {
        let s: f64 = v.extract()?;
        if s.is_finite() {
            // Away from zero: a tiny positive duration stays positive, a tiny negative one
            // negative (refused, never rounded to a valid 0). Saturates beyond i128: still
            // out of range.
            let ns = s * 1e9;
            opt.from_nanos(if ns < 0.0 { ns.floor() } else { ns.ceil() } as i128)
        } else {
            Err(opt.refuse(format!("{s} s")))
        }
    };
    checked.map_err(|e| to_pyerr(py, &e))
}

/// A `bool` option (`TypeError` for anything else, `1` included).
fn flag(name: &str, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.extract()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a bool")))
}

/// A `str` argument as UTF-8 text: a string Python holds but UTF-8 cannot
/// (an unpaired surrogate, `"\ud800"`) is `InvalidArgumentError` naming the
/// argument, not the bare `UnicodeEncodeError` of a `&str` parameter.
pub(crate) fn utf8<'a>(
    py: Python<'_>,
    name: &str,
    s: &'a Bound<'_, PyString>,
) -> PyResult<std::borrow::Cow<'a, str>> {
    s.to_cow()
        .map_err(|e| invalid(py, format!("{name} is not valid Unicode: {}", e.value(py))))
}

/// `str` or `os.PathLike` → String (UTF-8). The path rules (empty, NUL)
/// are the core's: a module spec, a module directory and `worker_path`
/// are checked there.
pub(crate) fn path_string(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    let fs = py.import("os")?.getattr("fspath")?.call1((v,))?;
    if let Ok(s) = fs.cast::<PyString>() {
        return Ok(utf8(py, name, s)?.into_owned());
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be a str or os.PathLike[str]"
    )))
}

/// An iterable of paths.
pub(crate) fn paths(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list of paths, not a single str"
        )));
    }
    let mut out = Vec::new();
    for item in v.try_iter()? {
        out.push(PathBuf::from(path_string(py, name, &item?)?));
    }
    Ok(out)
}

/// Keyword arguments of `Host.open`.
pub(crate) struct ModuleArgs<'a, 'py> {
    pub(crate) isolation: Option<&'a Bound<'py, PyAny>>,
    pub(crate) workers: Option<&'a Bound<'py, PyAny>>,
    pub(crate) call_timeout: Option<&'a Bound<'py, PyAny>>,
    pub(crate) memory_limit: Option<&'a Bound<'py, PyAny>>,
    pub(crate) max_input: Option<&'a Bound<'py, PyAny>>,
    pub(crate) max_output: Option<&'a Bound<'py, PyAny>>,
    pub(crate) max_event: Option<&'a Bound<'py, PyAny>>,
    pub(crate) config: Option<&'a Bound<'py, PyAny>>,
    pub(crate) worker_path: Option<&'a Bound<'py, PyAny>>,
    pub(crate) validate_in_worker: Option<&'a Bound<'py, PyAny>>,
    pub(crate) spare_workers: Option<&'a Bound<'py, PyAny>>,
    pub(crate) breaker_failures: Option<&'a Bound<'py, PyAny>>,
    pub(crate) breaker_window: Option<&'a Bound<'py, PyAny>>,
    pub(crate) breaker_cooldown: Option<&'a Bound<'py, PyAny>>,
    pub(crate) startup_timeout: Option<&'a Bound<'py, PyAny>>,
    pub(crate) close_grace: Option<&'a Bound<'py, PyAny>>,
    pub(crate) cpu_limit: Option<&'a Bound<'py, PyAny>>,
    pub(crate) open_files: Option<&'a Bound<'py, PyAny>>,
    pub(crate) sandbox: Option<&'a Bound<'py, PyAny>>,
}

/// Build `ModuleOptions`; the core validates combinations (e.g. a timeout
/// without isolation) and reports them as `InvalidArgumentError` too.
pub(crate) fn module_options(py: Python<'_>, a: ModuleArgs<'_, '_>) -> PyResult<ModuleOptions> {
    let mut o = ModuleOptions::default();
    if let Some(v) = a.isolation {
        let s: String = v
            .extract()
            .map_err(|_| PyTypeError::new_err("isolation must be a str"))?;
        o.isolation = match s.as_str() {
            "in-process" => Isolation::InProcess,
            "process" => Isolation::Process,
            other => {
                return Err(invalid(
                    py,
                    format!("isolation must be \"in-process\" or \"process\", got {other:?}"),
                ))
            }
        };
    }
    if let Some(v) = a.workers {
        o.workers = numeric(py, Numeric::Workers, v)? as usize;
    }
    if let Some(v) = a.call_timeout {
        o.call_timeout = Some(span(py, Span::CallTimeout, v)?);
    }
    if let Some(v) = a.memory_limit {
        o.memory_limit = Some(numeric(py, Numeric::MemoryLimit, v)?);
    }
    if let Some(v) = a.max_input {
        o.max_input = numeric(py, Numeric::MaxInput, v)? as usize;
    }
    if let Some(v) = a.max_output {
        o.max_output = numeric(py, Numeric::MaxOutput, v)? as usize;
    }
    if let Some(v) = a.max_event {
        o.max_event = numeric(py, Numeric::MaxEvent, v)? as usize;
    }
    if let Some(v) = a.config {
        o.config = InputBuffer::new(py)
            .export_owned(v, usize::MAX)
            .map_err(|e| crate::method::buffer_error(py, "config", e))?;
    }
    if let Some(v) = a.worker_path {
        o.worker_path = Some(PathBuf::from(path_string(py, "worker_path", v)?));
    }
    if let Some(v) = a.validate_in_worker {
        o.validate_in_worker = flag("validate_in_worker", v)?;
    }
    // Supervision (docs/ISOLATION.md, "Supervision"): types here, ranges by the core's rules;
    // whether a setting may differ from its default in-process is the core's to decide at open.
    let sup = &mut o.supervision;
    if let Some(v) = a.spare_workers {
        sup.spare_workers = numeric(py, Numeric::SpareWorkers, v)? as usize;
    }
    if let Some(v) = a.breaker_failures {
        // In 1..=2^32-1: fits.
        sup.breaker_failures = numeric(py, Numeric::BreakerFailures, v)? as u32;
    }
    if let Some(v) = a.breaker_window {
        sup.breaker_window = span(py, Span::BreakerWindow, v)?;
    }
    if let Some(v) = a.breaker_cooldown {
        sup.breaker_cooldown = span(py, Span::BreakerCooldown, v)?;
    }
    if let Some(v) = a.startup_timeout {
        sup.startup_timeout = span(py, Span::StartupTimeout, v)?;
    }
    if let Some(v) = a.close_grace {
        sup.close_grace = span(py, Span::CloseGrace, v)?;
    }
    if let Some(v) = a.cpu_limit {
        // `math.inf`: no CPU limit (Rust's `None`; None, not reaching here, keeps the default).
        // Refused in-process by the core, as any change; `-math.inf` stays out of range.
        let unlimited = v.is_instance_of::<PyFloat>() && v.extract::<f64>()? == f64::INFINITY;
        sup.cpu_limit = if unlimited {
            None
        } else {
            Some(span(py, Span::CpuLimit, v)?)
        };
    }
    if let Some(v) = a.open_files {
        sup.open_files = numeric(py, Numeric::OpenFiles, v)?;
    }
    if let Some(v) = a.sandbox {
        sup.sandbox = flag("sandbox", v)?;
    }
    Ok(o)
}

/// Counters as a `dict[str, int]`.
pub(crate) fn counters_dict<'py>(
    py: Python<'py>,
    c: &CounterSnapshot,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in c.pairs() {
        d.set_item(k, v)?;
    }
    Ok(d)
}
