"""Bit-sliced evaluator and toggle counter against two independent evaluators.

Oracles: Netlist.evaluate (pure Python, one pair at a time) and a numpy evaluator written
here, which walks the netlist in topological order indexing each cell's truth tables with
(A,B,Cin) for whole operand vectors at once; toggles are then counted as value changes
between consecutive rows. Neither shares code with the compiled evaluator.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.errors import SpecError
from archsim_core import _eval
from archsim_core.cells import BUILTIN_CELLS, CellType
from archsim_core.netlist import NetlistBuilder
from archsim_core.evaluate import OP_AND, OP_FA, OP_HA, compile_netlist, evaluate, toggle_counts
from archsim_core.structures import Assignment, build, carry_save, hierarchical, ripple_row
from netlist_reference import numpy_signals

def numpy_products(nl, a, b):
    v = numpy_signals(nl, a, b)
    return sum(v[sig].astype(np.uint64) << np.uint64(k) for k, sig in enumerate(nl.outputs))


def numpy_toggles(nl, a, b):
    v = numpy_signals(nl, a, b)
    return (v[:, 1:] != v[:, :-1]).sum(axis=1).astype(np.int64)


def random_cells(seed, count):
    rng = np.random.default_rng(seed)
    return [CellType(f"R{seed}_{i}", tuple(rng.integers(0, 2, 8)), tuple(rng.integers(0, 2, 8)))
            for i in range(count)]


def netlists():
    """Every built-in cell in two structures, plus random user cells (generic-table paths)."""
    out = []
    for name in sorted(BUILTIN_CELLS):
        out.append(build(ripple_row(6, 5, Assignment(name))))
        out.append(build(carry_save(5, 6, Assignment("FA", name, 5))))
    for seed in range(4):
        cells = random_cells(seed, 3)
        assign = Assignment(cells[0].name, cells[1].name, 4, rows=((2, cells[2].name),))
        out.append(build(ripple_row(7, 6, assign, cells)))
    out.append(build(hierarchical(12, 12, 4, ripple_row(4, 4, Assignment("AMA1")))))
    return out


NETLISTS = netlists()


def operands(nl, n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1 << nl.n_a, n, dtype=np.uint64),
            rng.integers(0, 1 << nl.n_b, n, dtype=np.uint64))


@pytest.mark.parametrize("k", range(len(NETLISTS)))
def test_evaluate_vs_python_oracle(k):
    nl = NETLISTS[k]
    a, b = operands(nl, 1300, k)  # more than one 1024-op block, a ragged tail
    got = evaluate(nl, a, b)
    assert [int(x) for x in got[:150]] == [nl.evaluate(int(x), int(y)) for x, y in zip(a[:150], b[:150])]
    assert np.array_equal(got, numpy_products(nl, a, b))


@pytest.mark.parametrize("k", range(len(NETLISTS)))
def test_toggles_vs_numpy_oracle(k):
    nl = NETLISTS[k]
    a, b = operands(nl, 1500, 100 + k)
    assert np.array_equal(toggle_counts(nl, a, b), numpy_toggles(nl, a, b))


def test_toggles_across_chunks_and_24x24():
    nl = build(ripple_row(24, 24, Assignment("FA", "AMA5", 16)))
    a, b = operands(nl, 2 * 32768 + 777, 5)  # three chunks of the parallel loop
    want = numpy_toggles(nl, a, b)
    assert np.array_equal(toggle_counts(nl, a, b), want)
    assert np.array_equal(evaluate(nl, a, b), numpy_products(nl, a, b))
    ama5 = [c for c in nl.cells if c.cell == "AMA5"]
    assert all(want[c.sum] == want[c.b] and want[c.cout] == want[c.a] for c in ama5)


def test_toggles_short_streams():
    nl = NETLISTS[0]
    empty, one = np.array([], np.uint64), np.array([3], np.uint64)
    assert not toggle_counts(nl, empty, empty).any() and not toggle_counts(nl, one, one).any()
    a, b = np.array([0, 63], np.uint64), np.array([0, 31], np.uint64)
    assert np.array_equal(toggle_counts(nl, a, b), numpy_toggles(nl, a, b))


def test_compiler_aliases_buffers_and_constants():
    prog = compile_netlist(build(ripple_row(4, 4, Assignment("AMA5"))), live_only=False)
    assert len(prog.ops) == 16  # only the 16 AND gates: every AMA5 output is a wire
    nl = build(ripple_row(4, 4))
    codes = list(compile_netlist(nl, live_only=False).ops[:, 0])
    with_const = sum(0 in (c.a, c.b, c.cin) for c in nl.cells)  # HA positions, unwritten S bits
    assert with_const == 4
    # a cell with a constant-0 input becomes a half adder (XOR + AND), the others full adders
    assert codes.count(OP_FA) == 12 - with_const and codes.count(OP_HA) == with_const
    assert codes.count(OP_AND) == 16 and len(codes) == 28


def test_products_program_reuses_dead_slots():
    nl = build(ripple_row(24, 24))
    full, live = compile_netlist(nl, live_only=False), compile_netlist(nl)
    assert full.n_slots == nl.n_signals and live.signal_slot is None
    assert live.n_slots < 200 < nl.n_signals  # partial products computed right before use


SCRIPT = """
import hashlib, numpy as np
from archsim_core.evaluate import evaluate, toggle_counts
from archsim_core.structures import Assignment, build, ripple_row
nl = build(ripple_row(24, 24, Assignment("FA", "AMA1", 12)))
rng = np.random.default_rng(11)
a, b = (rng.integers(0, 1 << 24, 150001, dtype=np.uint64) for _ in range(2))
h = hashlib.sha256(evaluate(nl, a, b).tobytes() + toggle_counts(nl, a, b).tobytes())
print(h.hexdigest())
"""


def test_results_independent_of_thread_count(repo_root):
    digests = set()
    for threads in ("1", "2", "3"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=repo_root, env=env,
                             capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_extension_is_compiled():
    assert _eval.__file__.endswith((".so", ".pyd"))


@pytest.mark.parametrize("a, b, needle", [
    (np.zeros(3, np.uint64), np.zeros(4, np.uint64), "equal length"),
    (np.zeros(3, np.float64), np.zeros(3, np.uint64), "integer array"),
    (np.array([64], np.uint64), np.array([1], np.uint64), "outside 6 bits"),
    (np.array([-1]), np.array([1]), "outside 6 bits"),
])
def test_bad_operands(a, b, needle):
    with pytest.raises(SpecError, match=needle):
        evaluate(NETLISTS[0], a, b)


def test_too_wide_netlist_rejected():
    nb = NetlistBuilder(40, 2, "wide")
    nl = nb.build([nb.and_(nb.a(39), nb.b(1))])
    with pytest.raises(SpecError, match="up to 32 bits"):
        evaluate(nl, np.zeros(1, np.uint64), np.zeros(1, np.uint64))


CELL_NAMES = sorted(BUILTIN_CELLS)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["ripple-row", "carry-save"]), n_a=st.integers(2, 7),
       n_b=st.integers(2, 7), cell=st.sampled_from(CELL_NAMES), lsb=st.sampled_from(CELL_NAMES),
       k=st.integers(0, 9), seed=st.integers(0, 2**32 - 1))
def test_random_designs_match_python_oracle(kind, n_a, n_b, cell, lsb, k, seed):
    """Any structure and cell mix: bit-sliced products and toggles equal the oracles."""
    make = ripple_row if kind == "ripple-row" else carry_save
    k = min(k, n_a + n_b)  # lsb_columns is bounded by the product width
    nl = build(make(n_a, n_b, Assignment(cell, lsb, k)))
    a, b = operands(nl, 300, seed)
    got = evaluate(nl, a, b)
    assert [int(x) for x in got[:40]] == [nl.evaluate(int(x), int(y)) for x, y in zip(a[:40], b[:40])]
    assert np.array_equal(got, numpy_products(nl, a, b))
    assert np.array_equal(toggle_counts(nl, a, b), numpy_toggles(nl, a, b))
