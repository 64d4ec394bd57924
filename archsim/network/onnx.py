"""ONNX import into the network graph (the `onnx` package: `pip install archsim[onnx]`).

Supported operators (default domain, opsets 7 to the installed onnx's newest): Conv (groups,
depthwise, dilation, asymmetric pads, auto_pad), Gemm, MatMul (with a constant operand it is a
Linear layer; between two activations, as in attention, a MatMul), BatchNormalization (folded
into the preceding Conv when that Conv feeds only it, else kept), Relu, Clip, Sigmoid, Tanh,
Gelu, Erf, Softmax, LayerNormalization, MaxPool, AveragePool, GlobalAveragePool, Add, Sub,
Mul, Div, Concat, Flatten, Reshape, Transpose, Pad (constant mode), Dropout and Identity.
Shape arithmetic (Constant, Shape, Gather, Unsqueeze, Squeeze, Cast, Slice, Concat and
arithmetic on constants) is folded at import. Initializers become node weights. A symbolic (or
fixed) batch dimension is set from `batch`; other symbolic input dimensions from
`input_shape` (without the batch). Anything else is an error listing every unsupported node.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from archsim.errors import WorkloadError
from archsim.network.graph import Graph, Node
from archsim.network.ops import OPS

MIN_OPSET = 7
_UNARY = {"Relu", "Sigmoid", "Tanh", "Erf", "Identity"}
_BINARY = {"Add", "Sub", "Mul", "Div"}
_FOLD_ONLY = {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Slice", "Sqrt",
              "Pow", "ConstantOfShape", "Range"}
SUPPORTED = ({"Conv", "Gemm", "MatMul", "BatchNormalization", "Clip", "Gelu", "Softmax",
              "LayerNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "Concat",
              "Flatten", "Reshape", "Transpose", "Pad", "Dropout"} | _UNARY | _BINARY
             | _FOLD_ONLY)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise WorkloadError("ONNX import needs the 'onnx' package: pip install 'archsim[onnx]'"
                            ) from None
    return onnx


def load_onnx(path: str | Path, batch: int | None = None,
              input_shape: tuple[int, ...] | None = None) -> Graph:
    """Import an ONNX model file as a Graph (errors name the file and the node)."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"{path}: ONNX model not found")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf DecodeError, ValidationError, ...: all "not readable"
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise WorkloadError(f"{path}: not a readable ONNX model ({why})") from None
    if not model.graph.node:
        raise WorkloadError(f"{path}: not a readable ONNX model (no graph nodes)")
    return _Importer(model, str(path), batch, input_shape).graph()


def _attrs(node) -> dict[str, Any]:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Importer:
    """One pass over the ONNX nodes (topologically sorted by the ONNX rules)."""

    def __init__(self, model, source: str, batch: int | None, input_shape):
        from onnx import numpy_helper

        self.model, self.source = model, source
        self.opset = self._opset()
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.consumers: dict[str, int] = {}
        for n in model.graph.node:
            for t in n.input:
                self.consumers[t] = self.consumers.get(t, 0) + 1
        for out in model.graph.output:
            self.consumers[out.name] = self.consumers.get(out.name, 0) + 1
        self.input_name, self.input_shape, self.file_batch = self._input(batch, input_shape)
        self.shapes = {self.input_name: self.input_shape}
        self.nodes: list[Node] = []
        self.producer: dict[str, int] = {}

    def _fail(self, node, why: str):
        name = node.name or node.output[0]
        raise WorkloadError(f"{self.source}: node {name!r} ({node.op_type}): {why}")

    def _opset(self) -> int:
        onnx = _onnx()
        newest = onnx.defs.onnx_opset_version()
        for imp in self.model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                if not MIN_OPSET <= imp.version <= newest:
                    raise WorkloadError(f"{self.source}: opset_import: unsupported opset "
                                        f"{imp.version} (supported {MIN_OPSET}..{newest})")
                return imp.version
        raise WorkloadError(f"{self.source}: opset_import: no default-domain opset")

    def _input(self, batch, input_shape):
        inputs = [i for i in self.model.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise WorkloadError(f"{self.source}: graph inputs: exactly one input tensor is "
                                f"supported, found {len(inputs)}")
        inp = inputs[0]
        dims = list(inp.type.tensor_type.shape.dim)
        if not dims:
            raise WorkloadError(f"{self.source}: input {inp.name!r}: shape unknown")
        file_batch = dims[0].dim_value if dims[0].HasField("dim_value") else None
        shape = [batch or file_batch or 1]
        if input_shape is not None and len(input_shape) != len(dims) - 1:
            raise WorkloadError(f"{self.source}: input_shape {list(input_shape)} has "
                                f"{len(input_shape)} dimensions, input {inp.name!r} has "
                                f"{len(dims) - 1} after the batch")
        for i, d in enumerate(dims[1:]):
            if input_shape is not None:
                shape.append(int(input_shape[i]))
            elif d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            else:
                raise WorkloadError(f"{self.source}: input {inp.name!r}: dimension {i + 1} is "
                                    f"symbolic ({d.dim_param or '?'}); give input_shape")
        return inp.name, tuple(shape), file_batch

    def graph(self) -> Graph:
        bad = [n for n in self.model.graph.node
               if n.op_type not in SUPPORTED or n.domain not in ("", "ai.onnx")]
        if bad:
            listing = ", ".join(f"{n.name or n.output[0]} ({n.op_type})" for n in bad)
            raise WorkloadError(f"{self.source}: unsupported operator(s): {listing}")
        for node in self.model.graph.node:
            self._translate(node)
        outputs = [o.name for o in self.model.graph.output]
        if len(outputs) != 1 or outputs[0] not in self.shapes:
            raise WorkloadError(f"{self.source}: graph outputs: exactly one computed output "
                                f"is supported, found {outputs}")
        name = self.model.graph.name or Path(self.source).stem
        return Graph(name, self.input_name, self.input_shape, tuple(self.nodes), outputs[0],
                     self.source)

    # ---- helpers ----------------------------------------------------------------------
    def _const(self, node, index: int, required: bool = True):
        names = node.input
        if index >= len(names) or names[index] == "":
            if required:
                self._fail(node, f"input {index} is missing")
            return None
        if names[index] not in self.consts:
            if required:
                self._fail(node, f"input {names[index]!r} must be a constant (initializer)")
            return None
        return self.consts[names[index]]

    def _add(self, onnx_node, op: str, inputs, attrs=None, weights=None, output=None) -> None:
        name = onnx_node.name or onnx_node.output[0]
        node = Node(name, op, tuple(inputs), output or onnx_node.output[0], attrs or {},
                    weights or {})
        missing = [t for t in node.inputs if t not in self.shapes]
        if missing:
            self._fail(onnx_node, f"input {missing[0]!r} has no inferable shape")
        try:
            shape = OPS[op].infer(node, [self.shapes[t] for t in node.inputs])
        except WorkloadError as exc:
            self._fail(onnx_node, str(exc))
        self.shapes[node.output] = tuple(int(v) for v in shape)
        self.producer[node.output] = len(self.nodes)
        self.nodes.append(node)

    def _translate(self, node) -> None:
        op, a = node.op_type, _attrs(node)
        ins = [t for t in node.input]
        if op in _FOLD_ONLY or (ins and all(t in self.consts or t == "" for t in ins)
                                and op not in ("Dropout",)):
            self._fold(node, op, a)
            return
        handler = getattr(self, f"_op_{op}", None)
        if handler is not None:
            handler(node, a)
        elif op in _UNARY:
            self._add(node, op, ins[:1])
        else:
            self._binary(node, op)

    # ---- constant folding ------------------------------------------------------------
    def _fold(self, node, op, a) -> None:
        from onnx import numpy_helper

        vals = [self.consts.get(t) for t in node.input]
        if op == "Shape":
            if node.input[0] not in self.shapes:
                self._fail(node, "shape of its input cannot be inferred")
            value = np.array(self.shapes[node.input[0]], np.int64)
            value = value[a.get("start", 0):a.get("end", len(value))]
        elif op == "Constant":
            if "value" not in a:
                self._fail(node, "only Constant with a tensor 'value' is supported")
            value = numpy_helper.to_array(a["value"])
        elif any(v is None for v, t in zip(vals, node.input) if t):
            self._fail(node, "shape computation on a non-constant tensor (shape cannot be "
                       "inferred statically)")
        else:
            value = self._fold_value(node, op, a, vals)
        self.consts[node.output[0]] = np.asarray(value)

    def _fold_value(self, node, op, a, vals):
        x = vals[0]
        if op == "Gather":
            return np.take(x, vals[1], axis=a.get("axis", 0))
        if op in ("Unsqueeze", "Squeeze"):
            axes = a.get("axes", vals[1] if len(vals) > 1 and vals[1] is not None else None)
            if op == "Squeeze":
                return np.squeeze(x, axis=None if axes is None else tuple(int(v) for v in axes))
            out = x
            for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
                out = np.expand_dims(out, ax)
            return out
        if op == "Cast":
            from onnx import helper
            return x.astype(helper.tensor_dtype_to_np_dtype(a["to"]))
        if op == "Concat":
            return np.concatenate([np.atleast_1d(v) for v in vals], axis=a.get("axis", 0))
        if op == "Slice":
            starts, ends = vals[1], vals[2]
            axes = vals[3] if len(vals) > 3 and vals[3] is not None else range(len(starts))
            steps = vals[4] if len(vals) > 4 and vals[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(e), int(st))
            return x[tuple(sl)]
        if op == "ConstantOfShape":
            from onnx import numpy_helper
            fill = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            return np.full(tuple(int(v) for v in x), fill.reshape(-1)[0], fill.dtype)
        if op == "Range":
            return np.arange(vals[0], vals[1], vals[2])
        simple = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Sqrt": np.sqrt,
                  "Pow": np.power, "Relu": lambda v: np.maximum(v, 0), "Identity": lambda v: v,
                  "Reshape": lambda v, s: v.reshape([d if d else v.shape[i]
                                                     for i, d in enumerate(s)]),
                  "Transpose": lambda v: v.transpose(a.get("perm")),
                  "Div": lambda u, v: (u // v if u.dtype.kind in "iu" else u / v)}
        if op in simple:
            return simple[op](*vals)
        self._fail(node, "cannot fold this operator on constants")

    # ---- operators -------------------------------------------------------------------
    def _spatial(self, node, a, kernel, x_shape, allow_dilation=True):
        if len(x_shape) != 4 or len(kernel) != 2:
            self._fail(node, f"only 2-D windows on [N, C, H, W] inputs are supported, input "
                       f"is {x_shape}")
        stride = tuple(a.get("strides", (1, 1)))
        dilation = tuple(a.get("dilations", (1, 1))) if allow_dilation else (1, 1)
        pads = tuple(a.get("pads", (0, 0, 0, 0)))
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads_b, pads_e = [], []
            for size, k, s, d in zip(x_shape[2:], kernel, stride, dilation):
                total = max(0, (math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size)
                small, large = total // 2, total - total // 2
                pads_b.append(small if auto == "SAME_UPPER" else large)
                pads_e.append(large if auto == "SAME_UPPER" else small)
            pads = (pads_b[0], pads_b[1], pads_e[0], pads_e[1])
        elif auto == "VALID":
            pads = (0, 0, 0, 0)
        # ONNX pads are [x1_begin, x2_begin, x1_end, x2_end]; ours (top, left, bottom, right)
        return {"kernel": tuple(int(k) for k in kernel), "stride": stride, "pads": pads,
                "dilation": dilation}

    def _op_Conv(self, node, a):
        w = self._const(node, 1)
        b = self._const(node, 2, required=False)
        x_shape = self.shapes.get(node.input[0])
        if x_shape is None:
            self._fail(node, f"input {node.input[0]!r} has no inferable shape")
        if w.ndim != 4:
            self._fail(node, f"weight {node.input[1]!r} has shape {w.shape}; only 2-D "
                       "convolutions ([F, C/groups, R, S]) are supported")
        kernel = tuple(a.get("kernel_shape", w.shape[2:]))
        if kernel != w.shape[2:]:
            self._fail(node, f"kernel_shape {list(kernel)} does not match weight {w.shape}")
        attrs = self._spatial(node, a, kernel, x_shape)
        g = int(a.get("group", 1))
        attrs.update(groups=g, out_channels=int(w.shape[0]), in_channels=int(w.shape[1]) * g)
        weights = {"weight": w} if b is None else {"weight": w, "bias": b}
        self._add(node, "Conv", node.input[:1], attrs, weights)

    def _op_Gemm(self, node, a):
        w, c = self._const(node, 1), self._const(node, 2, required=False)
        if a.get("transA", 0):
            self._fail(node, "transA=1 is not supported")
        w = w if a.get("transB", 0) else w.T
        w = w * np.float32(a.get("alpha", 1.0)) if a.get("alpha", 1.0) != 1.0 else w
        weights = {"weight": w}
        if c is not None:
            c = np.asarray(c, np.float32) * np.float32(a.get("beta", 1.0))
            if c.size not in (1, w.shape[0]):
                self._fail(node, f"bias C of shape {c.shape} is not per output")
            weights["bias"] = np.broadcast_to(c.reshape(-1), (w.shape[0],))
        if len(self.shapes.get(node.input[0], ())) != 2:
            self._fail(node, f"input A must be 2-D, got {self.shapes.get(node.input[0])}")
        self._add(node, "Linear", node.input[:1],
                  {"in_features": int(w.shape[1]), "out_features": int(w.shape[0])}, weights)

    def _op_MatMul(self, node, a):
        if node.input[0] in self.consts:
            self._fail(node, "a constant first operand is not supported")
        w = self._const(node, 1, required=False)
        if w is None:
            self._add(node, "MatMul", node.input[:2])
        elif w.ndim != 2:
            self._fail(node, f"constant operand of shape {w.shape} must be 2-D")
        else:
            self._add(node, "Linear", node.input[:1],
                      {"in_features": int(w.shape[0]), "out_features": int(w.shape[1])},
                      {"weight": w.T})

    def _op_BatchNormalization(self, node, a):
        if a.get("training_mode", 0):
            self._fail(node, "training_mode=1 is not supported")
        scale, bias, mean, var = (self._const(node, i) for i in range(1, 5))
        eps = float(a.get("epsilon", 1e-5))
        src = self.producer.get(node.input[0])
        conv = self.nodes[src] if src is not None else None
        if (conv is not None and conv.op == "Conv" and src == len(self.nodes) - 1
                and self.consumers.get(node.input[0], 0) == 1):
            inv = (scale / np.sqrt(var + np.float32(eps))).astype(np.float32)
            w = conv.weights["weight"] * inv[:, None, None, None]
            b0 = conv.weights.get("bias", np.zeros(w.shape[0], np.float32))
            folded = Node(conv.name, "Conv", conv.inputs, node.output[0], conv.attrs,
                          {"weight": w, "bias": (b0 - mean) * inv + bias})
            shape = self.shapes.pop(conv.output)
            del self.producer[conv.output]
            self.nodes[-1] = folded
            self.shapes[folded.output] = shape
            self.producer[folded.output] = src
            return
        self._add(node, "BatchNormalization", node.input[:1], {"epsilon": eps},
                  {"scale": scale, "bias": bias, "mean": mean, "var": var})

    def _op_Clip(self, node, a):
        lo = self._const(node, 1, required=False)
        hi = self._const(node, 2, required=False)
        lo = float(lo) if lo is not None else float(a.get("min", -np.inf))
        hi = float(hi) if hi is not None else float(a.get("max", np.inf))
        self._add(node, "Clip", node.input[:1], {"min": lo, "max": hi})

    def _op_Gelu(self, node, a):
        approx = a.get("approximate", b"none")
        self._add(node, "Gelu", node.input[:1],
                  {"approximate": approx.decode() if isinstance(approx, bytes) else approx})

    def _op_Softmax(self, node, a):
        shape = self.shapes.get(node.input[0], ())
        axis = int(a.get("axis", -1 if self.opset >= 13 else 1)) % max(1, len(shape))
        if self.opset < 13 and axis != len(shape) - 1:
            self._fail(node, "Softmax before opset 13 over several axes is not supported")
        self._add(node, "Softmax", node.input[:1], {"axis": axis})

    def _op_LayerNormalization(self, node, a):
        scale, bias = self._const(node, 1), self._const(node, 2, required=False)
        weights = {"scale": scale} if bias is None else {"scale": scale, "bias": bias}
        self._add(node, "LayerNormalization", node.input[:1],
                  {"axis": int(a.get("axis", -1)), "epsilon": float(a.get("epsilon", 1e-5))},
                  weights)

    def _pool(self, node, a, op):
        if len(node.output) > 1 and node.output[1]:
            self._fail(node, "the Indices output is not supported")
        attrs = self._spatial(node, a, tuple(a["kernel_shape"]),
                              self.shapes.get(node.input[0], ()), allow_dilation=op == "MaxPool")
        attrs["ceil_mode"] = bool(a.get("ceil_mode", 0))
        attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
        self._add(node, op, node.input[:1], attrs)

    def _op_MaxPool(self, node, a):
        self._pool(node, a, "MaxPool")

    def _op_AveragePool(self, node, a):
        self._pool(node, a, "AveragePool")

    def _op_GlobalAveragePool(self, node, a):
        self._add(node, "GlobalAveragePool", node.input[:1])

    def _binary(self, node, op):
        a_in, b_in = node.input[0], node.input[1]
        if a_in in self.consts or b_in in self.consts:
            first = a_in in self.consts
            const = self.consts[a_in if first else b_in].astype(np.float32)
            if op == "Add" and self._fold_bias(node, b_in if first else a_in, const):
                return
            self._add(node, op, [b_in if first else a_in], {"const_first": first},
                      {"const": const})
        else:
            self._add(node, op, [a_in, b_in])

    def _fold_bias(self, node, x_in: str, const: np.ndarray) -> bool:
        """MatMul + Add(bias) (how exporters write a Linear on a 3-D input) -> one Linear
        with its bias, added last in the multiplier's accumulator as in Gemm."""
        src = self.producer.get(x_in)
        if src != len(self.nodes) - 1 or self.consumers.get(x_in, 0) != 1:
            return False
        lin = self.nodes[src]
        out = lin.attrs.get("out_features")
        if lin.op != "Linear" or "bias" in lin.weights or const.size != out \
                or const.shape[-1:] != (out,):
            return False
        shape = self.shapes.pop(lin.output)
        del self.producer[lin.output]
        self.nodes[-1] = Node(lin.name, "Linear", lin.inputs, node.output[0], lin.attrs,
                              {"weight": lin.weights["weight"], "bias": const.reshape(-1)})
        self.shapes[node.output[0]], self.producer[node.output[0]] = shape, src
        return True

    def _op_Concat(self, node, a):
        if any(t in self.consts for t in node.input):
            self._fail(node, "joining constants with activations is not supported")
        shape = self.shapes.get(node.input[0], ())
        self._add(node, "Concat", node.input, {"axis": int(a["axis"]) % max(1, len(shape))})

    def _op_Flatten(self, node, a):
        self._add(node, "Flatten", node.input[:1], {"axis": int(a.get("axis", 1))})

    def _op_Reshape(self, node, a):
        target = [int(v) for v in self._const(node, 1)]
        if a.get("allowzero", 0) and 0 in target:
            self._fail(node, "allowzero=1 with a zero dimension is not supported")
        in_shape = self.shapes.get(node.input[0], ())
        # a batch written into the shape (exported at a fixed batch) follows the real batch
        if (target and in_shape and target[0] in (self.file_batch, self.input_shape[0])
                and in_shape[0] == self.input_shape[0]):
            target[0] = 0
        self._add(node, "Reshape", node.input[:1], {"shape": tuple(target)})

    def _op_Transpose(self, node, a):
        ndim = len(self.shapes.get(node.input[0], ()))
        perm = tuple(int(p) for p in a.get("perm", range(ndim - 1, -1, -1)))
        self._add(node, "Transpose", node.input[:1], {"perm": perm})

    def _op_Pad(self, node, a):
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "constant":
            self._fail(node, f"mode {mode!r} is not supported (constant only)")
        if len(node.input) > 3 and node.input[3]:
            self._fail(node, "the axes input is not supported")
        pads = a.get("pads") if self.opset < 11 else self._const(node, 1)
        value = a.get("value", 0.0) if self.opset < 11 else self._const(node, 2, required=False)
        self._add(node, "Pad", node.input[:1],
                  {"pads": tuple(int(p) for p in pads),
                   "value": 0.0 if value is None else float(np.asarray(value).reshape(-1)[0])})

    def _op_Dropout(self, node, a):
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            self._fail(node, "the mask output is not supported")
        self._add(node, "Identity", node.input[:1])
