"""Value ranges: every size and count is range-checked before it is narrowed."""

from __future__ import annotations

import math

import pytest

import bridgehost

BIG = [2**31 - 1, 2**31, 2**32, 2**63, 2**64, 2**100]


@pytest.mark.parametrize("v", [0, -1, -(2**31), 257] + BIG)
def test_submit_threads_range(v):
    with pytest.raises(bridgehost.InvalidArgumentError):
        bridgehost.Host(submit_threads=v)


@pytest.mark.parametrize("v", [True, 1.0, "2", [1]])
def test_wrong_types_are_type_errors(v):
    with pytest.raises(TypeError):
        bridgehost.Host(submit_threads=v)


@pytest.mark.parametrize("name", ["max_input", "max_output", "max_event"])
@pytest.mark.parametrize("v", [-1, -(2**31), 2**63, 2**64, 2**100])
def test_size_options_out_of_range(host, name, v):
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("std", **{name: v})


def test_size_limits_apply(host):
    m = host.open("std", max_input=4, max_output=8)
    echo = m.method("echo")
    assert echo(b"1234") == b"1234"
    with pytest.raises(bridgehost.ResourceLimitError):
        echo(b"12345")
    m2 = host.open("std", max_output=0)
    with pytest.raises(bridgehost.ResourceLimitError):
        m2.method("echo")(b"1")
    assert m2.method("echo")(b"") == b""
    big = host.open("std", max_input=2**31, max_output=2**32)
    assert big.method("echo")(b"ok") == b"ok"


@pytest.mark.parametrize("v", [0, -1, 65, 2**32])
def test_workers_range(host, v):
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("std", workers=v)


@pytest.mark.parametrize("v", [0, -1, -0.5, math.nan, math.inf, 1e12])
def test_call_timeout_range(host, v):
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("std", call_timeout=v, isolation="process")


def test_timeout_requires_isolation(host):
    with pytest.raises(bridgehost.InvalidArgumentError, match="isolation"):
        host.open("std", call_timeout=1.0)
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("std", memory_limit=1 << 30)


@pytest.mark.parametrize("spec", ["", "a b", "..", "x\0y"])
def test_bad_specs(host, spec):
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open(spec)


def test_bad_isolation(host):
    with pytest.raises(bridgehost.InvalidArgumentError):
        host.open("std", isolation="sandbox")
    with pytest.raises(TypeError):
        host.open("std", isolation=1)


def test_module_dirs_and_paths(host, tmp_path):
    with pytest.raises(TypeError):
        bridgehost.Host(module_dirs="/tmp")
    with bridgehost.Host(module_dirs=[tmp_path]) as h:
        assert h.open("std").name == "std"  # still found beside the extension
    import os

    m = host.open("std")
    assert host.open(m.path).name == "std"
    assert host.open(os.fspath(m.path)).name == "std"


def test_config_is_a_buffer(host):
    assert host.open("std", config=b"").name == "std"
    with pytest.raises(TypeError):
        host.open("std", config="text")


def test_ranges_and_messages_are_the_cores(host):
    """One rule per option (bridgehost::options::Numeric): the same message in every runtime."""
    import re

    cases = [
        (lambda: host.open("std", workers=0), "workers must be in 1..=64, got 0"),
        (lambda: host.open("std", max_input=-1), "max_input must be in 0..=9223372036854775807, got -1"),
        (lambda: bridgehost.Host(submit_threads=-1), "submit_threads must be in 1..=256, got -1"),
        (
            lambda: bridgehost.Host(event_queue_bytes=1),
            "event_queue_bytes must be in 65536..=18446744073709551615, got 1",
        ),
        # Beyond even a 128-bit integer: shown as written.
        (lambda: host.open("std", max_output=2**200), f"max_output must be in 0..=9223372036854775807, got {2**200}"),
        (
            lambda: host.open("std", isolation="process", call_timeout=366 * 86400),
            "call_timeout must be positive and at most one year",
        ),
        (lambda: bridgehost.Host(thread_name="x" * 33), "thread_name must be 1..=32 bytes without NUL"),
        (lambda: bridgehost.Host(thread_name=""), "thread_name must be 1..=32 bytes without NUL"),
        # Path rules are the core's too.
        (lambda: host.open("std", isolation="process", worker_path="a\0b"), "worker_path: path contains NUL"),
        (lambda: host.open("std", isolation="process", worker_path=""), "worker_path is empty"),
        (lambda: bridgehost.Host(module_dirs=["a\0b"]), "module_dirs: entry 1: path contains NUL"),
        (lambda: host.add_module_dir("a\0b"), "path contains NUL"),
    ]
    for make, message in cases:
        with pytest.raises(bridgehost.InvalidArgumentError, match=re.escape(message)):
            make()
