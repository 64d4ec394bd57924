"""Cycle-by-cycle reference model of the systolic array (numpy; small shapes only).

Every cycle, operands shift one PE right or down, each PE multiplies what it holds and
accumulates, and counters record when the last PE of the full R x C array has seen all its
operands. It exists to prove the closed forms of `archsim.sim.plan` (cycles per fold) and the
accumulation orders of `archsim.sim.functional` by brute force, never for real workloads.

Arithmetic: products go through `multiply(x, w)` (first operand always the ifmap element, as
in `Multiplier.matmul`); sums are the dtype's IEEE adds. An accumulator starts at its first
product (no add to zero). Unused PEs of a partly filled fold still pass data along (the fold
takes as long as a full one) but do not touch the values.
OS: PE (i, j) sums its K products in increasing k.  WS / IS: a column sums one fold's R
products in increasing k from top to bottom; the fold's partial sum is then added to the
ofmap accumulator (fold results summed in increasing row-fold order).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from archsim.sim.plan import Dataflow

Multiply = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ReferenceResult:
    """Total cycles (all folds, no stalls) and the GEMM output [M, N]."""
    cycles: int
    output: np.ndarray


def _accumulate(acc, have, mask, products):
    """acc[mask] += products, where an empty accumulator takes the product itself."""
    acc[mask] = np.where(have[mask], acc[mask] + products, products)
    have[mask] = True


def _shift_right(val, ok, column_val, column_ok):
    val[:, 1:], ok[:, 1:] = val[:, :-1].copy(), ok[:, :-1].copy()
    val[:, 0], ok[:, 0] = column_val, column_ok


def _skewed(block: np.ndarray, step: int, lanes: int, length: int, dtype):
    """Lane i receives block[i, step - i] (zero-padded beyond the block's lanes)."""
    e = step - np.arange(lanes)
    ok = (e >= 0) & (e < length)
    val = np.zeros(lanes, dtype=dtype)
    idx = np.nonzero(ok & (np.arange(lanes) < block.shape[0]))[0]
    val[idx] = block[idx, e[idx]]
    return val, ok


def os_fold(xb: np.ndarray, wb: np.ndarray, rows: int, cols: int, multiply: Multiply):
    """One output-stationary fold: xb [mr, K] from the left, wb [K, nc] from the top."""
    k_len, dtype = xb.shape[1], xb.dtype
    a_val, a_ok = np.zeros((rows, cols), dtype), np.zeros((rows, cols), bool)
    b_val, b_ok = np.zeros((rows, cols), dtype), np.zeros((rows, cols), bool)
    acc, have = np.zeros((rows, cols), dtype), np.zeros((rows, cols), bool)
    used = np.zeros((rows, cols), bool)
    used[:xb.shape[0], :wb.shape[1]] = True
    seen = np.zeros((rows, cols), np.int64)
    cycle = 0
    while seen[-1, -1] < k_len:
        _shift_right(a_val, a_ok, *_skewed(xb, cycle, rows, k_len, dtype))
        col_val, col_ok = _skewed(wb.T, cycle, cols, k_len, dtype)
        b_val[1:], b_ok[1:] = b_val[:-1].copy(), b_ok[:-1].copy()
        b_val[0], b_ok[0] = col_val, col_ok
        live = a_ok & b_ok
        seen += live
        mask = live & used
        _accumulate(acc, have, mask, multiply(a_val[mask], b_val[mask]))
        cycle += 1
    return cycle, acc[:xb.shape[0], :wb.shape[1]]


def _padded(stat: np.ndarray, rows: int, cols: int) -> np.ndarray:
    padded = np.zeros((rows, cols), stat.dtype)
    padded[:stat.shape[0], :stat.shape[1]] = stat
    return padded


def _shift_in_row(regs: np.ndarray, tile: np.ndarray, step: int) -> None:
    """One load cycle: registers shift down a row, the tile's rows enter last row first."""
    regs[1:] = regs[:-1].copy()
    regs[0] = tile[regs.shape[0] - 1 - step]


def stationary_fold(stream: np.ndarray, stat: np.ndarray, rows: int, cols: int,
                    multiply: Multiply, stationary_first: bool,
                    preloaded: np.ndarray | None = None, next_stat: np.ndarray | None = None):
    """One WS/IS fold: `stat` [kr, cc] shifted in from the top over R cycles (none if
    `preloaded`: the previous fold's shadow registers), then `stream` [T, kr] enters skewed from
    the left; partial sums flow down. With `next_stat`, the next fold's tile shifts into the
    shadow registers meanwhile. Returns (cycles, [T, cc], shadow registers or None)."""
    t_len, dtype = stream.shape[0], stream.dtype
    kr, cc = stat.shape
    if preloaded is not None:  # loaded into the shadow registers during the previous fold
        held, load_cycles = preloaded, 0
    else:
        held, load_cycles = np.zeros((rows, cols), dtype), rows
        padded = _padded(stat, rows, cols)
        for step in range(load_cycles):
            _shift_in_row(held, padded, step)
    shadow = None if next_stat is None else np.zeros((rows, cols), dtype)
    upcoming = None if next_stat is None else _padded(next_stat, rows, cols)
    used = np.zeros((rows, cols), bool)
    used[:kr, :cc] = True
    a_val, a_ok = np.zeros((rows, cols), dtype), np.zeros((rows, cols), bool)
    ps_val, ps_have = np.zeros((rows, cols), dtype), np.zeros((rows, cols), bool)
    seen = np.zeros((rows, cols), np.int64)
    out = np.zeros((t_len, cc), dtype)
    step = 0
    while seen[-1, -1] < t_len or (shadow is not None and step < rows):
        if shadow is not None and step < rows:
            _shift_in_row(shadow, upcoming, step)
        _shift_right(a_val, a_ok, *_skewed(stream.T, step, rows, t_len, dtype))
        ps_val[1:], ps_have[1:] = ps_val[:-1].copy(), ps_have[:-1].copy()  # sums move down
        ps_val[0], ps_have[0] = 0, False
        seen += a_ok
        mask = a_ok & used
        pair = (held[mask], a_val[mask]) if stationary_first else (a_val[mask], held[mask])
        _accumulate(ps_val, ps_have, mask, multiply(*pair))
        for c in np.nonzero(a_ok[-1, :cc])[0]:  # a finished column sum leaves the bottom
            out[step - (rows - 1) - c, c] = ps_val[-1, c]
        step += 1
    return load_cycles + step, out, shadow


def _blocks(total: int, size: int):
    return [slice(i, min(i + size, total)) for i in range(0, total, size)]


def _stationary_folds(x, w, rows, cols, dataflow):
    """(stream, stationary tile, stationary-first, output target, transpose) per fold."""
    spatial = w.shape[1] if dataflow is Dataflow.WS else x.shape[0]
    for cb in _blocks(spatial, cols):
        for kb in _blocks(x.shape[1], rows):
            if dataflow is Dataflow.WS:
                yield x[:, kb], w[kb, cb], False, (slice(None), cb), kb.start == 0, False
            else:
                yield w[kb, :].T, x[cb, kb].T, True, (cb, slice(None)), kb.start == 0, True


def simulate_gemm(x: np.ndarray, w: np.ndarray, rows: int, cols: int,
                  dataflow: Dataflow | str, multiply: Multiply = np.multiply,
                  overlap_stationary_load: bool = False) -> ReferenceResult:
    """Run X[M,K] @ W[K,N] through an R x C array fold by fold (column fold outer).

    With `overlap_stationary_load` (WS/IS), each fold's tile is shifted into shadow
    registers during the previous fold, so only the first fold spends R load cycles.
    """
    dataflow = Dataflow(dataflow)
    out = np.zeros((x.shape[0], w.shape[1]), np.result_type(x, w))
    cycles = 0
    if dataflow is Dataflow.OS:
        for nb in _blocks(w.shape[1], cols):
            for mb in _blocks(x.shape[0], rows):
                fold_cycles, out[mb, nb] = os_fold(x[mb], w[:, nb], rows, cols, multiply)
                cycles += fold_cycles
        return ReferenceResult(cycles, out)
    folds = list(_stationary_folds(x, w, rows, cols, dataflow))
    shadow = None
    for i, (stream, stat, stat_first, target, first_k, transpose) in enumerate(folds):
        ahead = folds[i + 1][1] if overlap_stationary_load and i + 1 < len(folds) else None
        fold_cycles, part, shadow = stationary_fold(stream, stat, rows, cols, multiply,
                                                    stat_first, shadow, ahead)
        part = part.T if transpose else part
        out[target] = part if first_k else out[target] + part
        cycles += fold_cycles
    return ReferenceResult(cycles, out)
