"""Small torch models exported to ONNX for the import tests (onnxruntime is the oracle)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def export(module, example, path: Path, opset: int = 17, dynamic_batch: bool = True) -> Path:
    """torch.onnx.export with the classic (TorchScript) exporter, input named x."""
    import torch

    module = module.eval()
    axes = {"x": {0: "N"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes=axes, opset_version=opset)
    return path


def onnxruntime_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    """The model's output for x by onnxruntime (one CPU thread)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def torch_sequential(net):
    """A torch.nn.Sequential with the layers and weights of an archsim Network."""
    import torch
    from archsim.nn.network import Conv2d, Flatten, Linear, MaxPool2d, ReLU

    layers = []
    for layer in net.layers:
        if isinstance(layer, Conv2d):
            f, c, r, s = layer.weight.shape
            mod = torch.nn.Conv2d(c, f, (r, s), layer.stride, layer.padding)
        elif isinstance(layer, Linear):
            mod = torch.nn.Linear(layer.weight.shape[1], layer.weight.shape[0])
        elif isinstance(layer, MaxPool2d):
            layers.append(torch.nn.MaxPool2d(layer.kernel, layer.stride))
            continue
        else:
            layers.append(torch.nn.ReLU() if isinstance(layer, ReLU) else torch.nn.Flatten())
            continue
        with torch.no_grad():
            mod.weight.copy_(torch.from_numpy(np.array(layer.weight)))
            mod.bias.copy_(torch.from_numpy(np.array(layer.bias)))
        layers.append(mod)
    return torch.nn.Sequential(*layers)


def residual_block():
    """conv-BN-ReLU-conv-BN + identity, ReLU; a strided conv-BN shortcut block; GAP; FC."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c3, self.b3 = nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16)
            self.down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            y = torch.relu(self.b2(self.c2(torch.relu(self.b1(self.c1(x))))) + x)
            y = torch.relu(self.b3(self.c3(y)) + self.down(y))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))

    block = Block()
    with torch.no_grad():
        for bn in (block.b1, block.b2, block.b3, block.down[1]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return block


def depthwise_separable():
    """MobileNet-style blocks: depthwise 3x3 (dilated, strided), ReLU6, pointwise, BN; a
    zero-padded (asymmetric) max pool, average pool, concat of two branches, sigmoid gate."""
    import torch
    from torch import nn

    class DWS(nn.Module):
        def __init__(self):
            super().__init__()
            self.dw1 = nn.Conv2d(6, 6, 3, 1, 2, dilation=2, groups=6, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.pw1 = nn.Conv2d(6, 12, 1)
            self.dw2 = nn.Conv2d(12, 24, 3, 2, 1, groups=12)  # channel multiplier 2
            self.pad = nn.ZeroPad2d((0, 1, 1, 0))
            self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.avg = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
            self.fc = nn.Linear(48 * 4 * 4, 4)

        def forward(self, x):
            y = nn.functional.relu6(self.pw1(nn.functional.relu6(self.bn1(self.dw1(x)))))
            y = torch.tanh(self.dw2(y))
            y = self.pool(self.pad(y))
            y = torch.cat([y * torch.sigmoid(y), self.avg(y)], dim=1)
            return self.fc(torch.flatten(y, 1).reshape(y.shape[0], -1))

    return DWS()


def encoder_layer(d: int = 16, heads: int = 2, ff: int = 32):
    """One transformer encoder layer (post-norm, GELU): attention matmuls between activations,
    softmax, layer norm."""
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.f1, self.f2 = nn.Linear(d, ff), nn.Linear(ff, d)

        def forward(self, x):
            b, n, _ = x.shape
            split = lambda t: t.reshape(b, n, heads, d // heads).transpose(1, 2)  # noqa: E731
            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            att = torch.softmax(q @ k.transpose(-2, -1) / (d // heads) ** 0.5, dim=-1)
            x = self.n1(x + self.o((att @ v).transpose(1, 2).reshape(b, n, d)))
            return self.n2(x + self.f2(nn.functional.gelu(self.f1(x))))

    return Encoder()


def torchvision_models():
    """torchvision.models, importable on CPU-only torch: torchvision's compiled ops link CUDA
    libraries and fail to load, and its import registers fakes for two of their schemas;
    defining those schemas first (never called) lets the model definitions import."""
    import torch

    try:
        import torchvision.models as models
        return models
    except (RuntimeError, OSError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    torchvision_models._keep = lib  # the schemas live as long as the library object
    import torchvision.models as models
    return models
