"""Functional mode (SPEC-sim §6): a layer's outputs as the array computes them.

Every product goes through the PE's multiplier (`Multiplier.multiply_bits`, ifmap operand
first) and every sum through the format's IEEE adder (`Multiplier.add_bits`), in the order
the dataflow's hardware adds:
- OS: PE (i, j) accumulates its K products in increasing k, starting from the first product
  -> equal bit for bit to `Multiplier.matmul`.
- WS / IS: the K dimension is split into row folds of R taps. Within a fold a column adds
  its R products top to bottom (increasing k, from the first product); the fold's partial
  sum is then added to the ofmap accumulator, so out = (...((s_0 + s_1) + s_2) ...) with s_f
  the sum of fold f (the order of `archsim.sim.reference`). Equal to OS when K <= R.
Bias is added last. Vectorised over outputs; a Python loop runs over k only.
"""
from __future__ import annotations

import numpy as np

from archsim.errors import WorkloadError
from archsim.sim.plan import Dataflow
from archsim.workloads import Layer, LayerKind


def _sequential_sum(m, xb: np.ndarray, wb: np.ndarray, ks: range, bad: np.ndarray):
    """Bits of sum over k in `ks` (increasing, from the first product) of x[:, k] * w[k, :]."""
    shape = (xb.shape[0], wb.shape[1])
    acc = None
    for k in ks:
        prod, flagged = m.multiply_bits(np.broadcast_to(xb[:, k:k + 1], shape),
                                        np.broadcast_to(wb[k:k + 1, :], shape))
        bad |= flagged
        acc = prod if acc is None else m.add_bits(acc, prod)
    return acc


def gemm(m, x: np.ndarray, w: np.ndarray, dataflow: Dataflow | str, rows: int) -> np.ndarray:
    """X[M,K] @ W[K,N] through multiplier `m` in the accumulation order of `dataflow` on an
    array of `rows` rows; returns values in m's format (float32 for fp32)."""
    dataflow = Dataflow(dataflow)
    xb, wb = m.to_bits(np.asarray(x)), m.to_bits(np.asarray(w))
    k_len = xb.shape[1]
    if k_len != wb.shape[0] or k_len == 0:
        raise ValueError(f"gemm: inner dimensions differ or are empty: {xb.shape}, {wb.shape}")
    bad = np.zeros((xb.shape[0], wb.shape[1]), bool)
    if dataflow is Dataflow.OS:
        acc = _sequential_sum(m, xb, wb, range(k_len), bad)
    else:
        acc = None
        for start in range(0, k_len, rows):
            part = _sequential_sum(m, xb, wb, range(start, min(start + rows, k_len)), bad)
            acc = part if acc is None else m.add_bits(acc, part)
    if bad.any():
        from archsim_core import DomainError
        raise DomainError(int(bad.sum()), bad.size, m.name)
    return m.from_bits(acc)


def im2col(layer: Layer, x: np.ndarray) -> np.ndarray:
    """x [N, C, H, W] -> [N*E*F, C*R*S] with k = (c*R + r)*S + s (zero padding)."""
    n, c, h, w = x.shape
    p, s = layer.padding, layer.stride
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (layer.filter_h, layer.filter_w),
                                                   axis=(2, 3))
    win = win[:, :, ::s, ::s][:, :, :layer.ofmap_h, :layer.ofmap_w]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(
        n * layer.ofmap_h * layer.ofmap_w, c * layer.filter_h * layer.filter_w)


def layer_outputs(m, layer: Layer, x: np.ndarray, weight: np.ndarray, bias=None,
                  dataflow: Dataflow | str = Dataflow.OS, rows: int = 1) -> np.ndarray:
    """Outputs of one layer on the array: conv x [N,C,H,W], weight [F,C,R,S] -> [N,F,E,F'];
    fc x [N, in], weight [out, in] -> [N, out]."""
    if layer.partial_window:
        raise WorkloadError(f"layer {layer.name!r}: functional mode needs real windows "
                            "(SCALE-Sim partial windows have no values)")
    if layer.kind is LayerKind.FC:
        out = gemm(m, x.reshape(x.shape[0], -1), weight.T, dataflow, rows)
    else:
        cols = im2col(layer, x)
        out = gemm(m, cols, weight.reshape(weight.shape[0], -1).T, dataflow, rows)
    if bias is not None:
        out = m.from_bits(m.add_bits(m.to_bits(out), np.broadcast_to(
            m.to_bits(np.asarray(bias, np.float32)), out.shape)))
    if layer.kind is LayerKind.FC:
        return out
    n = x.shape[0]
    return out.reshape(n, layer.ofmap_h, layer.ofmap_w, -1).transpose(0, 3, 1, 2)
