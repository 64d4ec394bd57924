"""Feed-forward CNNs as frozen data, with exact and approximate (bit-level multiplier) inference.

A `Network` is an input shape plus a tuple of layers. `forward` runs it in numpy float32
(`multiplier=None`: exact, products and sums by numpy/BLAS) or with every conv/linear product
through an archsim_core multiplier (`m.conv2d` / `m.matmul`: each product through the
multiplier's bit-level model, sums in increasing k order). The activation is always the first
operand of each product and the weight the second, as in the Defensive Approximation hardware.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from archsim.errors import ConfigError, DataError
from archsim.network.shapes import conv_output_size, im2col


def _frozen_f32(value: Any, what: str, ndim: int) -> np.ndarray:
    """A read-only C-contiguous float32 copy of `value`, checked to have `ndim` dimensions."""
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32)).copy()
    if arr.ndim != ndim:
        raise DataError(f"{what}: expected {ndim} dimensions, got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution, NCHW, weight [F, C, R, S], bias [F]; groups = 1."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_f32(self.weight, f"{self.name}.weight", 4))
        object.__setattr__(self, "bias", _frozen_f32(self.bias, f"{self.name}.bias", 1))
        if self.bias.shape[0] != self.weight.shape[0]:
            raise DataError(f"{self.name}.bias: shape {self.bias.shape} does not match "
                            f"{self.weight.shape[0]} filters")
        if self.stride < 1 or self.padding < 0:
            raise ConfigError(f"{self.name}: stride must be >= 1 and padding >= 0")

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """(F, OH, OW) for an input of shape (C, H, W)."""
        c, h, w = in_shape
        f, wc, r, s = self.weight.shape
        if c != wc:
            raise DataError(f"{self.name}: input has {c} channels, weight expects {wc}")
        return (f, conv_output_size(h, r, self.stride, self.padding),
                conv_output_size(w, s, self.stride, self.padding))


@dataclass(frozen=True, eq=False)
class Linear:
    """Fully connected layer, weight [out, in], bias [out]: y = x W^T + b."""

    name: str
    weight: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_f32(self.weight, f"{self.name}.weight", 2))
        object.__setattr__(self, "bias", _frozen_f32(self.bias, f"{self.name}.bias", 1))
        if self.bias.shape[0] != self.weight.shape[0]:
            raise DataError(f"{self.name}.bias: shape {self.bias.shape} does not match "
                            f"{self.weight.shape[0]} outputs")

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int]:
        """(out,) for a flat input of shape (in,)."""
        if in_shape != (self.weight.shape[1],):
            raise DataError(f"{self.name}: input shape {in_shape}, weight expects "
                            f"({self.weight.shape[1]},)")
        return (self.weight.shape[0],)


@dataclass(frozen=True)
class ReLU:
    """max(x, 0), elementwise."""

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Unchanged."""
        return in_shape


@dataclass(frozen=True)
class MaxPool2d:
    """Max pooling over kernel x kernel windows with the given stride (no padding)."""

    kernel: int = 2
    stride: int = 2

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """(C, OH, OW) for (C, H, W)."""
        c, h, w = in_shape
        return (c, conv_output_size(h, self.kernel, self.stride),
                conv_output_size(w, self.kernel, self.stride))


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C*H*W,) in C, H, W order (PyTorch's flatten)."""

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int]:
        """(prod(in_shape),)."""
        return (int(np.prod(in_shape)),)


Layer = Union[Conv2d, Linear, ReLU, MaxPool2d, Flatten]


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward network: name, input shape (C, H, W) and layers, checked on construction."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        shape: tuple[int, ...] = self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
        object.__setattr__(self, "_output_shape", shape)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output (e.g. (10,) logits)."""
        return self._output_shape  # type: ignore[attr-defined]

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image (conv + linear)."""
        total, shape = 0, self.input_shape
        for layer in self.layers:
            out = layer.output_shape(shape)
            if isinstance(layer, Conv2d):
                total += int(np.prod(out)) * int(np.prod(layer.weight.shape[1:]))
            elif isinstance(layer, Linear):
                total += int(layer.weight.size)
            shape = out
        return total

    def parameters(self) -> dict[str, np.ndarray]:
        """`<layer>_weight` / `<layer>_bias` arrays (the npz key convention)."""
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            if isinstance(layer, (Conv2d, Linear)):
                out[f"{layer.name}_weight"] = layer.weight
                out[f"{layer.name}_bias"] = layer.bias
        return out


def _conv_exact(layer: Conv2d, x: np.ndarray) -> np.ndarray:
    f, c, r, s = layer.weight.shape
    n = x.shape[0]
    _, oh, ow = layer.output_shape(x.shape[1:])
    cols = im2col(x, (r, s), layer.stride, layer.padding)
    out = (cols @ layer.weight.reshape(f, -1).T + layer.bias).reshape(n, oh * ow, f)
    return np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(n, f, oh, ow)


def _maxpool(layer: MaxPool2d, x: np.ndarray) -> np.ndarray:
    _, oh, ow = layer.output_shape(x.shape[1:])
    st = layer.stride
    out = None
    for i in range(layer.kernel):  # max of k*k strided views: no window copies
        for j in range(layer.kernel):
            view = x[:, :, i:i + st * (oh - 1) + 1:st, j:j + st * (ow - 1) + 1:st]
            out = view.copy() if out is None else np.maximum(out, view, out=out)
    return out


def apply_layer(layer: Layer, x: np.ndarray, multiplier: Any = None) -> np.ndarray:
    """One layer on a float32 batch; conv/linear products through `multiplier` if given.

    An archsim_core Multiplier is asked for NaN where a product leaves its domain (the
    da-reference semantics): such images then get non-finite logits, which `predict_labels`
    reports as label -1, never as a plausible class.
    """
    if isinstance(layer, (Conv2d, Linear)) and multiplier is not None:
        kwargs = {"on_domain_error": "nan"} if hasattr(multiplier, "spec") else {}
        if isinstance(layer, Conv2d):
            out = multiplier.conv2d(x, layer.weight, layer.bias, stride=layer.stride,
                                    padding=layer.padding, **kwargs)
        else:
            out = multiplier.matmul(x, np.ascontiguousarray(layer.weight.T), layer.bias, **kwargs)
        return np.asarray(out, dtype=np.float32)
    if isinstance(layer, Conv2d):
        return _conv_exact(layer, x)
    if isinstance(layer, Linear):
        return x @ layer.weight.T + layer.bias
    if isinstance(layer, ReLU):
        return np.maximum(x, np.float32(0))
    if isinstance(layer, MaxPool2d):
        return _maxpool(layer, x)
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)
    raise ConfigError(f"unknown layer type {type(layer).__name__}")


def resolve_multiplier(multiplier: Any) -> Any:
    """None (exact numpy), an object with conv2d/matmul, or a spec for get_multiplier."""
    if multiplier is None or (hasattr(multiplier, "conv2d") and hasattr(multiplier, "matmul")):
        return multiplier
    if isinstance(multiplier, (str, Mapping)) or hasattr(multiplier, "fmt"):
        from archsim_core import get_multiplier  # lazy: compiled core only when needed
        return get_multiplier(multiplier)
    raise ConfigError(f"multiplier: expected a variant name, spec or Multiplier, "
                      f"got {type(multiplier).__name__}")


def check_input(net: Network, x: Any) -> np.ndarray:
    """x as a C-contiguous float32 batch of shape (N, *net.input_shape)."""
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if arr.ndim != 4 or arr.shape[1:] != net.input_shape:
        raise DataError(f"{net.name}: input batch shape {arr.shape} does not match "
                        f"(N, {', '.join(map(str, net.input_shape))})")
    return arr


def forward(net: Network, x: Any, multiplier: Any = None, batch_size: int = 256,
            progress: bool = False) -> np.ndarray:
    """Logits float32 [N, classes]; exact numpy (multiplier None) or through a multiplier.

    `multiplier` is a variant name / spec dict / VariantSpec (resolved with
    archsim_core.get_multiplier) or a built Multiplier. Batches of `batch_size` images;
    `progress` shows a tqdm bar on stderr.
    """
    arr = check_input(net, x)
    mult = resolve_multiplier(multiplier)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    out = np.empty((arr.shape[0],) + net.output_shape, dtype=np.float32)
    starts = range(0, arr.shape[0], batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc=f"{net.name} ({getattr(mult, 'name', 'exact')})", unit="batch")
    for start in starts:
        h = arr[start:start + batch_size]
        for layer in net.layers:
            h = apply_layer(layer, h, mult)
        out[start:start + batch_size] = h
    return out


def predict_labels(net: Network, x: Any, multiplier: Any = None, batch_size: int = 256,
                   progress: bool = False) -> np.ndarray:
    """argmax of `forward` (int64 class indices); -1 where the logits are not all finite."""
    return labels_of(forward(net, x, multiplier, batch_size, progress))


def labels_of(logits: np.ndarray) -> np.ndarray:
    """argmax per row, -1 for rows with a NaN/inf logit (e.g. da-reference domain errors)."""
    labels = logits.argmax(axis=1).astype(np.int64)
    labels[~np.isfinite(logits).all(axis=1)] = -1
    return labels
