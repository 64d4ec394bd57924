"""Cell truth tables against SPEC-arith §2, restated literally (tables and formulas)."""
import itertools

import pytest

from archsim.errors import SpecError
from archsim_core.cells import BUILTIN_CELLS, cells_from_spec, define_cell, get_cell

# SPEC-arith §2, copied column by column: (Sum table, Cout table), order (A,B,Cin) = 000..111.
SPEC_TABLES = {
    "FA": ("0,1,1,0,1,0,0,1", "0,0,0,1,0,1,1,1"),
    "AMA1": ("0,1,0,0,0,0,0,1", "0,0,1,1,0,1,1,1"),
    "AMA2": ("1,1,1,0,1,0,0,0", "0,0,0,1,0,1,1,1"),
    "AMA3": ("1,1,0,0,1,0,0,0", "0,0,1,1,0,1,1,1"),
    "AMA4": ("0,1,0,1,0,0,0,1", "0,0,0,0,1,1,1,1"),
    "AMA5": ("0,0,1,1,0,0,1,1", "0,0,0,0,1,1,1,1"),
    "AXA2": ("1,1,0,0,0,0,1,1", "0,0,0,1,0,1,1,1"),
    "AXA3": ("0,1,0,0,0,0,0,1", "0,0,0,1,0,1,1,1"),
    "InXA1": ("0,1,1,0,1,0,0,1", "0,1,0,1,0,1,0,1"),
    "InXA2": ("0,1,1,1,1,1,0,1", "0,0,0,1,0,1,1,1"),
    "InXA3": ("1,1,1,0,1,0,0,0", "0,0,0,1,0,1,1,1"),
}


def maj(a, b, c):
    return (a & b) | (a & c) | (b & c)


# SPEC-arith §2 "Sum" and "Cout" formula columns, written as Python expressions.
SPEC_FORMULAS = {
    "FA": (lambda a, b, c: a ^ b ^ c, maj),
    "AMA1": (lambda a, b, c: c & (1 - (a ^ b)), lambda a, b, c: b | (a & c)),
    "AMA2": (lambda a, b, c: 1 - maj(a, b, c), maj),
    "AMA3": (lambda a, b, c: 1 - (b | (a & c)), lambda a, b, c: b | (a & c)),
    "AMA4": (lambda a, b, c: c & ((1 - a) | b), lambda a, b, c: a),
    "AMA5": (lambda a, b, c: b, lambda a, b, c: a),
    "AXA2": (lambda a, b, c: 1 - (a ^ b), lambda a, b, c: ((a ^ b) & c) | (a & b)),
    "AXA3": (lambda a, b, c: (1 - (a ^ b)) & c, lambda a, b, c: ((a ^ b) & c) | (a & b)),
    "InXA1": (lambda a, b, c: a ^ b ^ c, lambda a, b, c: c),
    "InXA2": (lambda a, b, c: (a ^ b) | c, maj),
    "InXA3": (lambda a, b, c: 1 - maj(a, b, c), maj),
}

INPUTS = list(itertools.product((0, 1), repeat=3))


@pytest.mark.parametrize("name", sorted(SPEC_TABLES))
def test_cell_matches_spec_table(name):
    sum_t, cout_t = ([int(v) for v in col.split(",")] for col in SPEC_TABLES[name])
    cell = get_cell(name)
    for k, (a, b, c) in enumerate(INPUTS):
        assert cell.evaluate(a, b, c) == (sum_t[k], cout_t[k]), (name, a, b, c)


@pytest.mark.parametrize("name", sorted(SPEC_FORMULAS))
def test_cell_matches_spec_formula(name):
    f_sum, f_cout = SPEC_FORMULAS[name]
    cell = get_cell(name)
    for a, b, c in INPUTS:
        assert cell.evaluate(a, b, c) == (f_sum(a, b, c), f_cout(a, b, c)), (name, a, b, c)


def test_half_adder_ignores_cin():
    ha = get_cell("HA")
    for a, b, c in INPUTS:
        assert ha.evaluate(a, b, c) == (a ^ b, a & b)


def test_exactness_flags():
    assert [n for n, c in BUILTIN_CELLS.items() if c.is_exact_full_adder] == ["FA"]
    assert get_cell("AMA5").is_exact_with_cin0() is False
    assert get_cell("FA").is_exact_with_cin0() and get_cell("HA").is_exact_with_cin0()


def test_user_cell_from_tables():
    cells = cells_from_spec({"MYOR": {"sum": [0, 1, 1, 1, 1, 1, 1, 1], "cout": [0] * 8}})
    assert cells["MYOR"].evaluate(1, 0, 0) == (1, 0)
    assert get_cell("MYOR", cells) is cells["MYOR"]


@pytest.mark.parametrize("sum_t, cout_t, needle", [
    ([0] * 7, [0] * 8, "8 entries"),
    ([0] * 8, [0] * 9, "8 entries"),
    ([0] * 7 + [2], [0] * 8, "0 or 1"),
])
def test_bad_user_cell(sum_t, cout_t, needle):
    with pytest.raises(SpecError, match=needle):
        define_cell("BAD", sum_t, cout_t)


def test_unknown_and_builtin_names():
    with pytest.raises(SpecError, match="unknown cell 'AMA9'"):
        get_cell("AMA9")
    with pytest.raises(SpecError, match="built in"):
        define_cell("FA", [0] * 8, [0] * 8)
