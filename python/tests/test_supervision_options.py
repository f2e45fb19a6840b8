"""The supervision settings of an isolated module as ``Host.open`` keywords.

``spare_workers``, ``breaker_failures``, ``breaker_window``, ``breaker_cooldown``,
``startup_timeout``, ``close_grace``, ``cpu_limit``, ``open_files`` and ``sandbox``
(docs/ISOLATION.md, "Supervision"; docs/PYTHON.md, "Defaults"). The bridge checks types only;
ranges and their messages are the core's (``bridgehost::options::Numeric`` / ``Span``), and so is
the refusal of a worker's setting in-process. The messages name the option, and the in-process
refusal names the field of ``Supervision`` that differs from its default: together they prove
each keyword reaches its own field.
"""

from __future__ import annotations

import ast
import errno
import inspect
import math
import re
import threading
import time
from pathlib import Path

import pytest

import bridgehost
from conftest import faulty_available, gate

SUPERVISION = [
    "spare_workers",
    "breaker_failures",
    "breaker_window",
    "breaker_cooldown",
    "startup_timeout",
    "close_grace",
    "cpu_limit",
    "open_files",
    "sandbox",
]
COUNTS = ["spare_workers", "breaker_failures", "open_files"]
DURATIONS = ["breaker_window", "breaker_cooldown", "startup_timeout", "close_grace", "cpu_limit"]

#: Each setting's default, as a caller may pass it explicitly (docs/ISOLATION.md).
DEFAULTS = {
    "spare_workers": 1,
    "breaker_failures": 5,
    "breaker_window": 30,
    "breaker_cooldown": 1.0,
    "startup_timeout": 10,
    "close_grace": 5.0,
    "cpu_limit": 3600,
    "open_files": 64,
    "sandbox": True,
}

#: A valid value other than the default, for each setting.
CHANGED = {
    "spare_workers": 0,
    "breaker_failures": 1,
    "breaker_window": 10,
    "breaker_cooldown": 2.5,
    "startup_timeout": 5,
    "close_grace": 0,
    "cpu_limit": 60,
    "open_files": 128,
    "sandbox": False,
}

WORKER_ONLY = [n for n in SUPERVISION if n not in ("startup_timeout", "sandbox")]

YEAR_NS = 365 * 86400 * 10**9

#: (keyword, value, the core's message): every bound of every setting, and NaN/inf/huge ints.
OUT_OF_RANGE = [
    ("spare_workers", 9, "spare_workers must be in 0..=8, got 9"),
    ("spare_workers", -1, "spare_workers must be in 0..=8, got -1"),
    ("breaker_failures", 0, "breaker_failures must be in 1..=4294967295, got 0"),
    ("breaker_failures", 2**32, "breaker_failures must be in 1..=4294967295, got 4294967296"),
    ("open_files", 15, "open_files must be in 16..=65536, got 15"),
    ("open_files", 65537, "open_files must be in 16..=65536, got 65537"),
    ("open_files", 2**200, f"open_files must be in 16..=65536, got {2**200}"),
    ("breaker_window", 0, "breaker_window must be positive and at most one year, got 0 ns"),
    (
        "breaker_window",
        366 * 86400,
        f"breaker_window must be positive and at most one year, got {366 * 86400 * 10**9} ns",
    ),
    ("breaker_cooldown", -1, "breaker_cooldown must be positive and at most one year, got -1000000000 ns"),
    ("breaker_cooldown", math.inf, "breaker_cooldown must be positive and at most one year, got inf s"),
    ("startup_timeout", 0.0, "startup_timeout must be positive and at most one year, got 0 ns"),
    ("startup_timeout", math.nan, "startup_timeout must be positive and at most one year, got NaN s"),
    ("close_grace", -1, "close_grace must be at most one year, got -1000000000 ns"),
    ("close_grace", -1e-9, "close_grace must be at most one year, got -1 ns"),
    # Rounded away from zero: a tiny negative grace is refused, never taken as 0.
    ("close_grace", -1e-12, "close_grace must be at most one year, got -1 ns"),
    ("close_grace", 2**200, f"close_grace must be at most one year, got {2**200} s"),
    ("close_grace", YEAR_NS, "close_grace must be at most one year, got"),  # seconds, not ns
    ("cpu_limit", 0.5, "cpu_limit must be at least 1 s and at most one year, got 500000000 ns"),
    ("cpu_limit", 0, "cpu_limit must be at least 1 s and at most one year, got 0 ns"),
    ("cpu_limit", -math.inf, "cpu_limit must be at least 1 s and at most one year, got -inf s"),
]


@pytest.mark.parametrize(
    "name,value,message", OUT_OF_RANGE, ids=[f"{n}={v!r}" for n, v, _ in OUT_OF_RANGE]
)
def test_out_of_range_is_the_cores_message_naming_the_option(host, name, value, message):
    with pytest.raises(bridgehost.InvalidArgumentError, match=re.escape(message)) as ei:
        host.open("std", isolation="process", **{name: value})
    assert isinstance(ei.value, ValueError)
    assert str(ei.value).count(" must be ") == 1


@pytest.mark.parametrize("name", COUNTS)
@pytest.mark.parametrize("value", [True, 16.0, "16", [16], b"16"])
def test_a_count_of_the_wrong_type_is_a_type_error(host, name, value):
    with pytest.raises(TypeError, match=name):
        host.open("std", isolation="process", **{name: value})


@pytest.mark.parametrize("name", DURATIONS)
@pytest.mark.parametrize("value", [True, False, "1", [1], b"1", 1j])
def test_a_duration_of_the_wrong_type_is_a_type_error(host, name, value):
    with pytest.raises(TypeError, match=f"{name} must be a number of seconds"):
        host.open("std", isolation="process", **{name: value})


@pytest.mark.parametrize("value", [1, 0, "true", 1.0, [True]])
def test_sandbox_must_be_a_bool(host, value):
    with pytest.raises(TypeError, match="sandbox must be a bool"):
        host.open("std", isolation="process", sandbox=value)


def test_none_and_the_defaults_are_accepted_in_process(host):
    # None means "the default"; the defaults themselves are no change, so in-process accepts them.
    echo = host.open("std", **{n: None for n in SUPERVISION}).method("echo")
    assert echo(b"a") == b"a"
    assert host.open("std", **DEFAULTS).method("echo")(b"b") == b"b"


@pytest.mark.parametrize("name", WORKER_ONLY)
def test_a_workers_setting_is_refused_in_process(host, name):
    message = f"{name} requires process isolation"
    with pytest.raises(bridgehost.InvalidArgumentError, match=re.escape(message)) as ei:
        host.open("std", **{name: CHANGED[name]})
    assert "validate_in_worker" not in str(ei.value)
    # validate_in_worker configures a worker of its own, but not these settings.
    with pytest.raises(bridgehost.InvalidArgumentError, match=re.escape(message)):
        host.open("std", validate_in_worker=True, **{name: CHANGED[name]})


def test_an_infinite_cpu_limit_is_refused_in_process(host):
    # math.inf is no limit (Rust's cpu_limit None): a change from the default, refused in-process
    # as every worker-only setting, with or without validate_in_worker.
    message = "invalid argument: cpu_limit requires process isolation"
    for extra in ({}, {"validate_in_worker": True}):
        with pytest.raises(bridgehost.InvalidArgumentError) as ei:
            host.open("std", cpu_limit=math.inf, **extra)
        assert str(ei.value) == message


@pytest.mark.parametrize("name", ["startup_timeout", "sandbox"])
def test_a_validation_setting_needs_isolation_or_validate_in_worker(host, name):
    with pytest.raises(
        bridgehost.InvalidArgumentError,
        match=re.escape(f"{name} requires process isolation or validate_in_worker"),
    ):
        host.open("std", **{name: CHANGED[name]})
    with pytest.raises(bridgehost.InvalidArgumentError, match=re.escape(f"{name} requires")):
        host.open("std", validate_in_worker=False, **{name: CHANGED[name]})


def test_stub_declares_the_runtimes_keywords():
    runtime = inspect.signature(bridgehost.Host.open).parameters
    stub_path = Path(bridgehost.__file__).parent / "_native.pyi"
    tree = ast.parse(stub_path.read_text(encoding="utf-8"))
    host = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Host")
    fn = next(n for n in host.body if isinstance(n, ast.FunctionDef) and n.name == "open")
    stub = [a.arg for a in fn.args.kwonlyargs]
    kwonly = [n for n, p in runtime.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert stub == kwonly
    for name in SUPERVISION:
        assert runtime[name].default is None, name
        assert name in (bridgehost.Host.open.__doc__ or ""), name


# ---- isolated ------------------------------------------------------------------------------


@pytest.fixture
def iso_host():
    with bridgehost.Host() as h:
        try:
            h.open("std", isolation="process").close()
        except bridgehost.UnavailableError as e:
            pytest.skip(f"process isolation unavailable: {e}")
        except bridgehost.NotFoundError as e:
            pytest.skip(f"no worker executable in this installation: {e}")
        yield h


needs_faulty = pytest.mark.skipif(not faulty_available(), reason="faulty module not on BRIDGEHOST_MODULE_PATH")


def test_startup_timeout_and_sandbox_configure_validate_in_worker(iso_host):
    m = iso_host.open("std", validate_in_worker=True, startup_timeout=5, sandbox=False)
    assert m.isolation == "in-process"
    assert m.method("echo")(b"validated") == b"validated"


def test_every_setting_changed_opens_an_isolated_module(iso_host):
    m = iso_host.open("std", isolation="process", **CHANGED)
    assert m.method("echo")(b"changed") == b"changed"
    for name, value in CHANGED.items():  # one at a time too: each is accepted alone
        single = iso_host.open("std", isolation="process", **{name: value})
        assert single.method("echo")(name.encode()) == name.encode()
        single.close()


def test_an_infinite_cpu_limit_opens_an_isolated_module_with_no_limit(iso_host):
    # math.inf (float("inf")) lifts the CPU limit; it was refused ("got inf s"). None keeps
    # meaning the default, and -inf stays out of range (OUT_OF_RANGE).
    for value in (math.inf, float("inf")):
        m = iso_host.open("std", isolation="process", cpu_limit=value)
        assert m.method("echo")(b"unlimited") == b"unlimited"
        m.close()


@needs_faulty
def test_sandbox_false_lets_the_worker_open_a_socket(iso_host):
    default = iso_host.open("faulty", isolation="process")
    with pytest.raises(bridgehost.ModuleError) as ei:
        default.method("socket")(b"")
    assert ei.value.code == errno.EPERM, ei.value
    unsandboxed = iso_host.open("faulty", isolation="process", sandbox=False)
    assert unsandboxed.method("socket")(b"") == b"ok"


@needs_faulty
def test_breaker_failures_one_opens_the_breaker_on_the_first_crash(iso_host):
    default = iso_host.open("faulty", isolation="process")
    with pytest.raises(bridgehost.WorkerCrashedError):
        default.method("segfault")(b"")
    assert default.method("ok")(b"x") == b"x"  # 1 failure of 5: the breaker stays closed

    touchy = iso_host.open("faulty", isolation="process", breaker_failures=1, breaker_cooldown=60)
    with pytest.raises(bridgehost.WorkerCrashedError):
        touchy.method("segfault")(b"")
    with pytest.raises(bridgehost.UnavailableError, match="circuit breaker"):
        touchy.method("ok")(b"x")
    # Still open: a 60 s cool-down outlasts this test.
    with pytest.raises(bridgehost.UnavailableError):
        touchy.method("ok")(b"x")


def test_close_grace_bounds_how_long_close_waits_for_a_call_in_flight(iso_host):
    # The call in flight must be running in the worker when the module closes (a call still
    # waiting for a worker ends with ClosedError at once, whatever the grace): std's gate_wait
    # announces itself with a "gate" event from inside the worker, then waits 5 s (nobody opens
    # the gate), as long as the default grace. A sleep_ms(5000) submitted after it waits behind
    # it (one worker) and ends with ClosedError too.
    m = iso_host.open("std", isolation="process", workers=1, close_grace=0.1)
    inside = threading.Event()
    m.subscribe("gate", lambda topic, key: inside.set())
    running = m.method("gate_wait").submit(gate(b"grace", 5000))
    assert inside.wait(30), "gate_wait never started in the worker"
    queued = m.method("sleep_ms").submit(b"5000")
    t0 = time.monotonic()
    m.close()
    took = time.monotonic() - t0
    assert took < 4.0, f"close took {took:.2f} s with close_grace=0.1"
    with pytest.raises(bridgehost.ClosedError):
        running.result(30)
    with pytest.raises(bridgehost.ClosedError):
        queued.result(30)


def test_close_grace_ends_a_sleep_ms_running_on_another_thread(iso_host):
    m = iso_host.open("std", isolation="process", workers=1, close_grace=0.1)
    sleep = m.method("sleep_ms")
    outcome: dict = {}
    started = threading.Event()

    def run() -> None:
        started.set()
        try:
            outcome["result"] = sleep(b"5000")
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome["error"] = e

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(30)
    # Wait (bounded, on a condition) until the call is made: running in the worker or, at worst,
    # waiting for it; either way close must end it with ClosedError well within the 5 s default.
    deadline = time.monotonic() + 30
    while m.counters()["calls"] < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    t0 = time.monotonic()
    m.close()
    took = time.monotonic() - t0
    t.join(30)
    assert not t.is_alive()
    assert took < 4.0, f"close took {took:.2f} s with close_grace=0.1"
    assert isinstance(outcome.get("error"), bridgehost.ClosedError), outcome
