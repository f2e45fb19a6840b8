"""``python -m bridgehost``: check and exercise a module from the shell.

Two commands of the ``bridgehost`` CLI of the C/CLI archive, with its output and exit codes (the
archive's CLI alone has ``validate``, ``wit``, ``bindgen``, ``new`` and ``call --json``)::

    python -m bridgehost inspect [--in-process] [--timeout-ms N] MODULE
    python -m bridgehost call [--isolated] [--timeout-ms N] [--config FILE] [--max-output N] MODULE METHOD

MODULE is a path to a module (.so) or a bundled name (``std``, ``zlib``). ``inspect`` loads the
module in a worker process (``Host.inspect``), with a deadline (``--timeout-ms``, default 10 s): a
module whose loading exits, crashes or hangs is an error exit, never an empty success;
``--in-process`` loads it into this process instead. ``call`` reads its
input from stdin and writes the output to stdout. Exit status: 0 ok, 2 usage, ``10 + kind``
for a bridgehost error (11 invalid argument, 12 not found, 13 ABI mismatch, 14 module error,
15 worker crashed, 16 timeout, ...; ``python -m bridgehost help`` lists them).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Type

from . import Host, __version__, errors

_PROG = "python -m bridgehost"


def _kinds() -> List[Type[errors.BridgeHostError]]:
    out: List[Type[errors.BridgeHostError]] = []
    for obj in vars(errors).values():
        if isinstance(obj, type) and issubclass(obj, errors.BridgeHostError) and obj.kind_code:
            out.append(obj)
    return sorted(out, key=lambda c: c.kind_code)


def _fail(e: errors.BridgeHostError) -> int:
    # str(e) starts with the kind ("module error 42: boom"), as the Rust CLI prints it.
    print(f"bridgehost: {e}", file=sys.stderr)
    return 10 + e.kind_code


def _inspect(ns: argparse.Namespace) -> int:
    with Host() as host:
        if ns.in_process:
            if ns.timeout_ms is not None:
                raise errors.InvalidArgumentError("--timeout-ms needs a worker: it cannot be used with --in-process")
            info = host.inspect_in_process(ns.module)
        else:
            timeout = None if ns.timeout_ms is None else ns.timeout_ms / 1000.0
            info = host.inspect(ns.module, timeout=timeout)
    print(f"path:          {info.path}")
    print(f"name:          {info.name}")
    print(f"version:       {info.version}")
    print(f"thread model:  {info.thread_model}")
    print(f"methods:       {len(info.methods)}")
    for name in info.methods:
        flags = " [nonblocking]" if name in info.nonblocking else ""
        print(f"  {name}{flags}")
    return 0


def _call(ns: argparse.Namespace) -> int:
    opts: Dict[str, Any] = {}
    if ns.isolated:
        opts["isolation"] = "process"
    if ns.timeout_ms is not None:
        opts["call_timeout"] = ns.timeout_ms / 1000.0
    if ns.max_output is not None:
        opts["max_output"] = ns.max_output
    if ns.config is not None:
        try:
            with open(ns.config, "rb") as f:
                opts["config"] = f.read()
        except OSError as e:
            raise errors.InvalidArgumentError(f"--config {ns.config}: {e}") from None
    data = sys.stdin.buffer.read()
    with Host() as host:
        out = host.open(ns.module, **opts).method(ns.method)(data)
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=_PROG, description="Check and exercise a bridgehost module.")
    sub = parser.add_subparsers(dest="command")
    p_inspect = sub.add_parser("inspect", help="name, version, thread model and methods of MODULE")
    p_inspect.add_argument("--in-process", action="store_true", help="load MODULE into this process, not a worker")
    p_inspect.add_argument("--timeout-ms", type=int, help="deadline for the worker to load MODULE (default 10000)")
    p_inspect.add_argument("module")
    p_call = sub.add_parser("call", help="stdin -> MODULE.METHOD -> stdout")
    p_call.add_argument("--isolated", action="store_true", help="run the module in a worker process")
    p_call.add_argument("--timeout-ms", type=int, help="per-call deadline (isolated only)")
    p_call.add_argument("--config", help="file whose bytes are passed to the module's init")
    p_call.add_argument("--max-output", type=int, help="output limit in bytes")
    p_call.add_argument("module")
    p_call.add_argument("method")
    sub.add_parser("help", help="list the error exit codes")
    sub.add_parser("version", help="print the core's version")
    try:
        ns = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on a usage error, 0 for --help
        return int(e.code or 0)
    try:
        if ns.command == "inspect":
            return _inspect(ns)
        if ns.command == "call":
            return _call(ns)
        if ns.command == "version":
            print(f"bridgehost {__version__}")
            return 0
        parser.print_help()
        print("\nerror exit codes:")
        for k in _kinds():
            print(f"  {10 + k.kind_code:>3}  {k.kind}")
        return 0 if ns.command == "help" else 2
    except errors.BridgeHostError as e:
        return _fail(e)


if __name__ == "__main__":
    sys.exit(main())
