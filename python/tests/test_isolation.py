"""The fault battery from Python, under process isolation (when available).

Skipped while the core reports process isolation as unavailable, or when the
test-only ``faulty`` module is not on ``BRIDGEHOST_MODULE_PATH``.
"""

from __future__ import annotations

import os
import threading

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


def _hostile_load(case: str):
    for d in os.environ.get("BRIDGEHOST_MODULE_PATH", "").split(":"):
        p = os.path.join(d, "hostile", f"libhostile_{case}.so")
        if d and os.path.isfile(p):
            return p
    return None


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
