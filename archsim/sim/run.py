"""A run: simulate a resolved Config once, then cost it for every PE variant.

Timing in cycles does not depend on the multiplier (every variant is one PE of the same
array), so the SimPy model runs once; each variant then sets the clock (fixed, or
1 / its MAC delay) and the MAC energies (its `pe_cost`). `run_config` is a pure function of
the Config, so runs can be distributed and their results merged.
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


def cost_variant(config: Config, sim: WorkloadResult, label: str, spec) -> VariantCost:
    """Price every layer's action counts for one PE variant."""
    from archsim.cost.operands import pe_cost_for_config

    pe = pe_cost_for_config(config, spec)
    prices = action_energies_pj(config.energy, config.memory, pe)
    per_layer = tuple(tuple(sorted(energy_by_action_pj(layer.count_map(), prices).items()))
                      for layer in sim.layers)
    return VariantCost(label, pe, clock_mhz(config, pe), tuple(sorted(prices.items())),
                       per_layer)


def run_config(config: Config, progress: bool = False) -> RunResult:
    """Simulate the workload once and cost it for every configured PE variant (the PE costs
    first: a bad `cost` section fails before the simulation prints anything)."""
    from archsim.cost.operands import pe_cost_for_config

    for v in config.variants:
        pe_cost_for_config(config, v.spec)
    sim = simulate_network(config.workload, config.array, config.memory, progress=progress)
    costs = tuple(cost_variant(config, sim, v.label, v.spec) for v in config.variants)
    vector = () if config.vector is None else time_vector_ops(
        config.workload.operators, config.vector, config.memory)
    return RunResult(config, sim, costs, vector)
