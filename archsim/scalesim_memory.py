"""SCALE-Sim's CALC-mode ofmap write buffer, as closed-form events (for `archsim.scalesim_compat`).

SCALE-Sim (v2, PyPI 3.0.0) stores each ofmap word the array writes into a buffer of
`total = ofmap KiB * 1024` one-byte words, grouped in lines of `C` words (the array width, its
CALC-mode drain bandwidth). When more than `half = total / 2` words are outstanding and no drain
is in flight, it closes the current (possibly partial) line and drains the next
`ceil(half / C)` lines, one per cycle from the current cycle; the words drained are credited
back, a partial line counting as full unless it is the last of its drain. After the last
compute cycle everything left drains, batch after batch. Its DRAM OFMAP report gives the first
and last drain cycles and the words drained.

Only the number of ofmap words written in each cycle matters, and that is periodic per fold
shape, so the events are found by binary search over cumulative counts: no per-word loop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archsim.sim.plan import LayerPlan


@dataclass(frozen=True)
class WriteCounts:
    """Cumulative ofmap writes per demand cycle of a layer, stored per fold shape."""
    fold_cycles: int
    fold_start: np.ndarray      # words written before each fold (fold issue order)
    fold_shape: np.ndarray      # index into `local` of each fold
    local: tuple                # per shape: words written before each cycle of the fold (+ total)
    total: int

    def before_cycle(self, cycle: int) -> int:
        """Words written in cycles [0, cycle)."""
        fold, offset = divmod(cycle, self.fold_cycles)
        if fold >= len(self.fold_start):
            return self.total
        return int(self.fold_start[fold] + self.local[self.fold_shape[fold]][offset])

    def cycle_of(self, word: int) -> int:
        """The cycle in which the word with 0-based index `word` is written."""
        fold = int(np.searchsorted(self.fold_start, word, side="right")) - 1
        local = self.local[self.fold_shape[fold]]
        offset = int(np.searchsorted(local, word - self.fold_start[fold], side="right")) - 1
        return fold * self.fold_cycles + offset


def write_counts(plan: LayerPlan, ofmap_times) -> WriteCounts:
    """Build the counts from `ofmap_times(plan, row_fold, col_fold)` (cycles of one fold's
    ofmap writes within the fold); folds differ only by their used rows and columns."""
    index = np.arange(plan.folds)
    col_fold, row_fold = np.divmod(index, plan.row_folds)
    # shape code: bit 0 = last row fold (partial rows), bit 1 = last column fold
    code = (row_fold == plan.row_folds - 1) + 2 * (col_fold == plan.col_folds - 1)
    local, slot = [], np.zeros(4, dtype=np.int64)
    for c in np.unique(code):
        first = int(np.flatnonzero(code == c)[0])
        times = ofmap_times(plan, int(row_fold[first]), int(col_fold[first]))
        per_cycle = np.bincount(times, minlength=plan.cycles_per_fold)
        slot[c] = len(local)
        local.append(np.concatenate(([0], np.cumsum(per_cycle))))
    fold_shape = slot[code]
    fold_total = np.array([cum[-1] for cum in local])[fold_shape]
    fold_start = np.concatenate(([0], np.cumsum(fold_total)[:-1]))
    return WriteCounts(plan.cycles_per_fold, fold_start, fold_shape, tuple(local),
                       int(fold_total.sum()))


def ofmap_drains(counts: WriteCounts, cols: int, sram_kib: int, last_cycle: int):
    """(first drain cycle, last drain cycle, words drained, stall_possible)."""
    half = sram_kib * 1024 - math.ceil(sram_kib * 1024 * 0.5)
    batch = math.ceil(half / cols)
    state = {"lines": 0, "partial": {}, "closed": 0, "next": 0, "credited": 0, "words": 0}
    cycles, stall, drain_end = [], False, 0

    def close_lines(upto: int) -> None:          # lines formed by words [closed, upto)
        full, rest = divmod(upto - state["closed"], cols)
        state["lines"] += full
        if rest:
            state["partial"][state["lines"]] = rest
            state["lines"] += 1
        state["closed"] = upto

    def drain(start_cycle: int) -> int:
        n = min(batch, state["lines"] - state["next"])
        last = state["next"] + n - 1
        words = n * cols - (cols - state["partial"].get(last, cols))
        state["words"] += words
        state["credited"] += words
        state["next"] += n
        cycles.extend((start_cycle, start_cycle + n - 1))
        return start_cycle + n - 1

    while True:
        word = max(state["credited"] + half, counts.before_cycle(drain_end))
        if word >= counts.total:
            break
        cycle = counts.cycle_of(word)
        close_lines(word + 1)
        drain_end = drain(cycle)
        stall |= counts.before_cycle(drain_end) - state["credited"] >= sram_kib * 1024
    close_lines(counts.total)
    cycle = last_cycle
    while state["next"] < state["lines"]:
        cycle = drain(cycle) + 1
    return float(min(cycles)), float(max(cycles)), state["words"], stall
