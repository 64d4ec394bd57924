"""PyTorch view of a `Network` (optional extra): training, gradients, and BPDA.

torch is imported lazily; without it `require_torch` raises a one-line error that names the
extra to install. `TorchNetwork(net)` computes exactly what `forward(net, x)` computes, with
the parameters as trainable tensors under the npz key names. `TorchNetwork(net, multiplier)`
is the approximate model for white-box attacks by BPDA (Athalye et al. 2018), as the Defensive
Approximation code does: its forward pass is archsim's approximate inference, layer by layer
(each conv/linear through the multiplier), and the backward pass of each conv/linear is the
exact layer's gradient evaluated at the input the approximate forward pass gave that layer;
ReLU and max-pool gradients follow the approximate activations.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from archsim.errors import ConfigError
from archsim.nn.architectures import build_network
from archsim.nn.network import Conv2d, Flatten, Linear, MaxPool2d, Network, ReLU
from archsim.nn.network import apply_layer, resolve_multiplier


def require_torch(purpose: str = "this feature"):
    """The torch module, or ConfigError naming the optional extra."""
    try:
        import torch
    except ImportError:
        raise ConfigError(f"{purpose} needs PyTorch, an optional extra: "
                          "pip install 'archsim[robust]' (torch 2.13 CPU)") from None
    return torch


def _exact_op(layer, x, weight, bias):
    import torch.nn.functional as F
    if isinstance(layer, Conv2d):
        return F.conv2d(x, weight, bias, stride=layer.stride, padding=layer.padding)
    return F.linear(x, weight, bias)


def _exact_grads(layer, x, weight, grad, need):
    """Gradients of the exact conv/linear layer at input `x` w.r.t. (x, weight, bias), each
    computed only when `need` asks for it (None otherwise): attacks need the input gradient
    alone, training all three."""
    import torch
    gx = gw = gb = None
    if isinstance(layer, Conv2d):
        if need[0]:
            gx = torch.nn.grad.conv2d_input(x.shape, weight, grad, stride=layer.stride,
                                            padding=layer.padding)
        if need[1]:
            gw = torch.nn.grad.conv2d_weight(x, weight.shape, grad, stride=layer.stride,
                                             padding=layer.padding)
        if need[2]:
            gb = grad.sum(dim=(0, 2, 3))
    else:
        if need[0]:
            gx = grad @ weight
        if need[1]:
            gw = grad.t() @ x
        if need[2]:
            gb = grad.sum(dim=0)
    return gx, gw, gb


def _bpda_function():
    torch = require_torch("BPDA")

    class _BPDA(torch.autograd.Function):
        """forward: approximate layer (numpy, archsim multiplier); backward: exact gradient."""

        @staticmethod
        def forward(ctx, x, weight, bias, layer, mult):
            ctx.save_for_backward(x, weight)
            ctx.layer = layer
            out = apply_layer(layer, np.ascontiguousarray(x.detach().cpu().numpy()), mult)
            return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            gx, gw, gb = _exact_grads(ctx.layer, x, weight, grad.contiguous(),
                                      ctx.needs_input_grad[:3])
            return gx, gw, gb, None, None

    return _BPDA


def torch_module(net: Network, multiplier: Any = None, trainable: bool = True):
    """A torch.nn.Module computing `net` (exact, or approximate forward with BPDA backward).

    `trainable=False` freezes the parameters (requires_grad off): attacks then get input
    gradients without paying for weight gradients."""
    torch = require_torch("torch_module")
    mult = resolve_multiplier(multiplier)
    bpda = _bpda_function() if mult is not None else None

    class TorchNetwork(torch.nn.Module):
        """Torch twin of an archsim Network; parameters named as in the npz files."""

        def __init__(self):
            super().__init__()
            self.params = torch.nn.ParameterDict({
                k: torch.nn.Parameter(torch.from_numpy(np.array(v, dtype=np.float32)),
                                      requires_grad=trainable)
                for k, v in net.parameters().items()})

        def forward(self, x):
            for layer in net.layers:
                x = self._layer(layer, x)
            return x

        def _layer(self, layer, x):
            import torch.nn.functional as F
            if isinstance(layer, (Conv2d, Linear)):
                w, b = self.params[layer.name + "_weight"], self.params[layer.name + "_bias"]
                if bpda is None:
                    return _exact_op(layer, x, w, b)
                return bpda.apply(x, w, b, layer, mult)
            if isinstance(layer, ReLU):
                return F.relu(x)
            if isinstance(layer, MaxPool2d):
                return F.max_pool2d(x, layer.kernel, layer.stride)
            if isinstance(layer, Flatten):
                return torch.flatten(x, 1)
            raise ConfigError(f"unknown layer type {type(layer).__name__}")

    return TorchNetwork()


def network_from_module(module, architecture: str, name: str | None = None) -> Network:
    """The archsim Network holding a TorchNetwork's current parameters."""
    params = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in module.params.items()}
    return build_network(architecture, params, source="torch module", name=name)
