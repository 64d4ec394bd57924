"""Adaptive attacks and controls (Carlini et al. 2019, "On Evaluating Adversarial Robustness";
Tramer et al. 2020, "On Adaptive Attacks to Adversarial Example Defenses").

- Losses for gradient attacks (`LOSSES`): `ce` (cross-entropy, ART's default), `margin`
  (C&W's f: max_{j != y} z_j - z_y, scale-free in sign, never saturates) and `ce-normalised`
  (cross-entropy of the logits divided by their per-image standard deviation, detached: the
  gradient is CE's gradient taken at rescaled logits). `da` magnifies logits ~4.7x, so float32
  softmax saturates (p_y == 1.0) and plain CE gradients vanish: BPDA with CE is masked.
- `ddn`: Decoupled Direction and Norm (Rony et al. 2019), a minimum-norm L2 attack written here
  in torch (ART 1.20 has neither DDN nor FMN): normalised gradient steps with a cosine-annealed
  step size; the L2 budget shrinks by (1 - gamma) after an adversarial iterate and grows by
  (1 + gamma) otherwise; returns the smallest adversarial found (the clean image if none).
- Controls (`Model`): a network + multiplier under a name. Besides multiplier variants
  (`da-flat`, `exact-truncate`, `lsb-AMA5-k`, ...), weight controls run in float32:
  `fp16-weights` / `bf16-weights` (weights and biases rounded to nearest even), `{scaled: REF}`
  (each conv/linear weight multiplied by REF's measured systematic gain of that layer, biases
  unchanged) and `{noise: REF}` (each weight times (1 + sigma_l N(0, 1)), seeded, sigma_l chosen
  so the layer's output error matches REF's non-systematic error); see `measure_layers`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from archsim.errors import ConfigError
from archsim.nn.network import Conv2d, Linear, Network, apply_layer

LOSSES = ("ce", "margin", "ce-normalised")
WEIGHT_CONTROLS = ("fp16-weights", "bf16-weights")
REFERENCED_CONTROLS = ("scaled", "noise")


@dataclass(frozen=True)
class Model:
    """A model under attack: name, network, multiplier variant (None = float32 numpy)."""

    name: str
    net: Network
    variant: str | None
    note: str = ""


# ---------------------------------------------------------------------------- losses

def loss_module(name: str):
    """A torch loss(logits, one-hot labels) -> scalar to be maximised by the attack."""
    import torch
    if name == "ce":
        return torch.nn.CrossEntropyLoss()

    class _Loss(torch.nn.Module):
        def forward(self, z, y):
            y = y.argmax(dim=1) if y.dim() == 2 else y.long()
            if name == "margin":
                zy = z.gather(1, y[:, None])[:, 0]
                other = z.masked_fill(torch.nn.functional.one_hot(y, z.shape[1]).bool(),
                                      float("-inf")).max(dim=1).values
                return (other - zy).sum()
            scale = z.std(dim=1, keepdim=True).detach().clamp_min(1e-12)
            return torch.nn.functional.cross_entropy(z / scale, y, reduction="sum")

    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")
    return _Loss()


# ---------------------------------------------------------------------------- DDN

def ddn(module, x: np.ndarray, y: np.ndarray, steps: int = 100, init_eps: float = 1.0,
        gamma: float = 0.05, alpha_max: float = 1.0, alpha_min: float = 0.01,
        loss: str = "margin", confidence: float = 0.0, batch_size: int = 128) -> np.ndarray:
    """Minimum-L2 adversarial examples by DDN; an image never fooled is returned unchanged.

    With `confidence` k > 0 an iterate counts as adversarial only when its logit margin
    max_{j != y} z_j - z_y is at least k (C&W's confidence criterion): the smallest
    perturbation found that is misclassified with margin k, for transfer experiments."""
    out = np.array(x, dtype=np.float32, copy=True)
    for s in range(0, len(x), batch_size):
        out[s:s + batch_size] = _ddn_batch(module, x[s:s + batch_size], y[s:s + batch_size],
                                           steps, init_eps, gamma, alpha_max, alpha_min, loss,
                                           confidence)
    return out


def _ddn_batch(module, x, y, steps, init_eps, gamma, alpha_max, alpha_min, loss_name, kappa):
    import torch
    xt = torch.from_numpy(np.array(x, np.float32))
    yt = torch.from_numpy(np.array(y, np.int64))
    n = len(xt)
    flat = lambda t: t.reshape(n, -1)
    crit = loss_module(loss_name)
    delta = torch.zeros_like(xt)
    eps = torch.full((n,), float(init_eps))
    best = xt.clone()
    best_l2 = torch.full((n,), float("inf"))
    for k in range(steps + 1):
        delta.requires_grad_(True)
        adv = (xt + delta).clamp(0.0, 1.0)
        z = module(adv)
        with torch.no_grad():
            zy = z.gather(1, yt[:, None])[:, 0]
            other = z.masked_fill(torch.nn.functional.one_hot(yt, z.shape[1]).bool(),
                                  float("-inf")).max(dim=1).values
            is_adv = (z.argmax(dim=1) != yt) & (other - zy >= kappa)
            l2 = flat(adv - xt).norm(dim=1)
            better = is_adv & (l2 < best_l2)
            best[better], best_l2[better] = adv[better].detach(), l2[better]
        if k == steps:
            break
        g, = torch.autograd.grad(crit(z, yt), delta)
        with torch.no_grad():
            alpha = alpha_min + (alpha_max - alpha_min) * (1 + math.cos(math.pi * k / steps)) / 2
            gn = flat(g).norm(dim=1).clamp_min(1e-12)
            delta = delta.detach() + alpha * g / gn.view(-1, *([1] * (g.dim() - 1)))
            eps = torch.where(is_adv, eps * (1 - gamma), eps * (1 + gamma))
            dn = flat(delta).norm(dim=1).clamp_min(1e-12)
            delta = delta * (torch.minimum(eps, dn) / dn).view(-1, *([1] * (g.dim() - 1)))
            delta = (xt + delta).clamp(0.0, 1.0) - xt
    return best.numpy()


# ---------------------------------------------------------------------------- controls

def _weighted(net: Network) -> list[int]:
    return [i for i, layer in enumerate(net.layers) if isinstance(layer, (Conv2d, Linear))]


def _with_weights(net: Network, weights: dict[int, tuple[np.ndarray, np.ndarray]],
                  name: str) -> Network:
    layers = list(net.layers)
    for i, (w, b) in weights.items():
        layers[i] = replace(layers[i], weight=w.astype(np.float32), bias=b.astype(np.float32))
    return replace(net, name=name, layers=tuple(layers))


def round_weights(net: Network, fmt: str) -> Network:
    """Weights and biases rounded to fp16 or bf16 (nearest even), held in float32."""
    def rnd(a):
        a = np.asarray(a, np.float32)
        if fmt == "fp16-weights":
            return a.astype(np.float16).astype(np.float32)
        bits = a.view(np.uint32).astype(np.uint64)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000   # RNE to the top 16 bits
        return bits.astype(np.uint32).view(np.float32)
    return _with_weights(net, {i: (rnd(net.layers[i].weight), rnd(net.layers[i].bias))
                               for i in _weighted(net)}, fmt)


def measure_layers(net: Network, multiplier, x: np.ndarray) -> list[dict]:
    """Per conv/linear layer: the approximate layer's systematic gain and residual error.

    Along the approximate forward pass, each weighted layer's input h is fed to the exact and the
    approximate layer; with e, a their outputs minus the bias, gain = <a, e> / <e, e> (least
    squares) and residual = rms(a - gain e) / rms(gain e).
    """
    out, h = [], np.asarray(x, np.float32)
    for layer in net.layers:
        if isinstance(layer, (Conv2d, Linear)):
            b = layer.bias.reshape((1, -1) + (1,) * (h.ndim - 2)) if isinstance(layer, Conv2d) \
                else layer.bias[None]
            e = (apply_layer(layer, h, None) - b).astype(np.float64)
            a_full = apply_layer(layer, h, multiplier)
            a = (a_full - b).astype(np.float64)
            gain = float((a * e).sum() / (e * e).sum())
            resid = float(np.sqrt(((a - gain * e) ** 2).mean()) / np.sqrt(((gain * e) ** 2).mean()))
            out.append({"layer": layer.name, "gain": gain, "residual": resid})
            h = a_full
        else:
            h = apply_layer(layer, h, multiplier)
    return out


def scaled_like(net: Network, layers: list[dict], ref: str) -> Network:
    """Exact network with each weighted layer's weights times the reference's measured gain."""
    idx = _weighted(net)
    return _with_weights(net, {i: (net.layers[i].weight * m["gain"], net.layers[i].bias)
                               for i, m in zip(idx, layers)}, f"scaled-like-{ref}")


def noise_like(net: Network, layers: list[dict], ref: str, x: np.ndarray,
               rng: np.random.Generator) -> Network:
    """Exact network with multiplicative weight noise matched, layer by layer, to the
    reference's residual (non-systematic) output error on the calibration images `x`."""
    idx = set(_weighted(net))
    per = iter(layers)
    weights, h = {}, np.asarray(x, np.float32)
    for i, layer in enumerate(net.layers):
        if i in idx:
            m = next(per)
            eps = rng.standard_normal(layer.weight.shape).astype(np.float32)
            zero = np.zeros_like(layer.bias)
            e = apply_layer(replace(layer, bias=zero), h, None).astype(np.float64)
            d = apply_layer(replace(layer, weight=layer.weight * eps, bias=zero), h,
                            None).astype(np.float64)
            sigma = m["residual"] * np.sqrt((e ** 2).mean()) / max(np.sqrt((d ** 2).mean()), 1e-30)
            weights[i] = (layer.weight * (1 + sigma * eps), layer.bias)
        h = apply_layer(layer, h, None)
    return _with_weights(net, weights, f"noise-like-{ref}")


def control_name(item: Any) -> str:
    """The model name a `controls:` item produces."""
    if isinstance(item, dict):
        (kind, ref), = item.items()
        return f"{kind}-like-{ref}"
    return str(item)
