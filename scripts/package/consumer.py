"""Package test (scripts/package_test.sh): run with the python of a fresh venv into which only
the wheel was installed. Checks the bundled modules, events and process isolation through the
installed package, then prints the median time of a 16-byte echo as "echo16_ns=<ns>"."""

import statistics
import sys
import threading
import time

import bridgehost

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

    echo = std.method("echo")
    d16 = bytes(range(16))
    n = 100_000
    per = []
    for _ in range(7):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            echo(d16)
        per.append((time.perf_counter_ns() - t0) / n)
    print(f"echo16_ns={statistics.median(per):.1f}")
sys.exit(0)
