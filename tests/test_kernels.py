"""matmul / conv2d kernels against element-by-element references (every product through
m.multiply, then sequential IEEE adds of the format in increasing k), thread-count
independence, and input validation."""
import os
import subprocess
import sys

import numpy as np
import pytest

from archsim.errors import ArchsimError, SpecError
from archsim_core import get_multiplier

VARIANTS = ["exact", "da", "da-flat", "lsb-AMA5-16"]


def _operands(rng, shape, with_specials=True):
    v = (rng.standard_normal(shape) * 2.0 ** rng.integers(-3, 3, shape)).astype(np.float32)
    if with_specials:
        flat = v.reshape(-1)
        flat[::11] = 0.0
        flat[5::13] = -0.0
        flat[7::17] = np.float32(3e-39)                    # subnormal
    return v


def _seq_sum_f32(products, bias=None):
    acc = products[0]
    for p in products[1:]:
        acc = np.float32(acc + p)
    return acc if bias is None else np.float32(acc + bias)


def loop_matmul(m, x, w, bias):
    out = np.empty((x.shape[0], w.shape[1]), np.float32)
    for i in range(x.shape[0]):
        for j in range(w.shape[1]):
            out[i, j] = _seq_sum_f32(m.multiply(x[i, :], w[:, j]), None if bias is None else bias[j])
    return out


@pytest.mark.parametrize("name", VARIANTS)
def test_matmul_equals_elementwise_loop(name):
    m = get_multiplier(name)
    rng = np.random.default_rng(len(name))
    x, w = _operands(rng, (9, 21)), _operands(rng, (21, 6))
    bias = rng.standard_normal(6).astype(np.float32)
    got = m.matmul(x, w, bias)
    np.testing.assert_array_equal(got.view(np.uint32), loop_matmul(m, x, w, bias).view(np.uint32))
    np.testing.assert_array_equal(m.matmul(x, w).view(np.uint32),
                                  loop_matmul(m, x, w, None).view(np.uint32))


def _tree_sum_f32(products):
    level = list(products)
    while len(level) > 1:
        level = [np.float32(level[i] + level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


@pytest.mark.parametrize("name,k", [("da", 21), ("exact", 16), ("da-reference", 7)])
def test_pairwise_order_equals_adjacent_pair_tree(name, k):
    m = get_multiplier(name)
    rng = np.random.default_rng(k)
    x, w = _operands(rng, (4, k), with_specials=False), _operands(rng, (k, 3), with_specials=False)
    bias = rng.standard_normal(3).astype(np.float32)
    want = np.array([[np.float32(_tree_sum_f32(m.multiply(x[i], w[:, j])) + bias[j])
                      for j in range(3)] for i in range(4)], np.float32)
    got = m.matmul(x, w, bias, order="pairwise")
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert not np.array_equal(got, m.matmul(x, w, bias)) or k < 3   # the order matters
    with pytest.raises(ValueError, match="order"):
        m.matmul(x, w, order="random")


def test_exact_matmul_equals_float64_products_with_float32_adds():
    m = get_multiplier("exact")
    rng = np.random.default_rng(11)
    x, w = _operands(rng, (64, 300)), _operands(rng, (300, 40))
    bias = rng.standard_normal(40).astype(np.float32)
    acc = (x[:, :1].astype(np.float64) * w[:1].astype(np.float64)).astype(np.float32)
    for k in range(1, 300):
        acc = acc + (x[:, k:k + 1].astype(np.float64) * w[k:k + 1].astype(np.float64)).astype(np.float32)
    acc = acc + bias
    np.testing.assert_array_equal(m.matmul(x, w, bias).view(np.uint32), acc.view(np.uint32))


def test_fp16_matmul_accumulates_in_fp16():
    m = get_multiplier({"name": "exact-fp16", "format": "fp16", "structure": {"kind": "ripple-row"}})
    rng = np.random.default_rng(12)
    x = rng.standard_normal((5, 40)).astype(np.float16)
    w = rng.standard_normal((40, 3)).astype(np.float16)
    want = np.empty((5, 3), np.float16)
    for i in range(5):
        for j in range(3):
            p = (x[i].astype(np.float32) * w[:, j].astype(np.float32)).astype(np.float16)
            acc = p[0]
            for v in p[1:]:            # float64 sum of two fp16 values is exact: one rounding
                acc = np.float16(np.float64(acc) + np.float64(v))
            want[i, j] = acc
    np.testing.assert_array_equal(m.matmul(x, w), want.astype(np.float32))


def loop_conv2d(m, x, w, b, stride, padding):
    n, c, h, wd = x.shape
    f, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - r) // stride + 1, (wd + 2 * padding - s) // stride + 1
    out = np.empty((n, f, oh, ow), np.float32)
    for ni in range(n):
        for fi in range(f):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[ni, :, i * stride:i * stride + r, j * stride:j * stride + s]
                    prods = m.multiply(patch.reshape(-1), w[fi].reshape(-1))   # k = (c*R + r)*S + s
                    out[ni, fi, i, j] = _seq_sum_f32(prods, None if b is None else b[fi])
    return out


@pytest.mark.parametrize("name,stride,padding", [("da", 1, 0), ("da", 2, 1), ("exact", 1, 2),
                                                 ("lsb-AMA5-16", 2, 0)])
def test_conv2d_equals_direct_loop(name, stride, padding):
    m = get_multiplier(name)
    rng = np.random.default_rng(stride * 10 + padding)
    x, w = _operands(rng, (2, 3, 7, 6)), _operands(rng, (4, 3, 3, 2))
    b = rng.standard_normal(4).astype(np.float32)
    got = m.conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_array_equal(got.view(np.uint32),
                                  loop_conv2d(m, x, w, b, stride, padding).view(np.uint32))


_THREAD_SCRIPT = """
import hashlib, numpy as np
from archsim_core import get_multiplier
rng = np.random.default_rng(0)
x = rng.standard_normal((300, 288)).astype(np.float32)
w = rng.standard_normal((288, 64)).astype(np.float32)
img = rng.standard_normal((2, 3, 20, 20)).astype(np.float32)
h = hashlib.sha256()
for name in ("da", "lsb-AMA5-16", "exact"):
    m = get_multiplier(name)
    h.update(m.matmul(x, w).tobytes())
    h.update(m.multiply(x, x[::-1]).tobytes())
    h.update(m.conv2d(img, w[:27, :8].T.reshape(8, 3, 3, 3), padding=1).tobytes())
print(h.hexdigest())
"""


def test_results_independent_of_thread_count(repo_root):
    digests = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONPATH=str(repo_root))
        res = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT], env=env, cwd=repo_root,
                             capture_output=True, text=True, check=True)
        digests.append(res.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64


def test_empty_inner_dimension_gives_bias():
    m = get_multiplier("da")
    y = m.matmul(np.zeros((2, 0), np.float32), np.zeros((0, 3), np.float32), np.ones(3, np.float32))
    np.testing.assert_array_equal(y, np.ones((2, 3), np.float32))


def test_broadcasting_multiply():
    m = get_multiplier("exact")
    x = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    y = np.array([1.5, -2.0], dtype=np.float32)
    np.testing.assert_array_equal(m.multiply(x, y), x * y)


@pytest.mark.parametrize("call,match", [
    (lambda m: m.multiply(np.ones(3, np.float32), np.ones(4, np.float32)), "do not broadcast"),
    (lambda m: m.matmul(np.ones(3, np.float32), np.ones((3, 2), np.float32)), "2-D"),
    (lambda m: m.matmul(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32)), "inner dimensions"),
    (lambda m: m.matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), np.ones(3)), "bias"),
    (lambda m: m.matmul(np.ones((2, 3), np.int32), np.ones((3, 2), np.float32)), "dtype"),
    (lambda m: m.conv2d(np.ones((1, 2, 5, 5), np.float32), np.ones((3, 3, 3, 3), np.float32)), "channels"),
    (lambda m: m.conv2d(np.ones((2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)), "N,C,H,W"),
    (lambda m: m.conv2d(np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32),
                        stride=0), "stride"),
    (lambda m: m.conv2d(np.ones((1, 2, 2, 2), np.float32), np.ones((3, 2, 3, 3), np.float32)), "fit"),
])
def test_bad_input_raises_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(get_multiplier("da"))


def test_unknown_variant_raises_spec_error():
    with pytest.raises(SpecError, match="unknown variant"):
        get_multiplier("da-turbo")
    assert issubclass(SpecError, ArchsimError)
