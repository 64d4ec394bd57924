"""Work estimates made before anything is allocated.

The transaction-level model and the SCALE-Sim-compatible report both handle every layer in
Python per fold and build numpy index arrays of ifmap tiles and request streams. A huge layer
(10^9 filters on a 10^9 x 10^9 input) or array would spin for hours or die inside numpy; these
checks refuse it first, with one line naming the layer and the bound (README "Bounds").

Bounds (per layer):
- MAX_FOLDS array passes (each costs a few SimPy events and Python steps, ~10-50 us);
- MAX_WORK_BYTES of estimated numpy working memory (the estimate over-approximates the
  arrays the code builds: int64 index arrays and their temporaries).
"""
from __future__ import annotations

from archsim.errors import ResourceError
from archsim.sim.plan import Dataflow, LayerPlan

MAX_FOLDS = 1_000_000
MAX_LAYERS = 100_000       # layers of a workload after SCALE-Sim's depthwise expansion
MAX_WORK_BYTES = 2 << 30   # 2 GiB
MAX_FUNCTIONAL_ELEMENTS = 200_000_000  # operand and output elements of a functional layer
_INDEX_TEMPORARIES = 12    # int64 arrays alive while an ifmap tile's indices are computed


def _gib(nbytes: float) -> str:
    return f"{nbytes / (1 << 30):.3g} GiB"


def _check_folds(plan: LayerPlan, where: str) -> None:
    if plan.folds > MAX_FOLDS:
        raise ResourceError(
            f"{where}layer {plan.layer.name!r}: {plan.folds:.3g} folds on a {plan.rows}x"
            f"{plan.cols} array exceed the bound of {MAX_FOLDS:,} per layer "
            f"(GEMM {plan.layer.gemm_m}x{plan.layer.gemm_k}x{plan.layer.gemm_n})")


def _refuse(plan: LayerPlan, where: str, estimate: float) -> None:
    if estimate > MAX_WORK_BYTES:
        raise ResourceError(
            f"{where}layer {plan.layer.name!r}: needs about {_gib(estimate)} of working "
            f"memory, more than the bound of {_gib(MAX_WORK_BYTES)} (GEMM "
            f"{plan.layer.gemm_m}x{plan.layer.gemm_k}x{plan.layer.gemm_n} on a "
            f"{plan.rows}x{plan.cols} array)")


def simulation_bytes(plan: LayerPlan, memory) -> int:
    """Upper estimate of the transaction-level model's numpy memory for one layer
    (`archsim.sim.memory.fold_traffic`): the largest ifmap tile's index arrays and
    temporaries, the cached tiles (at most M x K indices in all), and the on-chip bitmap of
    a resident ifmap."""
    layer = plan.layer
    m, k = layer.gemm_m, layer.gemm_k
    tile = {Dataflow.OS: min(plan.rows, m) * k, Dataflow.WS: m * min(plan.rows, k),
            Dataflow.IS: min(plan.cols, m) * min(plan.rows, k)}[plan.dataflow]
    whole_ifmap = layer.batch * layer.channels * layer.ifmap_h * layer.ifmap_w
    half_words = memory.ifmap_sram_kib * 1024 / 2 / memory.word_bytes
    bitmap = whole_ifmap if whole_ifmap <= half_words else 0
    return 8 * _INDEX_TEMPORARIES * tile + 8 * m * k + bitmap


def check_simulation(plan: LayerPlan, memory, where: str = "") -> None:
    """ResourceError if the layer exceeds MAX_FOLDS or MAX_WORK_BYTES in the SimPy model."""
    _check_folds(plan, where)
    _refuse(plan, where, simulation_bytes(plan, memory))


def scalesim_bytes(plan: LayerPlan) -> int:
    """Upper estimate of the SCALE-Sim-compatible report's numpy memory for one layer: a
    fold's request streams (lanes x (T + R + C) cycles, int64 time and key arrays with their
    temporaries), the per-word bitmaps of the ifmap and filter, and the GEMM index tables."""
    layer = plan.layer
    lanes = max(plan.rows, plan.cols)
    stream = lanes * (plan.t + plan.rows + plan.cols)
    key_space = (layer.batch * layer.channels * layer.ifmap_h * layer.ifmap_w
                 + layer.gemm_k * layer.gemm_n)
    return 8 * _INDEX_TEMPORARIES * stream + 2 * key_space + 6 * 8 * (layer.gemm_m
                                                                      + layer.gemm_k)


def check_scalesim(plan: LayerPlan, where: str = "") -> None:
    """ResourceError if the layer exceeds MAX_FOLDS or MAX_WORK_BYTES in the SCALE-Sim report."""
    _check_folds(plan, where)
    _refuse(plan, where, scalesim_bytes(plan))


def check_functional(layer, samples: int, where: str = "") -> None:
    """ResourceError if functional mode would hold more than MAX_FUNCTIONAL_ELEMENTS operand
    and output elements for one layer (im2col input, weights, outputs)."""
    m = layer.gemm_m // max(layer.batch, 1) * samples
    elements = m * layer.gemm_k + layer.gemm_k * layer.gemm_n + m * layer.gemm_n
    if elements > MAX_FUNCTIONAL_ELEMENTS:
        raise ResourceError(
            f"{where}layer {layer.name!r}: functional mode would hold {elements:.3g} operand "
            f"elements, more than the bound of {MAX_FUNCTIONAL_ELEMENTS:.3g}; drop the "
            f"`functional` section or lower functional.samples")
