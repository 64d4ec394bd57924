"""Memory side of the accelerator: the DRAM reuse model (pure) and SimPy memory components.

DRAM reuse model (SPEC-sim §4), per operand:
- A fold needs one tile of each input operand (OS: the ifmap tile is its block of output
  pixels x all of K, the filter tile all of K x its block of filters; WS: filter tile = the
  fold's K x N block, ifmap tile = all M x its K block; IS: ifmap tile = the fold's K x M
  block, filter tile = its K block x all N).
- If the whole operand fits in half its SRAM (the other half is the prefetch buffer), every
  element is fetched once and kept (compulsory traffic only; overlapping ifmap tiles fetch
  only their new elements). Otherwise a tile is fetched again
  whenever it differs from the previous fold's (only back-to-back reuse survives).
- An ifmap fetch moves the unique ifmap elements the tile touches (im2col duplicates and
  zero padding are made on chip, not fetched); filters have no duplicates.
- Outputs: OS drains each fold's finished R x C block. WS/IS accumulate a column fold's
  partial sums over its row folds in the ofmap SRAM and drain once at the column fold's end
  if that tile fits in half the ofmap SRAM; otherwise every row fold spills its partial sums
  to DRAM and the next row fold reads them back (the read-back is part of its prefetch, a
  separate DRAM read issued only once the previous row fold's drain has written them).
Tiles larger than their half-SRAM are counted as streamed through (same bytes; timing as one
transfer) and reported as `oversize_tiles`.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import simpy

from archsim.sim.plan import Dataflow, LayerPlan


@dataclass(frozen=True)
class FoldTraffic:
    """DRAM words moved around one fold."""
    ifmap_words: int      # fetched into the ifmap SRAM before the fold
    filter_words: int     # fetched into the filter SRAM before the fold
    psum_in_words: int    # spilled partial sums read back before the fold
    ofmap_words: int      # written to DRAM after the fold (0 while a tile keeps accumulating)
    opens_ofmap_tile: bool  # the fold starts a new ofmap tile (needs a free ofmap half)
    oversize_tiles: int   # input tiles of this fold larger than their half-SRAM


def unique_ifmap_words(plan: LayerPlan, m_range: range, k_range: range) -> int:
    """Distinct real (non-padding) ifmap elements read by GEMM rows m_range, columns k_range."""
    return int(ifmap_tile_elements(plan, m_range, k_range).size)


def ifmap_tile_elements(plan: LayerPlan, m_range: range, k_range: range) -> np.ndarray:
    """Sorted flat (n, c, h, w) indices of the real ifmap elements of a GEMM tile.

    Column k is filter tap (c, r, s) with k = (c*R + r)*S + s (archsim_core's im2col order).
    """
    layer = plan.layer
    e_f = layer.ofmap_h * layer.ofmap_w
    m = np.arange(m_range.start, m_range.stop, dtype=np.int64)[:, None]
    k = np.arange(k_range.start, k_range.stop, dtype=np.int64)[None, :]
    n, e, f = m // e_f, (m % e_f) // layer.ofmap_w, m % layer.ofmap_w
    c = k // (layer.filter_h * layer.filter_w)
    r, s = (k // layer.filter_w) % layer.filter_h, k % layer.filter_w
    pad = 0 if layer.partial_window else layer.padding
    h, w = e * layer.stride + r - pad, f * layer.stride + s - pad
    inside = (h >= 0) & (h < layer.ifmap_h) & (w >= 0) & (w < layer.ifmap_w)
    flat = ((n * layer.channels + c) * layer.ifmap_h + h) * layer.ifmap_w + w
    return np.unique(flat[inside])


def _tile_ranges(plan: LayerPlan, fold) -> tuple[tuple, tuple, int]:
    """((ifmap tile id, m range, k range), (filter tile id, words), ofmap tile words)."""
    rows, cols = plan.rows, plan.cols
    m_len, k_len, n_len = plan.layer.gemm_m, plan.layer.gemm_k, plan.layer.gemm_n
    r0, c0 = fold.row_fold * rows, fold.col_fold * cols
    rr, cr = range(r0, r0 + fold.used_rows), range(c0, c0 + fold.used_cols)
    if plan.dataflow is Dataflow.OS:
        return ((fold.row_fold, rr, range(k_len)), (fold.col_fold, k_len * len(cr)),
                len(rr) * len(cr))
    if plan.dataflow is Dataflow.WS:
        return ((fold.row_fold, range(m_len), rr), ((fold.row_fold, fold.col_fold),
                len(rr) * len(cr)), m_len * len(cr))
    return (((fold.row_fold, fold.col_fold), cr, rr), (fold.row_fold, len(rr) * n_len),
            len(cr) * n_len)


def fold_traffic(plan: LayerPlan, memory) -> Iterator[FoldTraffic]:
    """DRAM traffic of every fold in issue order under the reuse model above."""
    half_words = {name: getattr(memory, f"{name}_sram_kib") * 1024 / 2 / memory.word_bytes
                  for name in ("ifmap", "filter", "ofmap")}
    layer = plan.layer
    whole_ifmap = layer.batch * layer.channels * layer.ifmap_h * layer.ifmap_w
    resident = {"ifmap": whole_ifmap <= half_words["ifmap"],
                "filter": layer.gemm_k * layer.gemm_n <= half_words["filter"]}
    fetched: dict[str, set] = {"ifmap": set(), "filter": set()}
    previous: dict[str, object] = {"ifmap": None, "filter": None}
    on_chip = np.zeros(whole_ifmap if resident["ifmap"] else 0, dtype=bool)
    elements_of: dict = {}
    for fold in plan.iter_folds():
        (if_id, m_rng, k_rng), (fi_id, fi_words), of_words = _tile_ranges(plan, fold)
        if if_id not in elements_of:
            elements_of[if_id] = ifmap_tile_elements(plan, m_rng, k_rng)
        words = {"ifmap": elements_of[if_id].size, "filter": fi_words}
        moved = {}
        for name, tile_id in (("ifmap", if_id), ("filter", fi_id)):
            again = tile_id in fetched[name] if resident[name] else tile_id == previous[name]
            moved[name] = 0 if again else words[name]
            fetched[name].add(tile_id)
            previous[name] = tile_id
        if resident["ifmap"] and moved["ifmap"]:  # fetch only elements not yet on chip
            tile = elements_of[if_id]
            moved["ifmap"] = int(np.count_nonzero(~on_chip[tile]))
            on_chip[tile] = True
        oversize = sum(words[n] > half_words[n] for n in ("ifmap", "filter"))
        yield _with_outputs(plan, fold, moved, of_words, half_words["ofmap"], oversize)


def _with_outputs(plan, fold, moved, of_words, ofmap_half_words, oversize) -> FoldTraffic:
    if plan.dataflow is Dataflow.OS or plan.row_folds == 1:
        return FoldTraffic(moved["ifmap"], moved["filter"], 0, of_words, True,
                           oversize + (of_words > ofmap_half_words))
    last = fold.row_fold == plan.row_folds - 1
    if of_words <= ofmap_half_words:  # partial sums stay on chip until the last row fold
        return FoldTraffic(moved["ifmap"], moved["filter"], 0, of_words if last else 0,
                           fold.row_fold == 0, oversize)
    psum_in = of_words if fold.row_fold > 0 else 0
    return FoldTraffic(moved["ifmap"], moved["filter"], psum_in, of_words, True, oversize + 1)


class DramChannel:
    """One DRAM channel shared by all transfers (FIFO).

    A transfer holds the channel for ceil(bytes / bandwidth) cycles; read data is usable
    `dram_latency_cycles` after its last byte (the latency overlaps other transfers); writes
    are posted (done when the channel is released).
    """

    def __init__(self, env: simpy.Environment, memory):
        self.env = env
        self.memory = memory
        self._port = simpy.Resource(env, capacity=1)
        self.read_bytes = 0
        self.write_bytes = 0

    def _occupy(self, nbytes: int):
        with self._port.request() as request:
            yield request
            yield self.env.timeout(math.ceil(nbytes / self.memory.dram_bandwidth_bytes_per_cycle))

    def read(self, nbytes: int):
        """Process: read `nbytes` from DRAM."""
        yield from self._occupy(nbytes)
        yield self.env.timeout(self.memory.dram_latency_cycles)
        self.read_bytes += nbytes

    def write(self, nbytes: int):
        """Process: write `nbytes` to DRAM."""
        yield from self._occupy(nbytes)
        self.write_bytes += nbytes


class DoubleBuffer:
    """The two halves of a double-buffered SRAM: one in use by the array, one being filled
    (inputs) or drained (outputs). `free` holds the number of halves available."""

    def __init__(self, env: simpy.Environment, name: str):
        self.name = name
        self.free = simpy.Container(env, capacity=2, init=2)
