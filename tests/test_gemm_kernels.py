"""The blocked GEMM / implicit-im2col conv2d kernels against an oracle that shares none of
their code: significand products from the bit-sliced evaluation of each variant's netlist,
finished by the scalar `fp_mul_finish`, summed by numpy float32 adds in increasing k, bias
last. Every fast path (1- and 2-term closed forms, rne and truncate) and the engines that
keep the general path, odd shapes (1, 7, 17 and 1023 in each dimension), both micro-kernels
(AVX-512 and portable) and 1 or 2 threads."""
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from archsim_core import _kernels, get_multiplier
from archsim_core.evaluate import evaluate

AMA5_C8_RNE = {"name": "ama5-c8-rne", "rounding": "rne", "structure": {
    "kind": "hierarchical", "k": 8, "leaf": {"kind": "ripple-row", "cells": "AMA5"}}}
AMA3_TABLE = {"name": "t24", "structure": {"kind": "hierarchical", "k": 8,
                                           "leaf": {"kind": "carry-save", "cells": "AMA3"}}}
# (variant, engine class): 1-term rne/truncate, 2-term truncate (c = 4, c = 24), 2-term rne
# (c = 8), and engines without a closed form (they must be unaffected)
FAST = [("exact", "ExactSigMul"), ("exact-truncate", "ExactSigMul"), ("da", "Ama5ChunkSigMul"),
        ("da-flat", "Ama5ChunkSigMul"), (AMA5_C8_RNE, "Ama5ChunkSigMul")]
GENERAL = [("lsb-AMA5-16", "BitslicedSigMul"), (AMA3_TABLE, "TableSigMul")]
SHAPES = [(1, 1, 1), (7, 7, 7), (17, 17, 17), (1, 17, 7), (17, 1, 7), (7, 17, 1),
          (1023, 7, 5), (5, 1023, 7), (7, 5, 1023)]


def operands(rng, shape):
    """FP32 values: mostly N(0,1) scaled by 2**[-3,3), plus zeros of both signs, subnormals,
    and exponents near both ends of the range (products overflow and underflow)."""
    v = (rng.standard_normal(shape) * 2.0 ** rng.integers(-3, 3, shape)).astype(np.float32)
    bits = v.view(np.uint32).reshape(-1)
    kind = rng.integers(0, 12, bits.size)
    frac = rng.integers(0, 1 << 23, bits.size, dtype=np.uint32)
    sign = rng.integers(0, 2, bits.size, dtype=np.uint32) << np.uint32(31)
    field = rng.choice(np.array([1, 2, 20, 60, 190, 230, 253, 254], np.uint32), bits.size)
    bits[kind == 0] = 0
    bits[kind == 1] = 0x80000000
    bits[kind == 2] = (sign | frac)[kind == 2]                         # subnormal (or zero)
    edge = kind == 3
    bits[edge] = (sign | (field << np.uint32(23)) | frac)[edge]
    return v


def _sig(bits):
    e = (bits >> np.uint32(23)) & np.uint32(0xFF)
    sig = (bits & np.uint32(0x7FFFFF)) | ((e != 0).astype(np.uint32) << np.uint32(23))
    return np.where(e == 0xFF, np.uint32(0), sig).astype(np.uint64)


def oracle_matmul(m, x, w, bias):
    """Netlist products, scalar finish, float32 sums in increasing k, bias last."""
    xb, wb = x.view(np.uint32), w.view(np.uint32)
    a = np.ascontiguousarray(np.broadcast_to(xb[:, :, None], (x.shape[0],) + w.shape)).reshape(-1)
    b = np.ascontiguousarray(np.broadcast_to(wb[None, :, :], (x.shape[0],) + w.shape)).reshape(-1)
    p = evaluate(m.netlist, _sig(a), _sig(b))
    prod = np.empty(a.size, np.uint32)
    _kernels.finish_bits(m._params, a, b, p, prod, True)
    prod = prod.view(np.float32).reshape((x.shape[0],) + w.shape)
    acc = prod[:, 0, :].copy()
    with np.errstate(invalid="ignore", over="ignore"):       # inf - inf, overflow: IEEE
        for k in range(1, w.shape[0]):
            acc = acc + prod[:, k, :]
        return acc if bias is None else acc + bias


def oracle_conv2d(m, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - r) // stride + 1, (wd + 2 * padding - s) // stride + 1
    cols = np.empty((n, oh, ow, c, r, s), np.float32)
    for i in range(oh):
        for j in range(ow):
            cols[:, i, j] = xp[:, :, i * stride:i * stride + r, j * stride:j * stride + s]
    y = oracle_matmul(m, cols.reshape(n * oh * ow, c * r * s), w.reshape(f, -1).T.copy(), b)
    return y.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)


def _assert_bits_equal(got, want):
    np.testing.assert_array_equal(np.asarray(got, np.float32).view(np.uint32),
                                  np.asarray(want, np.float32).view(np.uint32))


@pytest.mark.parametrize("spec,engine", FAST + GENERAL)
def test_engine_classes(spec, engine):
    assert type(get_multiplier(spec).engine).__name__ == engine


@pytest.mark.parametrize("spec", [s for s, _ in FAST + GENERAL])
def test_matmul_odd_shapes_equal_netlist_oracle(spec):
    m = get_multiplier(spec)
    rng = np.random.default_rng(5)
    for mm, k, n in SHAPES:
        x, w = operands(rng, (mm, k)), operands(rng, (k, n))
        bias = operands(rng, (n,))
        _assert_bits_equal(m.matmul(x, w, bias), oracle_matmul(m, x, w, bias))
        _assert_bits_equal(m.matmul(x, w), oracle_matmul(m, x, w, None))


@pytest.mark.parametrize("spec", ["da", "exact", AMA5_C8_RNE, "lsb-AMA5-16"])
def test_specials_take_the_general_path_and_stay_exact(spec):
    """An inf/NaN anywhere sends a closed-form call to the general kernel (the bit-plane path
    finishes such products with the scalar finish): same oracle."""
    m = get_multiplier(spec)
    rng = np.random.default_rng(9)
    for w_special in (False, True):          # one row of X only; X and W
        x, w = operands(rng, (17, 33)), operands(rng, (33, 19))
        x[3, 4] = np.inf
        if w_special:
            w[7, 2], w[8, 11] = np.nan, -np.inf
        got = m.matmul(x, w)
        want = oracle_matmul(m, x, w, None)
        nan = np.isnan(want)
        assert nan.any() and np.array_equal(np.isnan(got), nan)
        _assert_bits_equal(got[~nan], want[~nan])


CONVS = [  # (n, c, h, w), (f, r, s), stride, padding
    ((2, 3, 9, 8), (17, 3, 3), 1, 1), ((1, 1, 1, 1), (1, 1, 1), 1, 0),
    ((3, 7, 5, 6), (7, 2, 3), 2, 2), ((1, 2, 17, 17), (5, 5, 5), 3, 0),
    ((2, 1, 7, 7), (3, 7, 7), 1, 3),
]


@pytest.mark.parametrize("spec", ["da", "exact", "exact-truncate", AMA5_C8_RNE, "lsb-AMA5-16"])
def test_conv2d_equals_netlist_oracle(spec):
    m = get_multiplier(spec)
    rng = np.random.default_rng(3)
    for xs, (f, r, s), stride, padding in CONVS:
        x, w = operands(rng, xs), operands(rng, (f, xs[1], r, s))
        b = operands(rng, (f,))
        _assert_bits_equal(m.conv2d(x, w, b, stride=stride, padding=padding),
                           oracle_conv2d(m, x, w, b, stride, padding))
    y, bad = m.conv2d(x, w, b, stride=stride, padding=padding, on_domain_error="mask")
    assert bad.shape == y.shape and not bad.any()


_DIGEST = """
import hashlib, sys
import numpy as np
sys.path.insert(0, "tests")
from test_gemm_kernels import AMA5_C8_RNE, operands
from archsim_core import _kernels, get_multiplier
rng = np.random.default_rng(1)
h = hashlib.sha256()
cases = [((1023, 17, 17), None), ((300, 288, 64), None), ((5, 1023, 7), None), ((7, 64, 1023), None)]
for spec in ("da", "exact", "exact-truncate", AMA5_C8_RNE, "da-flat"):
    m = get_multiplier(spec)
    for (mm, k, n), _ in cases:
        x, w, b = operands(rng, (mm, k)), operands(rng, (k, n)), operands(rng, (n,))
        h.update(m.matmul(x, w, b).tobytes())
    img, wc = operands(rng, (4, 8, 19, 17)), operands(rng, (17, 8, 3, 3))
    h.update(m.conv2d(img, wc, operands(rng, (17,)), stride=2, padding=1).tobytes())
m = get_multiplier("lsb-AMA5-16")              # bit-plane path
x, w, b = operands(rng, (60, 40)), operands(rng, (40, 70)), operands(rng, (70,))
h.update(m.matmul(x, w, b).tobytes())
print(_kernels.kernel_isa(), h.hexdigest())
"""


def test_digest_same_for_threads_and_micro_kernels(repo_root):
    """1 and 2 threads, AVX-512 (if this CPU has it) and portable micro-kernels: identical
    bytes; the in-process run (checked against the oracle above) gives the same digest."""
    runs = {}
    for threads in ("1", "2"):
        for isa in ("", "portable"):
            env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONPATH=str(repo_root),
                       ARCHSIM_KERNEL_ISA=isa)
            res = subprocess.run([sys.executable, "-c", _DIGEST], env=env, cwd=repo_root,
                                 capture_output=True, text=True, check=True)
            runs[(threads, isa)] = res.stdout.split()
    assert runs[("1", "portable")][0] == "portable"
    digests = {d for _, d in runs.values()}
    assert len(digests) == 1 and len(digests.pop()) == 64


def test_large_shapes_equal_netlist_oracle():
    """The digest cases' shapes (many tasks, column splits, several panels) in-process."""
    rng = np.random.default_rng(2)
    m = get_multiplier("da")
    for mm, k, n in ((300, 288, 64), (7, 64, 1023)):
        x, w, b = operands(rng, (mm, k)), operands(rng, (k, n)), operands(rng, (n,))
        _assert_bits_equal(m.matmul(x, w, b), oracle_matmul(m, x, w, b))
    m = get_multiplier("lsb-AMA5-16")
    x, w, b = operands(rng, (60, 40)), operands(rng, (40, 70)), operands(rng, (70,))
    _assert_bits_equal(m.matmul(x, w, b), oracle_matmul(m, x, w, b))


def test_packed_weight_column_blocks():
    """W packed in many small column blocks (budget of one 16-column panel) gives the same
    bits as the oracle, for a matmul and for a conv."""
    old = _kernels.set_pack_budget(1)
    try:
        rng = np.random.default_rng(4)
        m = get_multiplier("da")
        x, w, b = operands(rng, (40, 9)), operands(rng, (9, 70)), operands(rng, (70,))
        _assert_bits_equal(m.matmul(x, w, b), oracle_matmul(m, x, w, b))
        img, wc = operands(rng, (2, 3, 6, 5)), operands(rng, (37, 3, 2, 2))
        bc = operands(rng, (37,))
        _assert_bits_equal(m.conv2d(img, wc, bc, padding=1), oracle_conv2d(m, img, wc, bc, 1, 1))
    finally:
        _kernels.set_pack_budget(old)
    assert _kernels.set_pack_budget(old) == old


def test_digest_helper_is_sensitive():
    """The hash comparison above can fail: a one-ulp change alters the digest."""
    y = get_multiplier("da").matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
    z = y.copy()
    z.view(np.uint32)[0, 0] += 1
    assert hashlib.sha256(y.tobytes()).hexdigest() != hashlib.sha256(z.tobytes()).hexdigest()
