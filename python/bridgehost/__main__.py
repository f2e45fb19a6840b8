"""``python -m bridgehost``: check and exercise a module from the shell.

Two commands of the ``bridgehost`` CLI of the C/CLI archive, with its output and exit codes (the
archive's CLI alone has ``validate``, ``wit``, ``bindgen``, ``new`` and ``call --json``)::

    python -m bridgehost inspect [--in-process] [--timeout-ms N] MODULE
    python -m bridgehost call [--isolated] [--timeout-ms N] [--config FILE] [--max-output N] MODULE METHOD

MODULE is a path to a module (.so) or a bundled name (``std``, ``zlib``). ``inspect`` loads the
module in a worker process (``Host.inspect``), with a deadline (``--timeout-ms``, default 10 s): a
module whose loading exits, crashes or hangs is an error exit, never an empty success;
``--in-process`` loads it into this process instead. It prints the lines of the archive's
``bridgehost inspect`` (path, name, version, ABI version, thread model, ``stateful`` when set, the
methods, the interface), but of a typed interface only its first line, the package and hash: the
Python API has no rendering of the interface's items. That line comes from the module opened
(``Module.typed().interface``), in a worker unless ``--in-process``, so a typed module's init runs
there, with no config. ``call`` reads its input from stdin and writes the output to stdout. Exit
status: 0 ok, 2 usage, ``10 + kind`` for a bridgehost error (11 invalid argument, 12 not found, 13
ABI mismatch, 14 module error, 15 worker crashed, 16 timeout, ...; ``python -m bridgehost help``
lists them). A reader that goes away (``python -m bridgehost inspect std | head -1``) ends the
command quietly, as it ends the archive's CLI: exit 0, but 1 for ``call``'s output.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Type

from . import Host, ModuleInfo, __version__, errors

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


def _interface_line(host: Host, info: ModuleInfo, in_process: bool, timeout: Optional[float]) -> str:
    """The archive's ``interface:`` line: ``Host.inspect`` says only whether there is one, its
    package and hash come from the module opened (``Module.typed().interface``)."""
    if not info.typed:
        return "interface:     none (bytes-only module)"
    try:
        if in_process:
            module = host.open(info.path)
        else:
            opts: Dict[str, Any] = {}
            if timeout is not None:
                opts["startup_timeout"] = timeout
            module = host.open(info.path, isolation="process", workers=1, spare_workers=0, **opts)
        try:
            iface = module.typed().interface
        finally:
            module.close()
    except errors.BridgeHostError as e:
        # The module was inspected; only its interface could not be read: say so, still exit 0.
        print(f"bridgehost: reading the interface of {info.path}: {e}", file=sys.stderr)
        return "interface:     typed (not shown: the module could not be opened to read it)"
    return f"interface:     {iface.package} (sha256 {iface.hash})"


def _inspect(ns: argparse.Namespace) -> int:
    timeout = None if ns.timeout_ms is None else ns.timeout_ms / 1000.0
    with Host() as host:
        if ns.in_process:
            if ns.timeout_ms is not None:
                raise errors.InvalidArgumentError("--timeout-ms needs a worker: it cannot be used with --in-process")
            info = host.inspect_in_process(ns.module)
        else:
            info = host.inspect(ns.module, timeout=timeout)
        interface = _interface_line(host, info, ns.in_process, timeout)
    # The lines and format of the archive's `bridgehost inspect` (cli/src/main.rs).
    print(f"path:          {info.path}")
    print(f"name:          {info.name}")
    print(f"version:       {info.version}")
    print(f"abi version:   {info.abi_version}")
    print(f"thread model:  {info.thread_model}")
    if info.stateful:
        print("stateful:      yes (one isolated worker, no spare, StateLost after a restart)")
    print(f"methods:       {len(info.methods)}")
    for name in info.methods:
        flags = " [nonblocking]" if name in info.nonblocking else ""
        print(f"  {name}{flags}")
    print(interface)
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
    try:
        # A loop: a write that is cut short by a closed pipe returns the bytes it wrote, and only
        # the next one raises.
        view = memoryview(out)
        while view:
            n = sys.stdout.buffer.write(view)
            if not n:
                raise BrokenPipeError("stdout took no bytes")
            view = view[n:]
        sys.stdout.buffer.flush()
    except OSError as e:
        # The archive's CLI exits 1 when it cannot write call's bytes (cli/src/main.rs); quietly
        # when the reader went away.
        if not isinstance(e, BrokenPipeError):
            print(f"bridgehost: writing the output: {e}", file=sys.stderr)
        _stdout_to_devnull()
        return 1
    return 0


def _main(argv: Optional[List[str]]) -> int:
    parser = argparse.ArgumentParser(prog=_PROG, description="Check and exercise a bridgehost module.")
    sub = parser.add_subparsers(dest="command")
    p_inspect = sub.add_parser(
        "inspect", help="path, name, version, ABI version, thread model, stateful, methods and interface of MODULE")
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
    p_help = sub.add_parser("help", help="list the error exit codes")
    p_version = sub.add_parser("version", help="print the core's version")
    commands = {"inspect": p_inspect, "call": p_call, "help": p_help, "version": p_version}
    try:
        ns, extra = parser.parse_known_args(argv)
        if extra:
            # Named with the command's own usage line, not the top-level one.
            commands.get(ns.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
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


def _stdout_to_devnull() -> None:
    """Point stdout at devnull, so the interpreter's final flush of what is still buffered for
    a reader that went away does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor
        pass


def main(argv: Optional[List[str]] = None) -> int:
    # A standard stream closed when the program started is /dev/null, as the archive's CLI has it
    # (Rust's runtime opens /dev/null on a closed standard descriptor): `call` reads empty input
    # from a closed stdin, and what goes to a closed stdout is discarded.
    # (closefd=False: the descriptor lives as long as the process, and the file object is not an
    # unclosed file a ResourceWarning would report at exit.)
    if sys.stdin is None:
        sys.stdin = os.fdopen(os.open(os.devnull, os.O_RDONLY), "r", closefd=False)
    if sys.stdout is None:
        sys.stdout = os.fdopen(os.open(os.devnull, os.O_WRONLY), "w", closefd=False)
    try:
        status = _main(argv)
        sys.stdout.flush()  # here, not at the interpreter's exit, so a closed pipe is caught below
        return status
    except BrokenPipeError:
        # The reader went away (`... | head -1`): end quietly with 0, as the archive's CLI does
        # for its text output (`call` returns 1 itself when its bytes cannot be written).
        _stdout_to_devnull()
        return 0
    except OSError as e:
        # Any other write error (a full disk: `> /dev/full`): said, and exit 1, as the archive's
        # CLI does.
        print(f"bridgehost: writing the output: {e}", file=sys.stderr)
        _stdout_to_devnull()
        return 1


if __name__ == "__main__":
    sys.exit(main())
