"""Pure per-layer mapping plan: folds, cycles and SRAM access counts (SPEC-sim §2-§4).

Closed forms of SCALE-Sim v2's systolic-array model, proved step by step by the cycle-by-cycle
reference model in `archsim.sim.reference`. Nothing here simulates time or memory contention;
that is the SimPy model's job (`archsim.sim.accelerator`).
"""
from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass

from archsim.errors import ConfigError
from archsim.workloads import Layer


class Dataflow(enum.Enum):
    """Which GEMM operand stays in the PEs."""
    OS = "os"  # outputs stationary: rows hold M, cols hold N, K streams
    WS = "ws"  # weights stationary: rows hold K, cols hold N, M streams
    IS = "is"  # inputs stationary: rows hold K, cols hold M, N streams


def spatial_dims(layer: Layer, dataflow: Dataflow) -> tuple[int, int, int]:
    """(Sr, Sc, T): GEMM extents mapped on array rows, array columns, and streamed in time."""
    m, k, n = layer.gemm_m, layer.gemm_k, layer.gemm_n
    return {Dataflow.OS: (m, n, k), Dataflow.WS: (k, n, m), Dataflow.IS: (k, m, n)}[dataflow]


@dataclass(frozen=True)
class Fold:
    """One pass of the array: which block of Sr x Sc it holds and how much of it is used."""
    index: int
    row_fold: int
    col_fold: int
    used_rows: int
    used_cols: int


@dataclass(frozen=True)
class LayerPlan:
    """Mapping of one layer on an R x C array; counts are exact integers."""
    layer: Layer
    rows: int
    cols: int
    dataflow: Dataflow
    sr: int
    sc: int
    t: int
    row_folds: int
    col_folds: int
    cycles_per_fold: int
    ifmap_sram_reads: int
    filter_sram_reads: int
    ofmap_sram_writes: int
    overlap_stationary_load: bool = False

    @property
    def groups(self) -> int:
        """Independent GEMMs of the layer (grouped/depthwise convs, batched matmuls); each
        runs its own row_folds x col_folds folds, one group after another."""
        return self.layer.groups

    @property
    def folds(self) -> int:
        """Number of array passes (all groups)."""
        return self.groups * self.row_folds * self.col_folds

    @property
    def load_cycles(self) -> int:
        """Cycles a WS/IS fold spends shifting its stationary tile in (0 for OS)."""
        return 0 if self.dataflow is Dataflow.OS else self.rows

    @property
    def compute_cycles(self) -> int:
        """True cycle count with no stalls: folds x cycles per fold; with overlapped loading
        only the first fold (of each group) pays the R-cycle load (later tiles are ready in time)."""
        if self.overlap_stationary_load:  # each group starts with an exposed load
            return self.folds * (self.cycles_per_fold - self.load_cycles) \
                + self.groups * self.load_cycles
        return self.folds * self.cycles_per_fold

    @property
    def scalesim_cycles(self) -> int:
        """SCALE-Sim's reported total (the 0-based index of its last cycle); SCALE-Sim has
        no overlapped loading, so this compares with it only when that option is off."""
        return self.compute_cycles - 1

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates."""
        return self.layer.macs

    @property
    def utilisation(self) -> float:
        """MACs / (cycles x R x C)."""
        return self.macs / (self.compute_cycles * self.rows * self.cols)

    @property
    def mapping_efficiency(self) -> float:
        """Unweighted mean over folds of used PEs / (R x C) (SCALE-Sim's definition).

        The used rows summed over row folds are Sr, the used columns over column folds Sc,
        so the mean is Sr*Sc / (folds*R*C) (per group; every group maps alike).
        """
        return self.sr * self.sc * self.groups / (self.folds * self.rows * self.cols)

    # The one fold geometry (bounds and issue order); the SimPy model, the DRAM reuse model
    # and the SCALE-Sim-compatible reports all use these.
    def used_rows(self, row_fold: int) -> int:
        """Array rows the row fold occupies (the last one may be partial)."""
        return min(self.rows, self.sr - row_fold * self.rows)

    def used_cols(self, col_fold: int) -> int:
        """Array columns the column fold occupies (the last one may be partial)."""
        return min(self.cols, self.sc - col_fold * self.cols)

    def fold_position(self, index: int) -> tuple[int, int]:
        """(row fold, column fold) of the fold issued `index`-th: column fold outer, row
        fold inner (SPEC-sim §2)."""
        col_fold, row_fold = divmod(index, self.row_folds)
        return row_fold, col_fold

    def fold_grid(self):
        """numpy arrays (row fold, column fold, used rows, used columns) of every fold of one
        group, in issue order."""
        import numpy as np

        col_fold, row_fold = np.divmod(np.arange(self.row_folds * self.col_folds),
                                       self.row_folds)
        used_rows = np.minimum(self.rows, self.sr - row_fold * self.rows)
        used_cols = np.minimum(self.cols, self.sc - col_fold * self.cols)
        return row_fold, col_fold, used_rows, used_cols

    def iter_folds(self) -> Iterator[Fold]:
        """Folds of one group in issue order: column fold outer, row fold inner (SPEC-sim
        §2); a grouped layer repeats them once per group (see `archsim.sim.grouped`)."""
        for index in range(self.row_folds * self.col_folds):
            row_fold, col_fold = self.fold_position(index)
            yield Fold(index, row_fold, col_fold, self.used_rows(row_fold),
                       self.used_cols(col_fold))


def cycles_per_fold(rows: int, cols: int, t: int, dataflow: Dataflow) -> int:
    """Cycles of one fold on the full array (partly filled folds take as long).

    OS: the last operand pair reaches PE (R-1, C-1) after T + (R-1) + (C-1) cycles.
    WS/IS: R cycles shift the stationary tile in, then the last streamed element leaves the
    bottom of the last column after T + (R-1) + (C-1) more; no overlap between folds.
    """
    if dataflow is Dataflow.OS:
        return t + rows + cols - 2
    return 2 * rows + cols + t - 2


def plan_layer(layer: Layer, rows: int, cols: int, dataflow: Dataflow | str, *,
               overlap_stationary_load: bool = False) -> LayerPlan:
    """The fold plan, compute cycles and SRAM access counts of `layer` (SPEC-sim §3-§4).

    `overlap_stationary_load` (beyond SCALE-Sim, off by default): WS/IS stationary tiles are
    double-buffered in the PEs, so a fold's R-cycle load runs during the previous fold.
    A grouped layer's extents are one group's; its folds and SRAM reads count all groups.
    """
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"array.{name}: must be a positive integer, got {value!r}")
    dataflow = Dataflow(dataflow)
    sr, sc, t = spatial_dims(layer, dataflow)
    row_folds, col_folds = math.ceil(sr / rows), math.ceil(sc / cols)
    m, k, n = layer.gemm_m, layer.gemm_k, layer.gemm_n
    if dataflow is Dataflow.OS:
        reads = (m * k * col_folds, k * n * row_folds, m * n)
    elif dataflow is Dataflow.WS:
        reads = (m * k * col_folds, k * n, row_folds * m * n)
    else:
        reads = (m * k, k * n * col_folds, row_folds * m * n)
    reads = tuple(layer.groups * count for count in reads)  # every group reads alike
    return LayerPlan(layer, rows, cols, dataflow, sr, sc, t, row_folds, col_folds,
                     cycles_per_fold(rows, cols, t, dataflow), *reads,
                     overlap_stationary_load=overlap_stationary_load)
