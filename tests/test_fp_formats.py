"""FP16, BF16 and custom (1,e,m) formats: products, conversions and the accumulator's addition
against independent oracles (numpy IEEE casts, and exact rational arithmetic in Python)."""
from fractions import Fraction

import numpy as np
import pytest

from archsim_core import get_multiplier
from archsim_core.formats import FPFormat

RIPPLE = {"kind": "ripple-row"}


def exact_mult(fmt, rounding="rne"):
    return get_multiplier({"name": f"exact-{fmt}", "format": fmt, "structure": RIPPLE,
                           "rounding": rounding})


def _fields(fmt: FPFormat):
    return fmt.exp_bits, fmt.man_bits, (1 << (fmt.exp_bits - 1)) - 1


def decode(bits: int, fmt: FPFormat):
    """Exact value of an encoding: Fraction, or a float for inf/NaN."""
    e_bits, m_bits, bias = _fields(fmt)
    sign = -1 if bits >> (e_bits + m_bits) & 1 else 1
    e, f = bits >> m_bits & ((1 << e_bits) - 1), bits & ((1 << m_bits) - 1)
    if e == (1 << e_bits) - 1:
        return float("nan") if f else sign * float("inf")
    if e == 0:
        return sign * Fraction(f, 1) * Fraction(2) ** (1 - bias - m_bits)
    return sign * Fraction(f + (1 << m_bits)) * Fraction(2) ** (e - bias - m_bits)


def encode(v: Fraction, negative: bool, fmt: FPFormat, rounding: str = "rne") -> int:
    """Round an exact rational to the format (IEEE: nearest-even or toward zero)."""
    e_bits, m_bits, bias = _fields(fmt)
    sign = int(negative) << (e_bits + m_bits)
    v = abs(v)
    if v == 0:
        return sign
    e = v.numerator.bit_length() - v.denominator.bit_length()
    e += 1 if v >= Fraction(2) ** (e + 1) else (-1 if v < Fraction(2) ** e else 0)
    e = max(e, 1 - bias)
    q = v / Fraction(2) ** (e - m_bits)
    n = q.numerator // q.denominator
    rem = q - n
    if rounding == "rne" and (rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2)):
        n += 1
    if n == 1 << (m_bits + 1):
        n, e = n >> 1, e + 1
    if e > bias:                                        # overflow
        if rounding == "rne":
            return sign | (((1 << e_bits) - 1) << m_bits)
        return sign | (((1 << e_bits) - 2) << m_bits) | ((1 << m_bits) - 1)
    if n < 1 << m_bits:
        return sign | n
    return sign | ((e + bias) << m_bits) | (n - (1 << m_bits))


def _oracle_product(a: int, b: int, fmt: FPFormat, rounding: str):
    x, y = decode(a, fmt), decode(b, fmt)
    neg = bool((a ^ b) >> (fmt.width - 1) & 1)
    if isinstance(x, float) or isinstance(y, float):
        return None                                     # specials are compared by class below
    return encode(x * y, neg, fmt, rounding)


def _grid16(rng):
    special = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x3C00, 0x3C01, 0x7C00, 0xFC00,
               0x7E00, 0x7C01, 0x3555, 0x0200, 0xB800, 0x5BFF]
    return np.concatenate([special, rng.integers(0, 1 << 16, 32)]).astype(np.uint32)


def test_fp16_exhaustive_operand_against_float32_product_cast():
    m = exact_mult("fp16")
    rng = np.random.default_rng(16)
    a_all = np.arange(1 << 16, dtype=np.uint32)
    grid = _grid16(rng)
    a, b = np.repeat(a_all, grid.size), np.tile(grid, a_all.size)
    got = m.multiply_bits(a, b)[0]
    with np.errstate(all="ignore"):
        f = lambda v: v.astype(np.uint16).view(np.float16).astype(np.float32)
        want = (f(a) * f(b)).astype(np.float16).view(np.uint16).astype(np.uint32)
        want_swapped = (f(b) * f(a)).astype(np.float16).view(np.uint16).astype(np.uint32)
    np.testing.assert_array_equal(got, want)
    # second operand exhaustive too (the engine is not assumed symmetric; NaN * NaN keeps
    # the first operand's payload, as the hardware does)
    np.testing.assert_array_equal(m.multiply_bits(b, a)[0], want_swapped)
    assert m.multiply(np.float16(1.5), np.float16(2)).dtype == np.float32


def test_bf16_exhaustive_operand_against_float32_product_rounded_on_low_16_bits():
    m = exact_mult("bf16")
    rng = np.random.default_rng(17)
    special = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x7F7F, 0x3F80, 0x3F81, 0x7F80, 0xFF80,
               0x7FC0, 0x7F81, 0x3EAB, 0x1F80, 0x2000, 0x5F7F, 0x0040]
    grid = np.concatenate([special, rng.integers(0, 1 << 16, 32)]).astype(np.uint32)
    a_all = np.arange(1 << 16, dtype=np.uint32)
    a, b = np.repeat(a_all, grid.size), np.tile(grid, a_all.size)
    got = m.multiply_bits(a, b)[0]
    with np.errstate(all="ignore"):
        p = ((a << 16).view(np.float32) * (b << 16).view(np.float32)).view(np.uint32).astype(np.uint64)
    nan = np.isnan(p.astype(np.uint32).view(np.float32))
    want = ((p + 0x7FFF + ((p >> 16) & 1)) >> 16).astype(np.uint32)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.all((got[nan] & 0x7F80) == 0x7F80) and np.all(got[nan] & 0x7F)


@pytest.mark.parametrize("rounding", ["rne", "truncate"])
def test_fp8_like_format_exhaustive_against_exact_rationals(rounding):
    fmt = FPFormat(4, 3)
    m = exact_mult({"exp_bits": 4, "man_bits": 3}, rounding)
    a_all = np.arange(256, dtype=np.uint32)
    a, b = np.repeat(a_all, 256), np.tile(a_all, 256)
    got = m.multiply_bits(a, b)[0]
    for ai, bi, g in zip(a.tolist(), b.tolist(), got.tolist()):
        want = _oracle_product(ai, bi, fmt, rounding)
        if want is None:
            x, y = float(decode(ai, fmt)), float(decode(bi, fmt))
            with np.errstate(all="ignore"):
                ref = np.float64(x) * np.float64(y)
            v = decode(g, fmt)
            assert (np.isnan(ref) and isinstance(v, float) and np.isnan(v)) or v == ref, (ai, bi, g)
        else:
            assert g == want, (hex(ai), hex(bi), hex(g), hex(want))


@pytest.mark.parametrize("e_bits,m_bits", [(6, 9), (11, 23), (5, 2)])
def test_custom_format_products_against_exact_rationals(e_bits, m_bits):
    fmt = FPFormat(e_bits, m_bits)
    m = exact_mult({"exp_bits": e_bits, "man_bits": m_bits})
    rng = np.random.default_rng(e_bits * 100 + m_bits)
    finite_max = ((1 << e_bits) - 1) << m_bits
    a = rng.integers(0, finite_max, 3000).astype(np.uint64)
    b = rng.integers(0, finite_max, 3000).astype(np.uint64)
    # bias the exponents towards products that underflow or overflow
    top = (1 << e_bits) - 2 - (a[:1000] >> m_bits)
    b[:1000] = (b[:1000] & ((1 << m_bits) - 1)) | (np.maximum(top, 0) << m_bits)
    sign = rng.integers(0, 2, 3000).astype(np.uint64) << np.uint64(e_bits + m_bits)
    a |= sign
    got = m.multiply_bits(a, b)[0]
    for ai, bi, g in zip(a.tolist(), b.tolist(), got.tolist()):
        assert g == _oracle_product(ai, bi, fmt, "rne"), (hex(ai), hex(bi), hex(g))
    assert m.multiply(np.float32(1.0), np.float32(3.0)).dtype == (np.float64 if e_bits > 8 else np.float32)


def test_conversions_fp32_fp16_match_numpy_casts():
    rng = np.random.default_rng(9)
    x = rng.standard_normal(200_000) * 2.0 ** rng.integers(-160, 140, 200_000)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 2.0 ** -149 * 0.5]
    with np.errstate(all="ignore"):
        for name, dt in (("exact", np.float32), (None, np.float16)):
            m = get_multiplier(name) if name else exact_mult("fp16")
            bits = m.to_bits(x)
            want = x.astype(dt).view(np.uint32 if dt == np.float32 else np.uint16).astype(np.uint32)
            np.testing.assert_array_equal(bits, want)
            np.testing.assert_array_equal(m.from_bits(bits), x.astype(dt).astype(np.float32))


def test_bf16_conversion_against_exact_rationals():
    fmt = FPFormat(8, 7)
    m = exact_mult("bf16")
    rng = np.random.default_rng(10)
    x = rng.standard_normal(4000) * 2.0 ** rng.integers(-140, 130, 4000)
    for v, g in zip(x.tolist(), m.to_bits(x).tolist()):
        assert g == encode(Fraction(v), v < 0, fmt), v


@pytest.mark.parametrize("fmt_spec", ["bf16", {"exp_bits": 11, "man_bits": 23}, {"exp_bits": 5, "man_bits": 2}])
def test_accumulator_add_is_correctly_rounded(fmt_spec):
    """The double-based add must equal one rounding of the exact sum (no double rounding),
    also across huge exponent gaps and in the subnormal range."""
    m = exact_mult(fmt_spec)
    fmt = m.fmt
    rng = np.random.default_rng(fmt.width)
    finite_max = ((1 << fmt.exp_bits) - 1) << fmt.man_bits
    a = rng.integers(0, finite_max, 6000)
    b = rng.integers(0, finite_max, 6000)
    b[:3000] = rng.integers(0, 1 << (fmt.man_bits + 2), 3000)      # subnormal / tiny partners
    b[3000:4500] = a[3000:4500] + rng.integers(-3, 4, 1500)         # near cancellation
    b &= (1 << (fmt.exp_bits + fmt.man_bits)) - 1
    b |= rng.integers(0, 2, 6000) << (fmt.width - 1)
    a, b = a.astype(np.uint64), b.astype(np.uint64)
    finite = (b >> fmt.man_bits & ((1 << fmt.exp_bits) - 1)) != (1 << fmt.exp_bits) - 1
    a, b = a[finite], b[finite]
    assert a.size > 5000
    got = m.add_bits(a, b)
    for ai, bi, g in zip(a.tolist(), b.tolist(), got.tolist()):
        s = decode(ai, fmt) + decode(bi, fmt)
        if s == 0:   # exact cancellation: +0 in round-to-nearest unless both operands are -0
            assert g == (ai & bi & (1 << (fmt.width - 1))), (ai, bi, g)
        else:
            assert g == encode(s, s < 0, fmt), (hex(ai), hex(bi), hex(g))


def test_fp16_add_exhaustive_operand_against_float64_sum_cast():
    m = exact_mult("fp16")
    rng = np.random.default_rng(11)
    a_all = np.arange(1 << 16, dtype=np.uint32)
    grid = _grid16(rng)
    a, b = np.repeat(a_all, grid.size), np.tile(grid, a_all.size)
    got = m.add_bits(a, b)
    f = lambda v: v.astype(np.uint16).view(np.float16).astype(np.float64)
    with np.errstate(all="ignore"):
        want = (f(a) + f(b)).astype(np.float16).view(np.uint16).astype(np.uint32)
    nan = np.isnan(want.astype(np.uint16).view(np.float16))
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.all((got[nan] & 0x7C00) == 0x7C00) and np.all(got[nan] & 0x3FF)
