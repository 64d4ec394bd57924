"""Whole FP units priced from their netlists: hand-derived gate figures, composition of the MAC
path, calibration independence, and a walk of every `archsim cost` / `archsim run` figure back
to a netlist or an ERT entry, recomputed here with independent code (no hidden constant)."""
import copy
import json

import numpy as np
import pytest
import yaml
from archsim_core.fp_unit import UnitBuilder, adder_netlist, register_netlist, unit_netlist
from archsim_core.multiplier import get_multiplier
from archsim_core.netlist import GATE_PINS
from archsim_core.variants import build_netlist

from archsim.cli import main
from archsim.cost.fp_unit import mac_timing, price_netlist
from archsim.cost.library import DEFAULT_LIBRARY_PATH, library_from_mapping, load_library
from archsim.cost.pe import accumulate, mac_cost, multiplier_unit, pe_cost, pj_per_eu, variant_spec
from archsim.cost.power import operand_stream
from archsim.cost.timing import analyse_timing, netlist_area
from netlist_reference import numpy_signals

LIB = load_library()
RAW = yaml.safe_load(DEFAULT_LIBRARY_PATH.read_text(encoding="utf-8"))


def _library(**calibration):
    data = copy.deepcopy(RAW)
    data["calibration"].update(calibration)
    return library_from_mapping(data, "variant.yaml")


def test_gate_chain_by_hand():
    """y = (a0 AND a1) ? b0 : b1, z = y XOR a2: AND2 1 + MUX2 2 + XOR2 2 = 5 unit gates;
    area 10.17 + 20.33 + 20.33; toggles counted on a hand-enumerated stream."""
    nb = UnitBuilder(3, 2, "chain")
    nb.role = "round"
    y = nb.MUX(nb.AND(nb.a(0), nb.a(1)), nb.b(1), nb.b(0))
    z = nb.XOR(y, nb.a(2))
    net = nb.build([z])
    assert net.cell_counts() == {"AND2": 1, "MUX2": 1, "XOR2": 1}
    assert analyse_timing(net, LIB).delay_units == 5
    assert netlist_area(net, LIB) == (30, pytest.approx(10.17 + 20.33 + 20.33))
    # a = (a0,a1,a2) bits, b = (b0,b1): ops 0: a=011 b=01 -> and=1, y=b0=1, z=1
    #                                       1: a=000 b=01 -> and=0, y=b1=0, z=0
    #                                       2: a=100 b=10 -> and=0, y=b1=1, z=0
    a = np.array([0b011, 0b000, 0b100], np.uint64)
    b = np.array([0b01, 0b01, 0b10], np.uint64)
    cost = price_netlist(net, LIB, a, b, ("round",), "chain")
    # toggles: and 1->0->0 (1), y 1->0->1 (2), z 1->0->0 (1)
    expected = (1 * 10.17 + 2 * 20.33 + 1 * 20.33) / 2
    assert cost.energy_eu == pytest.approx(expected)
    assert cost.block("round").delay_units == 5


def test_constants_are_folded_before_costing():
    nb = UnitBuilder(2, 1)
    x = nb.AND(nb.a(0), 1)                 # -> a0
    y = nb.OR(nb.XOR(x, x), nb.a(1))       # XOR(x, x) = 0 -> a1
    z = nb.MUX(0, nb.b(0), y)              # select 0 -> b0
    net = nb.build([x, y, z])
    assert not net.logic and net.outputs == (2, 3, 4)


def _independent_sta(net, lib, arrival=None):
    """Longest path by levels, written separately from archsim.cost.timing."""
    t = {s: 0.0 for s in net.a_bits + net.b_bits}
    if arrival is not None:
        t = dict(zip(net.a_bits + net.b_bits, arrival))
    for kind, i in net.order:
        if kind == "and":
            g = net.gates[i]
            d = lib.cell("AND2").pin_delays("Y")
            t[g.out] = max(t[s] + d[p] for p, s in (("A", g.a), ("B", g.b)) if s in t)
        elif kind == "gate":
            g = net.logic[i]
            out = "Q" if g.kind == "DFF" else "Y"
            d = lib.cell(g.kind).pin_delays(out)
            ins = [(p, s) for p, s in zip(GATE_PINS[g.kind], g.ins) if s in t and p in d]
            if ins:
                t[g.out] = max(t[s] + d[p] for p, s in ins)
        else:
            c = net.cells[i]
            name = "HA" if (c.cin == 0 and c.cell == "FA") else c.cell
            for out, sig in (("Sum", c.sum), ("Cout", c.cout)):
                d = lib.cell(name).pin_delays(out)
                ins = [(p, s) for p, s in (("A", c.a), ("B", c.b), ("Cin", c.cin)) if s in t and p in d]
                if ins:
                    t[sig] = max(t[s] + d[p] for p, s in ins)
    return t


@pytest.mark.parametrize("variant", ["exact", "da", "da-flat", "exact-truncate"])
def test_mac_path_is_the_chained_static_timing(variant):
    spec = variant_spec(variant)
    mult, add = unit_netlist(spec), adder_netlist(spec.fmt, False)
    tm = _independent_sta(mult, LIB)
    out_arr = [tm.get(s, 0.0) for s in mult.outputs]
    ta = _independent_sta(add, LIB, [0.0] * 32 + out_arr)
    expected = max(ta.get(s, 0.0) for s in add.outputs) + 3            # DFF D->Q = 3
    timing = mac_timing(spec, LIB)
    assert timing.mac_units == expected
    assert timing.mult_units == max(tm.get(s, 0.0) for s in mult.outputs)
    assert sum(d for _, d in timing.shares) == pytest.approx(timing.mac_units)
    assert max(timing.mult_units, timing.add_units) + 3 <= timing.mac_units
    assert timing.mac_units <= timing.mult_units + timing.add_units + 3


def test_blocks_partition_the_unit_netlist():
    spec = variant_spec("exact")
    mac = mac_cost(spec, LIB)
    net = unit_netlist(spec)
    assert mac.mult.area_um2 == pytest.approx(netlist_area(net, LIB)[1])
    assert mac.mult.transistors == netlist_area(net, LIB)[0]
    assert sum(b.delay_units for b in mac.mult.blocks) == pytest.approx(mac.mult.delay_units)
    assert [b.name for b in mac.mult.blocks] == ["significand", "unpack", "exponent", "normalise",
                                                 "round", "specials", "sign"]
    # the significand block is the array: same area as the standalone significand netlist
    assert mac.mult.block("significand").area_um2 == pytest.approx(
        netlist_area(build_netlist(spec), LIB)[1])


def test_truncating_units_have_no_incrementer_and_share_the_array():
    exact = multiplier_unit(variant_spec("exact"), LIB)
    trunc = multiplier_unit(variant_spec("exact-truncate"), LIB)
    assert trunc.block("significand").area_um2 == exact.block("significand").area_um2
    assert trunc.block("round").area_um2 < exact.block("round").area_um2 / 5
    assert trunc.delay_units < exact.delay_units


def test_accumulate_restarts_and_uses_the_wrappers_add():
    spec = variant_spec("exact")
    p = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32).view(np.uint32)
    before, after = accumulate(spec, p, 2)
    assert list(after.view(np.float32)) == [1.0, 3.0, 3.0, 7.0, 5.0]
    assert list(before.view(np.float32)) == [0.0, 1.0, 0.0, 3.0, 0.0]


def test_pe_cost_is_calibrated_and_composed():
    pe = pe_cost("exact")
    mac = mac_cost(variant_spec("exact"), LIB)
    assert pe.variant == "exact"
    assert pe.mult_energy_pj == pytest.approx(3.7)
    assert pe.add_energy_pj == pytest.approx(pe.adder_energy_pj + pe.register_energy_pj)
    assert pe.mac_delay_ns == pytest.approx(mac.timing.mac_units * 0.04)
    assert pe.transistors == mac.mult.transistors and pe.mult_area_um2 == pytest.approx(mac.mult.area_um2)
    assert "uniform" in pe.energy_source
    assert pe_cost({"base": "da"}).mult_energy_pj == pytest.approx(pe_cost("da").mult_energy_pj)


def test_ratios_do_not_depend_on_the_calibration():
    base = {v: pe_cost(v) for v in ("exact", "da", "da-flat")}
    lib2 = _library(anchor_energy_pj=7.4, ns_per_delay_unit=0.1)
    lib3 = _library(anchor_variant="da-flat", anchor_energy_pj=1.0)
    other = {v: pe_cost(v, library=lib2) for v in base}
    third = {v: pe_cost(v, library=lib3) for v in base}
    assert other["exact"].mult_energy_pj == pytest.approx(7.4)
    assert third["da-flat"].mult_energy_pj == pytest.approx(1.0)
    for v in ("da", "da-flat"):
        for costs in (other, third):
            assert (costs[v].mult_energy_pj / costs["exact"].mult_energy_pj
                    == pytest.approx(base[v].mult_energy_pj / base["exact"].mult_energy_pj))
            assert (costs[v].add_energy_pj / costs[v].mult_energy_pj
                    == pytest.approx(base[v].add_energy_pj / base[v].mult_energy_pj))
        assert (other[v].mac_delay_ns / other["exact"].mac_delay_ns
                == pytest.approx(base[v].mac_delay_ns / base["exact"].mac_delay_ns))


def test_leakage_adds_area_times_period():
    lib = _library(leakage_nw_per_um2=2.0)
    pe, base = pe_cost("exact", library=lib), pe_cost("exact")
    expected = pe.mult_area_um2 * 2.0 * pe.mac_delay_ns * 1e-6
    assert pe.mult_energy_pj - base.mult_energy_pj == pytest.approx(expected)


def test_role_breakdown_adds_up_to_the_significand_block():
    """Groups partition the significand netlist: areas/energies sum to its cost, hops to its
    path; the flat all-AMA5 array's path is AND2 + 23 buffers; da's path runs mostly in its
    exact recombination adders."""
    from archsim.cost.report import role_breakdown, significand_cost

    roles = role_breakdown(["da", "da-flat"], LIB, "uniform")
    for v in ("da", "da-flat"):
        sig = significand_cost(variant_spec(v), LIB, "uniform")
        groups = roles[v].values()
        assert sum(g["area_um2"] for g in groups) == pytest.approx(sig.area_um2)
        assert sum(g["energy_pj"] for g in groups) == pytest.approx(sig.energy_eu * pj_per_eu(LIB))
        assert sum(g["path_hops"] for g in groups) == len(analyse_timing(build_netlist(v), LIB).path)
    assert roles["da-flat"]["pp:AMA5"]["path_hops"] == 23 and roles["da-flat"]["and"]["path_hops"] == 1
    recomb = sum(g["path_hops"] for k, g in roles["da"].items() if k.startswith("recomb"))
    assert recomb > roles["da"]["pp:AMA5"]["path_hops"]


# ---- every figure back to a netlist or an ERT entry -------------------------------------------

def _block_of(role):
    return "significand" if role in ("pp", "final", "recomb") else role


def _independent_block_figures(net, a, b, lib):
    """{block: [area, energy_eu]} from the numpy table oracle's signal values and the library
    YAML read directly (not archsim.cost)."""
    v = numpy_signals(net, a, b)
    toggles = np.count_nonzero(v[:, 1:] != v[:, :-1], axis=1)
    n = a.size - 1
    out = {}

    def add(block, cell, outs):
        entry = RAW["cells"].get(cell) or RAW["gates"][cell]
        e = entry["energy_per_toggle"]
        row = out.setdefault(block, [0.0, 0.0])
        row[0] += entry["area_um2"]
        row[1] += sum(toggles[s] * e[pin] for pin, s in outs) / n

    for g in net.gates:
        add("significand", "AND2", [("Y", g.out)])
    for c in net.cells:
        name = "HA" if (c.cin == 0 and c.cell == "FA") else c.cell
        add(_block_of(c.role), name, [("Sum", c.sum), ("Cout", c.cout)])
    for g in net.logic:
        add(_block_of(g.role), g.kind, [("Q" if g.kind == "DFF" else "Y", g.out)])
    return out


def test_every_cost_figure_comes_from_a_netlist_or_the_ert(tmp_path):
    """`archsim cost exact da`: every block's area, energy and path share, every row and the
    paper comparison are recomputed here from the netlists (numpy oracle evaluation, library
    YAML read directly) and the one calibration entry (anchor_energy_pj)."""
    out = tmp_path / "c"
    assert main(["cost", "exact", "da", "--out", str(out), "--no-plot"]) == 0
    data = json.loads((out / "cost.json").read_text())
    x, y = operand_stream("uniform")
    per_variant = {}
    for name in ("exact", "da"):
        spec = variant_spec(name)
        mul = get_multiplier(spec)
        xw, yw = mul.to_bits(x), mul.to_bits(y)
        prod, _ = mul.multiply_bits(xw, yw)
        before, after = accumulate(spec, prod)
        figs = {"mult": _independent_block_figures(unit_netlist(spec), xw, yw, LIB),
                "adder": _independent_block_figures(adder_netlist(spec.fmt, False), before, prod, LIB),
                "register": _independent_block_figures(register_netlist(32), after,
                                                       np.zeros_like(after), LIB)}
        per_variant[name] = figs
    scale = RAW["calibration"]["anchor_energy_pj"] / sum(e for _, e in per_variant["exact"]["mult"].values())
    for name, figs in per_variant.items():
        blocks = {b["block"]: b for b in data["blocks"][name]}
        assert set(blocks) == set(figs["mult"]) | {"adder", "register"}
        for block, (area, energy) in figs["mult"].items():
            assert blocks[block]["area_um2"] == pytest.approx(area)
            assert blocks[block]["energy_pj"] == pytest.approx(energy * scale)
            assert f"{name}.unit" in blocks[block]["method"]
        for unit in ("adder", "register"):
            area = sum(a for a, _ in figs[unit].values())
            energy = sum(e for _, e in figs[unit].values())
            assert blocks[unit]["area_um2"] == pytest.approx(area)
            assert blocks[unit]["energy_pj"] == pytest.approx(energy * scale)
            assert "netlist" in blocks[unit]["method"]
        timing = mac_timing(variant_spec(name), LIB)
        assert sum(b["mac_path_units"] for b in blocks.values()) == pytest.approx(timing.mac_units)
        rows = {r["level"]: r for r in data["rows"] if r["variant"] == name}
        mult_e = sum(e for _, e in figs["mult"].values()) * scale
        mac_e = mult_e + sum(e for u in ("adder", "register") for _, e in figs[u].values()) * scale
        assert rows["fp_unit"]["energy_pj"] == pytest.approx(mult_e)
        assert rows["mac"]["energy_pj"] == pytest.approx(mac_e)
        ns = RAW["calibration"]["ns_per_delay_unit"]
        assert rows["mac"]["delay_ns"] == pytest.approx(timing.mac_units * ns)
        assert rows["fp_unit"]["delay_ns"] == pytest.approx(
            max(_independent_sta(unit_netlist(variant_spec(name)), LIB).values()) * ns)
        assert rows["mac"]["edp_pj_ns"] == pytest.approx(mac_e * timing.mac_units * ns)
    base = {r["level"]: r for r in data["rows"] if r["variant"] == "exact"}
    for r in data["paper_comparison"]:
        row = next(x for x in data["rows"] if x["variant"] == "da" and x["level"] == r["level"])
        key = {"delay": "delay_ns", "energy": "energy_pj", "edp": "edp_pj_ns"}[r["metric"]]
        assert r["reduction"] == pytest.approx(base[r["level"]][key] / row[key])
