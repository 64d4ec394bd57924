"""Static timing and area of netlists against hand-derived unit-gate figures."""
import copy
import random

import pytest
import yaml
from archsim_core.cells import define_cell
from archsim_core.netlist import CONST0, NetlistBuilder
from archsim_core.structures import Assignment, build, ripple_row

from archsim.cost.library import DEFAULT_LIBRARY_PATH, library_from_mapping, load_library
from archsim.cost.timing import analyse_timing, netlist_area, ripple_chains
from archsim.errors import SpecError

LIB = load_library()


def _single(cell="FA", cin_const=False):
    """One cell: A = a0, B = a1, Cin = b0 (or constant 0)."""
    nb = NetlistBuilder(2, 1, f"single-{cell}")
    s, c = nb.cell(cell, nb.a(0), nb.a(1), CONST0 if cin_const else nb.b(0), 0)
    return nb.build([s, c])


def test_single_full_adder():
    """FA: Sum = (A xor B) xor Cin -> 2 XORs = 4 units from A/B; area/transistors of one MA."""
    net = _single()
    rep = analyse_timing(net, LIB)
    assert rep.delay_units == 4
    assert rep.critical_output == 0                       # Sum is the late output
    assert [(s.cell, s.in_pin, s.out_pin) for s in rep.path] == [("FA", "A", "Sum")]
    assert rep.delay_ns == pytest.approx(4 * 0.04)
    assert netlist_area(net, LIB) == (24, pytest.approx(40.66))


def test_full_adder_with_cin_tied_low_is_a_half_adder():
    net = _single(cin_const=True)
    assert analyse_timing(net, LIB).delay_units == 2      # XOR2
    assert netlist_area(net, LIB) == (18, pytest.approx(30.50))


@pytest.mark.parametrize("n", [3, 4, 5, 6, 8, 12, 16, 24])
def test_exact_ripple_row_array_critical_path(n):
    """Critical path of the n x n exact ripple-row array of SPEC-arith §3 = 8n - 14 (n >= 3).

    Unit gates: AND2 = 1; FA: A/B->Sum 4, Cin->Sum 2, any->Cout 2; the first cell of each row
    has Cin = 0 and is a half adder (Sum 2, Cout 1). Row r (1..n-1) has cells at columns
    c = r..r+n-1: A = pp (arrives at 1), B = S[c] from the row above, Cin = left neighbour's Cout.
    Row 0 is the pp row: S[j] = 1.
    Row 1: B = 1 (and B = const 0 at c = n), so Cout(1,c) = 2c (HA 2, then +2 per cell),
      Sum(1,c) = max(5, 2c).
    Claim for r >= 2 and every cell but the row's first (HA): Cout(r,c) = 2c + 4r - 6,
      Sum(r,c) = 2c + 4r - 4. Row 2: B = Sum(1,c) = 2c and Cin = 2c arrive together, so
      Cout = 2c + 2, Sum = max(2c + 4, 2c + 2) = 2c + 4. Induction r -> r+1: a middle cell gets
      B = Sum(r,c) = 2c + 4r - 4 and Cin = Cout(r+1,c-1) = 2c + 4r - 4 (equal), so Cout = 2c + 4r - 2
      and Sum = B + 4 = 2c + 4r. The HA at c = r+1 is 1 unit early, which its right neighbour
      absorbs (its B is later). The last cell reads B = last Cout of the row above
      (2c + 4r - 8 < Cin), so its Cout follows the pattern and its Sum is 2 early.
    The MSB S[2n-1] = Cout(n-1, 2n-2) = 2(2n-2) + 4(n-1) - 6 = 8n - 14, and no Sum of the last row
    is later (Sum(n-1, 2n-3) = 8n - 14 too).
    """
    net = build(ripple_row(n, n))
    rep = analyse_timing(net, LIB)
    assert rep.delay_units == 8 * n - 14
    # the path starts at a partial-product AND and each hop adds its pin delay
    assert rep.path[0].cell == "AND2"
    times = [s.arrival for s in rep.path]
    assert times == sorted(times) and times[-1] == rep.delay_units


def test_two_by_two_array():
    """n = 2: one row, HA (Sum 3, Cout 2) then FA with B = 0: Sum = max(1+4, 2+2) = 5."""
    assert analyse_timing(build(ripple_row(2, 2)), LIB).delay_units == 5


@pytest.mark.parametrize("n", [4, 5, 8, 24])
def test_all_ama5_leaf_is_a_buffer_chain(n):
    """All-AMA5 n x n ripple-row array: Sum = B, Cout = A are buffers (1 unit, no Cin pin).
    Column n-1 is crossed by rows 1..n-1 through B->Sum, so the longest chain is
    AND2 + (n-1) buffers = n units (the DA 4x4 leaf: 4)."""
    net = build(ripple_row(n, n, Assignment("AMA5")))
    rep = analyse_timing(net, LIB)
    assert rep.delay_units == n
    assert [s.cell for s in rep.path] == ["AND2"] + ["AMA5"] * (n - 1)
    assert all((s.in_pin, s.out_pin) == ("B", "Sum") for s in rep.path[1:])


def test_replacing_cells_by_ama5_never_increases_area_or_delay():
    net = build(ripple_row(8, 8))
    base_area = netlist_area(net, LIB)[1]
    base_delay = analyse_timing(net, LIB).delay_units
    rng = random.Random(1)
    for _ in range(20):
        chosen = {i for i in range(len(net.cells)) if rng.random() < 0.4}
        index = {id(c): i for i, c in enumerate(net.cells)}
        approx = net.with_cells(lambda c: "AMA5" if index[id(c)] in chosen else c.cell)
        assert netlist_area(approx, LIB)[1] <= base_area
        assert analyse_timing(approx, LIB).delay_units <= base_delay


def test_netlist_with_a_cell_missing_from_the_library_is_rejected():
    mine = define_cell("MYCELL", [0] * 8, [0, 0, 0, 1, 0, 1, 1, 1])
    nb = NetlistBuilder(2, 1)
    s, c = nb.cell("MYCELL", nb.a(0), nb.a(1), nb.b(0), 0)
    net = nb.build([s, c], {"MYCELL": mine})
    with pytest.raises(SpecError, match="MYCELL"):
        analyse_timing(net, LIB)


def test_library_cell_with_a_different_function_than_the_netlist_is_rejected():
    data = yaml.safe_load(DEFAULT_LIBRARY_PATH.read_text(encoding="utf-8"))
    entry = copy.deepcopy(data["cells"]["FA"])
    entry["truth_table"] = {"sum": [1] * 8, "cout": [0, 0, 0, 1, 0, 1, 1, 1]}
    data["cells"]["MYCELL"] = entry
    lib = library_from_mapping(data, "mine.yaml")
    mine = define_cell("MYCELL", [0] * 8, [0, 0, 0, 1, 0, 1, 1, 1])
    nb = NetlistBuilder(2, 1)
    s, c = nb.cell("MYCELL", nb.a(0), nb.a(1), nb.b(0), 0)
    net = nb.build([s, c], {"MYCELL": mine})
    with pytest.raises(SpecError, match="MYCELL.truth_table"):
        netlist_area(net, lib)


def _ripple_adder(width):
    """a + b as a chain of recomb cells (HA head, then FA), like a recombination adder."""
    nb = NetlistBuilder(width, width, f"rca{width}")
    carry, out = CONST0, []
    for i in range(width):
        cell = "HA" if i == 0 else "FA"
        s, carry = nb.cell(cell, nb.a(i), nb.b(i), carry, i, role="recomb")
        out.append(s)
    return nb.build(out + [carry])


@pytest.mark.parametrize("width, ripple, prefix", [(4, 7, 8), (16, 31, 12), (32, 63, 14)])
def test_recombination_chain_ripple_vs_prefix(width, ripple, prefix):
    """Ripple: HA Cout at 1, then +2 per FA: Cout(w-1) = 2w - 1 = last Sum.
    Prefix (Sklansky what-if): p/g at 2, carry into position j after ceil(log2(j+1)) AND-OR
    levels of 2, sum XOR 2: last Sum = 2 + 2*ceil(log2(w-1)) + 2, final carry 2 + 2*ceil(log2 w)."""
    net = _ripple_adder(width)
    assert len(ripple_chains(net)) == width
    assert analyse_timing(net, LIB).delay_units == ripple
    rep = analyse_timing(net, LIB, recomb="prefix")
    assert rep.delay_units == prefix and rep.path == ()
    assert net.evaluate((1 << width) - 1, 1) == 1 << width
