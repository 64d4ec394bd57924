"""A run: simulate a resolved Config once, then cost it for every PE variant.

Timing in cycles does not depend on the multiplier function, only on the PE's word sizes:
the SimPy model runs once per distinct set of word sizes (FP variants share one, int8
variants another: 1-byte operands, 4-byte partial sums, archsim.sim.precision); each variant
then sets the clock (fixed, or 1 / its MAC delay) and the MAC energies (its `pe_cost`, or the
int8 PE's netlists for integer variants, archsim.int8_mac). `run_config` is a pure function
of the Config, so runs can be distributed and their results merged.
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim.config import ClockMode, Config
from archsim.energy import action_energies_pj, energy_by_action_pj
from archsim.sim.accelerator import LayerResult, WorkloadResult
from archsim.sim.grouped import simulate_network
from archsim.sim.vector import time_vector_ops


@dataclass(frozen=True)
class VariantCost:
    """Cost of the simulated workload on PEs of one multiplier variant."""
    label: str
    pe: object                      # archsim.cost.pe.PECost
    clock_mhz: float
    prices_pj: tuple                # sorted ((component, action), pJ per action)
    layer_energy_pj: tuple          # per layer: sorted ((component, action), pJ)
    sim: WorkloadResult | None = None  # this variant's simulation (None: RunResult.sim)

    def layer_latency_s(self, layer: LayerResult) -> float:
        """Latency of one layer at this variant's clock."""
        return layer.total_cycles / (self.clock_mhz * 1e6)

    def layer_total_pj(self, index: int) -> float:
        """Energy of layer `index`, all actions."""
        return sum(pj for _, pj in self.layer_energy_pj[index])


@dataclass(frozen=True)
class RunResult:
    """Simulation (variant-independent) plus one VariantCost per configured variant;
    `vector` times the non-GEMM operators when the config has a vector unit."""
    config: Config
    sim: WorkloadResult
    variants: tuple[VariantCost, ...]
    vector: tuple = ()  # archsim.sim.vector.VectorResult per vector-unit operator

    @property
    def vector_cycles(self) -> int:
        """Cycles of the vector-unit operators (run after the array layers' data is out)."""
        return sum(v.total_cycles for v in self.vector)


def clock_mhz(config: Config, pe) -> float:
    """The clock: fixed, or the PE's critical path (multiplier + adder + register)."""
    if config.clock.mode is ClockMode.FIXED:
        return config.clock.clock_mhz
    return 1000.0 / pe.mac_delay_ns


def variant_pe_cost(config: Config, spec):
    """The PECost of a variant: FP variants under the config's `cost` section
    (archsim.cost.operands), integer ones (int8, ...) from their 8x8 multiplier and int32 adder
    netlists on the int8 operand stream (archsim.int8_mac; the `cost` section does not apply)."""
    from archsim_core.int8 import is_int_variant

    if is_int_variant(spec):
        from archsim.int8_mac import int8_pe_cost
        return int8_pe_cost(spec)
    from archsim.cost.operands import pe_cost_for_config
    return pe_cost_for_config(config, spec)


def cost_variant(config: Config, sim: WorkloadResult, label: str, spec,
                 memory=None, pe=None) -> VariantCost:
    """Price every layer's action counts for one PE variant. `memory` is the MemoryConfig
    `sim` was simulated with (default config.memory); run_config passes the variant's own
    (archsim.sim.precision.memory_for_variant: int8 word sizes for integer variants). `pe`:
    the variant's PECost if already known (a sweep computes it once for all its points)."""
    pe = variant_pe_cost(config, spec) if pe is None else pe
    prices = action_energies_pj(config.energy, config.memory if memory is None else memory, pe)
    per_layer = tuple(tuple(sorted(energy_by_action_pj(layer.count_map(), prices).items()))
                      for layer in sim.layers)
    return VariantCost(label, pe, clock_mhz(config, pe), tuple(sorted(prices.items())),
                       per_layer, sim)


def run_config(config: Config, progress: bool = False) -> RunResult:
    """Simulate the workload once per distinct PE word-size set and cost every variant (the
    PE costs first: a bad `cost` section fails before the simulation prints anything).
    RunResult.sim is the first (baseline) variant's simulation."""
    from archsim.sim.precision import memory_for_variant

    for v in config.variants:
        variant_pe_cost(config, v.spec)
    sims: dict = {}
    costs = []
    for v in config.variants:
        memory = memory_for_variant(config.memory, v.spec)
        if memory not in sims:
            sims[memory] = simulate_network(config.workload, config.array, memory,
                                            progress=progress)
        costs.append(cost_variant(config, sims[memory], v.label, v.spec, memory))
    vector = () if config.vector is None else time_vector_ops(
        config.workload.operators, config.vector, config.memory)
    return RunResult(config, costs[0].sim, tuple(costs), vector)
