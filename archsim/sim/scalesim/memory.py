"""SCALE-Sim's CALC-mode DRAM traffic model, reproduced without its per-word loops.

Write buffer. SCALE-Sim (v2, PyPI 3.0.0) stores each ofmap word the array writes into a buffer of
`total = ofmap KiB * 1024` one-byte words, grouped in lines of `C` words (the array width, its
CALC-mode drain bandwidth). When more than `half = total / 2` words are outstanding and no drain
is in flight, it closes the current (possibly partial) line and drains the next
`ceil(half / C)` lines, one per cycle from the current cycle; the words drained are credited
back, a partial line counting as full unless it is the last of its drain. After the last
compute cycle everything left drains, batch after batch. Its DRAM OFMAP report gives the first
and last drain cycles and the words drained.

Only the number of ofmap words written in each cycle matters, and that is periodic per fold
shape, so the events are found by binary search over cumulative counts: no per-word loop.

Read buffers (ifmap, filter) past their window. SCALE-Sim groups newly requested words in sets
of 1/100 of the SRAM; when the 50th set of the active half fills, the window moves to sets
not yet filled, so everything held is forgotten: in effect it fetches the requests that miss
in "epochs" of 50 sets' worth of distinct words. The request stream is rebuilt in its order
(cycle, then array lane) per fold; a miss is a word's first request since its epoch began.
"""
from __future__ import annotations

import functools
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
    row_fold, col_fold, _, _ = plan.fold_grid()
    # shape code: bit 0 = last row fold (partial rows), bit 1 = last column fold
    code = (row_fold == plan.row_folds - 1) + 2 * (col_fold == plan.col_folds - 1)
    local, slot = [], np.zeros(4, dtype=np.int64)
    for c in np.flatnonzero(np.bincount(code, minlength=4)):  # (np.unique imports numpy.ma)
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


@functools.lru_cache(maxsize=8)
def _skew_order(t: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(time, lane * t + step) of a skewed T x width stream in SCALE-Sim's request order:
    lane c starts c cycles late; within a cycle, lanes in increasing order."""
    times = np.arange(t + width - 1)
    low = np.maximum(0, times - t + 1)                  # first lane busy at each time
    count = np.minimum(width - 1, times) - low + 1
    time = np.repeat(times, count)
    first = np.repeat(np.cumsum(count) - count, count)
    lane = np.arange(time.size) - first + np.repeat(low, count)
    return time, lane * t + (time - lane)


def read_stream(plan: LayerPlan, operand: str, row_fold: int, col_fold: int, key_of):
    """(cycle within the fold, key) of one fold's ifmap or filter SRAM reads, in SCALE-Sim's
    request order; `key_of(m, k, n)` names the word (one of m/n is None; arrays broadcast),
    -1 = no word."""
    rows, cols = plan.rows, plan.cols
    ru, cu = plan.used_rows(row_fold), plan.used_cols(col_fold)
    df = plan.dataflow.value
    stationary = (df, operand) in (("ws", "filter"), ("is", "ifmap"))
    if stationary:  # tile rows shift in last-used-row first, one row per cycle
        j, c = np.divmod(np.arange(ru * cu), cu)
        k = row_fold * rows + (ru - 1 - j)
        other = col_fold * cols + c
        time = rows - ru + j
        keys = key_of(other, k, None) if operand == "ifmap" else key_of(None, k, other)
        return time, keys
    width = ru if (df, operand) != ("os", "filter") else cu
    time, cell = _skew_order(plan.t, width)
    step = np.arange(plan.t)[None, :]           # the words of every (lane, step), then
    if df == "os":                              # gathered in request order
        lane = np.arange(width)[:, None]
        table = (key_of(row_fold * rows + lane, step, None) if operand == "ifmap"
                 else key_of(None, step, col_fold * cols + lane))
        return time, np.broadcast_to(table, (width, plan.t)).ravel()[cell]
    k = row_fold * rows + np.arange(width)[:, None]  # ws/is: lanes are K, rows load first
    table = key_of(step, k, None) if operand == "ifmap" else key_of(None, k, step)
    return rows + time, np.broadcast_to(table, (width, plan.t)).ravel()[cell]


def _first_requests(keys: np.ndarray, key_space: int) -> np.ndarray:
    """Indices of the requests whose word was not requested before them in `keys`."""
    index = np.arange(keys.size)
    first = np.full(key_space, keys.size)
    np.minimum.at(first, keys, index)  # each word's first request
    return np.flatnonzero(first[keys] == index)


def _tile_segment(plan: LayerPlan, operand: str, col_fold: int, key_of):
    """(cycle in the layer, key) of all row folds of one column fold of a stationary operand
    (ws filter, is ifmap), built at once: each fold's tile loads last-used-row first."""
    rows, cols, folds = plan.rows, plan.cols, plan.row_folds
    cu = plan.used_cols(col_fold)
    full = folds if plan.sr % rows == 0 else folds - 1
    j, c = np.divmod(np.arange(rows * cu), cu)
    row_fold = np.arange(full)[:, None]
    k = (row_fold * rows + (rows - 1 - j)[None, :]).ravel()
    other = np.broadcast_to(col_fold * cols + c, (full, rows * cu)).ravel()
    time = ((col_fold * folds + row_fold) * plan.cycles_per_fold + j[None, :]).ravel()
    keys = key_of(other, k, None) if operand == "ifmap" else key_of(None, k, other)
    if full < folds:  # the partly filled last row fold
        t_last, k_last = read_stream(plan, operand, folds - 1, col_fold, key_of)
        time = np.concatenate((time, (col_fold * folds + folds - 1) * plan.cycles_per_fold
                               + t_last))
        keys = np.concatenate((keys, k_last))
    return time, keys


def _segment(time: np.ndarray, keys: np.ndarray, operand: str, key_space: int) -> tuple:
    """(time, keys, indices of the words' first requests (None: every request is one), their
    keys) of the valid requests. A segment never requests a filter word
    twice: each fold reads its own (k, n) block once."""
    valid = keys >= 0
    time, keys = time[valid], keys[valid]
    if operand == "filter":
        return time, keys, None, keys
    firsts = _first_requests(keys, key_space)
    return time, keys, firsts, keys[firsts]


def _segments(plan: LayerPlan, operand: str, key_of, key_space: int):
    """The layer's requests of `operand` in SCALE-Sim's order, as (first cycle, *`_segment`)
    segments (request i's cycle is the first cycle + cycle[i]): one per column fold for a
    stationary operand, else one per fold (streams that repeat from one fold to another are
    built once)."""
    df = plan.dataflow.value
    if (df, operand) in (("ws", "filter"), ("is", "ifmap")):
        for col_fold in range(plan.col_folds):
            yield (0, *_segment(*_tile_segment(plan, operand, col_fold, key_of), operand,
                                key_space))
        return
    by_col = (df, operand) == ("os", "filter")  # else the stream depends on the row fold
    cache: dict = {}
    for index in range(plan.folds):
        row_fold, col_fold = plan.fold_position(index)
        sid = col_fold if by_col else row_fold
        if sid not in cache:
            cache[sid] = _segment(*read_stream(plan, operand, row_fold, col_fold, key_of),
                                  operand, key_space)
        yield (index * plan.cycles_per_fold, *cache[sid])


def _fresh_misses(keys: np.ndarray, unique: bool, start: int, want: int,
                  key_space: int) -> np.ndarray:
    """Indices i >= start of requests whose word was not requested in [start, i) (the misses
    of an epoch starting at `start`): the first `want` or more of them, or all there are
    (`unique`: every request is one). Scanned in growing chunks, as an epoch usually ends
    long before its segment does."""
    if unique:
        return np.arange(start, min(keys.size, start + want))
    taken = np.zeros(key_space, dtype=bool)   # words requested in earlier chunks
    found, count = [], 0
    begin, chunk = start, max(2 * want, 1 << 16)
    while begin < keys.size and count < want:
        part = keys[begin:begin + chunk]
        hits = _first_requests(part, key_space)
        hits = hits[~taken[part[hits]]]
        taken[part[hits]] = True
        found.append(begin + hits)
        count += hits.size
        begin, chunk = begin + chunk, 2 * chunk
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def read_refills(plan: LayerPlan, operand: str, key_of, key_space: int, per_set: int,
                 active_sets: int):
    """SCALE-Sim's CALC read buffer past its window: each "epoch" fetches `active_sets *
    per_set` distinct new words, then forgets everything it held (its active window moves on
    to sets not yet filled). Returns (words fetched, cycle of the last epoch's end or None)."""
    epoch = active_sets * per_set
    seen = np.zeros(key_space, dtype=bool)   # words fetched in the current epoch
    in_epoch = fetched = 0
    last_end = None
    for offset, time, keys, firsts, first_keys in _segments(plan, operand, key_of, key_space):
        # the epoch running when the segment starts: a miss is a word's first request in
        # the segment that the epoch has not fetched yet
        new = ~seen[first_keys]
        misses = np.flatnonzero(new) if firsts is None else firsts[new]
        while True:
            need = epoch - in_epoch
            if misses.size < need:  # the epoch goes on past this segment
                seen[keys[misses]] = True
                in_epoch += misses.size
                fetched += misses.size
                break
            end = int(misses[need - 1])
            fetched += need
            last_end = offset + int(time[end])
            seen[:] = False
            in_epoch = 0
            misses = _fresh_misses(keys, firsts is None, end + 1, epoch, key_space)
    return fetched, last_end
