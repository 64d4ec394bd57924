"""The `da` family (SPEC-arith §4): hardware `da` against a hand-derived closed form of the
significand product plus an independent round-toward-zero of its exact value; `da-reference`
against a slow, literal transcription of the published Python's string slicing."""
import struct

import numpy as np
import pytest

from archsim_core import DomainError, get_multiplier


def p4(a, b):
    """DA leaf (4x4 ripple-row of AMA5): a0*B + b3*16*(A - a0)."""
    a0, b3 = a & 1, (b >> 3) & 1
    return a0 * b + b3 * 16 * (a - a0)


def da_sig(a, b):
    """24x24 DA significand product: 3x3 blocks of 8x8, each 2x2 leaves, exact recombination.
    Works on Python ints and on uint64 arrays."""
    total = 0
    for i in range(3):
        for j in range(3):
            ai, bj = (a >> (8 * i)) & 0xFF, (b >> (8 * j)) & 0xFF
            blk = 0
            for u in range(2):
                for v in range(2):
                    blk = blk + (p4((ai >> (4 * u)) & 0xF, (bj >> (4 * v)) & 0xF) << (4 * (u + v)))
            total = total + (blk << (8 * (i + j)))
    return total


def _unpack(bits):
    e = (bits >> 23) & 0xFF
    sig = (bits & 0x7FFFFF) | np.where(e > 0, 0x800000, 0).astype(np.uint32)
    return e, sig


def da_hardware_oracle(a, b):
    """da: exact value sign * P * 2^(ea+eb-46) (P < 2^50: exact in float64), rounded toward
    zero to float32 by numpy's cast stepped toward zero; specials as IEEE."""
    ea, sa = _unpack(a)
    eb, sb = _unpack(b)
    p = da_sig(sa.astype(np.uint64), sb.astype(np.uint64)).astype(np.float64)
    exp2 = np.maximum(ea, 1).astype(np.int64) + np.maximum(eb, 1) - 254 - 46
    with np.errstate(all="ignore"):
        fa, fb = a.view(np.float32).astype(np.float64), b.view(np.float32).astype(np.float64)
        v = np.ldexp(p, exp2) * np.sign(fa) * np.sign(fb)
        ordinary = np.isfinite(fa) & np.isfinite(fb) & (fa != 0) & (fb != 0)
        v = np.where(ordinary, v, fa * fb)
        r = v.astype(np.float32)
        away = np.abs(r.astype(np.float64)) > np.abs(v)
        r[away] = np.nextafter(r[away], np.float32(0))
    return r.view(np.uint32), da_sig(sa.astype(np.uint64), sb.astype(np.uint64))


OUT = "out-of-domain"


def da_reference_scalar(x_bits: int, y_bits: int):
    """The published algorithm, literally: floats, abs() < 1e-36, bin() strings, slicing."""
    x = struct.unpack(">f", struct.pack(">I", x_bits))[0]
    y = struct.unpack(">f", struct.pack(">I", y_bits))[0]
    if abs(x) < 1e-36 or abs(y) < 1e-36:
        return 0
    sx, ex, mx = x_bits >> 31, (x_bits >> 23) & 0xFF, (x_bits & 0x7FFFFF) | 0x800000
    sy, ey, my = y_bits >> 31, (y_bits >> 23) & 0xFF, (y_bits & 0x7FFFFF) | 0x800000
    if ex == 255 or ey == 255:
        return OUT
    e = ex + ey - 127
    if e > 255:
        e = 255
    s = bin(da_sig(mx, my))[2:].zfill(48)
    if s[0] == "1":
        frac = s[1:24]
        e += 1
    else:
        frac = s[2:25]
    if not 1 <= e <= 254:
        return OUT
    return int(str(sx ^ sy) + format(e, "08b") + frac, 2)


def _sample(rng, n):
    """Normal operands over all exponents, small ones around 1e-36, and typical CNN values."""
    a = rng.integers(0, 2**32, n, dtype=np.uint32)
    q = n // 4
    a[:q] = rng.uniform(-1, 1, q).astype(np.float32).view(np.uint32)
    a[q:2 * q] = (rng.uniform(0.5, 2, q) * 1e-36 * rng.choice([-1, 1], q)).astype(np.float32).view(np.uint32)
    return a


def test_da_significand_closed_form_agrees_with_engine():
    m = get_multiplier("da")
    rng = np.random.default_rng(1)
    a = rng.integers(0, 1 << 24, 200_000, dtype=np.uint64)
    b = rng.integers(0, 1 << 24, 200_000, dtype=np.uint64)
    np.testing.assert_array_equal(m.engine.multiply(a, b), da_sig(a, b))
    assert int(da_sig(np.uint64(0xFFFFFF), np.uint64(0xFFFFFF))) >= 1 << 48   # can exceed 48 bits


def test_da_hardware_against_closed_form_and_round_toward_zero():
    m = get_multiplier("da")
    rng = np.random.default_rng(2)
    a, b = _sample(rng, 400_000), _sample(rng, 400_000)
    rng.shuffle(b)
    want, p = da_hardware_oracle(a, b)
    got, bad = m.multiply_bits(a, b)
    assert not bad.any()
    nan = np.isnan(want.view(np.float32))
    np.testing.assert_array_equal(np.isnan(got.view(np.float32)), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert (p >= (1 << 48)).any()              # products beyond 48 bits were exercised


def test_da_magnitude_never_below_exact_truncation():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 300_000).astype(np.float32)
    y = rng.uniform(-1, 1, 300_000).astype(np.float32)
    da = get_multiplier("da").multiply(x, y)
    tr = get_multiplier("exact-truncate").multiply(x, y)
    assert np.all(np.abs(da) >= np.abs(tr))
    assert np.array_equal(np.signbit(da), np.signbit(x) ^ np.signbit(y))


def test_da_reference_against_literal_transcription():
    m = get_multiplier("da-reference")
    rng = np.random.default_rng(4)
    a, b = _sample(rng, 20_000), _sample(rng, 20_000)
    rng.shuffle(b)
    got, bad = m.multiply_bits(a, b)
    n_out = 0
    for ai, bi, g, flag in zip(a.tolist(), b.tolist(), got.tolist(), bad.tolist()):
        want = da_reference_scalar(ai, bi)
        if want == OUT:
            n_out += 1
            assert flag and np.isnan(np.uint32(g).view(np.float32)), (hex(ai), hex(bi))
        else:
            assert not flag and g == want, (hex(ai), hex(bi), hex(g), hex(want))
    assert 0 < n_out < 20_000


def test_da_reference_is_da_except_products_beyond_48_bits_read_as_half():
    """Hand derivation: for P < 2^48 the slicing equals true normalisation + truncation; for
    P >= 2^48 the fraction bits are right but the exponent is one too small."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, 200_000).astype(np.float32)
    y = rng.uniform(-1, 1, 200_000).astype(np.float32)
    ref = get_multiplier("da-reference").multiply(x, y)
    hw = get_multiplier("da").multiply(x, y)
    _, p = da_hardware_oracle(x.view(np.uint32), y.view(np.uint32))
    big = p >= (1 << 48)
    assert big.any() and not big.all()
    np.testing.assert_array_equal(ref[~big], hw[~big])
    np.testing.assert_array_equal(ref[big], hw[big] / np.float32(2))


def test_da_reference_domain_errors_are_reported():
    m = get_multiplier("da-reference")
    x = np.array([1e30, 1e-20, np.nan, 0.5, -1e-37, np.inf], dtype=np.float32)
    y = np.array([1e30, 1e-20, 1.0, 0.5, 3.0, 0.0], dtype=np.float32)
    with pytest.raises(DomainError, match="3 of 6") as info:
        m.multiply(x, y)
    assert info.value.count == 3
    z = m.multiply(x, y, on_domain_error="nan")
    assert np.isnan(z[:3]).all() and z[3] > 0 and z[4] == 0 and not np.signbit(z[4]) and z[5] == 0
    z2, mask = m.multiply(x, y, on_domain_error="mask")
    assert mask.tolist() == [True, True, True, False, False, False]
    with pytest.raises(DomainError):
        m.matmul(x.reshape(2, 3), y.reshape(3, 2))
    out, counts = m.matmul(x[:3].reshape(1, 3), y[:3].reshape(3, 1), on_domain_error="mask")
    assert counts.tolist() == [[3]] and np.isnan(out).all()
    with pytest.raises(ValueError, match="on_domain_error"):
        m.multiply(x, y, on_domain_error="ignore")


def test_da_hardware_specials_follow_ieee_policy():
    m = get_multiplier("da")
    x = np.array([np.inf, np.inf, np.nan, 0.0, -0.0, 1e-45, 3e38], dtype=np.float32)
    y = np.array([2.0, 0.0, 1.0, -5.0, 5.0, 1e-10, 3e38], dtype=np.float32)
    with np.errstate(all="ignore"):
        z = m.multiply(x, y)
    assert z[0] == np.inf and np.isnan(z[1]) and np.isnan(z[2])
    assert z[3] == 0 and np.signbit(z[3]) and z[4] == 0 and np.signbit(z[4])
    assert z[5] == 0                                   # gradual underflow, truncated to zero
    assert z[6] == np.finfo(np.float32).max            # round toward zero saturates (IEEE)


def test_da_bf16_against_single_block_closed_form():
    """da-bf16: 8-bit significands through one 8x8 DA block, truncated. Oracle: exact value
    in float64, round toward zero to float32 (cast stepped toward zero), then drop the low 16
    bits (truncation of a truncation onto a nested grid is the direct truncation)."""
    m = get_multiplier("da-bf16")
    rng = np.random.default_rng(6)
    a = np.repeat(np.arange(1 << 16, dtype=np.uint32), 24)
    b = rng.integers(0, 1 << 16, a.size).astype(np.uint32)
    b[::7] = (rng.uniform(-2, 2, b[::7].size).astype(np.float32).view(np.uint32) >> 16)
    ea, eb = (a >> 7) & 0xFF, (b >> 7) & 0xFF
    sa = (a & 0x7F) | np.where(ea > 0, 0x80, 0).astype(np.uint32)
    sb = (b & 0x7F) | np.where(eb > 0, 0x80, 0).astype(np.uint32)
    blk = sum(p4((sa >> (4 * u)) & 0xF, (sb >> (4 * v)) & 0xF).astype(np.int64) << (4 * (u + v))
              for u in range(2) for v in range(2))
    with np.errstate(all="ignore"):
        fa, fb = (a << 16).view(np.float32).astype(np.float64), (b << 16).view(np.float32).astype(np.float64)
        v = np.ldexp(blk.astype(np.float64), np.maximum(ea, 1).astype(np.int64) + np.maximum(eb, 1) - 254 - 14)
        v = np.where(np.isfinite(fa) & np.isfinite(fb) & (fa != 0) & (fb != 0),
                     v * np.sign(fa) * np.sign(fb), fa * fb)
        r = v.astype(np.float32)
        away = np.abs(r.astype(np.float64)) > np.abs(v)
        r[away] = np.nextafter(r[away], np.float32(0))
    want = r.view(np.uint32) >> 16
    got = m.multiply_bits(a, b)[0]
    nan = np.isnan(r)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    assert np.all((got[nan] & 0x7F80) == 0x7F80) and np.all(got[nan] & 0x7F)
