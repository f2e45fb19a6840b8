"""bridgehost from Python, end to end.

1. Compress and decompress data through the bundled zlib module, and check it
   with the std module's CRC-32C.
2. Receive events that the std module emits from its own native thread.
3. Submit calls asynchronously (concurrent.futures and asyncio).
4. Typed calls: the std module embeds a WIT interface, and ``module.typed()``
   calls it with Python values (ints, floats, lists, dataclasses) instead of
   bytes, in-process and isolated alike.
5. Under process isolation, crash a module on purpose (segfault) and show
   that only that request failed: the next call succeeds. (Needs process
   isolation and the test-only ``faulty`` module on BRIDGEHOST_MODULE_PATH;
   skipped with a note otherwise.)

Run: ``scripts/python.sh demo`` (or ``python python/examples/demo.py`` with
bridgehost installed).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
import threading

import bridgehost


def step(title: str) -> None:
    print(f"\n== {title}")


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="  log %(name)s %(levelname)s: %(message)s")
    with bridgehost.Host() as host:
        zlib = host.open("zlib")
        std = host.open("std")
        print(f"opened {zlib.name} {zlib.version} and {std.name} {std.version} ({std.path})")

        step("1. compress, decompress, checksum")
        data = b"bridgehost lets Python call native modules safely. " * 2000
        compress, decompress = zlib.method("compress"), zlib.method("decompress")
        checksum = std.method("checksum")
        packed = compress(data)  # the GIL is released while zlib runs
        unpacked = decompress(packed)
        print(f"{len(data)} bytes -> {len(packed)} compressed -> {len(unpacked)} decompressed")
        same = checksum(unpacked) == checksum(data)
        print(f"CRC-32C {checksum(data).hex()} {'matches' if same else 'DIFFERS'}")
        if unpacked != data or not same:
            print("round trip FAILED", file=sys.stderr)
            return 1

        step("2. events from a native thread")
        got: list = []
        done = threading.Event()

        def on_tick(topic: str, payload: bytes) -> None:
            got.append(payload)
            if len(got) == 5:
                done.set()

        with std.subscribe("tick", on_tick):
            std.method("ticker")(struct.pack("<I", 5))  # count: u32 little-endian
            if not done.wait(5):
                print(f"only {len(got)} of 5 events arrived", file=sys.stderr)
                return 1
        print(f"received {len(got)} 'tick' events on bridgehost's dispatcher thread: "
              + ", ".join(str(int.from_bytes(p, "little")) for p in got))  # payload: seq, u64 LE

        step("3. asynchronous calls")
        fut = compress.submit(data)
        print(f"concurrent.futures: {len(fut.result(timeout=10))} bytes")

        async def run_async() -> int:
            outs = await asyncio.gather(*(checksum.submit_async(bytes([i]) * 1000) for i in range(3)))
            return len(outs)

        print(f"asyncio: {asyncio.run(run_async())} checksums awaited")

        try:
            std.method("fail")(b"failed on purpose")
        except bridgehost.ModuleError as e:
            print(f"a module error is typed: {type(e).__name__} code={e.code}: {e}")

        step("4. typed calls through the module's WIT interface")
        view = std.typed()
        print(f"{view.add.signature}: add(40, 2) = {view.add(40, 2)}")
        summary = view.stats([1.5, -2.0, 7.0])
        print(f"stats([1.5, -2.0, 7.0]) = {summary}")
        if view.add(40, 2) != 42 or summary is None or summary.count != 3 or summary.max != 7.0:
            print("typed calls FAILED", file=sys.stderr)
            return 1
        try:
            view.add(1, -1)  # out of range for u32: refused before the call, never wrapped
        except bridgehost.InvalidArgumentError as e:
            print(f"a bad typed argument is refused: {e}")

        step("5. a crash, contained by process isolation")
        try:
            faulty = host.open("faulty", isolation="process")
        except bridgehost.UnavailableError as e:
            print(f"skipped: process isolation is not available in this build ({e})")
        except bridgehost.NotFoundError:
            print("skipped: the test-only 'faulty' module is not on BRIDGEHOST_MODULE_PATH")
        else:
            try:
                faulty.method("segfault")(b"")
                print("segfault did not crash?!", file=sys.stderr)
                return 1
            except bridgehost.WorkerCrashedError as e:
                print(f"the worker died: {type(e).__name__} signal={e.signal}: {e}")
            iso_std = host.open("std", isolation="process")
            print(f"this process is fine; the next isolated call returns "
                  f"{iso_std.method('echo')(b'still here')!r}")
            print(f"and a typed call in the worker: crc32c(b'123456789') = "
                  f"{iso_std.typed().crc32c(b'123456789'):#010x}")
            print(f"counters: crashes={faulty.counters()['crashes']} respawns={faulty.counters()['respawns']}")

    print("\ndemo complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
