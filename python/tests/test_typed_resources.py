"""WIT resources through generated Python bindings (docs/TYPED.md, "Resources (handles)").

``counter_bindings.py`` beside this file is what ``bridgehost bindgen --lang python`` generates
from ``plugins/c/counter.wit`` (``interface/tests/bindgen_python.rs`` fails when it is not); the
tests run it against the test-only module ``libbridgehost_mod_counter.so`` (found through
``BRIDGEHOST_MODULE_PATH``, scripts/python.sh), in both isolation modes, sync and asyncio.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable, List

import pytest

import bridgehost
from bridgehost.typed import Err, Ok, Resource

import counter_bindings as cb
from counter_bindings import Counter, Counter_

ISOLATIONS = ["in-process", "process"]
HERE = Path(__file__).resolve().parent


def _counter_available() -> bool:
    return any(
        d and os.path.isfile(os.path.join(d, "libbridgehost_mod_counter.so"))
        for d in os.environ.get("BRIDGEHOST_MODULE_PATH", "").split(":")
    )


pytestmark = pytest.mark.skipif(
    not _counter_available(),
    reason="test-only counter module not on BRIDGEHOST_MODULE_PATH (scripts/build.sh)",
)


@pytest.fixture(params=ISOLATIONS)
def binding(request, host):
    with Counter.open(host, "counter", isolation=request.param) as b:
        yield b


def calls(b: Counter) -> int:
    """Calls that reached the module (the core's counter; live() below is one more)."""
    return b.module.counters()["calls"]


def wait_until(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        gc.collect()
        time.sleep(0.01)


def test_constructor_static_methods_and_own_results(binding):
    b = binding
    assert b.live() == 0
    with b.new_counter(5) as c:
        assert isinstance(c, Counter_) and isinstance(c, Resource)
        assert not c.closed and c.handle != 0 and c.module is b.module
        assert c.get() == 5 and c.add(3) == 8 and c.name() is None
        with c.fork(10) as f:
            assert isinstance(f, Counter_) and f.get() == 18 and f.handle != c.handle
            assert b.live() == 2
        assert f.closed and b.live() == 1
        with b.counter_named("n", 2) as n:
            assert n.name() == "n" and n.get() == 2
        many = b.counter_many([1, 2, 3])
        assert [type(m) for m in many] == [Counter_] * 3
        assert [m.get() for m in many] == [1, 2, 3]
        assert len({m.handle for m in many}) == 3
        assert b.live() == 4
        for m in many:
            m.close()
        assert b.counter_many([]) == []
        assert "counter handle=0x" in repr(c) and "live" in repr(c)
    assert c.closed and "closed" in repr(c)
    assert b.live() == 0


def test_borrow_parameters(binding, host):
    b = binding
    with b.new_counter(40) as x, b.new_counter(2) as y:
        assert b.sum(x, y) == 42 and b.sum(x, x) == 80
        # Another binding of the same module instance: its handles are the instance's.
        assert Counter(b.module).sum(x, y) == 42
        sent = calls(b)
        with pytest.raises(TypeError, match=r"parameter a: expected Counter_, got 1 \(int\)"):
            b.sum(1, y)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"parameter b: expected Counter_, got None"):
            b.sum(x, None)  # type: ignore[arg-type]

        class Other(Resource):
            WIT_NAME = "counter"

        fake = Other(b.module, b.module.method("[resource-drop]counter"), x.handle)
        fake._finalizer.detach()  # never drop x's handle behind its back
        with pytest.raises(TypeError, match=r"parameter a: expected Counter_, got <Other"):
            b.sum(fake, y)  # type: ignore[arg-type]
        assert calls(b) == sent, "refused arguments are never sent"
        # An object of another module (another instance: its handle means nothing here).
        with Counter.open(host, "counter", isolation=b.module.isolation) as b2:
            with b2.new_counter(1) as z:
                before = calls(b)
                with pytest.raises(bridgehost.InvalidArgumentError, match="parameter b: .*another"):
                    b.sum(x, z)
                with pytest.raises(ValueError):
                    asyncio.run(b.sum_async(z, y))
                assert calls(b) == before, "refused arguments are never sent"
        assert b.sum(x, y) == 42


def test_result_errors_are_raised(binding):
    b = binding
    with b.new_counter(2**64 - 2) as c:
        with pytest.raises(bridgehost.TypedModuleError) as ei:
            c.add(5)
        assert isinstance(ei.value.value, str) and ei.value.value
        assert c.get() == 2**64 - 2, "unchanged"
        assert c.add(1) == 2**64 - 1
    with pytest.raises(bridgehost.TypedModuleError) as ei:
        b.counter_named("", 1)
    assert isinstance(ei.value.value, str)
    assert b.live() == 0


def test_use_after_close_never_reaches_the_module(binding):
    b = binding
    c = b.new_counter(1)
    d = b.new_counter(2)
    c.close()
    before = calls(b)
    for f in (c.get, c.name, lambda: c.add(1), lambda: c.fork(1), lambda: b.sum(c, d),
              lambda: b.sum(d, c)):
        with pytest.raises(bridgehost.ClosedError, match="counter object is closed"):
            f()

    async def main() -> None:
        with pytest.raises(bridgehost.ClosedError):
            await c.get_async()
        with pytest.raises(bridgehost.ClosedError):
            await b.sum_async(d, c)

    asyncio.run(main())
    assert calls(b) == before, "nothing was sent"
    d.close()


def test_close_is_idempotent(binding):
    b = binding
    total = b.destroyed_total()
    c = b.new_counter(1)
    assert b.live() == 1
    c.close()
    assert c.closed and b.live() == 0
    before = calls(b)
    c.close()
    c.__exit__(None, None, None)
    assert calls(b) == before, "a second close sends nothing"
    assert b.destroyed_total() == total + 1, "one drop"


def test_close_after_the_module_closed_is_a_no_op(host):
    for isolation in ISOLATIONS:
        b = Counter.open(host, "counter", isolation=isolation)
        c = b.new_counter(1)
        b.close()
        # Closing the module released it: closed before close(), which is a no-op.
        assert c.closed and "closed" in repr(c)
        c.close()
        assert c.closed
        with pytest.raises(bridgehost.ClosedError):
            c.get()


def test_closing_the_module_destroys_live_objects(host):
    # In-process the count is the process's (the worker's process ends with the worker).
    b = Counter.open(host, "counter")
    total = b.destroyed_total()
    keep = [b.new_counter(i) for i in range(3)] + b.counter_many([7, 8])
    b.close()
    with Counter.open(host, "counter") as b2:
        assert b2.destroyed_total() == total + 5
        assert b2.live() == 0
    assert len(keep) == 5


def test_unreleased_objects_are_dropped_by_the_gc(binding):
    b = binding
    c = b.new_counter(1)
    many = b.counter_many([1, 2, 3])
    assert b.live() == 4
    del c
    gc.collect()
    wait_until(lambda: b.live() == 3, "the finalizer's drop of one object")
    # A cycle through the object: collected by the cycle collector, dropped the same way.
    holder: List[object] = [many]
    holder.append(holder)
    del many, holder
    wait_until(lambda: b.live() == 0, "the drops of a collected cycle")


def test_close_waits_for_running_calls_and_no_call_follows_it(binding):
    b = binding
    c = b.new_counter(7)
    got: List[object] = []
    t = threading.Thread(target=lambda: got.append(c.slow_get(600)))
    t0 = time.monotonic()  # before the call starts: it sleeps 600 ms from its start
    t.start()
    wait_until(lambda: c._calls == 1, "slow-get under way")
    c.close()  # marks it released at once, drops after slow-get returned
    assert t.join(30) is None and not t.is_alive()
    assert got == [7], "slow-get still returned its value"
    # It ran its whole 600 ms (close did not cut it short), whatever the scheduling.
    assert time.monotonic() - t0 >= 0.6
    assert b.live() == 0


def test_drop_while_a_method_runs_is_deferred_by_the_module(binding):
    # The drop reaches the module while slow-get runs (sent by hand, under the object): the
    # module destroys the counter when slow-get returns; the object's own close then fails once.
    b = binding
    c = b.new_counter(9)
    got: List[object] = []
    # slow-get's "started" signal: the module has pinned the counter (it then sleeps 2.5 s).
    started = threading.Event()
    handle = c.handle
    t = threading.Thread(target=lambda: got.append(c.slow_get(2500)))
    with b.on_slow_get_started(lambda h: started.set() if h == handle else None):
        t.start()
        wait_until(lambda: c._calls == 1, "slow-get under way")
        assert started.wait(30), "slow-get reached the module"  # was a 0.5 s sleep
    b.module.method("[resource-drop]counter")(c.handle.to_bytes(8, "little"))
    t.join(30)
    assert got == [9]
    wait_until(lambda: b.live() == 0, "the deferred destruction")
    with pytest.raises(bridgehost.ModuleError, match="stale handle"):
        c.close()
    assert c.closed
    c.close()  # reported once


def test_close_racing_calls_on_other_threads(binding):
    # Many threads call while one closes: each call either ran before close() began or raised
    # ClosedError; none reaches the module after the drop (that would be a stale handle error).
    b = binding
    for _ in range(5):
        c = b.new_counter(1)
        other = b.new_counter(2)
        stop = threading.Event()
        errors: List[BaseException] = []
        # Each hammer says when it has made its calls once: close() comes while all of them
        # are calling in a loop (this was a 20 ms sleep, which a loaded machine could outrun).
        calling = [threading.Event() for _ in range(4)]

        def hammer(started: threading.Event) -> None:
            while not stop.is_set():
                try:
                    c.get()
                    b.sum(other, c)
                except bridgehost.ClosedError:
                    return
                except BaseException as e:  # noqa: BLE001 - recorded for the assertion
                    errors.append(e)
                    return
                started.set()

        threads = [threading.Thread(target=hammer, args=(e,)) for e in calling]
        for t in threads:
            t.start()
        for e in calling:
            assert e.wait(30) or errors, "a hammer never completed a call"
        c.close()
        stop.set()
        for t in threads:
            t.join(30)
        assert errors == []
        assert b.live() == 1
        other.close()


def test_asyncio(binding):
    b = binding

    async def main() -> None:
        c = await b.new_counter_async(3)
        assert await c.add_async(4) == 7
        f = await c.fork_async(1)
        assert isinstance(f, Counter_) and await f.get_async() == 8
        assert await b.sum_async(c, f) == 15
        n = await b.counter_named_async("a", 1)
        assert await n.name_async() == "a"
        many = await b.counter_many_async([4, 5])
        assert [await m.get_async() for m in many] == [4, 5]
        with pytest.raises(bridgehost.TypedModuleError):
            await b.counter_named_async("", 1)
        # close() on the loop's thread while an async call on the object is under way: it
        # waits for the call on the pool (not for the loop) and the call returns its value.
        task = asyncio.ensure_future(c.slow_get_async(300))
        while c._calls == 0:
            await asyncio.sleep(0.005)
        c.close()
        assert await task == 7
        for o in [f, n, *many]:
            o.close()
        assert await b.live_async() == 0

    asyncio.run(main())


def test_isolated_worker_restart_gives_state_lost_then_stale_handles(host):
    # A call past its timeout kills the worker; the replacement has none of the objects.
    with Counter.open(host, "counter", isolation="process", call_timeout=1.0) as b:
        c = b.new_counter(1)
        d = b.new_counter(2)
        with pytest.raises(bridgehost.TimeoutError):
            c.slow_get(5000)
        with pytest.raises(bridgehost.StateLostError):
            b.live()
        with pytest.raises(bridgehost.ModuleError, match="stale handle"):
            c.get()
        with pytest.raises(bridgehost.ModuleError, match="stale handle"):
            b.sum(c, d)
        assert b.live() == 0
        with pytest.raises(bridgehost.ModuleError, match="stale handle"):
            c.close()
        c.close()
        del d  # left to its finalizer: a stale drop, submitted and ignored
        gc.collect()
        e = b.new_counter(5)
        assert e.get() == 5 and b.live() == 1
        e.close()


def test_a_restart_is_reported_to_a_call_not_taken_by_drops(host):
    # The drop of an object of the lost instance (a `with` exit while the timeout's error unwinds,
    # a finalizer's drop) does not run: the error that happened reaches the caller, and the next
    # call still learns that the state is gone.
    with Counter.open(host, "counter", isolation="process", call_timeout=1.0) as b:
        lost = b.module.counters()["state_lost"]
        d = b.new_counter(2)
        with pytest.raises(bridgehost.TimeoutError):
            with b.new_counter(1) as c:
                c.slow_get(5000)
        del d
        gc.collect()
        assert b.module.counters()["state_lost"] == lost
        with pytest.raises(bridgehost.StateLostError):
            b.live()
        assert b.module.counters()["state_lost"] == lost + 1
        assert b.live() == 0


def test_interpreter_exit_with_live_and_unreachable_objects(tmp_path):
    # Objects still live at exit, objects in garbage cycles, a host never closed: the exit
    # neither hangs nor prints (finalizers do not run at exit; the host's shutdown closes the
    # modules, which destroys the objects).
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        import bridgehost
        from counter_bindings import Counter
        host = bridgehost.Host()
        keep = []
        for iso in ("in-process", "process"):
            b = Counter.open(host, "counter", isolation=iso)
            keep += [b.new_counter(1), b.new_counter(2)]
            cycle = [b.new_counter(3)]
            cycle.append(cycle)
            del cycle
        print("ok", flush=True)
    """))
    r = subprocess.run([sys.executable, "-X", "dev", str(script)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr


def test_view_keeps_handles_as_ints(binding):
    # The typed view does not own handles (docs/TYPED.md): the binding's objects are built on it.
    view = binding.module.typed()
    h = view.function("[constructor]counter")(4)
    assert type(h) is int
    assert view.function("[method]counter.get")(h) == 4
    binding.module.method("[resource-drop]counter")(h.to_bytes(8, "little"))
    assert binding.live() == 0


def test_bindings_and_a_client_pass_mypy_strict(tmp_path):
    mypy = pytest.importorskip("mypy.api")
    client = tmp_path / "client.py"
    client.write_text(textwrap.dedent("""
        import asyncio
        from typing import List

        import bridgehost
        from counter_bindings import Counter, Counter_

        def use(host: bridgehost.Host) -> int:
            with Counter.open(host, "counter") as b, b.new_counter(1) as c:
                forks: List[Counter_] = [c.fork(1)] + b.counter_many([2])
                total: int = b.sum(c, forks[0]) + c.add(1)

                async def main() -> int:
                    return await c.get_async() + await b.sum_async(c, c)

                try:
                    c.add(2**64 - 1)
                except bridgehost.TypedModuleError as e:
                    # E is a str here: e.value is Any, read without a cast.
                    total += len(e.value.upper())
                return total + asyncio.run(main()) + len(forks)
    """))
    out, err, status = mypy.run(["--strict", "--no-incremental", "--cache-dir=/dev/null",
                                 str(HERE / "counter_bindings.py"), str(client)])
    assert status == 0, out + err
    assert cb.HASH and cb.WIT.startswith("package bridgehost:counter")


NEST_WIT = """package t:nest@1.0.0;

interface nest {
    resource thing {
        constructor(h: u64);
    }
    record holder { name: string, main: thing, more: list<thing> }
    variant pick { one(thing), none }
    variant choice { one(u64), none }
    type things = list<option<thing>>;
    hold: func(name: string, h: u64, more: list<u64>) -> holder;
    choose: func(c: choice) -> pick;
    wrap: func(x: result<u64, string>) -> result<thing, string>;
    opts: func(x: list<option<u64>>) -> things;
    pair: func(x: tuple<u64, u32>) -> tuple<thing, u32>;
}
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_own_handles_nested_in_results_become_objects(host, tmp_path, isolation):
    # The C echo module of test_typed.py returns its input: each function's parameters have the
    # wire layout of its result, so the handles sent come back inside records, variants, lists,
    # options, results and tuples, and must come back as objects that own them.
    import typed_fixture as fx
    from test_typed_bindgen import bindgen, load

    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    methods = ["[constructor]thing", "[resource-drop]thing", "hold", "choose", "wrap", "opts",
               "pair"]
    so = fx.build(tmp_path, NEST_WIT, methods, name="nest")
    (tmp_path / "nest.wit").write_text(NEST_WIT)
    m = load(bindgen(str(tmp_path / "nest.wit"), tmp_path, f"nest_{isolation.replace('-', '_')}"))
    with m.Nest.open(host, str(so), isolation=isolation) as n:
        made: List[Resource] = []
        t = n.new_thing(7)
        assert isinstance(t, m.Thing) and t.handle == 7
        h = n.hold("a", 11, [12, 13])
        assert isinstance(h, m.Holder) and h.name == "a"
        assert isinstance(h.main, m.Thing) and h.main.handle == 11
        assert [type(x) for x in h.more] == [m.Thing] * 2 and [x.handle for x in h.more] == [12, 13]
        p = n.choose(m.ChoiceOne(21))
        assert isinstance(p, m.PickOne) and isinstance(p.value, m.Thing) and p.value.handle == 21
        assert n.choose(m.ChoiceNone()) == m.PickNone()
        w = n.wrap(Ok(31))
        assert isinstance(w, m.Thing) and w.handle == 31
        with pytest.raises(bridgehost.TypedModuleError) as ei:
            n.wrap(Err("no"))
        assert ei.value.value == "no"
        o = n.opts([41, None, 42])
        assert o[1] is None and [x.handle for x in (o[0], o[2])] == [41, 42]  # type: ignore[union-attr]
        pr = n.pair((51, 5))
        assert isinstance(pr[0], m.Thing) and pr == (pr[0], 5) and pr[0].handle == 51

        async def main() -> None:
            ha = await n.hold_async("b", 61, [])
            assert isinstance(ha.main, m.Thing) and ha.main.handle == 61 and ha.more == []
            made.append(ha.main)

        asyncio.run(main())
        made += [t, h.main, *h.more, p.value, w, o[0], o[2], pr[0]]
        # Each object owns its handle: closing it sends one [resource-drop]thing.
        before = n.module.counters()["calls"]
        for obj in made:
            obj.close()
        assert n.module.counters()["calls"] == before + len(made)
        assert all(obj.closed for obj in made)


LIAR_WIT = """package t:liar@1.0.0;

interface liar {
    resource thing {
        constructor(h: u64);
        get: func() -> u64;
    }
}
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_drop_that_returns_output_is_refused_once(host, tmp_path, isolation):
    # A drop has no output (docs/TYPED.md, "Resources (handles)"). The C echo module of
    # test_typed.py, built with lying drops, returns the 8 bytes of the handle from
    # [resource-drop]thing: close() (and `with`) raises AbiMismatchError, worded as Java's close()
    # and C#'s Dispose() word it, once, and the object is released all the same.
    import typed_fixture as fx
    from test_typed_bindgen import bindgen, load

    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    so = fx.build(tmp_path, LIAR_WIT, ["[constructor]thing", "[method]thing.get", "[resource-drop]thing"],
                  name="liar", lying_drops=True)
    (tmp_path / "liar.wit").write_text(LIAR_WIT)
    m = load(bindgen(str(tmp_path / "liar.wit"), tmp_path, f"liar_{isolation.replace('-', '_')}"))
    with m.Liar.open(host, str(so), isolation=isolation) as b:
        want = (f"ABI mismatch in {b.module.path}: output of [resource-drop]thing does not match "
                "its interface: 8 bytes, expected none")

        def calls() -> int:
            return int(b.module.counters()["calls"])

        t = b.new_thing(7)
        assert t.get() == 7
        n = calls()
        with pytest.raises(bridgehost.AbiMismatchError) as ei:
            t.close()
        assert str(ei.value) == want
        assert t.closed and calls() == n + 1, "the drop was sent once"
        t.close()  # raised once: later calls do nothing
        assert calls() == n + 1
        with pytest.raises(bridgehost.ClosedError):
            t.get()
        assert calls() == n + 1, "a released object never reaches the module"
        with pytest.raises(bridgehost.AbiMismatchError) as ei:
            with b.new_thing(8) as u:
                assert u.get() == 8
        assert str(ei.value) == want and u.closed


async def _until(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """wait_until for a coroutine: the loop keeps running (the completions settle on it)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        gc.collect()
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("how", ["constructor", "method", "view"])
def test_cancelled_async_calls_leave_no_object_behind(host, how):
    # In-process a running call cannot be stopped: cancelling its task lets it run to its end,
    # and the objects its result holds must still be dropped (docs/TYPED.md, "Resources
    # (handles)"), never left in the module until it closes. "view": the typed view's own async
    # form (handles as ints) follows the same rule.
    with Counter.open(host, "counter", isolation="in-process") as b:
        parent = b.new_counter(100)
        ctor = b.view.function("[constructor]counter")
        drop = b.module.method("[resource-drop]counter")

        async def via_view(i: int) -> object:
            return await ctor.submit_async(i)  # submitted when the task starts

        def start(i: int) -> "asyncio.Future[object]":
            if how == "constructor":
                return asyncio.ensure_future(b.new_counter_async(i))
            if how == "method":
                return asyncio.ensure_future(parent.fork_async(i))
            return asyncio.ensure_future(via_view(i))

        def release(got: object) -> None:  # a call that completed before its cancel
            if isinstance(got, Resource):
                got.close()
            else:
                drop(int(got).to_bytes(8, "little"))  # type: ignore[call-overload]

        async def main() -> int:
            ran_then_cancelled = 0
            for i in range(40):
                task = start(i)
                if i % 2 == 0:
                    # The call has run in the module (a new counter is live) and its result is on
                    # its way to the loop, which this blocking poll holds up: cancelled now, the
                    # task never receives it.
                    await asyncio.sleep(0)
                    wait_until(lambda: b.live() == 2, "the call ran in the module")
                    assert task.cancel()
                    ran_then_cancelled += 1
                else:
                    # Any other moment: before the call started (then it never runs), while it
                    # runs, after it completed.
                    for _ in range(i % 4):
                        await asyncio.sleep(0)
                    task.cancel()
                try:
                    release(await task)
                except asyncio.CancelledError:
                    pass
                await _until(lambda: b.live() == 1, f"call {i}'s object dropped")
            return ran_then_cancelled

        assert asyncio.run(main()) == 20
        assert b.live() == 1
        parent.close()
        assert b.live() == 0


def test_a_result_delivered_to_a_cancelled_task_is_dropped(host):
    # The race the awaiting side alone can see: the future already holds the result when its
    # task is cancelled, so the task raises CancelledError instead of returning it.
    with Counter.open(host, "counter", isolation="in-process") as b:
        ctor = b.view.function("[constructor]counter")

        async def main() -> None:
            for i in range(10):
                futs: List["asyncio.Future[int]"] = []

                async def awaiter() -> object:
                    futs.append(ctor.submit_async(i))
                    return await futs[0]

                task = asyncio.ensure_future(awaiter())
                await asyncio.sleep(0)  # the task submitted and awaits the future
                fut = futs[0]
                # Poll with sleep(0) (always on the ready queue): this coroutine sees the future
                # done before the task's wakeup, which setting the result queued behind it, runs.
                end = time.monotonic() + 20
                while not fut.done():
                    assert time.monotonic() < end, "the result never came"
                    await asyncio.sleep(0)
                # The task's wakeup is queued, not run: cancel it now.
                assert not task.done() and task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert fut.result() >= 0  # the future has the result; nobody received it
                await _until(lambda: b.live() == 0, f"object {i} dropped")
            # A result that is received is the receiver's: nothing drops it, even once its
            # future is gone.
            h = await ctor.submit_async(5)
            c = b.view.function("[constructor]counter").submit(6)
            h2 = c.result(30)
            del c
            gc.collect()
            await asyncio.sleep(0.05)
            assert b.live() == 2
            drop = b.module.method("[resource-drop]counter")
            for x in (h, h2):
                drop(x.to_bytes(8, "little"))
            # A future collected unread: its handles are dropped with it.
            f2 = ctor.submit(7)
            await _until(f2.done, "submit")
            del f2
            await _until(lambda: b.live() == 0, "the unread future's object dropped")

        asyncio.run(main())


BAD_WIT = """package t:bad@1.0.0;

interface bad {
    resource thing {
        constructor(h: u64);
    }
    raw-things: func(b: list<u8>) -> list<thing>;
    raw-opts: func(b: list<u8>) -> list<option<thing>>;
}
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_handles_of_a_malformed_output_are_dropped(host, tmp_path, isolation):
    # The raw-* functions return the bytes they are given. An output that holds two handles and
    # then turns out malformed (a trailing byte after a list of two; an option tag 7 after the
    # first of two) is AbiMismatchError, and the handles it did hold are dropped (one
    # [resource-drop]thing call each), as Java and C# drop the objects they already made.
    import typed_fixture as fx

    if not fx.can_build():
        pytest.skip("no C compiler or header (source checkout)")
    so = fx.build(tmp_path, BAD_WIT,
                  ["[constructor]thing", "[resource-drop]thing", "raw-things", "raw-opts"],
                  name="bad")
    with host.open(str(so), isolation=isolation) as m:
        view = m.typed()
        raw, opts = view.function("raw-things"), view.function("raw-opts")

        def calls() -> int:
            return int(m.counters()["calls"])

        def h(n: int) -> bytes:
            return n.to_bytes(8, "little")

        good = (2).to_bytes(4, "little") + h(11) + h(12)
        trailing = good + b"\x00"
        bad_tag = (2).to_bytes(4, "little") + b"\x01" + h(21) + b"\x07" + h(22)
        n = calls()
        for f, out, held in [(raw, trailing, 2), (opts, bad_tag, 1)]:
            with pytest.raises(bridgehost.AbiMismatchError):
                f(out)
            n += 1 + held
            wait_until(lambda: calls() == n, "the drops")
            with pytest.raises(bridgehost.AbiMismatchError):
                f.submit(out).result(30)
            n += 1 + held
            wait_until(lambda: calls() == n, "the drops (submit)")

            async def main() -> None:
                with pytest.raises(bridgehost.AbiMismatchError):
                    await f.submit_async(out)

            asyncio.run(main())
            n += 1 + held
            wait_until(lambda: calls() == n, "the drops (submit_async)")

        async def deliver() -> List[int]:
            return list(await raw.submit_async(good))

        assert asyncio.run(deliver()) == [11, 12]
        assert raw(good) == [11, 12] and raw.submit(good).result(30) == [11, 12]
        gc.collect()
        time.sleep(0.1)
        assert calls() == n + 3, "a delivered result's handles are the caller's"
