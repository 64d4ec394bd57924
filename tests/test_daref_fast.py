"""The blocked da-reference matmul / implicit-im2col conv2d kernel (archsim_core/_kernels.pyx,
`_daref_gemm`) against oracles that share none of its code:

- the published DA Python's finish transcribed here with its string slicing (SPEC-arith §4:
  the product padded to 48 characters, leading '1' -> characters 1..23 and e + 1, else 2..24),
  applied to significand products from the bit-sliced evaluation of the variant's netlist,
  summed by numpy float32 adds in increasing k from the first product, bias last;
- the general per-element path the kernel replaces (`_kernels.set_daref_fast(False)`), bit
  for bit, masks (per-output counts of out-of-domain products) included.

Operands cover the reference's domain edges: zeros of both signs, subnormals, values just
below/at/above the 1e-36 cut, exponents whose products leave 1..254 both ways, inf, NaN (with
payloads), negative values, products >= 2**48 (the misread ones), bias with NaN payloads;
matmul shapes with odd sizes, all-zero rows/columns and K = 0; conv2d with stride/padding.
Both kernels (AVX-512, portable) and 1 or 2 threads give identical results."""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from archsim_core import _kernels, get_multiplier
from archsim_core.evaluate import evaluate
from archsim_core.multiplier import DomainError

DAREF_C8 = {"name": "daref-c8", "semantics": "da-reference", "structure": {
    "kind": "hierarchical", "k": 8, "leaf": {"kind": "ripple-row", "cells": "AMA5"}}}
DAREF_FLAT = {"name": "daref-flat", "semantics": "da-reference",
              "structure": {"kind": "ripple-row", "cells": "AMA5"}}
DAREF_EXACT = {"name": "daref-exact", "semantics": "da-reference",
               "structure": {"kind": "ripple-row"}}
DAREF_LSB = {"name": "daref-lsb", "base": "lsb-AMA5-16", "semantics": "da-reference"}
# the closed forms the kernel takes (c = 4, 8, 24; exact), and an engine it must leave alone
FAST = ["da-reference", DAREF_C8, DAREF_FLAT, DAREF_EXACT]
ALL = FAST + [DAREF_LSB]
TINY = int(np.float32(1e-36).view(np.uint32))          # smallest FP32 >= 1e-36 (checked below)
QNAN = 0xFFC00000


def test_tiny_cut():
    assert float(np.uint32(TINY).view(np.float32)) >= 1e-36 > float(np.uint32(TINY - 1).view(np.float32))


def operands(rng, shape, special=True):
    """FP32 values: mostly N(0,1) * 2**[-4,4), plus (each ~1-2 %) +-0, subnormals, the 1e-36
    cut (one below, at, one above), magnitudes near 2**-70 and 2**+70 (products leave the
    reference's exponent range when two meet), and, if `special`, +-inf and NaNs."""
    v = (rng.standard_normal(shape) * 2.0 ** rng.integers(-4, 4, shape)).astype(np.float32)
    bits = v.view(np.uint32).reshape(-1)
    n = bits.size
    kind = rng.integers(0, 64, n)
    frac = rng.integers(0, 1 << 23, n, dtype=np.uint32)
    sign = rng.integers(0, 2, n, dtype=np.uint32) << np.uint32(31)
    cut = rng.integers(TINY - 1, TINY + 2, n, dtype=np.int64).astype(np.uint32)
    small = np.uint32(127 - 70) + rng.integers(-2, 3, n, dtype=np.int64).astype(np.uint32)
    large = np.uint32(127 + 70) + rng.integers(-2, 3, n, dtype=np.int64).astype(np.uint32)
    table = {0: np.uint32(0), 1: np.uint32(0x80000000), 2: sign | frac, 3: sign | cut,
             4: sign | (small << np.uint32(23)) | frac, 5: sign | (large << np.uint32(23)) | frac}
    if special:
        table.update({6: sign | np.uint32(0x7F800000),
                      7: sign | np.uint32(0x7F800000) | np.maximum(frac, np.uint32(1))})
    for k, val in table.items():
        sel = kind == k
        bits[sel] = np.broadcast_to(val, (n,))[sel]
    return v


def _sig(bits):
    e = (bits >> np.uint32(23)) & np.uint32(0xFF)
    sig = (bits & np.uint32(0x7FFFFF)) | ((e != 0).astype(np.uint32) << np.uint32(23))
    return np.where(e == 0xFF, np.uint32(0), sig).astype(np.uint64)


def reference_finish(a, b, p):
    """The published code's product (SPEC-arith §4) as (bits, bad): string slicing on the
    48-character (49 when p >= 2**48) binary product."""
    va = float(np.uint32(a).view(np.float32))
    vb = float(np.uint32(b).view(np.float32))
    if abs(va) < 1e-36 or abs(vb) < 1e-36:
        return 0, False
    ea, eb = (a >> 23) & 0xFF, (b >> 23) & 0xFF
    if ea == 255 or eb == 255:
        return QNAN, True
    e = min(ea + eb - 127, 255)
    s = format(int(p), "048b")
    if s[0] == "1":
        frac = int(s[1:24], 2)
        e += 1
    else:
        frac = int(s[2:25], 2)
    if not 1 <= e <= 254:
        return QNAN, True
    return ((a ^ b) & 0x80000000) | (e << 23) | frac, False


def oracle_matmul(m, x, w, bias):
    """(y, counts): netlist products, the string finish, float32 sums in increasing k from the
    first product, bias last (the first NaN operand propagates, quietened)."""
    M, K = x.shape
    N = w.shape[1]
    xb, wb = x.view(np.uint32), w.view(np.uint32)
    a = np.ascontiguousarray(np.broadcast_to(xb[:, :, None], (M, K, N))).reshape(-1)
    b = np.ascontiguousarray(np.broadcast_to(wb[None, :, :], (M, K, N))).reshape(-1)
    p = evaluate(m.netlist, _sig(a), _sig(b)) if a.size else np.zeros(0, np.uint64)
    prod = np.empty(a.size, np.uint32)
    bad = np.zeros(a.size, np.int32)
    for i, (ai, bi, pi) in enumerate(zip(a.tolist(), b.tolist(), p.tolist())):
        prod[i], bad[i] = reference_finish(ai, bi, pi)
    prod = prod.view(np.float32).reshape(M, K, N)
    counts = bad.reshape(M, K, N).sum(axis=1).astype(np.int32)
    acc = prod[:, 0, :].copy() if K else np.zeros((M, N), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):       # inf - inf, overflow: IEEE
        for k in range(1, K):
            acc = acc + prod[:, k, :]
        if bias is not None:
            ab, bb = acc.view(np.uint32), np.broadcast_to(bias.view(np.uint32), acc.shape)
            y = acc + bias
            yb = y.view(np.uint32)
            yb[:] = np.where(np.isnan(bias)[None, :], bb | np.uint32(0x400000), yb)
            yb[:] = np.where(np.isnan(acc), ab | np.uint32(0x400000), yb)
            acc = y
    return acc, counts


def im2col(x, r, s, stride, padding):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - r) // stride + 1, (wd + 2 * padding - s) // stride + 1
    cols = np.empty((n, oh, ow, c, r, s), np.float32)
    for i in range(oh):
        for j in range(ow):
            cols[:, i, j] = xp[:, :, i * stride:i * stride + r, j * stride:j * stride + s]
    return cols.reshape(n * oh * ow, c * r * s), (n, oh, ow)


def _nchw(y, n, oh, ow):
    return y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)


def _bits(y):
    return np.ascontiguousarray(np.asarray(y, np.float32)).view(np.uint32)


def _old(fn, *args, **kwargs):
    old = _kernels.set_daref_fast(False)
    try:
        return fn(*args, **kwargs)
    finally:
        _kernels.set_daref_fast(old)


def test_fast_path_is_on_by_default():
    assert _kernels.set_daref_fast(True) is True
    assert _kernels.daref_kernel_isa() in ("avx512", "portable")


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s if isinstance(s, str) else s["name"])
def test_matmul_equals_reference_oracle_and_general_path(spec):
    m = get_multiplier(spec)
    rng = np.random.default_rng(11)
    for M, K, N in [(1, 1, 1), (3, 7, 5), (9, 33, 17), (5, 64, 31), (2, 130, 3)]:
        x, w, bias = operands(rng, (M, K)), operands(rng, (K, N)), operands(rng, (N,))
        x[0, :] = 0.0                                          # an all-zero row: +0 (+ bias)
        w[:, -1] = -0.0
        for bb in (bias, None):
            y, cnt = m.matmul(x, w, bb, on_domain_error="mask")
            want, want_cnt = oracle_matmul(m, x, w, bb)
            np.testing.assert_array_equal(_bits(y), _bits(want))
            np.testing.assert_array_equal(cnt, want_cnt)
            y0, cnt0 = _old(m.matmul, x, w, bb, on_domain_error="mask")
            np.testing.assert_array_equal(_bits(y), _bits(y0))
            np.testing.assert_array_equal(cnt, cnt0)


def test_test_data_reaches_every_case():
    """The operands above do exercise the domain edges (else the equalities prove little)."""
    m = get_multiplier("da-reference")
    rng = np.random.default_rng(11)
    x, w = operands(rng, (40, 64)), operands(rng, (64, 30))
    _, cnt = m.matmul(x, w, on_domain_error="mask")
    assert 0 < np.count_nonzero(cnt) < cnt.size
    a = np.ascontiguousarray(np.broadcast_to(x[:, :, None], (40, 64, 30))).reshape(-1)
    b = np.ascontiguousarray(np.broadcast_to(w[None, :, :], (40, 64, 30))).reshape(-1)
    ab, bb = a.view(np.uint32), b.view(np.uint32)
    p = evaluate(m.netlist, _sig(ab), _sig(bb))
    with np.errstate(invalid="ignore"):                        # signalling NaNs
        live = (np.abs(a.astype(np.float64)) >= 1e-36) & (np.abs(b.astype(np.float64)) >= 1e-36)
    e = ((ab >> 23) & 0xFF).astype(np.int64) + ((bb >> 23) & 0xFF) - 127
    normal = live & (((ab >> 23) & 0xFF) < 255) & (((bb >> 23) & 0xFF) < 255)
    assert np.any(normal & (p >= 1 << 48))                    # the misread products
    assert np.any(normal & (e < 1)) and np.any(normal & (e > 254))
    assert np.any(live & ~normal)                              # inf/NaN operands
    assert np.any(~live & (np.isnan(a) | np.isinf(a) | np.isnan(b) | np.isinf(b)))


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s if isinstance(s, str) else s["name"])
def test_conv2d_equals_reference_oracle_and_general_path(spec):
    m = get_multiplier(spec)
    rng = np.random.default_rng(12)
    for (n, c, h, wd, f, r, s, stride, padding) in [(2, 3, 7, 6, 5, 3, 3, 1, 1),
                                                     (1, 2, 9, 9, 17, 3, 2, 2, 0),
                                                     (2, 4, 5, 5, 3, 5, 5, 1, 2),
                                                     (1, 1, 4, 4, 1, 1, 1, 3, 1)]:
        x = operands(rng, (n, c, h, wd))
        w = operands(rng, (f, c, r, s))
        bias = operands(rng, (f,))
        y, cnt = m.conv2d(x, w, bias, stride=stride, padding=padding, on_domain_error="mask")
        cols, (n_, oh, ow) = im2col(x, r, s, stride, padding)
        want, want_cnt = oracle_matmul(m, cols, np.ascontiguousarray(w.reshape(f, -1).T), bias)
        assert y.shape == (n, f, oh, ow) and y.flags.c_contiguous
        np.testing.assert_array_equal(_bits(y), _bits(_nchw(want, n, oh, ow)))
        np.testing.assert_array_equal(cnt, _nchw(want_cnt, n, oh, ow))
        y0, cnt0 = _old(m.conv2d, x, w, bias, stride=stride, padding=padding,
                        on_domain_error="mask")
        np.testing.assert_array_equal(_bits(y), _bits(y0))
        np.testing.assert_array_equal(cnt, cnt0)
        assert cnt.dtype == cnt0.dtype


def test_larger_random_against_general_path():
    """Sizes that take several column blocks, many rows and both threads (if present)."""
    m = get_multiplier("da-reference")
    rng = np.random.default_rng(13)
    x, w, bias = operands(rng, (150, 300)), operands(rng, (300, 70)), operands(rng, (70,))
    x[rng.random(x.shape) < 0.5] = 0.0                          # ReLU-like zeros
    y, cnt = m.matmul(x, w, bias, on_domain_error="mask")
    y0, cnt0 = _old(m.matmul, x, w, bias, on_domain_error="mask")
    np.testing.assert_array_equal(_bits(y), _bits(y0))
    np.testing.assert_array_equal(cnt, cnt0)
    img, k = operands(rng, (3, 8, 14, 13)), operands(rng, (40, 8, 3, 3))
    img[rng.random(img.shape) < 0.5] = 0.0
    for stride, padding in ((1, 1), (2, 2)):
        y, cnt = m.conv2d(img, k, bias[:40], stride=stride, padding=padding, on_domain_error="mask")
        y0, cnt0 = _old(m.conv2d, img, k, bias[:40], stride=stride, padding=padding,
                        on_domain_error="mask")
        np.testing.assert_array_equal(_bits(y), _bits(y0))
        np.testing.assert_array_equal(cnt, cnt0)


def test_domain_modes_and_empty_inner_dimension():
    m = get_multiplier("da-reference")
    rng = np.random.default_rng(14)
    x, w = operands(rng, (20, 40)), operands(rng, (40, 6))
    y, cnt = m.matmul(x, w, on_domain_error="mask")
    total = int(np.count_nonzero(cnt))
    assert total > 0
    with pytest.raises(DomainError) as err:
        m.matmul(x, w)
    assert err.value.count == total
    ynan = m.matmul(x, w, on_domain_error="nan")
    np.testing.assert_array_equal(_bits(ynan), _bits(y))
    assert np.all(np.isnan(ynan[cnt > 0]))
    img, k = operands(rng, (1, 2, 6, 6)), operands(rng, (3, 2, 3, 3))
    yc, cc = m.conv2d(img, k, padding=1, on_domain_error="mask")
    with pytest.raises(DomainError) as err:
        m.conv2d(img, k, padding=1)
    assert err.value.count == int(np.count_nonzero(cc)) > 0
    # K = 0: the general path's +0 + bias
    e = m.matmul(np.zeros((2, 0), np.float32), np.zeros((0, 3), np.float32),
                 np.array([1.5, -0.0, np.nan], np.float32))
    np.testing.assert_array_equal(_bits(e), _bits(np.array([[1.5, 0.0, np.nan]] * 2, np.float32)))
    # pairwise order keeps the general path
    yp = m.matmul(x, w, order="pairwise", on_domain_error="nan")
    yp0 = _old(m.matmul, x, w, order="pairwise", on_domain_error="nan")
    np.testing.assert_array_equal(_bits(yp), _bits(yp0))


_SCRIPT = """
import hashlib, numpy as np, sys
sys.path.insert(0, "tests")
from test_daref_fast import operands
from archsim_core import _kernels, get_multiplier
rng = np.random.default_rng(3)
x, w, b = operands(rng, (300, 288)), operands(rng, (288, 64)), operands(rng, (64,))
img, k = operands(rng, (2, 3, 20, 20)), operands(rng, (8, 3, 3, 3))
h = hashlib.sha256()
for name in ("da-reference",):
    m = get_multiplier(name)
    for y in m.matmul(x, w, b, on_domain_error="mask") + m.conv2d(img, k, b[:8], padding=1,
                                                                     on_domain_error="mask"):
        h.update(np.ascontiguousarray(y).tobytes())
print(_kernels.daref_kernel_isa(), h.hexdigest())
"""


def _run(repo_root, **env):
    res = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=repo_root, capture_output=True,
                         text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(repo_root), **env))
    return res.stdout.split()


def test_thread_count_and_kernel_isa_do_not_change_results(repo_root):
    isa1, d1 = _run(repo_root, OMP_NUM_THREADS="1")
    isa2, d2 = _run(repo_root, OMP_NUM_THREADS="2")
    isap, dp = _run(repo_root, OMP_NUM_THREADS="2", ARCHSIM_KERNEL_ISA="portable")
    assert isap == "portable" and isa1 == isa2 == _kernels.daref_kernel_isa()
    assert d1 == d2 == dp and len(d1) == 64
    # and the same digest as the general path in this process
    rng = np.random.default_rng(3)
    x, w, b = operands(rng, (300, 288)), operands(rng, (288, 64)), operands(rng, (64,))
    img, k = operands(rng, (2, 3, 20, 20)), operands(rng, (8, 3, 3, 3))
    m = get_multiplier("da-reference")
    h = hashlib.sha256()
    for y in _old(m.matmul, x, w, b, on_domain_error="mask") + \
            _old(m.conv2d, img, k, b[:8], padding=1, on_domain_error="mask"):
        h.update(np.ascontiguousarray(y).tobytes())
    assert h.hexdigest() == d1


def test_alexnet_cifar_forward_equals_general_path(repo_root):
    """The network the kernel is for: logits (NaN positions included) bit-identical."""
    from archsim.nn.architectures import load_network
    from archsim.nn.network import forward
    net = load_network(repo_root / "workloads/alexnet_cifar10/alexnet_cifar10.npz", "alexnet-cifar10")
    rng = np.random.default_rng(15)
    x = rng.random((2, 3, 32, 32), dtype=np.float32)
    x[1, 0, :4, :4] = 2e-36                      # products below the reference's range: NaN
    y = forward(net, x, "da-reference")
    y0 = _old(forward, net, x, "da-reference")
    np.testing.assert_array_equal(_bits(y), _bits(y0))
    assert np.isfinite(y[0]).all() and np.isnan(y[1]).all()
