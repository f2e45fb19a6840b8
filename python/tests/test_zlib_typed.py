"""zlib's typed methods (plugins/c/zlib.wit, implemented through the generated C bindings
plugins/c/zlib_iface.{h,c}) through ``module.typed()``, in both isolation modes: round trips with
Python's zlib, every ``zlib-error`` raised as ``TypedModuleError`` carrying the variant, a call
failure for a bad level, and the byte methods unchanged beside them."""

from __future__ import annotations

import zlib as pyzlib

import pytest

import bridgehost
from bridgehost.typed import Variant


@pytest.mark.parametrize("isolation", ["in-process", "process"])
def test_zlib_typed_deflate_and_inflate(host, isolation):
    module = host.open("zlib", isolation=isolation)
    view = module.typed()
    data = b"typed zlib " * 1000
    packed = view.deflate(data, 9)
    assert isinstance(packed, bytes) and pyzlib.decompress(packed) == data
    assert view.inflate(packed, None) == data
    assert view.inflate(pyzlib.compress(b"hi"), max_size=2) == b"hi"
    errors = [
        ((packed, 10), Variant("too-large", 10)),
        ((b"not zlib", None), Variant("corrupt", "incorrect header check")),
        ((packed[:-1], None), Variant("truncated", None)),
        ((packed + b"xy", None), Variant("trailing-data", 2)),
    ]
    for args, want in errors:
        with pytest.raises(bridgehost.TypedModuleError) as e:
            view.inflate(*args)
        assert e.value.value == want
        assert e.value.function == "inflate"
    with pytest.raises(bridgehost.ModuleError, match=r"deflate: level must be 0\.\.9") as e2:
        view.deflate(b"x", 10)
    assert e2.value.code == 22
    # The byte methods are unchanged.
    assert module.method("decompress")(module.method("compress")(data)) == data
