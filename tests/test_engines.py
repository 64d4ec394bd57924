"""Every fast engine proven bit-identical to its netlist (SPEC-arith §1).

The reference is the bit-sliced netlist evaluator (`evaluate`), itself proven against two
independent evaluators in tests/test_eval.py. 8x8 designs: all 65,536 pairs. 24x24 designs:
10^6 random pairs (half with the hidden bit set, as the FP wrapper feeds them) plus every
pair of edge values (0, 1, all ones, powers of two, hidden bit only, alternating patterns).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim_core import _eval, _sigmul
from archsim_core.cells import BUILTIN_CELLS
from archsim_core.evaluate import evaluate
from archsim_core.variants import build_engine, build_netlist

AMA3_TABLE_24 = {"name": "t24", "structure": {"kind": "hierarchical", "k": 8,
                                              "leaf": {"kind": "carry-save", "cells": "AMA3"}}}
AMA1_K4_24 = {"name": "t24k4", "structure": {"kind": "hierarchical", "k": 4,
                                             "leaf": {"kind": "ripple-row", "cells": "AXA2"}}}
BF16_AMA2 = {"name": "t8", "format": "bf16", "structure": {"kind": "ripple-row", "cells": "AMA2"}}
BF16_EXACT = {"name": "e8", "format": "bf16", "structure": {"kind": "carry-save"}}
BF16_HIER_INXA1 = {"name": "h8", "format": "bf16", "structure": {
    "kind": "hierarchical", "k": 4, "leaf": {"kind": "ripple-row", "cells": "InXA1"}}}

CASES_24 = [("exact", "ExactSigMul"), ("da", "Ama5ChunkSigMul"), ("da-flat", "Ama5ChunkSigMul"),
            (AMA3_TABLE_24, "TableSigMul"), (AMA1_K4_24, "TableSigMul"),
            ("lsb-AMA5-16", "BitslicedSigMul"), ("lsb-InXA2-20", "BitslicedSigMul")]
CASES_8 = [("da-bf16", "Ama5ChunkSigMul"), (BF16_AMA2, "TableSigMul"), (BF16_EXACT, "ExactSigMul"),
           (BF16_HIER_INXA1, "TableSigMul")]


def label(case):
    return case[0] if isinstance(case[0], str) else case[0]["name"]


def edge_values(bits):
    ones = (1 << bits) - 1
    hidden = 1 << (bits - 1)
    alt = int("01" * bits, 2) & ones
    vals = {0, 1, ones, hidden, hidden | 1, alt, ones ^ alt, hidden | alt, hidden | (ones ^ alt),
            ones ^ 1, ones >> 1}
    vals |= {1 << k for k in range(bits)} | {hidden | (1 << k) for k in range(bits)}
    return np.array(sorted(vals), dtype=np.uint64)


def pairs_24():
    rng = np.random.default_rng(2024)
    n = 500_000
    a = np.concatenate([rng.integers(0, 1 << 24, n, dtype=np.uint64),
                        rng.integers(1 << 23, 1 << 24, n, dtype=np.uint64)])
    b = np.concatenate([rng.integers(0, 1 << 24, n, dtype=np.uint64),
                        rng.integers(1 << 23, 1 << 24, n, dtype=np.uint64)])
    e = edge_values(24)
    ea, eb = np.meshgrid(e, e, indexing="ij")
    return np.concatenate([a, ea.ravel()]), np.concatenate([b, eb.ravel()])


@pytest.fixture(scope="module")
def operands_24():
    return pairs_24()


@pytest.mark.parametrize("case", CASES_24, ids=label)
def test_engine_equals_netlist_24x24(case, operands_24):
    spec, engine_class = case
    engine, netlist = build_engine(spec), build_netlist(spec)
    assert type(engine).__name__ == engine_class
    assert engine.out_bits == netlist.n_outputs
    a, b = operands_24
    assert len(a) >= 1_000_000
    assert np.array_equal(engine.multiply(a, b), evaluate(netlist, a, b))


@pytest.mark.parametrize("case", CASES_8, ids=label)
def test_engine_equals_netlist_exhaustive_8x8(case):
    spec, engine_class = case
    engine, netlist = build_engine(spec), build_netlist(spec)
    assert type(engine).__name__ == engine_class
    grid = np.arange(1 << 16, dtype=np.uint64)
    a, b = grid >> np.uint64(8), grid & np.uint64(255)
    assert np.array_equal(engine.multiply(a, b), evaluate(netlist, a, b))


AMA5_LEAF = {"kind": "ripple-row", "cells": "AMA5"}
ODD_SHAPES = [  # (spec, engine): padded chunks, nested multiples, and a misaligned nesting
    ({"name": "p10", "format": {"exp_bits": 5, "man_bits": 9},
      "structure": {"kind": "hierarchical", "k": 4, "leaf": AMA5_LEAF}}, "Ama5ChunkSigMul"),
    ({"name": "n10", "format": {"exp_bits": 5, "man_bits": 9},
      "structure": {"kind": "hierarchical", "k": 8,
                    "leaf": {"kind": "hierarchical", "k": 4, "leaf": AMA5_LEAF}}}, "Ama5ChunkSigMul"),
    ({"name": "f10", "format": {"exp_bits": 5, "man_bits": 9},
      "structure": AMA5_LEAF}, "Ama5ChunkSigMul"),
    ({"name": "m10", "format": {"exp_bits": 5, "man_bits": 9},
      "structure": {"kind": "hierarchical", "k": 6,
                    "leaf": {"kind": "hierarchical", "k": 4, "leaf": AMA5_LEAF}}}, "TableSigMul"),
    ({"name": "c10", "format": {"exp_bits": 5, "man_bits": 9},
      "structure": {"kind": "carry-save", "cells": "AMA5"}}, "BitslicedSigMul"),
]


@pytest.mark.parametrize("case", ODD_SHAPES, ids=label)
def test_engine_equals_netlist_exhaustive_10x10(case):
    spec, engine_class = case
    engine, netlist = build_engine(spec), build_netlist(spec)
    assert type(engine).__name__ == engine_class
    grid = np.arange(1 << 20, dtype=np.uint64)
    a, b = grid >> np.uint64(10), grid & np.uint64(1023)
    assert np.array_equal(engine.multiply(a, b), evaluate(netlist, a, b))


def test_da_closed_form_formula(operands_24):
    """The hint's closed form, computed here in Python integers, equals the da netlist."""
    a, b = operands_24
    sel = slice(0, None, 997)
    m = 0x111111
    want = [(x & m) * y + 16 * ((y >> 3) & m) * (x & ~m) for x, y in zip(a[sel].tolist(), b[sel].tolist())]
    assert evaluate(build_netlist("da"), a[sel], b[sel]).tolist() == want


def test_bitsliced_engine_python_oracle():
    netlist = build_netlist("lsb-AMA1-9")
    engine = build_engine("lsb-AMA1-9")
    rng = np.random.default_rng(9)
    a = rng.integers(0, 1 << 24, 1100, dtype=np.uint64)
    b = rng.integers(0, 1 << 24, 1100, dtype=np.uint64)
    got = engine.multiply(a, b)
    assert got.tolist() == [netlist.evaluate(x, y) for x, y in zip(a.tolist(), b.tolist())]


def test_engines_are_compiled_and_cached():
    assert _sigmul.__file__.endswith(".so") and _eval.__file__.endswith(".so")
    assert build_engine("da") is build_engine("da")
    assert build_engine("da") is not build_engine("da-flat")


@settings(max_examples=25, deadline=None)
@given(k=st.sampled_from([2, 3, 4, 6, 8, 12]), leaf_kind=st.sampled_from(["ripple-row", "carry-save"]),
       cell=st.sampled_from(sorted(BUILTIN_CELLS)), seed=st.integers(0, 2**32 - 1))
def test_random_hierarchies_engine_equals_netlist(k, leaf_kind, cell, seed):
    """Whatever engine build_engine picks for a random 24x24 hierarchy, it equals the netlist."""
    spec = {"name": f"h{k}{leaf_kind}{cell}", "structure": {
        "kind": "hierarchical", "k": k, "leaf": {"kind": leaf_kind, "cells": cell}}}
    engine, netlist = build_engine(spec), build_netlist(spec)
    rng = np.random.default_rng(seed)
    a = np.concatenate([rng.integers(0, 1 << 24, 20000, dtype=np.uint64), edge_values(24)])
    b = np.concatenate([rng.integers(0, 1 << 24, 20000, dtype=np.uint64), edge_values(24)[::-1]])
    assert np.array_equal(engine.multiply(a, b), evaluate(netlist, a, b))
