"""Package test (scripts/package_test.sh): run with the python of a fresh venv into which only
the wheel was installed. Checks the bundled modules (sqlite in both modes), events and process isolation through the
installed package, then prints the median time of a 16-byte echo as "echo16_ns=<ns>"."""

import statistics
import sys
import threading
import time
import timeit

import bridgehost
from bridgehost.typed import Variant

assert "site-packages" in bridgehost.__file__, bridgehost.__file__
data = b"packaged " * 500
with bridgehost.Host() as host:
    std = host.open("std")
    zlib = host.open("zlib")
    assert std.method("echo")(data) == data
    packed = zlib.method("compress")(data)
    assert len(packed) < len(data) and zlib.method("decompress")(packed) == data
    assert std.method("checksum")(b"123456789") == bytes.fromhex("e3069283")
    got = threading.Semaphore(0)
    with std.subscribe("tick", lambda topic, payload: got.release()):
        std.method("ticker")((3).to_bytes(4, "little"))
        for _ in range(3):
            assert got.acquire(timeout=10), "event not delivered"
    iso = host.open("std", isolation="process")
    assert iso.method("echo")(data) == data
    print("ok   std, zlib, events and isolation through the installed wheel")
    # The bundled sqlite module (typed, stateful; docs/SQLITE.md) in both modes.
    for mode in ("in-process", "process"):
        f = host.open("sqlite", isolation=mode).typed().function
        c = f("[static]connection.open")(":memory:", "create")
        rows = f("[method]connection.query")(c, "SELECT 40 + ?", [Variant("integer", 2)]).rows
        assert rows == [[Variant("integer", 42)]], rows
    print("ok   the bundled sqlite module through the installed wheel, in-process and isolated")

    # Measured as bench/python/bench.py measures python.echo_16B (timeit of Method.call), but on
    # the thread's CPU clock: time descheduled on a busy machine is not counted.
    echo = std.method("echo")
    per = [t / 100_000 * 1e9 for t in timeit.repeat(
        "f(x)", globals={"f": echo.call, "x": b"0123456789abcdef"}, number=100_000, repeat=7, timer=time.thread_time)]
    print(f"echo16_ns={statistics.median(per):.1f}")
sys.exit(0)
