"""Simulating a workload whose layers may be grouped (depthwise/grouped convs, batched
activation matmuls), with identical layers simulated once.

A layer of G groups runs its G independent GEMMs one after another on the array, each like
an ungrouped layer of one group's channels and filters (its own fill, folds and drain: one
fresh SimPy environment per group, as `simulate_workload` runs layers back to back). Its
result is one group's simulated G times: cycles and action counts times G, with the grouped
layer's plan. A layer whose geometry was already simulated (ResNet's repeated blocks, the
groups of one layer) reuses that result: the SimPy model is a pure function of the layer's
geometry, the array and the memory.
"""
from __future__ import annotations

from dataclasses import replace

from archsim.sim.accelerator import LayerResult, WorkloadResult, simulate_layer
from archsim.sim.limits import check_simulation
from archsim.sim.plan import plan_layer
from archsim.workloads import Layer, Workload


def _grouped(layer: Layer, one: LayerResult, array_config) -> LayerResult:
    g = layer.groups
    plan = plan_layer(layer, array_config.rows, array_config.cols, array_config.dataflow,
                      overlap_stationary_load=array_config.overlap_stationary_load)
    return LayerResult(plan, g * one.total_cycles, g * one.compute_cycles, g * one.fill_cycles,
                       g * one.stall_cycles, g * one.drain_cycles, g * one.oversize_tiles,
                       tuple((key, g * count) for key, count in one.counts))


def simulate_network(workload: Workload, array_config, memory, progress: bool = False
                     ) -> WorkloadResult:
    """Per-layer results in layer order (ungrouped layers exactly as `simulate_layer`)."""
    layers = workload.layers
    for layer in layers:  # every layer's work estimated first: too large is refused up front
        unit = layer.group_layer()
        check_simulation(plan_layer(unit, array_config.rows, array_config.cols,
                                    array_config.dataflow), memory,
                         f"workload {workload.name!r}: ")
    if progress:
        from archsim.progress import steps
        layers = steps(layers, f"simulating {workload.name}", len(layers), "layer",
                       label=lambda layer: layer.name)
    seen: dict[Layer, LayerResult] = {}
    results = []
    for layer in layers:
        unit = layer.group_layer()
        key = replace(unit, name="")
        if key not in seen:
            seen[key] = simulate_layer(unit, array_config, memory)
        one = seen[key]
        if layer.groups == 1:
            results.append(replace(one, plan=replace(one.plan, layer=layer)))
        else:
            results.append(_grouped(layer, one, array_config))
    return WorkloadResult(workload, tuple(results))
