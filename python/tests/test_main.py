"""``python -m bridgehost`` (``bridgehost/__main__.py``) against the archive's CLI.

A reader that goes away (``python -m bridgehost inspect std | head -1``) ends every command quietly
with the archive CLI's status (0, 1 for ``call``'s bytes), never a ``BrokenPipeError`` traceback;
``inspect`` prints the archive's lines in its format (ABI version, ``stateful``, the interface's
package and hash), the rendered interface items aside. The archive's CLI is
``target/dist/bridgehost`` (or ``BRIDGEHOST_CLI``); without it the expected values are checked alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest

import bridgehost

ROOT = Path(__file__).resolve().parents[2]
STATEFUL_LINE = "stateful:      yes (one isolated worker, no spare, StateLost after a restart)"


def native_cli() -> Optional[Path]:
    p = Path(os.environ.get("BRIDGEHOST_CLI", ROOT / "target" / "dist" / "bridgehost"))
    return p if p.is_file() else None


def python_cli() -> List[str]:
    return [sys.executable, "-m", "bridgehost"]


def resolve(name: str) -> str:
    """The path the Python host finds ``name`` at (skip if absent): both CLIs are given it, so that
    they describe the same file (the archive's CLI would find a name in its own directory)."""
    with bridgehost.Host() as host:
        try:
            return host.inspect_in_process(name).path
        except bridgehost.NotFoundError:
            pytest.skip(f"module {name} not found (test-only modules: BRIDGEHOST_MODULE_PATH)")


def run_into_closed_pipe(cmd: List[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` with its stdout a pipe whose reader is already gone: every write fails (EPIPE)."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, input=stdin, timeout=120)
    finally:
        os.close(w)


@pytest.mark.parametrize(
    "args,stdin,status",
    [
        (["inspect", "std"], b"", 0),
        (["inspect", "--in-process", "sqlite"], b"", 0),
        (["inspect", "--help"], b"", 0),
        (["help"], b"", 0),
        (["version"], b"", 0),
        (["call", "std", "echo"], b"hello", 1),
        (["call", "--isolated", "std", "echo"], bytes(1 << 20), 1),
    ],
)
def test_a_closed_pipe_ends_quietly_with_the_archive_cli_status(args, stdin, status):
    r = run_into_closed_pipe(python_cli() + args, stdin)
    assert b"Traceback" not in r.stderr and b"BrokenPipeError" not in r.stderr, r.stderr.decode()
    assert r.stderr == b"", r.stderr.decode()
    assert r.returncode == status, r
    cli = native_cli()
    if cli is not None:
        native = run_into_closed_pipe([str(cli)] + args, stdin)
        assert native.returncode == r.returncode, native


def run_with_closed(cmd: List[str], closed: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``cmd`` through a shell with its stdin (``<&-``) or stdout (``>&-``) closed."""
    shell = " ".join(f"'{a}'" for a in cmd) + (" <&-" if closed == "stdin" else " >&-")
    return subprocess.run(["bash", "-c", shell], input=stdin, capture_output=True, timeout=120)


@pytest.mark.parametrize(
    "args,closed,status",
    [
        (["inspect", "std"], "stdout", 0),
        (["version"], "stdout", 0),
        (["call", "std", "echo"], "stdout", 0),
        (["call", "std", "echo"], "stdin", 0),
    ],
)
def test_a_closed_standard_stream_is_dev_null_as_for_the_archive_cli(args, closed, status):
    # The archive's CLI (Rust's runtime) opens /dev/null on a closed standard descriptor: a
    # closed stdin is empty input, a closed stdout discards. The Python CLI does the same.
    r = run_with_closed(python_cli() + args, closed, b"hi")
    assert b"Traceback" not in r.stderr, r.stderr.decode()
    assert r.stderr == b"" and r.returncode == status, r
    if closed == "stdin":
        assert r.stdout == b"", "empty input echoes nothing"
    cli = native_cli()
    if cli is not None:
        native = run_with_closed([str(cli)] + args, closed, b"hi")
        assert (native.returncode, native.stdout) == (r.returncode, r.stdout), native


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["inspect", "std"], ["help"], ["version"], ["call", "std", "echo"]])
def test_a_full_disk_is_said_and_exits_1_as_for_the_archive_cli(args):
    def run(cmd: List[str]) -> subprocess.CompletedProcess[bytes]:
        with open("/dev/full", "wb") as full:
            return subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, input=b"x" * 100_000, timeout=120)

    r = run(python_cli() + args)
    assert b"Traceback" not in r.stderr, r.stderr.decode()
    assert r.returncode == 1, r
    assert r.stderr.decode().startswith("bridgehost: writing the output: "), r.stderr.decode()
    assert "No space left on device" in r.stderr.decode()
    cli = native_cli()
    if cli is not None:
        native = run([str(cli)] + args)
        assert native.returncode == 1, native
        assert native.stderr.decode().startswith("bridgehost: writing the output: "), native


def test_a_reader_that_stops_after_the_first_line():
    # The user's case, `python -m bridgehost inspect std | head -1`, through a shell.
    cmd = " ".join(f"'{a}'" for a in python_cli()) + " inspect std | head -1; echo \"${PIPESTATUS[0]}\""
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=120)
    assert r.stderr == b"", r.stderr.decode()
    first, status = r.stdout.decode().splitlines()
    assert first.startswith("path:          ") and status == "0", r


def python_inspect(args: List[str]) -> str:
    r = subprocess.run(python_cli() + ["inspect"] + args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r
    return r.stdout


@pytest.mark.parametrize("in_process", [False, True], ids=["worker", "in-process"])
@pytest.mark.parametrize("name", ["std", "zlib", "sqlite", "stateful", "counter"])
def test_inspect_prints_the_archive_cli_fields(name, in_process):
    path = resolve(name)
    args = (["--in-process"] if in_process else []) + [path]
    out = python_inspect(args)
    with bridgehost.Host() as host:
        info = host.inspect(path)
        if info.typed:
            m = host.open(path, isolation="process")
            iface = m.typed().interface
            m.close()
            interface = f"interface:     {iface.package} (sha256 {iface.hash})"
        else:
            interface = "interface:     none (bytes-only module)"
    expected = [
        f"path:          {info.path}",
        f"name:          {info.name}",
        f"version:       {info.version}",
        f"abi version:   {info.abi_version}",
        f"thread model:  {info.thread_model}",
        *([STATEFUL_LINE] if info.stateful else []),
        f"methods:       {len(info.methods)}",
        *(f"  {m}{' [nonblocking]' if m in info.nonblocking else ''}" for m in info.methods),
        interface,
    ]
    assert out.splitlines() == expected
    assert info.stateful == (name in ("sqlite", "stateful", "counter"))
    assert info.typed == (name != "stateful")
    cli = native_cli()
    if cli is None:
        return
    native = subprocess.run([str(cli), "inspect"] + args, capture_output=True, text=True, timeout=120)
    assert native.returncode == 0, native
    lines = native.stdout.splitlines()
    head = [i for i, line in enumerate(lines) if line.startswith("interface:")]
    assert len(head) == 1, native.stdout
    # Every line up to the interface's first (package and hash) is the same; the archive's CLI
    # then renders the interface's items, which the Python API does not.
    assert out.splitlines() == lines[: head[0] + 1]
    if info.typed:
        assert lines[-1] == f"  hash: {iface.hash}"
    else:
        assert head[0] == len(lines) - 1


@pytest.mark.parametrize(
    "args,python_says",
    [
        (["call", "std", "add", "extra"], "unrecognized arguments: extra"),
        (["call", "--isolated", "std", "echo", "extra", "more"], "unrecognized arguments: extra more"),
        (["inspect", "std", "extra"], "unrecognized arguments: extra"),
        # `--json` is the archive CLI's alone: here it is one of the arguments not recognized.
        (["call", "std", "add", "--json", "-", "extra"], "unrecognized arguments: --json - extra"),
    ],
)
def test_an_extra_argument_is_a_usage_error_that_names_it_as_in_the_archive_cli(args, python_says):
    # Exit 2 (usage) in both CLIs, each in its own usage wording (argparse's here), naming the
    # argument; the archive's CLI used to say "call needs MODULE and METHOD", both given.
    r = subprocess.run(python_cli() + args, capture_output=True, text=True, input="", timeout=120)
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr, r.stderr
    # The command's own usage line and name, as the archive's CLI shows the command's usage.
    assert r.stderr.startswith(f"usage: python -m bridgehost {args[0]} "), r.stderr
    assert f"python -m bridgehost {args[0]}: error: {python_says}\n" in r.stderr, r.stderr
    cli = native_cli()
    if cli is not None:
        native = subprocess.run([str(cli)] + args, capture_output=True, text=True, input="", timeout=120)
        assert native.returncode == 2, native
        assert native.stderr.startswith('bridgehost: unexpected argument "extra"\nusage:'), native.stderr
