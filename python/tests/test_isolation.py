"""The fault battery from Python, under process isolation (when available).

Skipped while the core reports process isolation as unavailable, or when the
test-only ``faulty`` module is not on ``BRIDGEHOST_MODULE_PATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

import bridgehost
from conftest import faulty_available


@pytest.fixture
def iso_host():
    with bridgehost.Host() as h:
        try:
            h.open("std", isolation="process").close()
        except bridgehost.UnavailableError as e:
            pytest.skip(f"process isolation unavailable: {e}")
        except bridgehost.NotFoundError as e:
            # The wheel ships the worker once its crate exists (the build
            # backend refuses to build a wheel without it then).
            pytest.skip(f"no worker executable in this installation: {e}")
        yield h


def test_isolation_unavailable_or_working(host):
    try:
        m = host.open("std", isolation="process")
    except bridgehost.UnavailableError:
        pytest.skip("process isolation not built into the core")
    except bridgehost.NotFoundError as e:
        assert "worker" in str(e)
        pytest.skip("no worker executable in this installation")
    assert m.isolation == "process"
    assert m.method("echo")(b"isolated") == b"isolated"
    assert not m.method("echo").keeps_gil, "an IPC round trip blocks: never keep the GIL"


def test_same_semantics_isolated(iso_host):
    m = iso_host.open("std", isolation="process")
    assert m.method("checksum")(b"123456789").hex() == "e3069283"
    with pytest.raises(bridgehost.ModuleError) as ei:
        m.method("fail")(b"")
    assert ei.value.code == 42


needs_faulty = pytest.mark.skipif(not faulty_available(), reason="faulty module not on BRIDGEHOST_MODULE_PATH")


@needs_faulty
def test_segfault_is_contained_and_the_next_call_succeeds(iso_host):
    m = iso_host.open("faulty", isolation="process")
    with pytest.raises(bridgehost.WorkerCrashedError) as ei:
        m.method("segfault")(b"")
    assert ei.value.signal == 11
    std = iso_host.open("std", isolation="process")
    assert std.method("echo")(b"after") == b"after"
    assert m.counters()["crashes"] >= 1


@needs_faulty
def test_abort_is_contained(iso_host):
    m = iso_host.open("faulty", isolation="process")
    with pytest.raises(bridgehost.WorkerCrashedError) as ei:
        m.method("abort")(b"")
    assert ei.value.signal == 6


@needs_faulty
def test_hang_times_out(iso_host):
    m = iso_host.open("faulty", isolation="process", call_timeout=0.5)
    with pytest.raises(bridgehost.TimeoutError) as ei:
        m.method("hang")(b"")
    assert isinstance(ei.value, TimeoutError)


@needs_faulty
def test_exit_is_its_own_error(iso_host):
    m = iso_host.open("faulty", isolation="process")
    with pytest.raises(bridgehost.WorkerExitedError):
        m.method("exit")(b"")


@needs_faulty
def test_faults_from_threads_do_not_disturb_other_calls(iso_host):
    faulty = iso_host.open("faulty", isolation="process", workers=2)
    std = iso_host.open("std", isolation="process", workers=2)
    echo = std.method("echo")
    seg = faulty.method("segfault")
    bad = []

    def worker(k):
        for i in range(50):
            if i % 10 == k:
                with pytest.raises(bridgehost.BridgeHostError):
                    seg(b"")
            else:
                data = f"{k}-{i}".encode()
                if echo(data) != data:
                    bad.append(data)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert bad == []


def _fixture(sub: str, name: str):
    for d in os.environ.get("BRIDGEHOST_MODULE_PATH", "").split(":"):
        p = os.path.join(d, sub, name)
        if d and os.path.isfile(p):
            return p
    return None


def _hostile_load(case: str):
    return _fixture("hostile", f"libhostile_{case}.so")


@pytest.mark.parametrize(
    "sub,name,error",
    [
        ("hostile", "libhostile_ctor_exit.so", "WorkerExitedError"),
        ("hostile", "libhostile_ctor_crash.so", "WorkerCrashedError"),
        ("hostile", "libhostile_entry_hangs.so", "TimeoutError"),
        ("broken", "liblying_wild_name.so", "AbiMismatchError"),
        ("broken", "liblying_entry_is_data.so", "AbiMismatchError"),
    ],
)
def test_inspect_runs_in_a_worker_and_types_every_hostile_load(iso_host, sub, name, error):
    path = _fixture(sub, name)
    if path is None:
        pytest.skip(f"{sub}/{name} not on BRIDGEHOST_MODULE_PATH (scripts/build.sh)")
    t0 = time.monotonic()
    # In this process, the constructor of ctor_exit would end pytest with status 0.
    with pytest.raises(getattr(bridgehost, error)):
        iso_host.inspect(path, timeout=2.0)
    assert time.monotonic() - t0 < 20


def test_inspect_describes_a_good_module(iso_host):
    info = iso_host.inspect("std")
    here = iso_host.inspect_in_process("std")
    assert isinstance(info, bridgehost.ModuleInfo)
    assert (info.name, info.version, info.thread_model, info.methods, info.abi_version) == (
        here.name, here.version, here.thread_model, here.methods, here.abi_version)
    assert info.name == "std" and "echo" in info.methods and info.typed and not info.stateful
    assert "std" in repr(info)
    m = iso_host.open("std")
    assert (m.methods, m.thread_model, m.path) == (info.methods, info.thread_model, info.path)
    with pytest.raises(bridgehost.NotFoundError):
        iso_host.inspect("no_such_module")
    with pytest.raises(bridgehost.InvalidArgumentError):
        iso_host.inspect("std", timeout=0)
    lying = _fixture("broken", "liblying_wild_name.so")
    if lying is not None:  # refused in-process too: the descriptor is read without faulting
        with pytest.raises(bridgehost.AbiMismatchError):
            iso_host.inspect_in_process(lying)
    h = bridgehost.Host()
    h.close()
    with pytest.raises(bridgehost.ClosedError):
        h.inspect("std")


def test_python_m_bridgehost_inspect_exits_non_zero_for_a_hostile_load(iso_host):
    path = _hostile_load("ctor_exit")
    if path is None:
        pytest.skip("hostile load fixtures not on BRIDGEHOST_MODULE_PATH (scripts/build.sh)")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bridgehost", "inspect", *a], capture_output=True, timeout=120)
    out = run("--timeout-ms", "2000", path)
    # 10 + kind: 22 is worker_exited; before, an in-process load exited 0 with no output.
    assert out.returncode == 10 + bridgehost.WorkerExitedError.kind_code, out
    assert out.stdout == b""
    ok = run("std")
    assert ok.returncode == 0 and b"name:          std" in ok.stdout, ok


def _worker_children():
    """The pids of this process's bridgehost worker children (read from /proc)."""
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            if "(bridgehost-work" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == me:
                yield int(pid)
        except (OSError, ValueError, IndexError):
            continue


def _worker_stopped() -> bool:
    for pid in _worker_children():
        try:
            states = []
            for t in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{t}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            if states and all(s == "T" for s in states):
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def _worker_stop_reported() -> bool:
    """A worker child of this process whose stop the kernel reports to waitid (left waitable)."""
    for pid in _worker_children():
        try:
            flags = os.WSTOPPED | os.WNOHANG | os.WNOWAIT
            if os.waitid(os.P_PID, pid, flags) is not None:
                return True
        except OSError:
            continue
    return False


@needs_faulty
def test_a_violation_blamed_on_no_call_is_counted(iso_host):
    # A worker that stops itself while idle is replaced before the next call: blamed on no call,
    # counted in unblamed_violations (not in crashes), and no call fails.
    m = iso_host.open("faulty", isolation="process", call_timeout=5)
    ok = m.method("ok")
    assert ok(b"before") == b"before"
    m.method("stop_when_idle")(b"")
    deadline = time.monotonic() + 20
    while not _worker_stopped():  # the call returned first
        assert time.monotonic() < deadline, "the worker never stopped"
        time.sleep(0.005)
    # The kernel reports the stop to this process right after the last thread stops; the host
    # checks that report (waitid WSTOPPED) before it hands a call over. Wait for the same report
    # (WNOWAIT leaves it for the host), not a fixed time (this was a 0.1 s sleep).
    while not _worker_stop_reported():
        assert time.monotonic() < deadline, "the stop was never reported"
        time.sleep(0.005)
    assert ok(b"innocent") == b"innocent"
    while m.counters()["unblamed_violations"] == 0:  # counted when the worker is reaped
        assert time.monotonic() < deadline, m.counters()
        time.sleep(0.005)
    c = m.counters()
    assert (c["unblamed_violations"], c["crashes"], c["errors"]) == (1, 0, 0), c
    assert iso_host.counters()["unblamed_violations"] >= 1


@pytest.mark.parametrize(
    "case,error",
    [("ctor_exit", "WorkerExitedError"), ("ctor_crash", "WorkerCrashedError")],
)
def test_validate_in_worker_turns_a_hostile_load_into_a_typed_error(iso_host, case, error):
    path = _hostile_load(case)
    if path is None:
        pytest.skip("hostile load fixtures not on BRIDGEHOST_MODULE_PATH (scripts/build.sh)")
    # In-process without the option, this module's constructor would end (or crash) pytest.
    with pytest.raises(getattr(bridgehost, error)):
        iso_host.open(path, validate_in_worker=True)
    m = iso_host.open("std", validate_in_worker=True)
    assert m.method("echo")(b"still here") == b"still here"



def _stateful_available() -> bool:
    return any(
        d and os.path.isfile(os.path.join(d, "libbridgehost_mod_stateful.so"))
        for d in os.environ.get("BRIDGEHOST_MODULE_PATH", "").split(":")
    )


needs_stateful = pytest.mark.skipif(
    not _stateful_available(), reason="test-only stateful module not on BRIDGEHOST_MODULE_PATH"
)


@needs_stateful
def test_stateful_module_reports_a_restart_once_as_state_lost(iso_host):
    # The test-only stateful module declares BH_MODULE_STATEFUL: its counter lives in the one
    # worker's instance. A worker restart loses it, and the next call is told so, once.
    with pytest.raises(bridgehost.InvalidArgumentError, match="stateful"):
        iso_host.open("stateful", isolation="process", workers=2)
    m = iso_host.open("stateful", isolation="process")
    insert = m.method("insert")
    assert [int.from_bytes(insert(b""), "little") for _ in range(3)] == [1, 2, 3]
    with pytest.raises(bridgehost.WorkerCrashedError):
        m.method("crash")(b"")
    with pytest.raises(bridgehost.StateLostError) as ei:
        insert(b"")
    assert ei.value.kind == "state_lost" and ei.value.kind_code == 16
    assert "did not run" in str(ei.value)
    assert m.counters()["state_lost"] == 1
    assert int.from_bytes(insert(b""), "little") == 1, "fresh state after the one report"
    assert m.counters()["state_lost"] == 1
    # In-process there is no worker to lose: never StateLost.
    local = iso_host.open("stateful")
    assert [int.from_bytes(local.method("insert")(b""), "little") for _ in range(2)] == [1, 2]
    assert local.counters()["state_lost"] == 0
