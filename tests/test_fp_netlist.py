"""The whole-FP-unit netlists are the arithmetic: the multiplier netlist, run by the bit-sliced
evaluator, equals archsim's FP wrapper bit for bit (and numpy IEEE for `exact`); the adder
netlist equals numpy float32 / float16 addition and the wrapper's accumulator add.

Oracles: numpy's IEEE float32/float16 arithmetic, exhaustive enumeration of small formats, the
pure-Python netlist evaluation (Netlist.evaluate) and tests/netlist_reference.py."""
import numpy as np
import pytest
from archsim_core.evaluate import evaluate
from archsim_core.formats import FP16, FP32
from archsim_core.fp_unit import (fp_adder_netlist, fp_multiplier_netlist, register_netlist,
                                  unit_netlist)
from archsim_core.multiplier import get_multiplier
from archsim_core.netlist import Gate
from archsim_core.variants import resolve_variant

from archsim.errors import SpecError
from netlist_reference import numpy_signals

STRUCTURES = ({"kind": "ripple-row"}, {"kind": "ripple-row", "cells": "AMA5"},
              {"kind": "carry-save", "cells": "AMA1"},
              {"kind": "hierarchical", "k": 2, "leaf": {"cells": "AMA5"}},
              {"kind": "ripple-row", "assign": {"cell": "FA", "lsb_cell": "AMA3", "lsb_columns": 3}})


def _grid(width):
    g = np.arange(1 << width, dtype=np.uint32)
    return np.repeat(g, 1 << width), np.tile(g, 1 << width)


def _check_mul(m, a, b):
    got = evaluate(m.unit_netlist, a, b).astype(m.bits_dtype)
    want, _ = m.multiply_bits(a.astype(m.bits_dtype), b.astype(m.bits_dtype))
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, (f"{m.name}: {bad.size} mismatches, first a={a[bad[0]]:#x} "
                           f"b={b[bad[0]]:#x} netlist={got[bad[0]]:#x} wrapper={want[bad[0]]:#x}")


def _special_classes(w, e, m):
    """Every class of a (1,e,m) encoding: zeros, subnormals, normals, inf, quiet/signalling NaN."""
    emax = (1 << e) - 1
    vals = [0, 1, (1 << m) - 1, 1 << m, (1 << m) | 1, ((emax - 1) << m) | ((1 << m) - 1),
            emax << m, (emax << m) | 1, (emax << m) | (1 << (m - 1)), (emax << m) | ((1 << m) - 1)]
    return np.array(sorted({v | s for v in vals for s in (0, 1 << (w - 1))}), dtype=np.uint32)


@pytest.mark.parametrize("rounding", ["rne", "truncate"])
@pytest.mark.parametrize("specials", ["ieee", "ftz"])
@pytest.mark.parametrize("structure", STRUCTURES, ids=lambda s: "-".join(map(str, s.values())))
def test_multiplier_exhaustive_fp143(rounding, specials, structure):
    """(1,4,3) x (1,4,3): all 65,536 pairs (every special class), every rounding, specials
    policy and significand structure."""
    m = get_multiplier({"name": "t143", "format": {"exp_bits": 4, "man_bits": 3},
                        "rounding": rounding, "specials": specials, "structure": structure})
    a, b = _grid(8)
    _check_mul(m, a, b)


def test_fp143_exact_is_ieee_by_enumeration():
    """Independent oracle: the exact (1,4,3) rne product from exact rational arithmetic
    (Python ints), rounded by hand, equals the netlist for every finite non-NaN pair."""
    m = get_multiplier({"name": "t", "format": {"exp_bits": 4, "man_bits": 3}, "structure": {}})
    net = m.unit_netlist
    bias, M = 7, 3

    def value(x):          # exact value as (numerator, exponent of 2)
        e, f = (x >> M) & 15, x & 7
        sig = f | (8 if e else 0)
        return (-1 if x & 0x80 else 1) * sig, (e if e else 1) - bias - M

    def encode(num, exp, sign):  # RNE to (1,4,3), gradual underflow, overflow to inf
        num = abs(num)
        if num == 0:
            return sign
        # scale so that num * 2**exp is represented with fraction units of 2**(lead - M)
        lead = num.bit_length() - 1 + exp
        unit = max(lead, 1 - bias) - M               # exponent of the result's ulp
        shift = unit - exp
        if shift > 0:
            q, rem = num >> shift, num & ((1 << shift) - 1)
            half = 1 << (shift - 1)
            q += 1 if rem > half or (rem == half and q & 1) else 0
        else:
            q = num << -shift
        if q >= 16:                                  # carried into a new binade
            q, unit = q >> 1, unit + 1
        field = unit + M + bias if q >= 8 else 0
        if field >= 15:
            return sign | 0x78
        return sign | (field << M) | (q & 7) if field else sign | q

    finite = [x for x in range(256) if (x >> M) & 15 != 15]
    a = np.repeat(np.array(finite, np.uint32), len(finite))
    b = np.tile(np.array(finite, np.uint32), len(finite))
    got = evaluate(net, a, b)
    for x, y, r in zip(a.tolist(), b.tolist(), got.tolist()):
        (na, ea), (nb_, eb) = value(x), value(y)
        assert r == encode(na * nb_, ea + eb, (x ^ y) & 0x80), (hex(x), hex(y))


@pytest.mark.parametrize("variant", ["da-bf16",
                                     {"name": "bf16-exact", "format": "bf16", "rounding": "rne",
                                      "structure": {"kind": "ripple-row"}},
                                     {"name": "fp16-exact", "format": "fp16", "rounding": "rne",
                                      "structure": {"kind": "ripple-row"}},
                                     {"name": "fp16-da", "format": "fp16", "rounding": "truncate",
                                      "specials": "ftz", "structure": {"kind": "ripple-row",
                                                                       "cells": "AMA5"}}],
                         ids=["da-bf16", "bf16-exact", "fp16-exact", "fp16-ama5-ftz"])
def test_multiplier_sweeps_16bit(variant):
    """One operand over all 65,536 patterns, the other from a fixed set with every special
    class plus random words, both orders."""
    m = get_multiplier(variant)
    e, mb = m.fmt.exp_bits, m.fmt.man_bits
    others = np.concatenate([_special_classes(16, e, mb),
                             np.random.default_rng(5).integers(0, 1 << 16, 12).astype(np.uint32)])
    sweep = np.arange(1 << 16, dtype=np.uint32)
    a = np.tile(sweep, others.size)
    b = np.repeat(others, sweep.size)
    _check_mul(m, a, b)
    _check_mul(m, b, a)


def test_fp16_exact_multiplier_equals_numpy():
    """numpy float16 multiplication (correctly rounded IEEE) is an independent oracle."""
    m = get_multiplier({"name": "fp16-exact", "format": "fp16", "rounding": "rne",
                        "structure": {"kind": "ripple-row"}})
    others = _special_classes(16, 5, 10)
    sweep = np.arange(1 << 16, dtype=np.uint32)
    a, b = np.tile(sweep, others.size), np.repeat(others, sweep.size)
    got = evaluate(m.unit_netlist, a, b).astype(np.uint16)
    with np.errstate(all="ignore"):
        want = (a.astype(np.uint16).view(np.float16) * b.astype(np.uint16).view(np.float16)).view(np.uint16)
    nan = np.isnan(want.view(np.float16))
    assert np.array_equal(got[~nan], want[~nan])
    assert np.all(np.isnan(got[nan].view(np.float16)))


def _fp32_edges():
    v = np.array([0.0, -0.0, 1.0, -1.0, 1.5, np.inf, -np.inf, np.nan, 2.0 ** -126, 2.0 ** -149,
                  2.0 ** -127, 3.4028235e38, 1.1754942e-38, 2.0 ** 64, 2.0 ** -64, 0.5, 7.0,
                  1.0000001, 0.99999994], dtype=np.float32).view(np.uint32)
    extra = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0xFFFFFFFF, 0x00000001, 0x807FFFFF,
                      0x3F7FFFFF, 0x7F7FFFFF, 0x00800000], dtype=np.uint32)
    return np.unique(np.concatenate([v, extra]))


def _fp32_pairs(n, seed):
    """n random FP32 pairs: raw words, values near 1, products near the overflow and underflow
    thresholds, subnormals; plus every pair of edge values."""
    rng = np.random.default_rng(seed)
    k = n // 4
    raw = rng.integers(0, 1 << 32, (2, k), dtype=np.uint64).astype(np.uint32)
    near1 = rng.uniform(-2, 2, (2, k)).astype(np.float32).view(np.uint32)
    exps = rng.integers(-75, 75, (2, k))
    mag = rng.uniform(1, 2, (2, k)) * np.exp2(exps + np.array([[60], [-60]]) * rng.integers(-1, 2, (1, k)))
    scaled = np.minimum(mag, 3e38).astype(np.float32).view(np.uint32)
    sub = rng.integers(0, 1 << 24, (2, n - 3 * k), dtype=np.uint64).astype(np.uint32)
    sub[0] |= rng.integers(0, 256, n - 3 * k).astype(np.uint32) << 23
    a = np.concatenate([raw[0], near1[0], scaled[0], sub[0]])
    b = np.concatenate([raw[1], near1[1], scaled[1], sub[1]])
    edge = _fp32_edges()
    ea, eb = np.repeat(edge, edge.size), np.tile(edge, edge.size)
    return np.concatenate([a, ea]), np.concatenate([b, eb])


FP32_VARIANTS = ["exact", "exact-truncate", "da", "da-flat", "lsb-AMA1-16",
                 {"name": "exact-ftz", "base": "exact", "specials": "ftz"}]


@pytest.mark.parametrize("variant", FP32_VARIANTS, ids=str)
def test_fp32_multiplier_random_and_edges(variant):
    a, b = _fp32_pairs(200_000, 11)
    _check_mul(get_multiplier(variant), a, b)


@pytest.mark.slow
@pytest.mark.parametrize("variant", FP32_VARIANTS, ids=str)
def test_fp32_multiplier_million_pairs(variant):
    a, b = _fp32_pairs(1_000_000, 12)
    _check_mul(get_multiplier(variant), a, b)


def test_exact_fp32_unit_equals_numpy():
    """Independent oracle: numpy float32 multiplication (IEEE, rne, gradual underflow)."""
    a, b = _fp32_pairs(200_000, 13)
    got = evaluate(get_multiplier("exact").unit_netlist, a, b).astype(np.uint32)
    with np.errstate(all="ignore"):
        want = (a.view(np.float32) * b.view(np.float32)).view(np.uint32)
    assert np.array_equal(got, want)


def _check_add(fmt, dtype, a, b):
    net = fp_adder_netlist(fmt)
    udt = np.uint32 if dtype == np.float32 else np.uint16
    got = evaluate(net, a, b).astype(udt)
    with np.errstate(all="ignore"):
        want = (a.astype(udt).view(dtype) + b.astype(udt).view(dtype)).view(udt)
    both_nan = np.isnan(a.astype(udt).view(dtype)) & np.isnan(b.astype(udt).view(dtype))
    bad = np.flatnonzero((got != want) & ~both_nan)
    assert bad.size == 0, (f"{bad.size} mismatches, first {a[bad[0]]:#x} + {b[bad[0]]:#x}: "
                           f"netlist {got[bad[0]]:#x}, numpy {want[bad[0]]:#x}")
    # every result, NaN + NaN included, equals the wrapper's accumulator add (first NaN wins)
    mul = get_multiplier({"name": "x", "format": fmt.name, "structure": {"kind": "ripple-row"}})
    assert np.array_equal(got, mul.add_bits(a.astype(mul.bits_dtype), b.astype(mul.bits_dtype)))
    return both_nan


def test_fp32_adder_random_and_edges():
    a, b = _fp32_pairs(200_000, 21)
    rng = np.random.default_rng(22)
    # near-cancellation: b = -a with the low fraction bits perturbed
    close = rng.integers(0, 1 << 32, 50_000, dtype=np.uint64).astype(np.uint32)
    other = close ^ rng.integers(0, 1 << 8, close.size).astype(np.uint32) ^ np.uint32(1 << 31)
    both_nan = _check_add(FP32, np.float32, np.concatenate([a, close]), np.concatenate([b, other]))
    # numpy float32 also keeps the first NaN: no exception needed for fp32
    aa, bb = np.concatenate([a, close]), np.concatenate([b, other])
    got = evaluate(fp_adder_netlist(FP32), aa[both_nan], bb[both_nan]).astype(np.uint32)
    assert np.array_equal(got, aa[both_nan] | np.uint32(1 << 22))


@pytest.mark.slow
def test_fp32_adder_million_pairs():
    a, b = _fp32_pairs(1_000_000, 23)
    _check_add(FP32, np.float32, a, b)


def test_fp16_adder_sweep():
    """One operand over all 65,536 fp16 patterns against special classes + random words
    (numpy float16 addition; it returns the second NaN when both are NaN, so those pairs are
    checked against the wrapper's convention only)."""
    others = np.concatenate([_special_classes(16, 5, 10),
                             np.random.default_rng(6).integers(0, 1 << 16, 12).astype(np.uint32)])
    sweep = np.arange(1 << 16, dtype=np.uint32)
    _check_add(FP16, np.float16, np.tile(sweep, others.size), np.repeat(others, sweep.size))


def test_adder_exhaustive_fp143():
    """(1,4,3) + (1,4,3), all pairs, against the wrapper's correctly rounded add."""
    mul = get_multiplier({"name": "x", "format": {"exp_bits": 4, "man_bits": 3},
                          "structure": {"kind": "ripple-row"}})
    a, b = _grid(8)
    got = evaluate(fp_adder_netlist(mul.fmt), a, b)
    assert np.array_equal(got.astype(np.uint32), mul.add_bits(a, b))


def test_unit_netlists_agree_with_independent_evaluators():
    """The bit-sliced evaluator, the pure-Python Netlist.evaluate and the numpy table oracle
    agree on the unit netlists (so the new gates are evaluated the same everywhere)."""
    rng = np.random.default_rng(3)
    for net in (unit_netlist(resolve_variant("da-bf16")), fp_adder_netlist(FP16)):
        a = rng.integers(0, 1 << 16, 300).astype(np.uint32)
        b = rng.integers(0, 1 << 16, 300).astype(np.uint32)
        fast = evaluate(net, a, b)
        sig = numpy_signals(net, a, b)
        ref = sum(sig[s].astype(np.uint64) << np.uint64(k) for k, s in enumerate(net.outputs))
        assert np.array_equal(fast, ref)
        assert [net.evaluate(int(x), int(y)) for x, y in zip(a[:40], b[:40])] == list(fast[:40])


def test_register_is_one_dff_per_bit():
    reg = register_netlist(32)
    assert reg.cell_counts() == {"AND2": 0, "DFF": 32}
    assert all(isinstance(g, Gate) and g.role == "register" for g in reg.logic)
    words = np.array([0, 0xFFFFFFFF, 0x12345678], dtype=np.uint32)
    assert np.array_equal(evaluate(reg, words, np.zeros(3, np.uint32)), words)


def test_unit_netlist_interface_and_roles():
    m = get_multiplier("da")
    unit = m.unit_netlist
    assert (unit.n_a, unit.n_b, unit.n_outputs) == (32, 32, 32)
    assert m.netlist.n_a == 24                       # .netlist stays the significand array
    assert unit.gates and len(unit.gates) == len(m.netlist.gates)
    assert {g.role for g in unit.logic} >= {"unpack", "exponent", "normalise", "specials", "sign"}
    # truncation has no incrementer (no XOR in its round block); rne has one
    assert not any(g.role == "round" and g.kind == "XOR2" for g in unit.logic)
    assert any(g.role == "round" and g.kind == "XOR2"
               for g in get_multiplier("exact").unit_netlist.logic)
    # every gate has non-constant inputs (constants were folded at generation)
    assert all(s > 1 for g in unit.logic for s in g.ins)


def test_da_reference_has_no_unit_netlist():
    with pytest.raises(SpecError, match="not a circuit"):
        fp_multiplier_netlist(resolve_variant("da-reference"))


@pytest.mark.parametrize("fmt", ["fp32", "fp16", {"exp_bits": 4, "man_bits": 3}], ids=str)
def test_ftz_adder_equals_the_wrapper(fmt):
    """The ftz variant's accumulator (inputs and results flushed to signed zero) against the
    wrapper's add (exhaustive for (1,4,3); random words with many subnormals otherwise)."""
    mul = get_multiplier({"name": "x", "format": fmt, "specials": "ftz",
                          "structure": {"kind": "ripple-row"}})
    w = mul.fmt.width
    if w <= 8:
        a, b = _grid(w)
    else:
        rng = np.random.default_rng(8)
        a = rng.integers(0, 1 << w, 200_000, dtype=np.uint64).astype(np.uint32)
        b = rng.integers(0, 1 << w, 200_000, dtype=np.uint64).astype(np.uint32)
        a[::3] &= np.uint32((1 << (w - 1)) | ((1 << mul.fmt.man_bits) - 1))     # subnormals
        b[::5] &= np.uint32((1 << (w - 1)) | ((1 << (mul.fmt.man_bits + 2)) - 1))
    got = evaluate(fp_adder_netlist(mul.fmt, ftz=True), a, b).astype(mul.bits_dtype)
    assert np.array_equal(got, mul.add_bits(a.astype(mul.bits_dtype), b.astype(mul.bits_dtype)))


def test_unit_netlists_export_to_verilog_that_icarus_simulates_identically(tmp_path):
    """Independent simulator: the exported whole-unit Verilog (multiplier and adder), run by
    Icarus Verilog, equals the bit-sliced evaluator; the register (sequential) is refused."""
    from archsim_core.verilog import VerilogError, export_verilog
    from test_verilog_export import icarus_outputs

    mul = get_multiplier({"name": "t143", "format": {"exp_bits": 4, "man_bits": 3},
                          "rounding": "rne", "structure": {"kind": "hierarchical", "k": 2,
                                                           "leaf": {"cells": "AMA5"}}})
    a, b = _grid(8)
    rng = np.random.default_rng(4)
    pick = rng.choice(a.size, 6000, replace=False)
    for net in (mul.unit_netlist, fp_adder_netlist(mul.fmt)):
        text = export_verilog(net, "dut_top")
        sim = icarus_outputs(text, "dut_top", 8, 8, 8, a[pick], b[pick], tmp_path)
        assert np.array_equal(sim, evaluate(net, a[pick], b[pick]))
    with pytest.raises(VerilogError, match="sequential"):
        export_verilog(register_netlist(8))
