"""Post-training int8 quantization of archsim networks, and integer inference through any
8x8 multiplier (archsim_core.int8).

Scheme (the one TFLite/gemmlowp-style integer accelerators run):
- weights: symmetric per output channel, s_w[f] = max|W[f]| / 127, q = clip(rint(W / s_w), -127, 127);
- activations: symmetric per tensor at the input of every conv/linear layer, int8 in -127..127,
  zero point 0; the scale comes from calibration on a seeded sample of training images run
  through the FP32 network: `minmax` (s = max|x| / 127) or `percentile` (s = the p-th
  percentile of |x| / 127, clipping the rare outliers);
- bias: int32, b_q = rint(b / (s_x s_w[f])); products through the PE's 8x8 multiplier, summed
  in int32 (archsim_core._intkernels);
- requantisation to the next layer's input scale with an integer fixed-point multiplier
  (M = s_x s_w[f] / s_next = m0 * 2**-shift, m0 in [2**30, 2**31)): q = clip((acc * m0 + 2**(shift-1)) >> shift,
  -127, 127) in int64 (round half up), exactly as a hardware requantiser would; ReLU and max
  pooling run on the int8 codes (they commute with a positive scale); the last layer's int32
  sums are dequantised to float32 logits (acc * s_x s_w[f]).

Parameters are data: a JSON file (`save_quant`/`load_quant`) with, per conv/linear layer in
network order, its input scale and zero point and its per-channel weight scales and zero points,
plus how they were calibrated. The integer weights follow deterministically from the float
weights and these scales. `load_quant` checks the file against the network and names the file
and field of any mismatch.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archsim.errors import ConfigError, DataError
from archsim.nn.network import (Conv2d, Flatten, Linear, MaxPool2d, Network, ReLU, _maxpool,
                                check_input)

FORMAT = "archsim-quant/1"
QMAX = 127
METHODS = ("minmax", "percentile")
DEFAULT_PERCENTILE = 99.99
SCHEME = {"weights": "int8 symmetric per output channel (-127..127)",
          "activations": "int8 symmetric per tensor (-127..127), zero point 0",
          "bias": "int32, scale s_x * s_w", "accumulator": "int32",
          "requantisation": "fixed-point multiplier m0 * 2**-shift, round half up"}


@dataclass(frozen=True)
class LayerQuant:
    """Quantization of one conv/linear layer: its input activation and its weights."""
    name: str
    input_scale: float
    weight_scales: tuple[float, ...]
    input_zero_point: int = 0
    weight_zero_point: int = 0


@dataclass(frozen=True)
class QuantParams:
    """Quantization parameters of a network (every conv/linear layer, in order)."""
    network: str
    layers: tuple[LayerQuant, ...]
    calibration: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict:
        """The JSON document."""
        return {"format": FORMAT, "network": self.network, "scheme": SCHEME,
                "calibration": dict(self.calibration),
                "layers": [{"name": lq.name, "input_scale": lq.input_scale,
                            "input_zero_point": lq.input_zero_point,
                            "weight_scales": list(lq.weight_scales),
                            "weight_zero_point": lq.weight_zero_point} for lq in self.layers]}


def _compute_layers(net: Network) -> list:
    layers = [l for l in net.layers if isinstance(l, (Conv2d, Linear))]
    for layer in net.layers:
        if not isinstance(layer, (Conv2d, Linear, ReLU, MaxPool2d, Flatten)):
            raise ConfigError(f"{net.name}: layer type {type(layer).__name__} is not supported "
                              "by int8 quantization (conv, linear, relu, max pool, flatten)")
    if not layers:
        raise ConfigError(f"{net.name}: no conv or linear layer to quantize")
    if not isinstance(net.layers[-1], (Conv2d, Linear)):
        raise ConfigError(f"{net.name}: int8 inference needs a conv/linear last layer (logits)")
    return layers


def weight_scales(weight: np.ndarray) -> np.ndarray:
    """Per-output-channel symmetric scales max|W[f]| / 127 (1.0 for an all-zero channel)."""
    w = np.asarray(weight, dtype=np.float64).reshape(weight.shape[0], -1)
    amax = np.abs(w).max(axis=1)
    return np.where(amax > 0, amax / QMAX, 1.0)


def activation_scale(values: np.ndarray, method: str, percentile: float) -> float:
    """Symmetric per-tensor scale of calibration activations (1.0 if they are all zero)."""
    mag = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    if method == "minmax":
        amax = float(mag.max()) if mag.size else 0.0
    elif method == "percentile":
        amax = float(np.percentile(mag, percentile)) if mag.size else 0.0
    else:
        raise ConfigError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    return amax / QMAX if amax > 0 else 1.0


def calibration_sample(x: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` images of x drawn without replacement by a seeded generator, and their indices."""
    if not 1 <= n <= len(x):
        raise ConfigError(f"calibration images: must be in 1..{len(x)}, got {n}")
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[idx], idx


def calibrate(net: Network, x_calib, method: str = "percentile",
              percentile: float = DEFAULT_PERCENTILE, source: str = "<calibration>",
              info: dict | None = None, batch_size: int = 256) -> QuantParams:
    """Calibrate activation scales on `x_calib` (float32 [N, *input_shape]) through the FP32
    network, and derive the per-channel weight scales. `info` is recorded in the file."""
    from archsim.nn.network import apply_layer

    if method not in METHODS:
        raise ConfigError(f"method: must be one of {', '.join(METHODS)}, got {method!r}")
    if not (isinstance(percentile, (int, float)) and 50 < percentile <= 100):
        raise ConfigError(f"percentile: must be in (50, 100], got {percentile!r}")
    arr = np.asarray(x_calib)
    if arr.ndim != 4 or tuple(arr.shape[1:]) != net.input_shape or arr.shape[0] < 1:
        raise DataError(f"{source}: x: calibration images have shape {arr.shape}, "
                        f"{net.name} needs (N, {', '.join(map(str, net.input_shape))})")
    arr = check_input(net, arr)
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{source}: x: calibration images contain non-finite values")
    compute = _compute_layers(net)
    seen: dict[str, list[np.ndarray]] = {l.name: [] for l in compute}
    for start in range(0, len(arr), batch_size):
        h = arr[start:start + batch_size]
        for layer in net.layers:
            if isinstance(layer, (Conv2d, Linear)):
                seen[layer.name].append(h)
            h = apply_layer(layer, h)
    layers = tuple(
        LayerQuant(l.name, activation_scale(np.concatenate(seen[l.name]), method, percentile),
                   tuple(float(s) for s in weight_scales(l.weight)))
        for l in compute)
    calib = {"method": method, "images": int(len(arr)), **(info or {})}
    if method == "percentile":
        calib["percentile"] = float(percentile)
    return QuantParams(net.name, layers, tuple(sorted(calib.items())))


DEFAULT_CALIBRATION_IMAGES = 512
DEFAULT_SEED = 0


def calibrate_on_training(net: Network, dataset: str, data_dir=None,
                          images: int = DEFAULT_CALIBRATION_IMAGES, seed: int = DEFAULT_SEED,
                          method: str = "percentile",
                          percentile: float = DEFAULT_PERCENTILE) -> QuantParams:
    """`calibrate` on `images` training images of `dataset` (mnist, cifar10) drawn by a seeded
    generator (`calibration_sample`); data_dir as `archsim.nn.datasets.resolve_data_dir`."""
    from archsim.nn.datasets import load_split, resolve_data_dir

    train = load_split(dataset, resolve_data_dir(data_dir), "train")
    x, _ = calibration_sample(train.x, images, seed)
    source = f"{dataset}-train"
    return calibrate(net, x, method, percentile, source=source,
                     info={"source": source, "seed": seed})


# ---------------------------------------------------------------------- file format

def save_quant(qp: QuantParams, path: str | os.PathLike) -> Path:
    """Write the parameters as deterministic JSON (floats round-trip exactly)."""
    path = Path(path)
    path.write_text(json.dumps(qp.as_dict(), sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return path


def _positive_finite(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise DataError(f"{where}: must be a positive finite number, got {value!r}")
    return float(value)


def quant_from_dict(doc, net: Network, source: str) -> QuantParams:
    """Validate a parsed quantization document against `net` (DataError naming the field)."""
    if not isinstance(doc, dict):
        raise DataError(f"{source}: top level: must be a mapping")
    if doc.get("format") != FORMAT:
        raise DataError(f"{source}: format: expected {FORMAT!r}, got {doc.get('format')!r}")
    layers = doc.get("layers")
    compute = _compute_layers(net)
    if not isinstance(layers, list):
        raise DataError(f"{source}: layers: must be a list")
    if len(layers) != len(compute):
        raise DataError(f"{source}: layers: {len(layers)} entries, network {net.name} has "
                        f"{len(compute)} conv/linear layers")
    out = []
    for i, (entry, layer) in enumerate(zip(layers, compute)):
        where = f"{source}: layers[{i}]"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: must be a mapping")
        unknown = sorted(set(entry) - {"name", "input_scale", "input_zero_point", "weight_scales",
                                       "weight_zero_point"})
        if unknown:
            raise DataError(f"{where}.{unknown[0]}: unknown key")
        if entry.get("name") != layer.name:
            raise DataError(f"{where}.name: {entry.get('name')!r} does not match network layer "
                            f"{layer.name!r}")
        scale = _positive_finite(entry.get("input_scale"), f"{where}.input_scale")
        for key in ("input_zero_point", "weight_zero_point"):
            if entry.get(key, 0) != 0 or isinstance(entry.get(key, 0), bool):
                raise DataError(f"{where}.{key}: must be 0 (symmetric int8), got {entry.get(key)!r}")
        ws = entry.get("weight_scales")
        channels = layer.weight.shape[0]
        if not isinstance(ws, list) or len(ws) != channels:
            got = f"{len(ws)} entries" if isinstance(ws, list) else repr(ws)
            raise DataError(f"{where}.weight_scales: {got}, layer {layer.name} has {channels} "
                            "output channels")
        scales = tuple(_positive_finite(v, f"{where}.weight_scales[{j}]") for j, v in enumerate(ws))
        out.append(LayerQuant(layer.name, scale, scales))
    calib = doc.get("calibration", {})
    if not isinstance(calib, dict):
        raise DataError(f"{source}: calibration: must be a mapping")
    return QuantParams(str(doc.get("network", net.name)), tuple(out), tuple(sorted(calib.items())))


def load_quant(path: str | os.PathLike, net: Network) -> QuantParams:
    """Read and validate a quantization file for `net`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: quantization file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON quantization file ({exc})") from None
    return quant_from_dict(doc, net, str(path))


# ---------------------------------------------------------------------- integer network

def fixed_point(multiplier: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m0, shift) int64 with multiplier = m0 * 2**-shift, m0 in [2**30, 2**31) (per channel)."""
    mant, exp = np.frexp(np.asarray(multiplier, dtype=np.float64))     # mant in [0.5, 1)
    m0 = np.rint(mant * 2.0**31).astype(np.int64)
    carry = m0 == 2**31                                                 # rounding reached 1.0
    m0 = np.where(carry, 2**30, m0)
    shift = 31 - exp.astype(np.int64) - carry.astype(np.int64)
    if np.any(shift < 1) or np.any(shift > 62):
        raise ConfigError("requantisation multiplier outside the fixed-point range "
                          "(scales of adjacent layers differ by more than 2**30)")
    return m0, shift


@dataclass(frozen=True, eq=False)
class QLayer:
    """One conv/linear layer in integer form."""
    layer: Conv2d | Linear
    weight_q: np.ndarray         # int8, the layer's weight shape
    bias_q: np.ndarray           # int32 [F]
    acc_scale: np.ndarray        # float64 [F]: s_x * s_w[f] (dequantisation of the sums)
    requant: tuple[np.ndarray, np.ndarray] | None   # (m0, shift) to the next input scale


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """A network with its quantization: integer weights, biases and requantisers."""
    net: Network
    params: QuantParams
    qlayers: dict
    input_scale: float

    @property
    def name(self) -> str:
        return self.net.name


def quantize_network(net: Network, params: QuantParams) -> QuantizedNetwork:
    """Integer weights/biases and fixed-point requantisers from float weights + scales."""
    compute = _compute_layers(net)
    by_name = {lq.name: lq for lq in params.layers}
    if [l.name for l in compute] != [lq.name for lq in params.layers]:
        raise DataError(f"quantization parameters of {params.network} do not match the layers "
                        f"of {net.name}")
    qlayers = {}
    for i, layer in enumerate(compute):
        lq = by_name[layer.name]
        sw = np.asarray(lq.weight_scales, dtype=np.float64)
        w = layer.weight.astype(np.float64) / sw.reshape((-1,) + (1,) * (layer.weight.ndim - 1))
        wq = np.clip(np.rint(w), -QMAX, QMAX).astype(np.int8)
        acc_scale = lq.input_scale * sw
        bq = np.clip(np.rint(layer.bias.astype(np.float64) / acc_scale), -2**31, 2**31 - 1)
        requant = None
        if i + 1 < len(compute):
            requant = fixed_point(acc_scale / by_name[compute[i + 1].name].input_scale)
        qlayers[layer.name] = QLayer(layer, wq, bq.astype(np.int32), acc_scale, requant)
    return QuantizedNetwork(net, params, qlayers, params.layers[0].input_scale)


def quantize_input(x: np.ndarray, scale: float) -> np.ndarray:
    """float -> int8 codes at `scale` (round to nearest even, clip to -127..127)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) / scale), -QMAX, QMAX).astype(np.int8)


def requantise(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, channel_axis: int) -> np.ndarray:
    """int32 sums -> int8 codes: (acc * m0 + 2**(shift-1)) >> shift, clipped to -127..127."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    m0, shift = m0.reshape(shape), shift.reshape(shape)
    y = (acc.astype(np.int64) * m0 + (np.int64(1) << (shift - 1))) >> shift
    return np.clip(y, -QMAX, QMAX).astype(np.int8)


def _int_layer(ql: QLayer, h: np.ndarray, mult) -> np.ndarray:
    layer = ql.layer
    if isinstance(layer, Conv2d):
        return mult.conv2d(h, ql.weight_q, ql.bias_q, stride=layer.stride, padding=layer.padding)
    out = mult.matmul_t(np.ascontiguousarray(h.T), ql.weight_q)       # [F, N]
    return np.ascontiguousarray(out.T) + ql.bias_q[None, :]


def resolve_int_multiplier(multiplier):
    """An IntMultiplier8 from itself or an integer variant name (archsim_core.int8)."""
    from archsim_core.int8 import IntMultiplier8, int_variant
    if isinstance(multiplier, IntMultiplier8):
        return multiplier
    return int_variant(multiplier)


def forward_int8(qnet: QuantizedNetwork, x, multiplier="int8", batch_size: int = 256,
                 progress: bool = False) -> np.ndarray:
    """float32 logits [N, classes] of the quantized network with every product through the
    8x8 `multiplier` (a name such as "int8", "uint8:PATH.v", or an IntMultiplier8)."""
    arr = check_input(qnet.net, x)
    mult = resolve_int_multiplier(multiplier)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    out = np.empty((arr.shape[0],) + qnet.net.output_shape, dtype=np.float32)
    starts = range(0, arr.shape[0], batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc=f"{qnet.name} ({mult.name})", unit="batch")
    last = qnet.net.layers[-1]
    for start in starts:
        h = quantize_input(arr[start:start + batch_size], qnet.input_scale)
        for layer in qnet.net.layers:
            if isinstance(layer, (Conv2d, Linear)):
                ql = qnet.qlayers[layer.name]
                acc = _int_layer(ql, h, mult)
                if layer is last:
                    shape = (1, -1) + (1,) * (acc.ndim - 2)
                    h = (acc.astype(np.float64) * ql.acc_scale.reshape(shape)).astype(np.float32)
                else:
                    h = requantise(acc, *ql.requant, channel_axis=1)
            elif isinstance(layer, ReLU):
                h = np.maximum(h, np.int8(0))
            elif isinstance(layer, MaxPool2d):
                h = _maxpool(layer, h)
            elif isinstance(layer, Flatten):
                h = h.reshape(h.shape[0], -1)
        out[start:start + batch_size] = h.reshape(out[start:start + batch_size].shape)
    return out


# ---------------------------------------------------------------------- any variant

FLOAT32_NUMPY = "float32-numpy"   # FP32 inference by numpy/BLAS (same name as archsim robustness)


def variant_logits(net: Network, x, variant: str, qnet: QuantizedNetwork | None = None,
                   batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """Logits of `net` under any variant name: integer ones (int8, int8:PATH.v, uint8:PATH.v,
    uint8-...) through the quantized network `qnet`; `float32-numpy` by numpy; every other name
    is an FP multiplier variant (archsim_core.get_multiplier). This is the adapter an accuracy
    command calls per variant."""
    from archsim.nn.network import forward
    from archsim_core.int8 import is_int_variant

    if is_int_variant(variant):
        if qnet is None:
            raise ConfigError(f"variant {variant}: integer variants need quantization parameters "
                              "(archsim quantize, or --quant FILE)")
        return forward_int8(qnet, x, variant, batch_size=batch_size, progress=progress)
    mult = None if variant == FLOAT32_NUMPY else variant
    return forward(net, x, mult, batch_size=batch_size, progress=progress)


def check_variant_names(variants) -> None:
    """Resolve every variant name up front (SpecError naming the bad one) without running."""
    from archsim_core.int8 import int_variant, is_int_variant
    from archsim_core.variants import resolve_variant

    for v in variants:
        if is_int_variant(v):
            int_variant(v)
        elif v != FLOAT32_NUMPY:
            resolve_variant(v)


ACCURACY_COLUMNS = ["variant", "images", "correct", "top1"]


def prepare_accuracy(acc) -> tuple:
    """(net, qnet or None, test Split) of a run config's `accuracy` section (an
    archsim.config.AccuracyConfig); every file is read and checked here, before any work."""
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split, resolve_data_dir

    net = load_network(acc.weights, acc.architecture)
    qnet = quantize_network(net, load_quant(acc.quant, net)) if acc.quant else None
    test = load_split(acc.dataset, resolve_data_dir(None, acc.data_dir), "test")
    if acc.images is not None:
        test = test.take(min(acc.images, len(test.y)))
    return net, qnet, test


def accuracy_rows(net: Network, qnet, test, variants, progress: bool = False,
                  batch_size: int = 256) -> list[dict]:
    """accuracy.csv rows (variant, images, correct, top1) for (label, spec) pairs; `test` has
    inputs `x` and integer labels `y`."""
    from archsim.nn.network import labels_of

    rows = []
    for label, spec in variants:
        labels = labels_of(variant_logits(net, test.x, spec, qnet, batch_size=batch_size,
                                          progress=progress))
        correct = int(np.count_nonzero(labels == test.y))
        rows.append({"variant": label, "images": int(len(test.y)), "correct": correct,
                     "top1": correct / len(test.y)})
    return rows
