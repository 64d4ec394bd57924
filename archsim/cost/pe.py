"""Cost of a processing element for a multiplier variant (the interface the simulator uses).

A PE is multiplier -> accumulation adder -> accumulator register, each a netlist
(archsim_core.fp_unit) priced by archsim.cost.fp_unit on the operand stream the PE sees:
the multiplier on (first operand, second operand) words, the adder on (accumulator, product),
the register on the stored sums. Streams: a named distribution (`uniform` [-1, 1] by default,
one long accumulation), or operand pairs recorded from a workload (`mac_cost_from_words`, with
the reduction length that resets the accumulator).

Absolute units: the library's single anchor, calibration.anchor_energy_pj (default 3.7 pJ,
Horowitz ISSCC 2014), is the energy of the anchor variant's FP multiplier (default `exact`)
on the default stream; every ratio is a ratio of library units and does not depend on it.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from archsim_core.variants import VariantSpec, resolve_variant

from archsim.cost.fp_unit import (MacTiming, UnitCost, adder_unit_cost, mac_timing,
                                  multiplier_unit_cost, register_cost)
from archsim.cost.library import CellLibrary, resolve_library
from archsim.cost.power import DEFAULT_N_OPS, DEFAULT_SEED, DEFAULT_STREAM, operand_stream
from archsim.errors import SpecError


@dataclass(frozen=True)
class PECost:
    """Per-operation energy, delay and area of one PE. `add_energy_pj` is one accumulate:
    the adder plus the register write (`adder_energy_pj` + `register_energy_pj`)."""

    variant: str
    mult_energy_pj: float
    add_energy_pj: float
    mult_delay_ns: float
    add_delay_ns: float
    mac_delay_ns: float      # multiplier -> adder -> register critical path: the clock a PE allows
    mult_area_um2: float
    transistors: int         # of the whole FP multiplier unit
    adder_energy_pj: float = 0.0
    register_energy_pj: float = 0.0
    adder_area_um2: float = 0.0
    register_area_um2: float = 0.0
    energy_source: str = ""  # which operand stream the toggle energies were counted on
    mult_energy_se_pj: float = 0.0   # sampling standard errors (sampled workload streams)
    add_energy_se_pj: float = 0.0


@dataclass(frozen=True)
class MacCost:
    """The three netlists of a PE priced on one operand stream (library units)."""

    mult: UnitCost
    adder: UnitCost
    register: UnitCost
    timing: MacTiming
    source: str

    @property
    def energy_eu(self) -> float:
        """Energy of one MAC (multiply + add + register write)."""
        return self.mult.energy_eu + self.adder.energy_eu + self.register.energy_eu


def variant_spec(variant) -> VariantSpec:
    """The resolved VariantSpec of a name, spec mapping or VariantSpec (SpecError if bad)."""
    if isinstance(variant, Mapping):
        return resolve_variant(dict(variant))
    return resolve_variant(variant)


def accumulate(spec, products: np.ndarray, k_len: int | None = None):
    """(accumulator before, accumulator after) word streams of a PE summing `products` in
    order, restarting from +0 every `k_len` products (None: one accumulation), with the
    variant's accumulator addition (the FP wrapper's `add_bits`)."""
    from archsim_core.multiplier import get_multiplier

    mul = get_multiplier(spec)
    p = np.ascontiguousarray(products, dtype=mul.bits_dtype)
    n = p.size
    k = n if not k_len else int(k_len)
    rows = -(-n // k)
    grid = np.zeros(rows * k, mul.bits_dtype)
    grid[:n] = p
    grid = grid.reshape(rows, k)
    before = np.zeros_like(grid)
    after = np.zeros_like(grid)
    acc = np.zeros(rows, mul.bits_dtype)
    for j in range(k):
        before[:, j] = acc
        acc = mul.add_bits(acc, grid[:, j])
        after[:, j] = acc
    return before.reshape(-1)[:n], after.reshape(-1)[:n]


def mac_cost_from_words(spec, lib: CellLibrary, x_words, y_words, k_len: int | None = None,
                        source: str = "recorded operands") -> MacCost:
    """Price the PE's netlists on recorded operand words (first operand = activation)."""
    from archsim_core.multiplier import get_multiplier

    mul = get_multiplier(spec)
    xw = np.ascontiguousarray(x_words, dtype=mul.bits_dtype)
    yw = np.ascontiguousarray(y_words, dtype=mul.bits_dtype)
    if xw.shape != yw.shape or xw.ndim != 1 or xw.size < 2:
        raise SpecError(f"{source}: operand streams must be 1-D, of equal length >= 2")
    products, _ = mul.multiply_bits(xw, yw)
    before, after = accumulate(spec, products, k_len)
    return MacCost(multiplier_unit_cost(spec, lib, xw, yw),
                   adder_unit_cost(spec, lib, before, products),
                   register_cost(spec, lib, after), mac_timing(spec, lib), source)


@functools.lru_cache(maxsize=256)
def mac_cost(spec: VariantSpec, lib: CellLibrary, stream: str = DEFAULT_STREAM,
             n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED) -> MacCost:
    """The PE of a resolved variant on a named operand stream (cached)."""
    from archsim_core.multiplier import get_multiplier

    x, y = operand_stream(stream, n_ops, seed)
    mul = get_multiplier(spec)
    return mac_cost_from_words(spec, lib, mul.to_bits(x), mul.to_bits(y), None,
                               f"stream {stream} ({n_ops} pairs, seed {seed}, one accumulation)")


def multiplier_unit(spec: VariantSpec, lib: CellLibrary, stream: str = DEFAULT_STREAM,
                    n_ops: int = DEFAULT_N_OPS, seed: int = DEFAULT_SEED) -> UnitCost:
    """The FP multiplier unit of a resolved variant in library units (cached)."""
    return mac_cost(spec, lib, stream, n_ops, seed).mult


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
    """PECost of a variant (name, spec mapping or VariantSpec) on a named stream; cached."""
    return _pe_cost(variant_spec(variant), resolve_library(library), stream)


@functools.lru_cache(maxsize=256)
def _pe_cost(spec: VariantSpec, lib: CellLibrary, stream: str) -> PECost:
    return pe_cost_from(spec, lib, mac_cost(spec, lib, stream))


def pe_cost_from(spec, lib: CellLibrary, mac: MacCost) -> PECost:
    """PECost of a priced MAC: energies calibrated to pJ, delays from the MAC timing."""
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    mac_ns = mac.timing.mac_units * ns
    mult = mac.mult.energy_eu * scale + leakage_pj(mac.mult.area_um2, mac_ns, lib)
    adder = mac.adder.energy_eu * scale + leakage_pj(mac.adder.area_um2, mac_ns, lib)
    reg = mac.register.energy_eu * scale + leakage_pj(mac.register.area_um2, mac_ns, lib)
    return PECost(variant=spec.name, mult_energy_pj=mult, add_energy_pj=adder + reg,
                  mult_delay_ns=mac.timing.mult_units * ns, add_delay_ns=mac.timing.add_units * ns,
                  mac_delay_ns=mac_ns, mult_area_um2=mac.mult.area_um2,
                  transistors=mac.mult.transistors, adder_energy_pj=adder, register_energy_pj=reg,
                  adder_area_um2=mac.adder.area_um2, register_area_um2=mac.register.area_um2,
                  energy_source=mac.source)


def pe_cost_workload(spec, lib: CellLibrary, energy) -> PECost:
    """PECost from sampled workload energies (archsim.cost.operands.WorkloadEnergy): MAC-
    weighted mean energies per operation with their standard errors; delays and areas from
    the netlists (they do not depend on the operands)."""
    base = mac_cost(spec, lib)
    scale, ns = pj_per_eu(lib), lib.ns_per_delay_unit
    mac_ns = base.timing.mac_units * ns
    mult = energy.mult_eu * scale + leakage_pj(base.mult.area_um2, mac_ns, lib)
    adder = energy.adder_eu * scale + leakage_pj(base.adder.area_um2, mac_ns, lib)
    reg = energy.register_eu * scale + leakage_pj(base.register.area_um2, mac_ns, lib)
    add_se = (energy.adder_se ** 2 + energy.register_se ** 2) ** 0.5 * scale
    return PECost(variant=spec.name, mult_energy_pj=mult, add_energy_pj=adder + reg,
                  mult_delay_ns=base.timing.mult_units * ns,
                  add_delay_ns=base.timing.add_units * ns, mac_delay_ns=mac_ns,
                  mult_area_um2=base.mult.area_um2, transistors=base.mult.transistors,
                  adder_energy_pj=adder, register_energy_pj=reg,
                  adder_area_um2=base.adder.area_um2, register_area_um2=base.register.area_um2,
                  energy_source=energy.source, mult_energy_se_pj=energy.mult_se * scale,
                  add_energy_se_pj=add_se)
