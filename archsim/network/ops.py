"""Operator definitions of the network graph: shape inference, MAC count, where each runs in
the accelerator, and the numpy float32 function.

Products of Conv, Linear and MatMul go through the multiplier when one is given (activation
first, weight or second activation second, k-increasing sums, bias last: `Multiplier.matmul`,
the order of the built-in path); every other operator is exact float32 numpy (on the
accelerator they run on the vector unit, which has no approximate multiplier).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from archsim.errors import WorkloadError
from archsim.network.shapes import conv_output_size, pad_nchw, windows


class Unit:
    """Where an operator runs: the systolic array, the vector unit, or nowhere (metadata)."""
    ARRAY = "array"
    VECTOR = "vector"
    NONE = "none"


@dataclass(frozen=True)
class OpDef:
    """One operator kind. `vector_ops(node, in_shapes, out_shape)` counts vector-unit
    operations (0 for array and metadata operators)."""
    infer: Callable
    run: Callable
    unit: str
    vector_ops: Callable = lambda node, ins, out: 0
    macs: Callable = lambda node, ins, out: 0
    required_weights: Callable = lambda node: ()


def _need(cond: bool, why: str) -> None:
    if not cond:
        raise WorkloadError(why)


def _check_weight(node, key: str, shape: tuple) -> None:
    if key in node.weights and tuple(node.weights[key].shape) != tuple(shape):
        raise WorkloadError(f"weight {key!r} has shape {tuple(node.weights[key].shape)}, "
                            f"expected {tuple(shape)}")


def gemm(x2d: np.ndarray, w_t: np.ndarray, bias, mult) -> np.ndarray:
    """x2d [M, K] @ w_t [K, N] (+ bias [N]): numpy float32, or every product through `mult`
    (an archsim_core multiplier asked for NaN where a product leaves its domain)."""
    if mult is None:
        out = x2d @ w_t
        return out + bias if bias is not None else out
    kwargs = {"on_domain_error": "nan"} if hasattr(mult, "spec") else {}
    return np.asarray(mult.matmul(np.ascontiguousarray(x2d), np.ascontiguousarray(w_t), bias,
                                  **kwargs), dtype=np.float32)


# ---- Conv -----------------------------------------------------------------------------
def _conv_out(node, x_shape) -> tuple[int, ...]:
    a = node.attrs
    r, s = a["kernel"]
    _need(len(x_shape) == 4, f"input must be [N, C, H, W], got {x_shape}")
    n, c, h, w = x_shape
    g, f = a["groups"], a["out_channels"]
    _need(c == a["in_channels"], f"input has {c} channels, the weights expect {a['in_channels']}")
    _need(c % g == 0 and f % g == 0, f"{c} channels / {f} filters not divisible by {g} groups")
    _check_weight(node, "weight", (f, c // g, r, s))
    _check_weight(node, "bias", (f,))
    t, l, b, rr = a["pads"]
    oh = conv_output_size(h, r, a["stride"][0], t, b, a["dilation"][0])
    ow = conv_output_size(w, s, a["stride"][1], l, rr, a["dilation"][1])
    _need(oh >= 1 and ow >= 1, f"{r}x{s} kernel does not fit input {h}x{w}")
    return (n, f, oh, ow)


def _conv_macs(node, ins, out) -> int:
    r, s = node.attrs["kernel"]
    return math.prod(out) * (ins[0][1] // node.attrs["groups"]) * r * s


def _conv_run(node, xs, mult):
    x, a = xs[0], node.attrs
    w, b = node.weights["weight"], node.weights.get("bias")
    g, f = a["groups"], a["out_channels"]
    win = windows(x, a["kernel"], a["stride"], a["pads"], a["dilation"])
    n, c, oh, ow, r, s = win.shape
    cg, fg = c // g, f // g
    if g > 1 and mult is None:  # grouped/depthwise exact: one einsum, no per-group im2col
        out = np.einsum("ngcxyrs,gfcrs->ngfxy", win.reshape(n, g, cg, oh, ow, r, s),
                        w.reshape(g, fg, cg, r, s), optimize=True).reshape(n, f, oh, ow)
        return out + b[None, :, None, None] if b is not None else out
    out = np.empty((n * oh * ow, f), np.float32)
    for i in range(g):
        cols = np.ascontiguousarray(win[:, i * cg:(i + 1) * cg].transpose(0, 2, 3, 1, 4, 5))
        wg = w[i * fg:(i + 1) * fg].reshape(fg, cg * r * s)
        out[:, i * fg:(i + 1) * fg] = gemm(cols.reshape(n * oh * ow, cg * r * s), wg.T,
                                           None if b is None else b[i * fg:(i + 1) * fg], mult)
    return np.ascontiguousarray(out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2))


# ---- Linear (x W^T + b on the last axis) and MatMul (activation x activation) -----------
def _linear_out(node, ins):
    x = ins[0]
    k, f = node.attrs["in_features"], node.attrs["out_features"]
    _need(x[-1] == k, f"input's last axis is {x[-1]}, the weights expect {k}")
    _check_weight(node, "weight", (f, k))
    _check_weight(node, "bias", (f,))
    return x[:-1] + (f,)


def _linear_run(node, xs, mult):
    x, w, b = xs[0], node.weights["weight"], node.weights.get("bias")
    out = gemm(x.reshape(-1, x.shape[-1]), w.T, b, mult)
    return out.reshape(x.shape[:-1] + (w.shape[0],))


def _matmul_out(node, ins):
    a, b = ins
    _need(len(a) >= 2 and len(b) >= 2, f"operands must be at least 2-D, got {a} and {b}")
    _need(a[-1] == b[-2], f"inner dimensions differ: {a} x {b}")
    try:
        lead = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise WorkloadError(f"leading dimensions do not broadcast: {a} x {b}") from None
    return tuple(lead) + (a[-2], b[-1])


def _matmul_run(node, xs, mult):
    a, b = xs
    if mult is None:
        return np.matmul(a, b)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, lead + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
    b = np.broadcast_to(b, lead + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    out = np.stack([gemm(a[i], b[i], None, mult) for i in range(a.shape[0])])
    return out.reshape(lead + out.shape[-2:])


# ---- elementwise ------------------------------------------------------------------------
def _same(node, ins):
    return ins[0]


def _binary_operands(node, xs):
    if "const" in node.weights:
        c = node.weights["const"]
        return (c, xs[0]) if node.attrs.get("const_first") else (xs[0], c)
    return xs[0], xs[1]


def _binary_out(node, ins):
    shapes = list(ins)
    if "const" in node.weights:
        shapes.insert(0 if node.attrs.get("const_first") else 1, node.weights["const"].shape)
    _need(len(shapes) == 2, f"needs two operands, got {len(shapes)}")
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise WorkloadError(f"operand shapes {shapes[0]} and {shapes[1]} do not broadcast"
                            ) from None


def _binary(fn):
    def run(node, xs, mult):
        a, b = _binary_operands(node, xs)
        return fn(a, b).astype(np.float32, copy=False)
    return run


def _erf(x):
    from scipy.special import erf  # lazy: only models with Erf/Gelu need scipy
    return erf(x).astype(np.float32)


def _gelu(node, xs, mult):
    x = xs[0]
    if node.attrs.get("approximate", "none") == "tanh":
        inner = np.float32(math.sqrt(2 / math.pi)) * (x + np.float32(0.044715) * x * x * x)
        return np.float32(0.5) * x * (np.float32(1) + np.tanh(inner))
    return np.float32(0.5) * x * (np.float32(1) + _erf(x / np.float32(math.sqrt(2))))


def _softmax(node, xs, mult):
    x = xs[0]
    axis = node.attrs["axis"]
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _layernorm_out(node, ins):
    axis = node.attrs["axis"] % len(ins[0])
    _check_weight(node, "scale", ins[0][axis:])
    _check_weight(node, "bias", ins[0][axis:])
    return ins[0]


def _layernorm(node, xs, mult):
    x = xs[0]
    axes = tuple(range(node.attrs["axis"] % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.float32(node.attrs["epsilon"]))
    y = y * node.weights["scale"]
    return y + node.weights["bias"] if "bias" in node.weights else y


def _bn_out(node, ins):
    _need(len(ins[0]) >= 2, f"input must have a channel axis, got {ins[0]}")
    for key in ("scale", "bias", "mean", "var"):
        _check_weight(node, key, (ins[0][1],))
    return ins[0]


def _bn(node, xs, mult):
    x, wt = xs[0], node.weights
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = wt["scale"] / np.sqrt(wt["var"] + np.float32(node.attrs["epsilon"]))
    return (x - wt["mean"].reshape(shape)) * inv.reshape(shape) + wt["bias"].reshape(shape)


# ---- pooling ----------------------------------------------------------------------------
def _pool_out(node, ins):
    x, a = ins[0], node.attrs
    _need(len(x) == 4, f"input must be [N, C, H, W], got {x}")
    r, s = a["kernel"]
    t, l, b, rr = a["pads"]
    dh, dw = a.get("dilation", (1, 1))
    oh = conv_output_size(x[2], r, a["stride"][0], t, b, dh, a.get("ceil_mode", False))
    ow = conv_output_size(x[3], s, a["stride"][1], l, rr, dw, a.get("ceil_mode", False))
    _need(oh >= 1 and ow >= 1, f"{r}x{s} window does not fit input {x[2]}x{x[3]}")
    return (x[0], x[1], oh, ow)


def _pool_windows(node, x, fill):
    a = node.attrs
    out_hw = _pool_out(node, [x.shape])[2:]
    return windows(pad_nchw(x, a["pads"], fill), a["kernel"], a["stride"], (0, 0, 0, 0),
                   a.get("dilation", (1, 1)), out_hw, pad_value=fill)


def _maxpool(node, xs, mult):
    return _pool_windows(node, xs[0], -np.inf).max(axis=(4, 5))


def _avgpool(node, xs, mult):
    x, a = xs[0], node.attrs
    total = _pool_windows(node, x, 0.0).sum(axis=(4, 5), dtype=np.float32)
    # divisor: taps inside the input (plus the padding with count_include_pad; never the
    # ceil-mode overhang past the padding)
    ones = pad_nchw(np.ones((1, 1) + x.shape[2:], np.float32), a["pads"],
                    1.0 if a.get("count_include_pad") else 0.0)
    count = windows(ones, a["kernel"], a["stride"], (0, 0, 0, 0), (1, 1), total.shape[2:],
                    pad_value=0.0).sum(axis=(4, 5))
    return total / count


def _gap(node, xs, mult):
    return xs[0].mean(axis=(2, 3), keepdims=True, dtype=np.float32)


# ---- data movement ----------------------------------------------------------------------
def _concat_out(node, ins):
    axis = node.attrs["axis"] % len(ins[0])
    for shape in ins[1:]:
        _need(len(shape) == len(ins[0]) and all(
            u == v for i, (u, v) in enumerate(zip(shape, ins[0])) if i != axis),
            f"shapes {ins[0]} and {shape} cannot be joined on axis {axis}")
    return ins[0][:axis] + (sum(s[axis] for s in ins),) + ins[0][axis + 1:]


def _flatten_out(node, ins):
    axis = node.attrs["axis"] % (len(ins[0]) + 1)
    return (math.prod(ins[0][:axis]), math.prod(ins[0][axis:]))


def reshape_target(target: tuple[int, ...], in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """ONNX Reshape: 0 copies the input's dimension, one -1 takes what is left."""
    out = [in_shape[i] if v == 0 else v for i, v in enumerate(target)]
    known = math.prod(v for v in out if v != -1)
    if out.count(-1) == 1 and known and math.prod(in_shape) % known == 0:
        out[out.index(-1)] = math.prod(in_shape) // known
    if -1 in out or math.prod(out) != math.prod(in_shape):
        raise WorkloadError(f"cannot reshape {in_shape} to {tuple(target)}")
    return tuple(out)


def _transpose_out(node, ins):
    perm = node.attrs["perm"]
    _need(sorted(perm) == list(range(len(ins[0]))), f"perm {perm} does not fit {ins[0]}")
    return tuple(ins[0][p] for p in perm)


def _pad_out(node, ins):
    pads = node.attrs["pads"]
    _need(len(pads) == 2 * len(ins[0]), f"{len(pads)} pads for a {len(ins[0])}-D input")
    half = len(ins[0])
    return tuple(d + pads[i] + pads[i + half] for i, d in enumerate(ins[0]))


def _pad(node, xs, mult):
    x, pads = xs[0], node.attrs["pads"]
    half = x.ndim
    if any(p < 0 for p in pads):
        raise WorkloadError(f"node {node.name!r}: negative pads are not supported")
    return np.pad(x, [(pads[i], pads[i + half]) for i in range(half)],
                  constant_values=node.attrs.get("value", 0.0))


def _elems(node, ins, out) -> int:
    return math.prod(out)


def _per_element(k: int):
    return lambda node, ins, out: k * math.prod(out)


def _window_ops(node, ins, out):
    r, s = node.attrs["kernel"]
    return math.prod(out) * r * s


def _f32(fn):
    return lambda node, xs, mult: np.asarray(fn(xs[0]), dtype=np.float32)


OPS: dict[str, OpDef] = {
    "Conv": OpDef(lambda n, i: _conv_out(n, i[0]), _conv_run, Unit.ARRAY, macs=_conv_macs,
                  required_weights=lambda n: ("weight",)),
    "Linear": OpDef(_linear_out, _linear_run, Unit.ARRAY,
                    macs=lambda n, i, o: math.prod(o) * n.attrs["in_features"],
                    required_weights=lambda n: ("weight",)),
    "MatMul": OpDef(_matmul_out, _matmul_run, Unit.ARRAY,
                    macs=lambda n, i, o: math.prod(o) * i[0][-1]),
    "Relu": OpDef(_same, _f32(lambda x: np.maximum(x, np.float32(0))), Unit.VECTOR,
                  _per_element(1)),
    "Clip": OpDef(_same, lambda n, xs, m: np.clip(xs[0], n.attrs["min"], n.attrs["max"]
                                                  ).astype(np.float32), Unit.VECTOR,
                  _per_element(2)),
    "Sigmoid": OpDef(_same, _f32(lambda x: 1 / (1 + np.exp(-x))), Unit.VECTOR, _per_element(4)),
    "Tanh": OpDef(_same, _f32(np.tanh), Unit.VECTOR, _per_element(4)),
    "Erf": OpDef(_same, lambda n, xs, m: _erf(xs[0]), Unit.VECTOR, _per_element(4)),
    "Gelu": OpDef(_same, _gelu, Unit.VECTOR, _per_element(8)),
    "Softmax": OpDef(_same, _softmax, Unit.VECTOR, _per_element(5)),
    "LayerNormalization": OpDef(_layernorm_out, _layernorm, Unit.VECTOR, _per_element(8),
                                required_weights=lambda n: ("scale",)),
    "BatchNormalization": OpDef(_bn_out, _bn, Unit.VECTOR, _per_element(2),
                                required_weights=lambda n: ("scale", "bias", "mean", "var")),
    "Add": OpDef(_binary_out, _binary(np.add), Unit.VECTOR, _per_element(1)),
    "Sub": OpDef(_binary_out, _binary(np.subtract), Unit.VECTOR, _per_element(1)),
    "Mul": OpDef(_binary_out, _binary(np.multiply), Unit.VECTOR, _per_element(1)),
    "Div": OpDef(_binary_out, _binary(np.divide), Unit.VECTOR, _per_element(1)),
    "MaxPool": OpDef(_pool_out, _maxpool, Unit.VECTOR, _window_ops),
    "AveragePool": OpDef(_pool_out, _avgpool, Unit.VECTOR, _window_ops),
    "GlobalAveragePool": OpDef(lambda n, i: i[0][:2] + (1, 1), _gap, Unit.VECTOR,
                               lambda n, i, o: math.prod(i[0])),
    # data movement: one element move per output element on the vector unit
    "Concat": OpDef(_concat_out, lambda n, xs, m: np.concatenate(xs, axis=n.attrs["axis"]),
                    Unit.VECTOR, _elems),
    "Transpose": OpDef(_transpose_out, lambda n, xs, m: np.ascontiguousarray(
        xs[0].transpose(n.attrs["perm"])), Unit.VECTOR, _elems),
    "Pad": OpDef(_pad_out, _pad, Unit.VECTOR, _elems),
    # metadata only: the bytes stay where they are
    "Flatten": OpDef(_flatten_out, lambda n, xs, m: xs[0].reshape(
        _flatten_out(n, [xs[0].shape])), Unit.NONE),
    "Reshape": OpDef(lambda n, i: reshape_target(n.attrs["shape"], i[0]),
                     lambda n, xs, m: xs[0].reshape(reshape_target(n.attrs["shape"],
                                                                   xs[0].shape)), Unit.NONE),
    "Identity": OpDef(_same, lambda n, xs, m: xs[0], Unit.NONE),
}


def run_node(node: Any, xs: list[np.ndarray], mult: Any) -> np.ndarray:
    """The node's output for float32 inputs `xs` (multiplier `mult` or None for numpy)."""
    return OPS[node.op].run(node, xs, mult)
