"""The vectorised FP32 finish (and the engines' vectorised loops) against the scalar paths they
replace: bit-identical on >= 10**6 random and edge operand/product triples per mode, and
whole multiplies through each engine against engine products finished by the scalar path."""
import numpy as np
import pytest

from archsim_core import _kernels, get_multiplier

N = 1_000_000
EDGE_FIELDS = np.array([0, 1, 2, 63, 64, 126, 127, 128, 190, 191, 253, 254, 255], np.uint32)
EDGE_FRACS = np.array([0, 1, 2, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFE, 0x7FFFFF], np.uint32)


def _operands(rng, n):
    """FP32 bit patterns: a quarter uniformly random, the rest with edge exponent fields
    (zero/subnormal, extremes, inf/NaN) and half of those with edge fractions."""
    x = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    edge = rng.random(n) < 0.75
    field = rng.choice(EDGE_FIELDS, n)
    x = np.where(edge, (x & np.uint32(0x807FFFFF)) | (field << np.uint32(23)), x)
    frac_edge = edge & (rng.random(n) < 0.5)
    x = np.where(frac_edge, (x & np.uint32(0xFF800000)) | rng.choice(EDGE_FRACS, n), x)
    return x.astype(np.uint32)


def _products(rng, n):
    """Significand products of every bit length 0..64 (so all shifts, the 2**52 boundary of
    the vector path and zero occur), a tenth of them just below/at a power of two."""
    nbits = rng.integers(0, 65, n).astype(np.uint64)
    raw = rng.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)
    p = np.where(nbits == 0, np.uint64(0), raw >> (np.uint64(64) - np.maximum(nbits, 1)))
    p |= np.where(nbits > 0, np.uint64(1) << (np.maximum(nbits, 1) - np.uint64(1)), np.uint64(0))
    pow2 = rng.random(n) < 0.1
    p = np.where(pow2, (np.uint64(1) << (nbits % np.uint64(64))) - rng.integers(0, 2, n).astype(np.uint64), p)
    return p.astype(np.uint64)


@pytest.mark.parametrize("rounding", [0, 1])
@pytest.mark.parametrize("ftz", [0, 1])
def test_vector_finish_equals_scalar_finish(rounding, ftz):
    rng = np.random.default_rng(100 + 2 * rounding + ftz)
    a, b, p = _operands(rng, N), _operands(rng, N), _products(rng, N)
    params = (8, 23, rounding, ftz, 0)
    fast, ref = np.empty(N, np.uint32), np.empty(N, np.uint32)
    _kernels.finish_bits(params, a, b, p, fast, False)
    _kernels.finish_bits(params, a, b, p, ref, True)
    bad = np.nonzero(fast != ref)[0]
    assert bad.size == 0, [(hex(a[i]), hex(b[i]), hex(p[i]), hex(fast[i]), hex(ref[i])) for i in bad[:5]]


def _unpack(x, ftz):
    """Independent numpy unpack (SPEC-arith: hidden one for normals, bare fraction for
    subnormals, 0 for inf/NaN and, under ftz, for subnormals)."""
    e = (x >> np.uint32(23)) & np.uint32(0xFF)
    sig = (x & np.uint32(0x7FFFFF)) | ((e != 0).astype(np.uint32) << np.uint32(23))
    sig = np.where((e == 0xFF) | (ftz & (e == 0)), 0, sig)
    return sig.astype(np.uint64)


@pytest.mark.parametrize("name", ["exact", "exact-truncate", "da", "da-flat", "lsb-AMA5-16",
                                  {"base": "exact", "specials": "ftz"}])
def test_multiply_equals_engine_products_finished_by_scalar_path(name):
    m = get_multiplier(name)
    rng = np.random.default_rng(7)
    a, b = _operands(rng, N), _operands(rng, N)
    # plus ordinary values, where the fast path does all the work
    a[: N // 4] = rng.uniform(-4, 4, N // 4).astype(np.float32).view(np.uint32)
    b[: N // 4] = rng.uniform(-4, 4, N // 4).astype(np.float32).view(np.uint32)
    got, _ = m.multiply_bits(a, b)
    p = m.engine.multiply(_unpack(a, m._params[3]), _unpack(b, m._params[3]))
    ref = np.empty(N, np.uint32)
    _kernels.finish_bits(m._params, a, b, p, ref, True)
    assert np.array_equal(got, ref)


def _float_operands(rng, shape):
    """Floats with zeros of both signs, subnormals, extremes and (rarely) inf/NaN."""
    v = (rng.standard_normal(shape) * 2.0 ** rng.integers(-20, 20, shape)).astype(np.float32)
    flat = v.reshape(-1)
    flat[::13] = 0.0
    flat[3::17] = -0.0
    flat[5::19] = np.float32(3e-39) * np.float32(rng.standard_normal())
    flat[7::23] = np.float32(3e38)
    flat[11::997] = np.inf
    flat[13::1499] = np.nan
    return v


@pytest.mark.parametrize("name", ["exact", "exact-truncate", "da", "lsb-AMA5-16"])
def test_fp32_matmul_equals_elementwise_products_summed_in_k_order(name):
    """Shapes straddle every blocking of the FP32 matmul (N not a multiple of 16, K over two
    engine batches); the oracle is m.multiply_bits products added by numpy float32 in k order."""
    m = get_multiplier(name)
    rng = np.random.default_rng(3)
    M, K, N = 13, 300, 37
    x, w = _float_operands(rng, (M, K)), _float_operands(rng, (K, N))
    bias = _float_operands(rng, (N,))
    xb = np.broadcast_to(x.view(np.uint32)[:, None, :], (M, N, K))
    wb = np.broadcast_to(w.view(np.uint32).T[None, :, :], (M, N, K))
    prods = m.multiply_bits(xb, wb)[0].view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        acc = prods[:, :, 0].copy()
        for k in range(1, K):
            acc = acc + prods[:, :, k]
        want = acc + bias
        got = m.matmul(x, w, bias, on_domain_error="nan")
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
