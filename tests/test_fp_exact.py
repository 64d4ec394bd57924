"""The exact FP32 multiplier (rne, ieee) is bit-identical to IEEE hardware; exact-truncate equals
an independent round-toward-zero oracle. Oracles: numpy's float64 product (exact for two
float32 operands) cast to float32, and for truncation that cast stepped toward zero."""
import platform

import numpy as np
import pytest

from archsim_core import get_multiplier

X86 = platform.machine() in ("x86_64", "AMD64", "i686")


def _f32(bits):
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def _oracle_rne(a_bits, b_bits):
    with np.errstate(all="ignore"):
        p = _f32(a_bits).astype(np.float64) * _f32(b_bits).astype(np.float64)
        return p.astype(np.float32).view(np.uint32)


def _oracle_rtz(a_bits, b_bits):
    """Round toward zero: the RNE cast of the exact float64 product, stepped one ulp toward
    zero whenever it rounded away from zero (overflow to inf becomes the largest finite)."""
    with np.errstate(all="ignore"):
        p = _f32(a_bits).astype(np.float64) * _f32(b_bits).astype(np.float64)
        r = p.astype(np.float32)
        away = np.abs(r.astype(np.float64)) > np.abs(p)
        r[away] = np.nextafter(r[away], np.float32(0))
    return r.view(np.uint32)


def _assert_bits_equal(got, want, a, b):
    got, want = np.asarray(got).view(np.uint32), np.asarray(want).view(np.uint32)
    nan = np.isnan(_f32(want))
    if not X86:  # NaN payload/sign conventions are platform-specific; compare NaN-ness only
        assert np.array_equal(np.isnan(_f32(got)), nan)
        got, want = got[~nan], want[~nan]
        a, b = np.broadcast_to(a, nan.shape)[~nan], np.broadcast_to(b, nan.shape)[~nan]
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, [(hex(a[i]), hex(b[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]


def special_values() -> np.ndarray:
    """Bit patterns of every special class, both signs: zeros, subnormals (min, max, random),
    min/max normal, one, values around the overflow and underflow thresholds, inf, NaNs."""
    pos = [0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x007FFFFF, 0x00400000, 0x00123457,
           0x00800000, 0x00800001, 0x00FFFFFF, 0x3F800000, 0x3F800001, 0x3FFFFFFF, 0x3FC00000,
           0x7F7FFFFF, 0x7F000000, 0x5F800000, 0x5F7FFFFF, 0x1F800000, 0x1F7FFFFF, 0x20000000,
           0x34000000, 0x33FFFFFF, 0x2A800000, 0x2A7FFFFF, 0x0B000000, 0x7F800000,
           0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0x7FC12345, 0x7FA00000]
    pos = np.array(pos, dtype=np.uint32)
    return np.concatenate([pos, pos | np.uint32(0x80000000)])


def test_exact_fp32_random_bit_patterns_1e7():
    m = get_multiplier("exact")
    rng = np.random.default_rng(20260101)
    n = 10_000_000
    a = rng.integers(0, 2**32, n, dtype=np.uint32)
    b = rng.integers(0, 2**32, n, dtype=np.uint32)
    got, bad = m.multiply_bits(a, b)
    assert not bad.any()
    _assert_bits_equal(got, _oracle_rne(a, b), a, b)


def test_exact_fp32_random_values_around_one_and_tiny():
    """Bit patterns rarely hit the interesting exponent band; also sample normal values whose
    products land in the normal, subnormal and overflow ranges."""
    m = get_multiplier("exact")
    rng = np.random.default_rng(7)
    n = 2_000_000
    mant = rng.standard_normal(n).astype(np.float32)
    for scale_a, scale_b in ((1.0, 1.0), (2.0**-70, 2.0**-70), (2.0**64, 2.0**64), (2.0**-126, 1.0)):
        a = (mant * np.float32(scale_a)).view(np.uint32)
        b = (rng.standard_normal(n).astype(np.float32) * np.float32(scale_b)).view(np.uint32)
        _assert_bits_equal(m.multiply_bits(a, b)[0], _oracle_rne(a, b), a, b)


def test_exact_fp32_every_special_pair():
    m = get_multiplier("exact")
    s = special_values()
    a, b = np.repeat(s, s.size), np.tile(s, s.size)
    _assert_bits_equal(m.multiply_bits(a, b)[0], _oracle_rne(a, b), a, b)
    # the float API agrees with the bit API and propagates NaN / inf / signed zero
    with np.errstate(all="ignore"):
        z = m.multiply(_f32(a), _f32(b))
    _assert_bits_equal(z, _oracle_rne(a, b), a, b)


def test_exact_fp32_ties_round_to_even():
    """1.5 * (1 + odd * 2^-23) < 2 lies exactly halfway between two float32 values; so do
    subnormal * 0.5 products with odd significands."""
    m = get_multiplier("exact")
    odd = np.arange(1, 2**23 // 3, 2 * 331, dtype=np.uint32)        # product < 2: one tie each
    b = np.uint32(0x3F800000) | odd
    a = np.full_like(b, 0x3FC00000)
    sub = (np.arange(1, 2**23, 2 * 1013, dtype=np.uint32))      # odd subnormal significands
    a = np.concatenate([a, sub, sub | np.uint32(0x80000000)])
    b = np.concatenate([b, np.full(2 * sub.size, 0x3F000000, np.uint32)])
    exact = _f32(a).astype(np.float64) * _f32(b).astype(np.float64)
    down = _f32(_oracle_rtz(a, b)).astype(np.float64)
    away = np.where(exact > 0, np.float32(np.inf), np.float32(-np.inf))
    up = np.nextafter(down.astype(np.float32), away).astype(np.float64)
    ties = (exact - down) == (up - exact)
    assert ties.all()                                            # the sample really is ties
    _assert_bits_equal(m.multiply_bits(a, b)[0], _oracle_rne(a, b), a, b)


def test_exact_truncate_against_round_toward_zero_oracle():
    m = get_multiplier("exact-truncate")
    rng = np.random.default_rng(3)
    n = 1_000_000
    a = rng.integers(0, 2**32, n, dtype=np.uint32)
    b = rng.integers(0, 2**32, n, dtype=np.uint32)
    a[: n // 2] = (rng.standard_normal(n // 2).astype(np.float32) * np.float32(2.0**-60)).view(np.uint32)
    s = special_values()
    a = np.concatenate([a, np.repeat(s, s.size)])
    b = np.concatenate([b, np.tile(s, s.size)])
    _assert_bits_equal(m.multiply_bits(a, b)[0], _oracle_rtz(a, b), a, b)


def test_float64_inputs_are_rounded_to_fp32_first():
    m = get_multiplier("exact")
    rng = np.random.default_rng(5)
    x = rng.standard_normal(1000) * 10.0 ** rng.integers(-45, 40, 1000)
    y = rng.standard_normal(1000)
    with np.errstate(all="ignore"):
        want = (x.astype(np.float32).astype(np.float64) * y.astype(np.float32)).astype(np.float32)
        got = m.multiply(x, y)
        xb, yb = x.astype(np.float32).view(np.uint32), y.astype(np.float32).view(np.uint32)
    assert got.dtype == np.float32
    _assert_bits_equal(got, want, xb, yb)


def test_ftz_policy_flushes_subnormal_inputs_and_results():
    m = get_multiplier({"base": "exact", "specials": "ftz"})
    sub = _f32(np.array([0x00000001, 0x007FFFFF, 0x80400000], np.uint32))
    assert np.array_equal(np.signbit(m.multiply(sub, np.float32(3.0))), [False, False, True])
    assert not m.multiply(sub, np.float32(3.0)).any()
    tiny = np.float32(2.0**-70)
    z = m.multiply(np.float32(-tiny), tiny)                      # exact result 2^-140 is subnormal
    assert z == 0 and np.signbit(z)
    assert m.multiply(np.float32(2.0**-63), np.float32(2.0**-63)) == np.float32(2.0**-126)


@pytest.mark.parametrize("bad", [np.arange(4), np.array([True]), np.array([1 + 2j]), ["a"]])
def test_non_float_inputs_rejected(bad):
    m = get_multiplier("exact")
    with pytest.raises(ValueError, match="dtype"):
        m.multiply(bad, np.float32(1))
