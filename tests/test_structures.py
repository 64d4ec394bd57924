"""Structure generators: exact cells give a*b, DA leaf/flat formulas, wiring, assignment, errors.

Oracles: Python integer multiplication, the hand-derived formulas of SPEC-arith §4, and
Netlist.evaluate (the pure-Python evaluator) for the netlists themselves; wide sizes use the
bit-sliced evaluator, which tests/test_eval.py proves against two independent evaluators.
"""
import numpy as np
import pytest

from archsim.errors import SpecError
from archsim_core.evaluate import evaluate
from archsim_core.netlist import CONST0
from archsim_core.structures import (Assignment, Kind, build, carry_save, hierarchical, parse_structure,
                                     ripple_row, value_bound)

EXACT_8x8 = [
    ("ripple-row", lambda: ripple_row(8, 8)),
    ("carry-save", lambda: carry_save(8, 8)),
    ("hier-rr4", lambda: hierarchical(8, 8, 4, ripple_row(4, 4))),
    ("hier-cs2", lambda: hierarchical(8, 8, 2, carry_save(2, 2))),
    ("hier-nested", lambda: hierarchical(8, 8, 4, hierarchical(4, 4, 2, ripple_row(2, 2)))),
    ("hier-padded", lambda: hierarchical(8, 8, 3, ripple_row(3, 3))),
]


def all_pairs(n_a, n_b):
    a, b = np.meshgrid(np.arange(1 << n_a, dtype=np.uint64), np.arange(1 << n_b, dtype=np.uint64),
                       indexing="ij")
    return a.ravel(), b.ravel()


@pytest.mark.parametrize("label, make", EXACT_8x8, ids=[e[0] for e in EXACT_8x8])
def test_exact_structures_exhaustive_8x8(label, make):
    nl = build(make())
    a, b = all_pairs(8, 8)
    assert np.array_equal(evaluate(nl, a, b), a * b)
    sample = range(0, 1 << 16, 331)  # the pure-Python oracle agrees on a sample too
    assert all(nl.evaluate(i >> 8, i & 255) == (i >> 8) * (i & 255) for i in sample)


@pytest.mark.parametrize("n_a, n_b", [(2, 2), (3, 7), (7, 3), (5, 6)])
def test_exact_rectangular_python_oracle(n_a, n_b):
    for make in (ripple_row, carry_save):
        nl = build(make(n_a, n_b))
        assert nl.n_outputs == n_a + n_b
        for a in range(1 << n_a):
            for b in range(1 << n_b):
                assert nl.evaluate(a, b) == a * b


@pytest.mark.parametrize("make", [lambda: ripple_row(24, 24), lambda: carry_save(32, 32),
                                  lambda: hierarchical(24, 24, 8, carry_save(8, 8)),
                                  lambda: hierarchical(32, 32, 8, ripple_row(8, 8)),
                                  lambda: hierarchical(19, 23, 5, ripple_row(5, 5))])
def test_exact_wide_random(make):
    s = make()
    nl = build(s)
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1 << s.n_a, 20000, dtype=np.uint64)
    b = rng.integers(0, 1 << s.n_b, 20000, dtype=np.uint64)
    a[:2], b[:2] = (1 << s.n_a) - 1, (1 << s.n_b) - 1
    assert np.array_equal(evaluate(nl, a, b), a * b)  # exact products < 2^64 here


def leaf(a, b):
    """SPEC-arith §4: P4(A, B) = a0*B + b3*16*(A - a0)."""
    a0, b3 = a & 1, (b >> 3) & 1
    return a0 * b + b3 * 16 * (a - a0)


def test_da_leaf_formula_and_netlist():
    nl = build(ripple_row(4, 4, Assignment("AMA5")))
    values = {(a, b): nl.evaluate(a, b) for a in range(16) for b in range(16)}
    assert values == {(a, b): leaf(a, b) for a in range(16) for b in range(16)}
    assert max(values.values()) == 239
    assert values[(3, 8)] != values[(8, 3)]  # not commutative
    assert len(nl.cells) == 12 and {c.cell for c in nl.cells} == {"AMA5"}


def test_da_flat_formula():
    nl = build(ripple_row(24, 24, Assignment("AMA5")))
    rng = np.random.default_rng(3)
    for a, b in zip(rng.integers(0, 1 << 24, 60), rng.integers(1 << 23, 1 << 24, 60)):
        a, b = int(a), int(b)  # b has its hidden bit set, as in the FP wrapper
        assert nl.evaluate(a, b) == (a & 1) * b + (1 << 24) * (a - (a & 1))


def test_ripple_row_pin_wiring():
    n_a, n_b = 5, 4
    nl = build(ripple_row(n_a, n_b))
    gates = {g.out: (g.a - 2, g.b - 2 - n_a) for g in nl.gates}  # signal -> (r, j)
    cells = {(c.row, c.col): c for c in nl.cells}
    assert set(cells) == {(r, c) for r in range(1, n_a) for c in range(r, r + n_b)}
    for (r, c), inst in cells.items():
        assert gates[inst.a] == (r, c - r)  # A-pin = partial product
        assert (inst.cin == CONST0) == (c == r)  # half-adder position at the row start
        if c > r:
            assert inst.cin == cells[(r, c - 1)].cout
    for c in range(2, 2 + n_b - 1):  # B-pin = running sum written by the previous row
        assert cells[(2, c)].b == cells[(1, c)].sum
    assert cells[(1, n_b)].b == CONST0  # S[M] was never written before row 1


def test_assignment_lsb_rows_explicit():
    assign = Assignment("FA", "AMA5", 6, rows=((3, "AMA1"),), explicit=((2, 9, "AXA2"),))
    nl = build(ripple_row(8, 8, assign))
    for c in nl.cells:
        want = "AXA2" if (c.row, c.col) == (2, 9) else "AMA5" if c.col < 6 else \
            "AMA1" if c.row == 3 else "FA"
        assert c.cell == want


def test_hierarchical_roles_and_da_width():
    block = hierarchical(8, 8, 4, ripple_row(4, 4, Assignment("AMA5")))
    s = hierarchical(24, 24, 8, block)
    nl = build(s)
    assert nl.n_outputs == 49 and value_bound(s).bit_length() == 49
    roles = {c.role for c in nl.cells}
    assert roles == {"pp", "recomb"}
    assert all(c.cell in ("FA", "HA") for c in nl.cells if c.role == "recomb")
    assert sum(c.cell == "AMA5" for c in nl.cells) == 9 * 4 * 12


def test_carry_save_final_adder_role():
    nl = build(carry_save(6, 5, Assignment("AMA2")))
    final = [c for c in nl.cells if c.role == "final"]
    assert len(final) == 5 and {c.row for c in final} == {6}


@pytest.mark.parametrize("bad, needle", [
    (lambda: ripple_row(1, 8), "n_a"),
    (lambda: carry_save(8, 33), "n_b"),
    (lambda: ripple_row(8, 8, Assignment("NOPE")), "unknown cell 'NOPE'"),
    (lambda: hierarchical(8, 8, 4, ripple_row(3, 3)), "leaf must be a 4x4"),
    (lambda: hierarchical(8, 8, 8, ripple_row(8, 8)), "chunk width"),
    (lambda: build(hierarchical(32, 32, 8, ripple_row(8, 8, Assignment("AMA1")))), "more than 64"),
    (lambda: parse_structure({"kind": "wallace"}, 8, 8), "unknown structure 'wallace'"),
    (lambda: parse_structure({"kind": "ripple-row", "colour": 1}, 8, 8), "unknown keys"),
    (lambda: parse_structure({"kind": "hierarchical", "k": 4, "cells": "FA"}, 8, 8), "from its leaf"),
])
def test_structure_errors(bad, needle):
    with pytest.raises(SpecError, match=needle):
        bad()


def test_parse_structure_round_trip():
    s = parse_structure({"kind": "hierarchical", "k": 4,
                         "leaf": {"kind": "ripple-row", "cells": "AMA5"}}, 8, 8)
    assert s.kind is Kind.HIERARCHICAL and s.leaf.assign.cell == "AMA5"
    s2 = parse_structure({"kind": "carry-save", "assign": {"lsb_cell": "AMA1", "lsb_columns": 4,
                                                           "rows": {2: "AXA3"}}}, 6, 6)
    assert s2.assign.choose(2, 7) == "AXA3" and s2.assign.choose(2, 3) == "AMA1"
