"""The low-table engine (P = a*b + D[a mod 2^k, b mod 2^k], archsim_core.lowtable) and its
blocked-GEMM form, against oracles that share none of their code:

* an array model written here from the ripple-row wiring of SPEC-arith §3 (A-pin = partial
  product, B-pin = running sum, Cin = the row's carry, 0 at each row's first cell, the row's
  last carry into column r + n_b), run on numpy bit vectors with the cells' truth tables;
* the bit-sliced netlist evaluator (`evaluate`) and the pure-Python `Netlist.evaluate`;
* for matmul/conv2d: the general path (the engine the table form replaces, forced with
  `Multiplier(spec, engine=build_engine(spec))`) and tests/test_gemm_kernels.py's oracle
  (netlist products, scalar fp_mul_finish, numpy float32 sums in increasing k, bias last).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from archsim_core import _kernels, get_multiplier
from archsim_core.cells import BUILTIN_CELLS
from archsim_core.evaluate import evaluate
from archsim_core.lowtable import low_split, low_table, low_table_engine
from archsim_core.multiplier import Multiplier, select_engine
from archsim_core.netlist import CONST0, NetlistBuilder
from archsim_core.structures import Assignment, build, carry_save, ripple_row
from archsim_core.variants import build_engine, build_netlist, resolve_variant
from test_gemm_kernels import operands, oracle_conv2d, oracle_matmul

AMA = ("AMA1", "AMA2", "AMA3", "AMA4", "AMA5")


# ---- independent oracle: the ripple-row array on numpy bit vectors --------------------------
def ripple_model(n_a, n_b, lsb_cell, lsb_columns, a, b):
    """Product of a ripple-row array with `lsb_cell` in columns < lsb_columns, FA elsewhere."""
    a, b = np.asarray(a, np.uint64), np.asarray(b, np.uint64)
    abit = [((a >> np.uint64(i)) & np.uint64(1)).astype(np.uint8) for i in range(n_a)]
    bbit = [((b >> np.uint64(j)) & np.uint64(1)).astype(np.uint8) for j in range(n_b)]
    zero = np.zeros(a.shape, np.uint8)
    tables = {}
    for name in ("FA", lsb_cell):
        cell = BUILTIN_CELLS[name]
        tables[name] = (np.array(cell.sum_table, np.uint8), np.array(cell.cout_table, np.uint8))
    s = {j: abit[0] & bbit[j] for j in range(n_b)}          # row 0: bare partial products
    for r in range(1, n_a):
        carry = zero
        for c in range(r, r + n_b):
            st, ct = tables[lsb_cell if c < lsb_columns else "FA"]
            idx = ((abit[r] & bbit[c - r]) << 2) | (s.get(c, zero) << 1) | carry
            s[c], carry = st[idx], ct[idx]
        s[r + n_b] = carry
    out = np.zeros(a.shape, np.uint64)
    for c in range(n_a + n_b):
        out |= s.get(c, zero).astype(np.uint64) << np.uint64(c)
    return out


def edge_values(bits, k=8):
    ones = (1 << bits) - 1
    low = (1 << k) - 1
    vals = {0, 1, ones, ones >> 1, 1 << (bits - 1), low, ones ^ low, (1 << (bits - 1)) | low}
    vals |= {1 << i for i in range(bits)} | {(1 << (bits - 1)) | (1 << i) for i in range(bits)}
    vals |= {(1 << (bits - 1)) | ((1 << i) - 1) for i in range(bits)}      # low bits all ones
    return np.array(sorted(vals), np.uint64)


def test_array_model_is_an_oracle():
    """The model above is a multiplier: with FA everywhere it is a*b (so it can fail)."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 1 << 24, 2000, dtype=np.uint64)
    b = rng.integers(0, 1 << 24, 2000, dtype=np.uint64)
    assert np.array_equal(ripple_model(24, 24, "FA", 8, a, b), a * b)
    assert not np.array_equal(ripple_model(24, 24, "AMA5", 8, a, b), a * b)


# ---- the condition, derived from the netlist ----------------------------------------------
@pytest.mark.parametrize("cell", AMA)
def test_split_column_of_lsb_designs(cell):
    """lsb-<CELL>-k: cells in columns 1..k-1 are approximate (column 0 has none), so the
    proven split is k (0 for k = 1: no approximate cell at all)."""
    for k in range(1, 9):
        split = low_split(build(ripple_row(8, 8, Assignment("FA", cell, k))))
        assert split is not None and split.k == (0 if k == 1 else k) and not split.modular
    assert low_split(build_netlist(f"lsb-{cell}-8")).k == 8
    assert low_split(build_netlist(f"lsb-{cell}-16")).k == 16


def test_condition_rejects_high_approximate_cells_and_broken_wiring():
    # one approximate cell at column 20 of an otherwise lsb-AMA5-4 array: split 21 (> 8)
    s = ripple_row(24, 24, Assignment("FA", "AMA5", 4, explicit=((10, 20, "AMA3"),)))
    assert low_split(build(s)).k == 21
    assert type(select_engine({"name": "hi20", "structure": {
        "kind": "ripple-row", "assign": {"lsb_cell": "AMA5", "lsb_columns": 4,
                                         "explicit": [[10, 20, "AMA3"]]}}})).__name__ == "BitslicedSigMul"
    # the AMA5-everywhere designs have no small split: they keep their closed form
    assert low_split(build_netlist("da-flat")).k == 47
    assert type(get_multiplier("da").engine).__name__ == "Ama5ChunkSigMul"

    def two_by_two(fanout=False, wrong_weight=False):
        nb = NetlistBuilder(2, 2)
        p = [[nb.and_(nb.a(i), nb.b(j)) for j in range(2)] for i in range(2)]
        s1, c1 = nb.cell("AMA5", p[0][1], p[1][0], CONST0, 1, 1)
        hi = p[0][0] if wrong_weight else p[1][1]           # a weight-0 signal into column 2
        s2, c2 = nb.cell("FA", hi, c1, CONST0, 2, 1)
        if fanout:              # s2 read twice: by output bit 2 and by a (useless) cell
            nb.cell("FA", s2, CONST0, CONST0, 2, 2)
        return nb.build([p[0][0], s1, s2, c2])

    good = two_by_two()
    assert low_split(good).k == 2
    grid = np.arange(16, dtype=np.uint64)
    a, b = grid >> np.uint64(2), grid & np.uint64(3)
    assert np.array_equal(low_table_engine(good).multiply(a, b), evaluate(good, a, b))
    assert low_split(two_by_two(wrong_weight=True)) is None
    assert low_split(two_by_two(fanout=True)) is None


# ---- the engine against the netlist --------------------------------------------------------
@pytest.mark.parametrize("cell", AMA)
def test_table_engine_exhaustive_8x8(cell):
    """For k = 1..8: all 65,536 pairs equal the array model and the netlist's evaluation."""
    grid = np.arange(1 << 16, dtype=np.uint64)
    a, b = grid >> np.uint64(8), grid & np.uint64(255)
    for k in range(1, 9):
        netlist = build(ripple_row(8, 8, Assignment("FA", cell, k)))
        engine = low_table_engine(netlist)
        assert type(engine).__name__ == "LowTableSigMul" and engine.k == k
        want = ripple_model(8, 8, cell, k, a, b)
        assert np.array_equal(evaluate(netlist, a, b), want)
        assert np.array_equal(engine.multiply(a, b), want)


@pytest.mark.parametrize("cell", ["AMA1", "AMA3", "AMA5"])
def test_table_engine_exhaustive_8x8_carry_save(cell):
    """A carry-save array drops its final carry: the identity holds mod 2^16 and the engine
    (which wraps) still equals the netlist on every pair."""
    grid = np.arange(1 << 16, dtype=np.uint64)
    a, b = grid >> np.uint64(8), grid & np.uint64(255)
    for k in (3, 6, 8):
        netlist = build(carry_save(8, 8, Assignment("FA", cell, k)))
        assert low_split(netlist).modular
        assert np.array_equal(low_table_engine(netlist).multiply(a, b), evaluate(netlist, a, b))


@pytest.mark.parametrize("variant", ["lsb-AMA5-8", "lsb-AMA3-4", "lsb-AMA1-8"])
def test_table_engine_24x24(variant):
    """>= 100k random significand pairs (half with the hidden bit) plus every pair of edge
    values: engine == array model == netlist; 300 pairs also against Netlist.evaluate."""
    m = get_multiplier(variant)
    assert type(m.engine).__name__ == "LowTableSigMul"
    cell, k = variant.split("-")[1], int(variant.split("-")[2])
    rng = np.random.default_rng(14)
    n = 60_000
    a = np.concatenate([rng.integers(0, 1 << 24, n, dtype=np.uint64),
                        rng.integers(1 << 23, 1 << 24, n, dtype=np.uint64)])
    b = np.concatenate([rng.integers(0, 1 << 24, n, dtype=np.uint64),
                        rng.integers(1 << 23, 1 << 24, n, dtype=np.uint64)])
    e = edge_values(24, k)
    ea, eb = np.meshgrid(e, e, indexing="ij")
    a, b = np.concatenate([a, ea.ravel()]), np.concatenate([b, eb.ravel()])
    assert a.size >= 100_000 + 60 * 60
    got = m.engine.multiply(a, b)
    assert np.array_equal(got, ripple_model(24, 24, cell, k, a, b))
    assert np.array_equal(got, evaluate(m.netlist, a, b))
    sel = rng.choice(a.size, 300, replace=False)
    assert got[sel].tolist() == [m.netlist.evaluate(x, y) for x, y in zip(a[sel].tolist(), b[sel].tolist())]
    # the table itself is the netlist's own deviation on low-bit operands
    x, y = np.meshgrid(np.arange(256, dtype=np.uint64), np.arange(256, dtype=np.uint64), indexing="ij")
    if k == 8:
        d = evaluate(m.netlist, x.ravel(), y.ravel()).astype(np.int64) - (x * y).ravel().astype(np.int64)
        assert np.array_equal(m.engine.correction.ravel(), d) and d.any()


@pytest.mark.slow
@pytest.mark.parametrize("cell", AMA)
def test_table_engine_24x24_every_k_slow(cell):
    """Every lsb-<CELL>-k, k = 2..8, on 400k pairs against the array model."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1 << 24, 400_000, dtype=np.uint64)
    b = rng.integers(0, 1 << 24, 400_000, dtype=np.uint64)
    for k in range(2, 9):
        m = get_multiplier(f"lsb-{cell}-{k}")
        assert type(m.engine).__name__ == "LowTableSigMul" and m.engine.k == k
        assert np.array_equal(m.engine.multiply(a, b), ripple_model(24, 24, cell, k, a, b))


def test_wide_lsb_keeps_the_old_engine():
    """k > 8 (a 2^32-entry table): the bit-sliced engine as before, and it still works."""
    m = get_multiplier("lsb-AMA5-16")
    assert type(m.engine).__name__ == "BitslicedSigMul"
    rng = np.random.default_rng(3)
    x, w, b = operands(rng, (9, 13)), operands(rng, (13, 11)), operands(rng, (11,))
    np.testing.assert_array_equal(m.matmul(x, w, b).view(np.uint32),
                                  oracle_matmul(m, x, w, b).view(np.uint32))
    a = rng.integers(0, 1 << 24, 5000, dtype=np.uint64)
    c = rng.integers(0, 1 << 24, 5000, dtype=np.uint64)
    assert np.array_equal(m.engine.multiply(a, c), ripple_model(24, 24, "AMA5", 16, a, c))


def test_selection_and_table_sizes():
    for cell in AMA:
        e = get_multiplier(f"lsb-{cell}-8").engine
        assert type(e).__name__ == "LowTableSigMul" and e.k == 8
        assert e.fits32 and not e.wraps and e.correction.shape == (256, 256)
    assert type(get_multiplier("exact").engine).__name__ == "ExactSigMul"
    assert select_engine("lsb-AMA5-8") is get_multiplier("lsb-AMA5-8").engine
    with pytest.raises(ValueError):
        low_table(build_netlist("lsb-AMA5-8"), 9)


# ---- FP32 kernels: the fast path against the general path ---------------------------------
def old_engine(variant):
    """The same variant with the engine the low table replaces (general GEMM paths)."""
    spec = resolve_variant(variant)
    m = Multiplier(spec, engine=build_engine(spec))
    assert type(m.engine).__name__ == "BitslicedSigMul"
    return m


def bits(y):
    return np.ascontiguousarray(np.asarray(y, np.float32)).view(np.uint32)


SHAPES = [(1, 1, 1), (7, 7, 7), (17, 33, 19), (1, 17, 7), (70, 5, 1), (9, 300, 40)]


def partner(rng, b_sig):
    """A significand A (hidden bit set) whose exact product with b_sig (odd) lies within 24
    of a rounding tie: the only products where a table correction of a few units to hundreds can change
    an rne result. A = b^-1 * (2^(s-1) + t) mod 2^s, s = the bits rne drops; None if no
    |t| <= 24 gives a 24-bit A with the right product width (b^-1 can make them all miss)."""
    for t in rng.permutation(np.arange(-24, 25)).tolist():
        for s in (23, 24):
            a = (pow(b_sig, -1, 1 << s) * ((1 << (s - 1)) + t)) % (1 << s)
            a = a | (1 << 23) if s == 23 else a
            if (1 << 23) <= a < (1 << 24) and (a * b_sig).bit_length() - 24 == s:
                return a
    return None


def odd_sigs(rng, shape):
    """Odd 24-bit significands (hidden bit set) that have near-tie partners."""
    out = np.empty(int(np.prod(shape)), np.int64)
    for i in range(out.size):
        b = 0
        while not b or partner(rng, b) is None:
            b = int(rng.integers(1 << 22, 1 << 23)) * 2 + 1
        out[i] = b
    return out.reshape(shape)


def fp32(rng, sig, shape=None):
    """float32 values with these significands, random signs, exponents 2^-3 .. 2^2."""
    sig = np.asarray(sig, np.uint32)
    e = rng.integers(124, 130, sig.shape).astype(np.uint32)
    sign = (rng.integers(0, 2, sig.shape).astype(np.uint32) << np.uint32(31))
    v = (sign | (e << np.uint32(23)) | (sig & np.uint32(0x7FFFFF))).view(np.float32)
    return v if shape is None else v.reshape(shape)


def tie_matmul_operands(rng, mm, k, n):
    """X [mm, k], W [k, n], bias: X[i, kk] is a near-tie partner of W[kk, i % n]."""
    wsig = odd_sigs(rng, (k, n))
    xsig = np.array([[partner(rng, int(wsig[kk, i % n])) for kk in range(k)] for i in range(mm)])
    return fp32(rng, xsig), fp32(rng, wsig), fp32(rng, rng.integers(1 << 23, 1 << 24, n))


def tie_conv_operands(rng, nimg, c, h, w, f):
    """1x1 conv operands: pixel p of image n pairs with filter (n*h*w + p) % f as near ties."""
    wsig = odd_sigs(rng, (f, c))
    xsig = np.empty((nimg, c, h, w), np.int64)
    for ni in range(nimg):
        for p in range(h * w):
            for cc in range(c):
                xsig[ni, cc, p // w, p % w] = partner(rng, int(wsig[(ni * h * w + p) % f, cc]))
    return (fp32(rng, xsig), fp32(rng, wsig).reshape(f, c, 1, 1),
            fp32(rng, rng.integers(1 << 23, 1 << 24, f)))


LSB8_TRUNC = {"name": "lsb-AMA5-8-truncate", "base": "lsb-AMA5-8", "rounding": "truncate"}
LSB8_FTZ = {"name": "lsb-AMA4-6-ftz", "base": "lsb-AMA4-6", "specials": "ftz"}


@pytest.mark.parametrize("variant", ["lsb-AMA5-8", "lsb-AMA3-4", "lsb-AMA1-8", "lsb-AMA2-8",
                                     LSB8_TRUNC, LSB8_FTZ],
                         ids=lambda v: v if isinstance(v, str) else v["name"])
def test_matmul_fast_equals_general_path(variant):
    """Zeros of both signs, subnormals, exponents at both ends (overflow, underflow), bias;
    rne, truncate (the table form's round-toward-zero) and ftz (no closed form: the element
    path over the table engine)."""
    new, old = get_multiplier(variant), old_engine(variant)
    rng = np.random.default_rng(11)
    for mm, k, n in SHAPES:
        x, w, b = operands(rng, (mm, k)), operands(rng, (k, n)), operands(rng, (n,))
        with np.errstate(all="ignore"):
            got = new.matmul(x, w, b)
            assert np.array_equal(bits(got), bits(old.matmul(x, w, b)))
            assert np.array_equal(bits(got), bits(oracle_matmul(new, x, w, b)))
            assert np.array_equal(bits(new.matmul(x, w)), bits(old.matmul(x, w)))
    for mm, k, n in ((13, 5, 7), (40, 30, 17)):               # near-tie products (see partner)
        x, w, b = tie_matmul_operands(rng, mm, k, n)
        x[0, 0], w[1, 2] = 0.0, -0.0
        got = new.matmul(x, w, b)
        assert np.array_equal(bits(got), bits(old.matmul(x, w, b)))
        assert np.array_equal(bits(got), bits(oracle_matmul(new, x, w, b)))
    ew = rng.standard_normal(1000).astype(np.float32)
    ex = operands(rng, (1000,))
    assert np.array_equal(bits(new.multiply(ex, ew)), bits(old.multiply(ex, ew)))


@pytest.mark.parametrize("variant", ["lsb-AMA5-8", "lsb-AMA3-4"])
def test_matmul_inf_nan_operands_fall_back(variant):
    new, old = get_multiplier(variant), old_engine(variant)
    rng = np.random.default_rng(12)
    for w_special in (False, True):
        x, w, b = operands(rng, (17, 33)), operands(rng, (33, 19)), operands(rng, (19,))
        x[3, 4], x[5, 0] = np.inf, np.nan
        if w_special:
            w[7, 2], w[8, 11] = np.nan, -np.inf
        with np.errstate(all="ignore"):
            got, want = new.matmul(x, w, b), old.matmul(x, w, b)
        assert np.isnan(got).any() and np.array_equal(bits(got), bits(want))


def test_zero_products_have_the_hardware_sign():
    """Two cases the table form must get right: P = 0 for non-zero operands (lsb-AMA5-8:
    significands 2 x 1, i.e. subnormals) and a zero operand whose low bits index a non-zero
    D[0, y] (lsb-AMA3-4: P(0, y) != 0). Hardware semantics give the signed zero either way."""
    m = get_multiplier("lsb-AMA5-8")
    assert m.engine.multiply([2], [1])[0] == 0
    sub = lambda f: np.array([f], np.uint32).view(np.float32)[0]          # noqa: E731
    x = np.array([[-sub(2)], [sub(2)]], np.float32)
    w = np.array([[sub(1), -sub(1)]], np.float32)
    got = m.matmul(x, w)
    assert bits(got).tolist() == [[0x80000000, 0], [0, 0x80000000]]
    assert np.array_equal(bits(got), bits(old_engine("lsb-AMA5-8").matmul(x, w)))
    m3 = get_multiplier("lsb-AMA3-4")
    assert m3.engine.multiply([0], [5])[0] != 0
    x = np.array([[0.0, -0.0], [-0.0, -0.0]], np.float32)
    w = np.array([[1.5, -3.0], [-2.25, 7.0]], np.float32)
    got = m3.matmul(x, w)
    assert np.array_equal(bits(got), bits(old_engine("lsb-AMA3-4").matmul(x, w)))
    assert bits(got).tolist() == [[0, 0x80000000], [0, 0]]


CONVS = [((2, 3, 9, 8), (17, 3, 3), 1, 1), ((1, 1, 1, 1), (1, 1, 1), 1, 0),
         ((3, 7, 5, 6), (7, 2, 3), 2, 2), ((2, 1, 7, 7), (3, 7, 7), 1, 3)]


@pytest.mark.parametrize("variant", ["lsb-AMA5-8", "lsb-AMA1-8"])
def test_conv2d_fast_equals_general_path(variant):
    new, old = get_multiplier(variant), old_engine(variant)
    rng = np.random.default_rng(13)
    for xs, (f, r, s), stride, padding in CONVS:
        x, w, b = operands(rng, xs), operands(rng, (f, xs[1], r, s)), operands(rng, (f,))
        with np.errstate(all="ignore"):
            got = new.conv2d(x, w, b, stride=stride, padding=padding)
            assert np.array_equal(bits(got), bits(old.conv2d(x, w, b, stride=stride, padding=padding)))
            assert np.array_equal(bits(got), bits(oracle_conv2d(new, x, w, b, stride, padding)))
    x, w, b = tie_conv_operands(rng, 2, 5, 6, 7, 9)       # near-tie products, 1x1 and 3x3
    for ww, pad in ((w, 0), (np.repeat(np.repeat(w, 3, axis=2), 3, axis=3), 1)):
        got = new.conv2d(x, ww, b, padding=pad)
        assert np.array_equal(bits(got), bits(old.conv2d(x, ww, b, padding=pad)))
        assert np.array_equal(bits(got), bits(oracle_conv2d(new, x, ww, b, 1, pad)))
    x[0, 0, 1, 1] = np.inf                      # special operand: the im2col + general path
    with np.errstate(all="ignore"):
        got, want = new.conv2d(x, w, b, padding=1), old.conv2d(x, w, b, padding=1)
    assert np.array_equal(bits(got), bits(want))


def test_alexnet_forward_identical(repo_root):
    """The CIFAR AlexNet on two images: table GEMM == bit-sliced general path, every logit."""
    from archsim.nn.architectures import load_network
    from archsim.nn.network import forward

    net = load_network(repo_root / "workloads" / "alexnet_cifar10" / "alexnet_cifar10.npz",
                       "alexnet-cifar10")
    x = np.random.default_rng(0).random((2,) + net.input_shape).astype(np.float32)
    m = get_multiplier("lsb-AMA5-8")
    assert type(m.engine).__name__ == "LowTableSigMul"
    got = forward(net, x, m)
    assert np.isfinite(got).all()
    assert np.array_equal(bits(got), bits(forward(net, x, old_engine("lsb-AMA5-8"))))


@pytest.mark.parametrize("variant", ["lsb-AMA5-8", "lsb-AMA3-4", "lsb-AMA1-8", "lsb-AMA2-8"])
def test_tie_operands_are_sensitive_to_the_table(variant):
    """The near-tie operands of the kernel tests catch a table that is ignored or misindexed:
    the same engine with a zero table (an exact multiplier) or the transposed table changes
    many output bits (random N(0,1) operands would not: lsb-AMA5-8 changes ~8 products in a
    million there)."""
    from archsim_core._sigmul import LowTableSigMul

    m = get_multiplier(variant)
    d = np.asarray(m.engine.correction)
    for table in (np.zeros_like(d), d.T):
        fake = Multiplier(m.spec, engine=LowTableSigMul(24, 24, m.engine.k, table.ravel(), 48))
        rng = np.random.default_rng(11)
        x, w, b = tie_matmul_operands(rng, 40, 30, 17)
        assert np.count_nonzero(bits(fake.matmul(x, w, b)) != bits(m.matmul(x, w, b))) >= 5
        x, w, b = tie_conv_operands(rng, 2, 5, 6, 7, 9)
        assert np.count_nonzero(bits(fake.conv2d(x, w, b)) != bits(m.conv2d(x, w, b))) >= 5


_DIGEST = """
import hashlib, sys
import numpy as np
sys.path.insert(0, "tests")
from test_gemm_kernels import operands
from archsim_core import _kernels, get_multiplier
rng = np.random.default_rng(1)
h = hashlib.sha256()
for v in ("lsb-AMA5-8", "lsb-AMA3-4"):
    m = get_multiplier(v)
    for mm, k, n in ((300, 97, 40), (5, 300, 70)):
        h.update(m.matmul(operands(rng, (mm, k)), operands(rng, (k, n)), operands(rng, (n,))).tobytes())
    img, wc = operands(rng, (3, 5, 13, 11)), operands(rng, (19, 5, 3, 3))
    h.update(m.conv2d(img, wc, operands(rng, (19,)), stride=2, padding=1).tobytes())
print(_kernels.kernel_isa(), h.hexdigest())
"""


def test_digest_same_for_threads_and_micro_kernels(repo_root):
    """2 threads with the default kernel choice and 1 thread with ARCHSIM_KERNEL_ISA=portable
    give the same bytes (the table form runs the portable body either way; the 1/2-term
    forms of other engines are covered by tests/test_gemm_kernels.py); so does this process."""
    runs = {}
    for threads, isa in (("2", ""), ("1", "portable")):
        env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONPATH=str(repo_root),
                   ARCHSIM_KERNEL_ISA=isa)
        res = subprocess.run([sys.executable, "-c", _DIGEST], env=env, cwd=repo_root,
                             capture_output=True, text=True, check=True)
        runs[isa] = res.stdout.split()
    assert runs["portable"][0] == "portable"
    local = {}
    exec(compile(_DIGEST.replace("print(", "local['out'] = ("), "digest", "exec"),
         {"local": local, "__name__": "digest"})
    assert runs[""][1] == runs["portable"][1] == local["out"][1]
    assert len(runs[""][1]) == 64
