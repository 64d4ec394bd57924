"""Workload-driven MAC energy: the operand streams the PEs really see, priced on the netlists.

Operand capture (`capture_gemms`): the network runs forward on real inputs with its weights
(float32, exact arithmetic: the operands every variant's PEs receive up to the approximation's
own effect on activations) and every conv / fc layer yields its GEMM operands X[M, K] (im2col
of its input, first operand = activation) and W[K, N].

Per dataflow on an R x C array (`archsim.sim.functional.pe_windows`), one sample is a window
of `ops` consecutive operations of one PE in one fold:
  OS  PE (i, j) owns output (m, n) and streams (X[m, k], W[k, n]) over k, then its next
      output (m + R, n); the accumulator restarts at each output.
  WS  the PE holding W[k, n] (row k mod R of fold k // R) streams X[m, k] over m with that
      weight stationary; its adder adds its product to the partial sum from the PE above
      (the fold's products at k' < k, summed down the column).
  IS  the PE holding X[m, k] streams W[k, n] over n; partial sums as for WS.
Samples are drawn with a seeded generator, `sample` per layer; each layer's mean energy per
operation and its standard error (std over windows / sqrt(samples)) are weighted by the
layer's MACs. Products and partial sums use the variant's own multiplier and adder.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from archsim.cost.library import CellLibrary
from archsim.cost.power import netlist_toggles, signal_energies
from archsim.errors import ArchsimError, DataError
from archsim.sim.functional import pe_windows  # noqa: F401  (re-exported: the PE streams)

SOURCES = ("uniform", "dataset", "npz")
DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True)
class Gemm:
    """One layer's GEMM operands as the array sees them."""

    name: str
    x: np.ndarray      # [M, K] float32, first operand (activations)
    w: np.ndarray      # [K, N] float32

    @property
    def macs(self) -> int:
        return self.x.shape[0] * self.x.shape[1] * self.w.shape[1]


def capture_gemms(net, images: np.ndarray) -> list[Gemm]:
    """Run `net` (archsim.nn.network.Network) forward on `images` (float32, exact numpy) and
    record every conv / fc layer's GEMM operands."""
    from archsim.network.shapes import im2col
    from archsim.nn.network import Conv2d, Linear, apply_layer

    h = np.ascontiguousarray(images, dtype=np.float32)
    out = []
    for layer in net.layers:
        if isinstance(layer, Conv2d):
            f, c, r, s = layer.weight.shape
            cols = im2col(h, (r, s), layer.stride, layer.padding)
            out.append(Gemm(layer.name, cols, np.ascontiguousarray(layer.weight.reshape(f, -1).T)))
        elif isinstance(layer, Linear):
            out.append(Gemm(layer.name, np.ascontiguousarray(h.reshape(h.shape[0], -1)),
                            np.ascontiguousarray(layer.weight.T)))
        h = apply_layer(layer, h)
    return out


@functools.lru_cache(maxsize=64)
def _energies(netlist, lib: CellLibrary) -> np.ndarray:
    return signal_energies(netlist, lib)


def _window_energy(netlist, lib, a, b) -> float:
    toggles = netlist_toggles(netlist, a, b)
    return float(toggles @ _energies(netlist, lib)) / (np.asarray(a).size - 1)


@dataclass(frozen=True)
class WorkloadEnergy:
    """Mean energy per MAC (library units) of the three PE netlists on sampled real streams,
    with standard errors, and per-layer detail."""

    mult_eu: float
    adder_eu: float
    register_eu: float
    mult_se: float
    adder_se: float
    register_se: float
    layers: tuple[dict, ...]
    source: str


def price_gemms(spec, lib: CellLibrary, gemms, dataflow: str, rows: int, cols: int,
                sample: int, seed: int, ops: int, source: str) -> WorkloadEnergy:
    """Sample PE windows of every layer and price them on the multiplier, adder and register
    netlists; MAC-weighted means and standard errors over the network."""
    from archsim_core.fp_unit import register_netlist, unit_netlist
    from archsim_core.multiplier import get_multiplier

    from archsim.cost.fp_unit import adder_of

    mul = get_multiplier(spec)
    nets = (unit_netlist(spec), adder_of(spec), register_netlist(spec.fmt.width))
    rng = np.random.default_rng(seed)
    total = sum(g.macs for g in gemms)
    means, ses, layers = np.zeros(3), np.zeros(3), []
    for g in gemms:
        windows = pe_windows(mul, g, dataflow, rows, cols, sample, ops, rng)
        e = np.array([[_window_energy(nets[0], lib, x, y),
                       _window_energy(nets[1], lib, before, prod),
                       _window_energy(nets[2], lib, after, np.zeros_like(after))]
                      for x, y, before, prod, after in windows])
        mean = e.mean(axis=0)
        se = e.std(axis=0, ddof=1) / np.sqrt(len(e)) if len(e) > 1 else np.zeros(3)
        weight = g.macs / total
        means += weight * mean
        ses += (weight * se) ** 2
        layers.append({"layer": g.name, "macs": g.macs, "samples": len(e), "ops_per_sample": ops,
                       "mult_eu": float(mean[0]), "adder_eu": float(mean[1]),
                       "register_eu": float(mean[2]), "mult_se_eu": float(se[0]),
                       "adder_se_eu": float(se[1]), "register_se_eu": float(se[2])})
    ses = np.sqrt(ses)
    return WorkloadEnergy(*map(float, means), *map(float, ses), tuple(layers), source)


def load_pairs(path) -> tuple[np.ndarray, np.ndarray]:
    """Recorded operand pairs: an .npz with 1-D float arrays `x` (first operand) and `y` of
    equal length >= 2; DataError naming the file and the array otherwise."""
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read operand pairs ({exc})") from None
    out = []
    for key in ("x", "y"):
        if key not in data.files:
            raise DataError(f"{path}: no array {key!r} (operand pairs need arrays x and y)")
        arr = data[key]
        if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:
            raise DataError(f"{path}: array {key!r} has dtype {arr.dtype}, expected float16/32/64")
        if arr.ndim != 1 or arr.size < 2:
            raise DataError(f"{path}: array {key!r} has shape {arr.shape}, expected 1-D with >= 2 pairs")
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise DataError(f"{path}: arrays 'x' {out[0].shape} and 'y' {out[1].shape} differ in length")
    return out[0], out[1]


@functools.lru_cache(maxsize=4)
def _captured(architecture: str, weights: str, dataset: str, split: str, images: int,
              data_dir: str) -> tuple[Gemm, ...]:
    from pathlib import Path

    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split

    net = load_network(weights, architecture)
    data = load_split(dataset, Path(data_dir), split)
    if data.x.shape[0] < images:
        raise DataError(f"{data_dir}: {dataset} {split} has {data.x.shape[0]} images, "
                        f"cost.operands.images asks for {images}")
    return tuple(capture_gemms(net, data.x[:images]))


def pe_cost_for_config(config, spec):
    """The PECost of a variant under a run Config's `cost` section (default: the uniform
    stream on the default library): the simulator's MAC energies and delays (cached)."""
    from archsim.cost.pe import variant_spec

    cc = getattr(config, "cost", None)
    if cc is not None and cc.source == "dataset":
        gemms = _gemms_for(config, cc)
        have = [(g.x.shape[1], g.w.shape[1]) for g in gemms]
        want = [(layer.gemm_k, layer.gemm_n) for layer in config.workload.layers]
        if have != want:
            from archsim.errors import ConfigError
            raise ConfigError(f"{config.source}: cost.operands.architecture: {cc.architecture}'s "
                              f"layers (K, N) {have} are not the workload's {want}")
    return _pe_cost_cached(cc, config.array.dataflow.value, config.array.rows,
                           config.array.cols, variant_spec(spec))


def _gemms_for(config, cc) -> tuple[Gemm, ...]:
    try:
        return _captured(cc.architecture, cc.weights, cc.dataset, cc.split, cc.images,
                         cc.data_dir)
    except ArchsimError as exc:
        raise type(exc)(f"{config.source}: cost.operands: {exc}") from None


@functools.lru_cache(maxsize=64)
def _pe_cost_cached(cc, dataflow: str, rows: int, cols: int, spec):
    from archsim.cost.library import resolve_library
    from archsim.cost.pe import mac_cost, mac_cost_from_words, pe_cost_from, pe_cost_workload

    lib = resolve_library(None if cc is None else cc.library)
    if cc is None or cc.source == "uniform":
        seed = 0 if cc is None else cc.seed
        return pe_cost_from(spec, lib, mac_cost(spec, lib, "uniform", seed=seed))
    if cc.source == "npz":
        from archsim_core.multiplier import get_multiplier

        x, y = load_pairs(cc.path)
        mul = get_multiplier(spec)
        mac = mac_cost_from_words(spec, lib, mul.to_bits(x), mul.to_bits(y), None,
                                  f"recorded pairs {cc.path} ({x.size} pairs, one accumulation)")
        return pe_cost_from(spec, lib, mac)
    gemms = _captured(cc.architecture, cc.weights, cc.dataset, cc.split, cc.images, cc.data_dir)
    source = (f"{cc.dataset} {cc.split} ({cc.images} images) through {cc.architecture} "
              f"({cc.weights}), {dataflow.upper()} dataflow on {rows}x{cols}: {cc.sample} PE "
              f"windows of {cc.ops} operations per layer, seed {cc.seed}")
    energy = price_gemms(spec, lib, gemms, dataflow, rows, cols, cc.sample, cc.seed, cc.ops,
                         source)
    return pe_cost_workload(spec, lib, energy)
