"""Issue 17 item 3: the same mistake reads the same in every runtime, with the core's message.

java/.../FrontEndMessagesTest.java and csharp/tests/FrontEndMessagesTests.cs make the same
mistakes and expect the same text.
"""

from __future__ import annotations

import pytest

import bridgehost


def test_a_negative_shared_buffer_length_is_the_cores_message() -> None:
    # The core's message for a length it refuses, "invalid argument: " prefix included (it
    # lacked the prefix here and in C#).
    for n in (-1, -5, -(1 << 70)):
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            bridgehost.SharedBuffer(n)
        assert str(e.value) == f"invalid argument: a shared buffer of {n} bytes: give it a length of at least 1"
    with pytest.raises(bridgehost.InvalidArgumentError) as e:
        bridgehost.SharedBuffer(0)
    assert str(e.value) == "invalid argument: a shared buffer of 0 bytes: give it a length of at least 1"


@pytest.mark.parametrize("n", [1 << 63, (1 << 64) - 1, 1 << 64, 1 << 200])
def test_a_huge_shared_buffer_length_is_named_as_given(n: int) -> None:
    # The core's ResourceLimit for a length no machine holds, naming the value given: 2^63 and
    # up were reported as 2^64 - 1 bytes (the int was saturated before the core saw it).
    with pytest.raises(bridgehost.ResourceLimitError) as e:
        bridgehost.SharedBuffer(n)
    msg = str(e.value)
    assert msg.startswith(f"resource limit: a shared buffer of {n} bytes is more than"), msg
    if n != (1 << 64) - 1:
        assert str((1 << 64) - 1) not in msg, msg


RULES = {
    "call_timeout": "positive and at most one year",
    "breaker_window": "positive and at most one year",
    "breaker_cooldown": "positive and at most one year",
    "startup_timeout": "positive and at most one year",
    "close_grace": "at most one year",
    "cpu_limit": "at least 1 s and at most one year",
}


@pytest.mark.parametrize("option", sorted(RULES))
def test_a_huge_duration_is_refused_with_its_own_value(host: bridgehost.Host, option: str) -> None:
    # The values Java (Duration) and C# (TimeSpan) are checked with: each names its own value.
    for seconds, ns in [(31_536_000_000, "31536000000000000000"), (-(1 << 63), "-9223372036854775808000000000")]:
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            host.open("std", isolation="process", **{option: seconds})
        assert str(e.value) == f"invalid argument: {option} must be {RULES[option]}, got {ns} ns"


def test_wait_arguments_are_judged_by_the_cores_rule(host: bridgehost.Host) -> None:
    # docs/SYMMETRY.md's wait rows: the value is judged exact by the core's one rule for each
    # argument, with the message every runtime shows. flush: 0 (no wait) up to one year, None
    # for no limit; inspect: a positive deadline up to one year, None for the default. Both
    # had their own message here ("timeout must be a positive, finite number of seconds"), and
    # flush refused 0.
    m = host.open("std")
    try:
        m.flush(0)
        m.flush(0.0)
        m.flush(None)
        m.flush()
        m.flush(365 * 86400)
        flush = "invalid argument: flush timeout must be at most one year, got "
        for value, shown in [
            (-1, "-1000000000 ns"),
            (-1e-9, "-1 ns"),
            (-0.5, "-500000000 ns"),
            (366 * 86400, "31622400000000000 ns"),
            (1 << 200, f"{1 << 200} s"),
            (float("inf"), "inf s"),
            (float("nan"), "NaN s"),
        ]:
            with pytest.raises(bridgehost.InvalidArgumentError) as e:
                m.flush(value)
            assert str(e.value) == flush + shown
        with pytest.raises(TypeError):
            m.flush("1")  # type: ignore[arg-type]
    finally:
        m.close()
    # Judged before the module's state, by the core: a closed module still names the bad value,
    # a good one finds it closed (the same order in every runtime).
    with pytest.raises(bridgehost.InvalidArgumentError) as e:
        m.flush(-1)
    assert str(e.value) == flush + "-1000000000 ns"
    with pytest.raises(bridgehost.ClosedError):
        m.flush(0)
    with pytest.raises(bridgehost.ClosedError):
        m.flush()
    inspect = "invalid argument: inspect deadline must be positive and at most one year, got "
    for value, shown in [(0, "0 ns"), (-1, "-1000000000 ns"), (31_536_000_000, "31536000000000000000 ns")]:
        with pytest.raises(bridgehost.InvalidArgumentError) as e:
            host.inspect("std", timeout=value)
        assert str(e.value) == inspect + shown
    assert host.inspect("std").name == "std"
    assert host.inspect("std", timeout=365 * 86400).name == "std"
