"""Whole FP units and the PE cost: composition, hand-derived delays, calibration independence."""
import copy

import pytest
import yaml
from archsim_core.variants import build_netlist

from archsim.cost.library import DEFAULT_LIBRARY_PATH, library_from_mapping, load_library
from archsim.cost.fp_unit import exponent_netlist
from archsim.cost.pe import multiplier_unit, pe_cost, variant_spec
from archsim.cost.timing import analyse_timing

LIB = load_library()
RAW = yaml.safe_load(DEFAULT_LIBRARY_PATH.read_text(encoding="utf-8"))


def _library(**calibration):
    data = copy.deepcopy(RAW)
    data["calibration"].update(calibration)
    return library_from_mapping(data, "variant.yaml")


def test_exponent_netlist_exhaustive():
    """ea + eb - bias modulo 2^(e+2), for every pair of 5-bit exponents (fp16)."""
    net = exponent_netlist(5, 15)
    for ea in range(32):
        for eb in range(32):
            assert net.evaluate(ea, eb) == (ea + eb - 15) % (1 << 7)


def test_exact_fp32_multiplier_delay_by_hand():
    """exact (rne, ieee): subnormal pre-normaliser ceil(log2 24) = 5 x (OR2 1 + MUX2 2) = 15,
    significand array 8*24 - 14 = 178, normaliser 2:1 MUX = 2, rounder (sticky OR tree over
    21 bits 5 + decision OR 1 + incrementer AND prefix 1 + 5 + XOR 2 + renormalise MUX 2) = 16,
    special-value muxes 2 x 2 = 4: 15 + 178 + 2 + 16 + 4 = 215. Exponent path (22) is shorter."""
    unit = multiplier_unit(variant_spec("exact"), LIB)
    assert unit.block("significand").delay_units == 178
    assert unit.block("exponent").delay_units < 178
    assert unit.delay_units == 215
    assert unit.area_um2 == pytest.approx(sum(b.area_um2 for b in unit.blocks))


def test_truncating_units_have_no_rounder_and_share_the_wrapper():
    exact = multiplier_unit(variant_spec("exact"), LIB)
    trunc = multiplier_unit(variant_spec("exact-truncate"), LIB)
    assert "rounder" not in [b.name for b in trunc.blocks]
    assert trunc.block("significand") == exact.block("significand")
    assert trunc.delay_units == exact.delay_units - exact.block("rounder").delay_units


def test_da_normaliser_selects_among_three_positions():
    """The da product can reach 2^48 (49 bits), so the leading one is at 46, 47 or 48."""
    assert build_netlist("da").n_outputs == 49
    da, exact = multiplier_unit(variant_spec("da"), LIB), multiplier_unit(variant_spec("exact-truncate"), LIB)
    assert da.block("normaliser").delay_units == 2 * exact.block("normaliser").delay_units


def test_pe_cost_is_calibrated_and_composed():
    pe = pe_cost("exact")
    assert pe.variant == "exact"
    assert pe.mult_energy_pj == pytest.approx(3.7)
    unit = multiplier_unit(variant_spec("exact"), LIB)
    assert pe.mult_delay_ns == pytest.approx(unit.delay_units * 0.04)
    assert pe.mac_delay_ns == pytest.approx(pe.mult_delay_ns + pe.add_delay_ns + 3 * 0.04)
    assert pe.transistors == unit.transistors and pe.mult_area_um2 == pytest.approx(unit.area_um2)
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
        assert (other[v].mult_delay_ns / other["exact"].mult_delay_ns
                == pytest.approx(base[v].mult_delay_ns / base["exact"].mult_delay_ns))


def test_leakage_adds_area_times_period():
    lib = _library(leakage_nw_per_um2=2.0)
    pe, base = pe_cost("exact", library=lib), pe_cost("exact")
    expected = pe.mult_area_um2 * 2.0 * pe.mac_delay_ns * 1e-6
    assert pe.mult_energy_pj - base.mult_energy_pj == pytest.approx(expected)
    assert analyse_timing(build_netlist("exact"), lib).delay_units == 178


def test_role_breakdown_adds_up_to_the_significand_block():
    """Groups partition the netlist: areas/energies sum to the block, hops to the path; the
    flat all-AMA5 array's path is AND2 + 23 buffers; da's path runs mostly in its exact
    recombination adders."""
    from archsim.cost.pe import pj_per_eu
    from archsim.cost.report import role_breakdown

    roles = role_breakdown(["da", "da-flat"], LIB, "uniform")
    for v in ("da", "da-flat"):
        sig = multiplier_unit(variant_spec(v), LIB).block("significand")
        groups = roles[v].values()
        assert sum(g["area_um2"] for g in groups) == pytest.approx(sig.area_um2)
        assert sum(g["energy_pj"] for g in groups) == pytest.approx(sig.energy_eu * pj_per_eu(LIB))
        assert sum(g["path_hops"] for g in groups) == len(analyse_timing(build_netlist(v), LIB).path)
    assert roles["da-flat"]["pp:AMA5"]["path_hops"] == 23 and roles["da-flat"]["and"]["path_hops"] == 1
    recomb = sum(g["path_hops"] for k, g in roles["da"].items() if k.startswith("recomb"))
    assert recomb > roles["da"]["pp:AMA5"]["path_hops"]
