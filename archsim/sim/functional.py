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

`pe_windows` records what one PE sees per dataflow (its operand stream, the partial sums its
adder receives and produces) for the workload-driven MAC energy (archsim.cost.operands).
"""
from __future__ import annotations

import numpy as np

from archsim.errors import WorkloadError
from archsim.network import shapes
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
    return shapes.im2col(x, (layer.filter_h, layer.filter_w), layer.stride, layer.padding_tlbr,
                         layer.dilation)


def layer_outputs(m, layer: Layer, x: np.ndarray, weight: np.ndarray, bias=None,
                  dataflow: Dataflow | str = Dataflow.OS, rows: int = 1) -> np.ndarray:
    """Outputs of one layer on the array: conv x [N,C,H,W], weight [F,C,R,S] -> [N,F,E,F'];
    fc x [N, in], weight [out, in] -> [N, out]."""
    if layer.partial_window:
        raise WorkloadError(f"layer {layer.name!r}: functional mode needs real windows "
                            "(SCALE-Sim partial windows have no values)")
    if layer.groups != 1 or layer.kind is LayerKind.MATMUL:
        raise WorkloadError(f"layer {layer.name!r}: functional mode maps ungrouped conv and fc "
                            "layers (use `archsim accuracy` for whole networks)")
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


def _layer_params(layer: Layer, weights, source: str | None, rng):
    """(weight, bias) of a layer from the npz (shape-checked) or seeded random."""
    from archsim.errors import DataError

    if layer.kind is LayerKind.FC:
        shape = (layer.num_filters, layer.channels)
    else:
        shape = (layer.num_filters, layer.channels, layer.filter_h, layer.filter_w)
    if weights is None:
        w = rng.standard_normal(shape) * np.sqrt(2.0 / layer.gemm_k)
        return w.astype(np.float32), np.zeros(layer.num_filters, np.float32)
    out = []
    for key, want in ((f"{layer.name}_weight", shape), (f"{layer.name}_bias", shape[:1])):
        if key not in weights:
            raise DataError(f"{source}: no array {key!r} for layer {layer.name!r}")
        arr = np.asarray(weights[key], np.float32)
        if arr.shape != want:
            raise DataError(f"{source}: {key} has shape {arr.shape}, layer needs {want}")
        out.append(arr)
    return tuple(out)


def _compare(out: np.ndarray, base: np.ndarray, truth: np.ndarray) -> dict:
    diff = np.abs(out.astype(np.float64) - base)
    return {"max_abs_diff_vs_baseline": float(diff.max()),
            "mean_abs_diff_vs_baseline": float(diff.mean()),
            "mismatch_fraction_vs_baseline": float(np.mean(out != base)),
            "max_abs_err_vs_float64": float(np.abs(out.astype(np.float64) - truth).max())}


def run_functional(config) -> list[dict]:
    """Functional-mode rows (variant x layer) for a Config with a `functional` section:
    each layer's outputs through every variant vs the first variant and vs float64 math."""
    from archsim_core import DomainError, get_multiplier

    fc = config.functional
    weights = None
    if fc.weights is not None:
        from archsim_core.npzio import read_npz
        weights = read_npz(fc.weights, "weights")
    rows = []
    for index, layer in enumerate(config.workload.layers):
        rng = np.random.default_rng([fc.seed, index])
        w, b = _layer_params(layer, weights, fc.weights, rng)
        shape = ((fc.samples, layer.channels) if layer.kind is LayerKind.FC else
                 (fc.samples, layer.channels, layer.ifmap_h, layer.ifmap_w))
        x = rng.random(shape).astype(np.float32)
        truth = layer_outputs(_Float64(), layer, x.astype(np.float64), w.astype(np.float64),
                              b.astype(np.float64), Dataflow.OS, 1)
        base = None
        for variant in config.variants:
            m = get_multiplier(variant.spec)
            row = {"variant": variant.label, "layer": layer.name, "samples": fc.samples}
            try:
                out = layer_outputs(m, layer, x, w, b, config.array.dataflow, config.array.rows)
            except DomainError as exc:
                rows.append({**row, "domain_errors": exc.count, **_compare(
                    np.full_like(truth, np.nan), truth, truth)})
                continue
            base = out.astype(np.float64) if base is None else base
            rows.append({**row, "domain_errors": 0, **_compare(out, base, truth)})
    return rows


class _Float64:
    """Exact-math stand-in for a Multiplier (float64 products and sums): the oracle."""
    name = "float64"

    def to_bits(self, x):
        return np.asarray(x, np.float64)

    from_bits = to_bits

    def multiply_bits(self, a, b):
        return a * b, np.zeros(np.shape(a), bool)

    def add_bits(self, a, b):
        return a + b


def _partial_sums(mul, xb_rows, wb_rows):
    """The sequential sum (variant multiply and add) of the products xb_rows[i] * wb_rows[i]
    over i, in increasing i (None when there are none)."""
    acc = None
    for xb, wb in zip(xb_rows, wb_rows):
        prod, _ = mul.multiply_bits(xb, wb)
        acc = prod if acc is None else mul.add_bits(acc, prod)
    return acc


def pe_windows(mul, gemm, dataflow: str, rows: int, cols: int, n_samples: int, ops: int,
               rng) -> list[tuple[np.ndarray, ...]]:
    """Operand capture for PE energy: `n_samples` windows of `ops` consecutive operations of
    one PE in one fold of `gemm` (`.x` X[M, K] @ `.w` W[K, N], X first) on a `rows` x `cols`
    array:
    (x words, y words, accumulator-in words, product words, accumulator-out words) per window,
    products and sums through multiplier `m`'s own arithmetic.
      OS  PE (i, j) owns output (m, n) and streams (X[m, k], W[k, n]) over k, then its next
          output (m + rows, n); the accumulator restarts at each output.
      WS  the PE holding W[k, n] (row k mod rows of fold k // rows) streams X[m, k] over m,
          the weight stationary; its adder adds its product to the partial sum from the PE
          above (the fold's products at k' < k, summed down the column).
      IS  the PE holding X[m, k] streams W[k, n] over n; partial sums as for WS."""
    from archsim.cost.pe import accumulate

    xb, wb = mul.to_bits(gemm.x), mul.to_bits(gemm.w)
    m_len, k_len = xb.shape
    n_len = wb.shape[1]
    zero = np.zeros(ops, mul.bits_dtype)
    out = []
    for _ in range(n_samples):
        if dataflow == "os":
            m0, n = int(rng.integers(m_len)), int(rng.integers(n_len))
            t = np.arange(ops)
            m = (m0 + rows * (t // k_len)) % m_len
            k = t % k_len
            x, y = xb[m, k], wb[k, n]
            prod, _ = mul.multiply_bits(x, y)
            before, after = accumulate(mul.spec, prod, k_len)   # restart at every output
        else:
            k = int(rng.integers(k_len))
            base = (k // rows) * rows
            if dataflow == "ws":
                n, m0 = int(rng.integers(n_len)), int(rng.integers(m_len))
                m = (m0 + np.arange(ops)) % m_len
                x, y = xb[m, k], np.full(ops, wb[k, n], mul.bits_dtype)
                above = [(xb[m, kk], np.full(ops, wb[kk, n], mul.bits_dtype)) for kk in range(base, k)]
            else:
                m, n0 = int(rng.integers(m_len)), int(rng.integers(n_len))
                n = (n0 + np.arange(ops)) % n_len
                x, y = np.full(ops, xb[m, k], mul.bits_dtype), wb[k, n]
                above = [(np.full(ops, xb[m, kk], mul.bits_dtype), wb[kk, n]) for kk in range(base, k)]
            prod, _ = mul.multiply_bits(x, y)
            acc = _partial_sums(mul, [a for a, _ in above], [b for _, b in above])
            before = zero.copy() if acc is None else acc
            after = mul.add_bits(before, prod)
        out.append((np.ascontiguousarray(x), np.ascontiguousarray(y), before, prod, after))
    return out
