"""SimPy transaction-level accelerator: array, double-buffered SRAMs, one DRAM channel.

Per layer, a fresh `simpy.Environment` runs three processes that share the buffers:
prefetch (fills the free input half with the next fold's tiles over DRAM; spilled partial
sums are read back only after the previous row fold's drain has written them), compute (waits
for a filled half and a free ofmap half, runs the fold, releases the input half) and drain
(writes finished ofmap tiles to DRAM, then frees their half). Stalls emerge when a prefetch
or drain takes longer than a fold. Total = fill (before the first fold) + compute + stalls
+ drain tail (after the last fold). Results are timing plus action counts keyed by
(component, action); pricing them is `archsim.energy`'s job.
"""
from __future__ import annotations

from dataclasses import dataclass

import simpy

from archsim.sim.array import SystolicArray
from archsim.sim.limits import check_simulation
from archsim.sim.memory import DoubleBuffer, DramChannel, fold_traffic
from archsim.sim.plan import Dataflow, LayerPlan, plan_layer
from archsim.workloads import Layer, Workload


@dataclass(frozen=True)
class LayerResult:
    """Timing and action counts of one layer; cycles are exact integers."""
    plan: LayerPlan
    total_cycles: int
    compute_cycles: int  # cycles the array computes (the plan's closed form unless overlapped
    #                      loading had to wait for a late tile)
    fill_cycles: int
    stall_cycles: int
    drain_cycles: int
    oversize_tiles: int
    counts: tuple[tuple[tuple[str, str], int], ...]  # sorted ((component, action), count)

    @property
    def utilisation(self) -> float:
        """MACs / (total cycles x R x C), stalls included."""
        return self.plan.macs / (self.total_cycles * self.plan.rows * self.plan.cols)

    def count_map(self) -> dict[tuple[str, str], int]:
        """The action counts as a dict."""
        return dict(self.counts)


@dataclass(frozen=True)
class WorkloadResult:
    """Per-layer results of a workload, in layer order."""
    workload: Workload
    layers: tuple[LayerResult, ...]

    @property
    def total_cycles(self) -> int:
        """Layers run back to back (no inter-layer overlap)."""
        return sum(r.total_cycles for r in self.layers)


def _exposed_load(plan: LayerPlan, now: int, ready_at: int, previous_start) -> int:
    """Load cycles of this fold's stationary tile not hidden by overlapped loading: the
    shadow load starts once the tile is on chip and the previous fold has begun, and takes R
    cycles; whatever of it runs past `now` delays the fold."""
    if not plan.overlap_stationary_load or previous_start is None:
        return plan.load_cycles
    return max(0, max(ready_at, previous_start) + plan.load_cycles - now)


class Accelerator:
    """The accelerator running one layer: components plus its three processes, started here.

    `env` is a fresh environment; `plan` the layer's fold plan; `memory` the MemoryConfig.
    """

    def __init__(self, env: simpy.Environment, plan: LayerPlan, memory):
        self.env, self.plan, self.memory = env, plan, memory
        self.traffic = list(fold_traffic(plan, memory))
        self.array, self.dram = SystolicArray(env, plan), DramChannel(env, memory)
        self.inputs, self.outputs = DoubleBuffer(env, "inputs"), DoubleBuffer(env, "ofmap")
        self._ready, self._to_drain = simpy.Store(env), simpy.Store(env)
        # drained[f] fires when fold f's ofmap write to DRAM has finished: a fold that reads
        # spilled partial sums back (psum_in_words) must not read them before that
        self._drained = [env.event() for _ in self.traffic]
        self.fill_cycles = self.stall_cycles = self.compute_end = 0
        env.process(self._prefetch())
        env.process(self._compute())
        env.process(self._drain())

    def _prefetch(self):
        for index, fold in enumerate(self.traffic):
            yield self.inputs.free.get(1)
            words = fold.ifmap_words + fold.filter_words
            if words:  # one DRAM transaction for the fold's input tiles
                yield from self.dram.read(words * self.memory.word_bytes)
            if fold.psum_in_words:
                # read-after-write: the previous row fold's partial sums (fold index - 1,
                # row folds are the inner loop) must be in DRAM before they are read back
                yield self._drained[index - 1]
                yield from self.dram.read(fold.psum_in_words * self.memory.word_bytes)
            yield self._ready.put(self.env.now)  # when the fold's inputs are on chip

    def _compute(self):
        env, previous_start = self.env, None
        for fold, moved in zip(self.plan.iter_folds(), self.traffic):
            waited_from = env.now
            ready_at = yield self._ready.get()
            if moved.opens_ofmap_tile:
                yield self.outputs.free.get(1)
            if fold.index == 0:
                self.fill_cycles = env.now - waited_from
            else:
                self.stall_cycles += env.now - waited_from
            exposed = _exposed_load(self.plan, env.now, ready_at, previous_start)
            previous_start = env.now
            yield from self.array.run_fold(fold, exposed)
            yield self.inputs.free.put(1)
            if moved.ofmap_words:
                yield self._to_drain.put((fold.index, moved.ofmap_words * self.memory.word_bytes))
        self.compute_end = env.now
        yield self._to_drain.put(None)

    def _drain(self):
        while True:
            item = yield self._to_drain.get()
            if item is None:
                return
            index, nbytes = item
            yield from self.dram.write(nbytes)
            self._drained[index].succeed()
            yield self.outputs.free.put(1)

    def counts(self) -> dict:
        """Action counts keyed by (component, action)."""
        plan, traffic = self.plan, self.traffic
        m_n = plan.layer.gemm_m * plan.layer.gemm_n
        accumulate_reads = 0 if plan.dataflow is Dataflow.OS else (plan.row_folds - 1) * m_n
        return {
            ("pe", "multiply"): self.array.macs, ("pe", "add"): self.array.macs,
            ("ifmap_sram", "read"): plan.ifmap_sram_reads,
            ("ifmap_sram", "write"): sum(t.ifmap_words for t in traffic),
            ("filter_sram", "read"): plan.filter_sram_reads,
            ("filter_sram", "write"): sum(t.filter_words for t in traffic),
            ("ofmap_sram", "write"): plan.ofmap_sram_writes + sum(t.psum_in_words for t in traffic),
            ("ofmap_sram", "read"): sum(t.ofmap_words for t in traffic) + accumulate_reads,
            ("dram", "read"): self.dram.read_bytes, ("dram", "write"): self.dram.write_bytes,
        }


def _plan(layer: Layer, array_config) -> LayerPlan:
    return plan_layer(layer, array_config.rows, array_config.cols, array_config.dataflow,
                      overlap_stationary_load=array_config.overlap_stationary_load)


def simulate_layer(layer: Layer, array_config, memory) -> LayerResult:
    """Simulate one layer on a fresh SimPy environment (ArrayConfig, MemoryConfig)."""
    plan = _plan(layer, array_config)
    check_simulation(plan, memory)
    env = simpy.Environment()
    acc = Accelerator(env, plan, memory)
    env.run()
    total = int(env.now)
    return LayerResult(plan, total, acc.array.busy_cycles, int(acc.fill_cycles),
                       int(acc.stall_cycles), total - int(acc.compute_end),
                       sum(t.oversize_tiles for t in acc.traffic),
                       tuple(sorted(acc.counts().items())))


def simulate_workload(workload: Workload, array_config, memory, progress: bool = False
                      ) -> WorkloadResult:
    """Simulate every layer (a fresh environment each); progress on stderr if asked. Every
    layer's work is estimated first (`archsim.sim.limits`): too large a layer is refused
    before any is simulated."""
    layers = workload.layers
    for layer in layers:
        check_simulation(_plan(layer, array_config), memory, f"workload {workload.name!r}: ")
    if progress:
        from archsim.progress import steps
        layers = steps(layers, f"simulating {workload.name}", len(layers), "layer",
                       label=lambda layer: layer.name)
    return WorkloadResult(workload, tuple(simulate_layer(l, array_config, memory) for l in layers))
