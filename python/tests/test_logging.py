"""Core tracing events reach the standard logging logger "bridgehost"."""

from __future__ import annotations

import logging

import pytest

import bridgehost


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=1)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    h = _Collect()
    root = logging.getLogger("bridgehost")
    old = root.level
    root.addHandler(h)
    root.setLevel(1)
    yield h.records
    root.removeHandler(h)
    root.setLevel(old)
    bridgehost.set_log_level(logging.DEBUG)


def test_open_and_close_are_logged(records):
    with bridgehost.Host() as h:
        h.open("std")
    assert bridgehost.flush_logs(5)
    opened = [r for r in records if "module opened" in r.getMessage()]
    assert opened, [r.getMessage() for r in records]
    assert opened[0].name.startswith("bridgehost")
    assert opened[0].levelno == logging.INFO
    assert any(r.levelno == logging.DEBUG and "closed" in r.getMessage() for r in records)


def test_fields_are_record_attributes_not_message_text(records):
    with bridgehost.Host() as h:
        m = h.open("std")
        version = m.version
    assert bridgehost.flush_logs(5)
    opened = [r for r in records if r.getMessage() == "module opened"]
    assert opened, [r.getMessage() for r in records]
    r = opened[0]
    assert r.bridgehost_module == "std"
    assert r.bridgehost_version == version
    assert r.bridgehost_fields == {"module": "std", "version": version}
    # Usable in a format string, as structured logging expects.
    fmt = logging.Formatter("%(message)s [%(bridgehost_module)s]")
    assert fmt.format(r) == "module opened [std]"


def test_trace_level_adds_per_call_records(records):
    bridgehost.set_log_level(bridgehost.TRACE)
    with bridgehost.Host() as h:
        with pytest.raises(bridgehost.ModuleError):
            h.open("std").method("fail")(b"")
    assert bridgehost.flush_logs(5)
    assert any(r.levelno == bridgehost.TRACE and "call failed" in r.getMessage() for r in records)


def test_logger_level_filters(records):
    logging.getLogger("bridgehost").setLevel(logging.WARNING)
    with bridgehost.Host() as h:
        h.open("std")
    assert bridgehost.flush_logs(5)
    assert not [r for r in records if r.levelno < logging.WARNING]


def test_set_log_level_validates():
    with pytest.raises(TypeError):
        bridgehost.set_log_level(b"debug")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bridgehost.set_log_level("not-a-level")
    with pytest.raises(bridgehost.InvalidArgumentError):
        bridgehost.flush_logs(-1)
