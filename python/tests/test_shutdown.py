"""Interpreter shutdown with live hosts, subscriptions and in-flight submits.

Each scenario runs in a fresh interpreter (dev mode, faulthandler) that exits
*without* closing anything: the atexit hook must close every host before
finalization, so that no bridgehost thread enters Python afterwards. A crash
(signal), a hang (timeout) or a fatal error message fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = textwrap.dedent(
    """
    import struct, sys, threading, time
    import bridgehost
    ms = lambda n: str(n).encode()
    count = lambda n: struct.pack("<I", n)
    """
)

SCENARIOS = {
    "live_subscription_flooding": """
        h = bridgehost.Host()
        m = h.open("std")
        got = [0]
        def cb(topic, data):
            got[0] += 1
        m.subscribe("tick", cb)
        m.method("ticker")(count(2_000_000))
        time.sleep(0.05)
        print("exiting", flush=True)
    """,
    "in_flight_submits": """
        h = bridgehost.Host(submit_threads=2)
        sleep = h.open("std").method("sleep_ms")
        futs = [sleep.submit(ms(200)) for _ in range(8)]
        def wait_all():
            for f in futs:
                try:
                    f.result()
                except bridgehost.ClosedError:
                    pass
        threading.Thread(target=wait_all, daemon=True).start()
        time.sleep(0.05)
        print("exiting", flush=True)
    """,
    "slow_callback_and_submit_callbacks": """
        h = bridgehost.Host()
        m = h.open("std")
        def slow(topic, data):
            time.sleep(0.01)
        m.subscribe("*", slow)
        m.method("ticker")(count(100_000))
        echo = m.method("echo")
        for i in range(200):
            echo.submit(b"x").add_done_callback(lambda f: f.exception())
        print("exiting", flush=True)
    """,
    "asyncio_pending": """
        import asyncio
        h = bridgehost.Host(submit_threads=1)
        sleep = h.open("std").method("sleep_ms")
        async def main():
            for _ in range(5):
                sleep.submit_async(ms(100))
            await asyncio.sleep(0.01)
        asyncio.run(main())
        print("exiting", flush=True)
    """,
    "daemon_thread_in_native_call": """
        h = bridgehost.Host()
        sleep = h.open("std").method("sleep_ms")
        threading.Thread(target=sleep, args=(ms(300),), daemon=True).start()
        time.sleep(0.05)
        print("exiting", flush=True)
    """,
    "host_garbage_at_exit_with_callbacks_referencing_it": """
        h = bridgehost.Host()
        m = h.open("std")
        m.subscribe("tick", lambda t, d, m=m, h=h: None)
        m.method("ticker")(count(10_000))
        del h, m
        print("exiting", flush=True)
    """,
    "sys_exit_from_main_during_events": """
        h = bridgehost.Host()
        m = h.open("std")
        m.subscribe("tick", lambda t, d: None)
        m.method("ticker")(count(1_000_000))
        print("exiting", flush=True)
        sys.exit(3)
    """,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_exit_with_live_objects(name):
    code = PRELUDE + textwrap.dedent(SCENARIOS[name])
    env = dict(os.environ, PYTHONDEVMODE="1")
    p = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    want = 3 if name.startswith("sys_exit") else 0
    assert p.returncode == want, f"rc={p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    assert "exiting" in p.stdout
    assert "Fatal Python error" not in p.stderr, p.stderr
    assert "panicked" not in p.stderr, p.stderr
    assert "Traceback" not in p.stderr, p.stderr


def test_atexit_closes_hosts_and_refuses_new_ones():
    code = PRELUDE + textwrap.dedent(
        """
        h = bridgehost.Host()
        bridgehost._native._shutdown()  # what the atexit hook runs
        assert h.closed
        try:
            bridgehost.Host()
        except bridgehost.ClosedError:
            print("refused", flush=True)
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "refused" in p.stdout


def test_fork_child_refuses_parent_objects_and_works_with_its_own():
    # faulthandler in the child turns a hang into a failure with a traceback.
    code = PRELUDE + textwrap.dedent(
        """
        import os
        h = bridgehost.Host()
        m = h.open("std")
        got = []
        m.subscribe("tick", lambda t, d: got.append(d))
        m.method("ticker")(count(100))
        end = time.monotonic() + 5
        while len(got) < 100 and time.monotonic() < end:
            time.sleep(0.01)
        # A submit in flight and a live subscription at the fork (a fork
        # during an event flood: the next test).
        fut = m.method("sleep_ms").submit(ms(100))
        echo = m.method("echo")
        pid = os.fork()
        if pid == 0:
            import faulthandler
            faulthandler.dump_traceback_later(20, exit=True)
            try:
                echo(b"x")
                os._exit(10)
            except bridgehost.ClosedError:
                pass
            assert h.closed and m.closed
            h.close(); m.close()                # no-ops, never join the parent's threads
            with bridgehost.Host() as h2:       # a host of the child's own
                assert h2.open("std").method("echo")(b"child") == b"child"
                got2 = []
                s = h2.open("std")
                s.subscribe("tick", lambda t, d: got2.append(d))
                s.method("ticker")(count(10))
                end = time.monotonic() + 5
                while len(got2) < 10 and time.monotonic() < end:
                    time.sleep(0.01)
                assert len(got2) == 10
            sys.exit(0)                         # normal exit: atexit hook runs in the child
        _, status = os.waitpid(pid, 0)
        assert fut.result() == b""
        print("child", os.waitstatus_to_exitcode(status), flush=True)
        """
    )
    p = _run_forking(code, timeout=60)
    assert "child 0" in p.stdout, p.stdout + p.stderr


def test_fork_during_an_event_flood_leaves_the_child_working():
    # A module thread emitting as fast as it can and bridgehost's delivery thread inside the
    # core's emit and delivery paths at each fork instant: the fork handlers hold the core's
    # process-global locks across the fork (docs/PYTHON.md, "Fork"), so each child opens a
    # host of its own, calls and receives events. faulthandler in the child turns a hang into
    # a failure with a traceback.
    code = PRELUDE + textwrap.dedent(
        """
        import os
        h = bridgehost.Host()
        m = h.open("std")
        got = []
        m.subscribe("tick", lambda t, d: got.append(1))
        m.method("ticker")(struct.pack("<II", 100_000_000, 0))  # a flood: no interval
        end = time.monotonic() + 30
        while len(got) < 1000 and time.monotonic() < end:
            time.sleep(0.001)
        assert len(got) >= 1000, "the flood did not start"
        for i in range(10):
            before = len(got)
            pid = os.fork()
            if pid == 0:
                import faulthandler
                faulthandler.dump_traceback_later(20, exit=True)
                with bridgehost.Host() as h2:
                    s = h2.open("std")
                    assert s.method("echo")(b"child") == b"child"
                    got2 = []
                    s.subscribe("tick", lambda t, d: got2.append(d))
                    s.method("ticker")(count(10))
                    end = time.monotonic() + 10
                    while len(got2) < 10 and time.monotonic() < end:
                        time.sleep(0.01)
                    assert len(got2) == 10
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, f"child {i}: {status}"
            assert len(got) > before, "the flood was over at this fork"
        print("children ok", flush=True)
        h.close()
        """
    )
    p = _run_forking(code, timeout=300)
    assert "children ok" in p.stdout, p.stdout + p.stderr


def _run_forking(code: str, timeout: float) -> subprocess.CompletedProcess:
    """Run `code` (which forks) in a fresh interpreter in dev mode; it must exit 0."""
    env = dict(os.environ, PYTHONDEVMODE="1")
    p = subprocess.run(
        # 3.12+ warns (DeprecationWarning) about fork() in a multi-threaded process: expected here.
        [sys.executable, "-X", "faulthandler", "-W", "ignore::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert p.returncode == 0, f"stdout:{p.stdout}\nstderr:{p.stderr}"
    return p
