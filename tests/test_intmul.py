"""Integer multipliers: the table fast path against numpy (exact designs) and against direct
netlist evaluation (approximate ones), operand ranges, dtypes and broadcasting."""
from __future__ import annotations

import numpy as np
import pytest

from archsim_core import _intlut, get_multiplier
from archsim_core.intmul import IntMultiplier, get_int_multiplier, resolve_int_spec

EXACT_U8 = {"format": "uint8", "structure": {"kind": "ripple-row"}}
LSB_U8 = {"format": "uint8", "name": "u8-lsb", "structure": {"kind": "carry-save", "cells":
                                                             {"cell": "FA", "lsb_cell": "AMA5", "lsb_columns": 5}}}


def test_compiled_lookup_is_the_extension():
    assert _intlut.__file__.endswith(".so")


def test_exact_uint8_table_equals_numpy_products():
    m = get_multiplier(EXACT_U8)
    assert isinstance(m, IntMultiplier) and m.op == "mul" and not m.signed
    assert m.table.shape == (256, 256) and m.table.dtype == np.int64
    assert np.array_equal(m.table, np.outer(np.arange(256), np.arange(256)))
    a = np.arange(256, dtype=np.uint8)[:, None]
    b = np.arange(256, dtype=np.uint8)[None, :]
    assert np.array_equal(m.multiply(a, b), a.astype(np.int64) * b)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64])
def test_table_path_equals_netlist_evaluation(dtype):
    m = get_multiplier(LSB_U8)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, 5000).astype(dtype)
    b = rng.integers(0, 256, 5000).astype(dtype)
    direct = m.evaluate_raw(a.astype(np.uint64), b.astype(np.uint64))
    assert np.array_equal(m.multiply(a, b), direct)
    assert np.count_nonzero(direct != a.astype(np.int64) * b) > 0     # really approximate


def test_mixed_dtypes_and_broadcasting():
    m = get_multiplier(EXACT_U8)
    a = np.arange(10, dtype=np.uint8).reshape(2, 5)
    assert np.array_equal(m.multiply(a, np.int64(7)), a * 7)
    assert m.multiply(a, np.arange(5, dtype=np.int32)).shape == (2, 5)


@pytest.mark.parametrize("bad", [[256], [-1], [2 ** 63 + 5]])
def test_out_of_range_operands_raise(bad):
    m = get_multiplier(EXACT_U8)
    arr = np.array(bad, dtype=np.uint64 if bad[0] > 2 ** 62 else np.int64)
    with pytest.raises(ValueError, match="range 0..255"):
        m.multiply(arr, np.ones(1, np.int64))


def test_float_operands_rejected():
    with pytest.raises(ValueError, match="integer array"):
        get_multiplier(EXACT_U8).multiply(np.ones(3), np.ones(3))


def test_spec_forms():
    assert resolve_int_spec("int8:x.v").signed and resolve_int_spec("int8:x.v").width == 8
    assert not resolve_int_spec("uint8:x.v").signed
    assert not resolve_int_spec("verilog:x.v").signed
    with pytest.raises(Exception, match="unknown keys"):
        resolve_int_spec({"verilog": "x.v", "bogus": 1})
    with pytest.raises(Exception, match="unsigned arrays only"):
        resolve_int_spec({"format": "int8", "structure": {}})
    assert get_int_multiplier(EXACT_U8) is get_int_multiplier(EXACT_U8)
