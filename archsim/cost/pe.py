"""Cost of a processing element for a multiplier variant (the interface the simulator uses).

`pe_cost(variant)` = the whole FP multiplier of the variant (significand netlist + FP wrapper,
archsim.cost.fp_unit) and the PE's FP32 adder, calibrated to absolute units by the library's
single anchor: the anchor variant's FP multiplier (default `exact`) on the default operand
stream costs `anchor_energy_pj` (default 3.7 pJ, Horowitz ISSCC 2014). Every ratio between
variants is a ratio of library units and does not depend on the anchor.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from archsim_core.formats import FP32
from archsim_core.variants import VariantSpec, build_netlist, resolve_variant

from archsim.cost.fp_unit import UnitCost, fp_adder_unit, fp_multiplier_unit
from archsim.cost.library import CellLibrary, resolve_library
from archsim.cost.power import DEFAULT_N_OPS, DEFAULT_SEED, DEFAULT_STREAM, operand_stream


@dataclass(frozen=True)
class PECost:
    """Per-operation energy, delay and area of one PE."""

    variant: str
    mult_energy_pj: float
    add_energy_pj: float
    mult_delay_ns: float
    add_delay_ns: float
    mac_delay_ns: float      # multiplier + adder + register overhead: the clock period a PE allows
    mult_area_um2: float
    transistors: int         # of the whole FP multiplier unit


def variant_spec(variant) -> VariantSpec:
    """The resolved VariantSpec of a name, spec mapping or VariantSpec (SpecError if bad)."""
    if isinstance(variant, Mapping):
        return resolve_variant(dict(variant))
    return resolve_variant(variant)


@functools.lru_cache(maxsize=256)
def multiplier_unit(spec: VariantSpec, lib: CellLibrary, stream: str = DEFAULT_STREAM,
                    n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED) -> UnitCost:
    """The FP multiplier unit of a resolved variant in library units (cached)."""
    x, y = operand_stream(stream, n_ops, seed)
    return fp_multiplier_unit(spec, build_netlist(spec), lib, x, y)


@functools.lru_cache(maxsize=8)
def adder_unit(lib: CellLibrary) -> UnitCost:
    """The PE's FP32 accumulation adder in library units (cached)."""
    return fp_adder_unit(lib, FP32)


@functools.lru_cache(maxsize=8)
def pj_per_eu(lib: CellLibrary) -> float:
    """Calibration: pJ per library energy unit, from the anchor variant on the default stream."""
    anchor = multiplier_unit(variant_spec(lib.anchor_variant), lib)
    return lib.anchor_energy_pj / anchor.energy_eu


def leakage_pj(area_um2: float, period_ns: float, lib: CellLibrary) -> float:
    """Leakage energy over one clock period (0 when the library gives no leakage figure)."""
    if lib.leakage_nw_per_um2 is None:
        return 0.0
    return area_um2 * lib.leakage_nw_per_um2 * period_ns * 1e-6   # nW x ns = 1e-6 pJ


def pe_cost(variant, *, library=None, stream: str = DEFAULT_STREAM) -> PECost:
    """PECost of a variant (name, spec mapping or VariantSpec); deterministic and cached."""
    return _pe_cost(variant_spec(variant), resolve_library(library), stream)


@functools.lru_cache(maxsize=256)
def _pe_cost(spec: VariantSpec, lib: CellLibrary, stream: str) -> PECost:
    mult = multiplier_unit(spec, lib, stream)
    add = adder_unit(lib)
    scale = pj_per_eu(lib)
    ns = lib.ns_per_delay_unit
    overhead = lib.cell("DFF").max_delay
    mac_ns = (mult.delay_units + add.delay_units + overhead) * ns
    return PECost(
        variant=spec.name,
        mult_energy_pj=mult.energy_eu * scale + leakage_pj(mult.area_um2, mac_ns, lib),
        add_energy_pj=add.energy_eu * scale + leakage_pj(add.area_um2, mac_ns, lib),
        mult_delay_ns=mult.delay_units * ns,
        add_delay_ns=add.delay_units * ns,
        mac_delay_ns=mac_ns,
        mult_area_um2=mult.area_um2,
        transistors=mult.transistors)
