"""The one output-size formula and the one im2col of archsim (every other module calls these).

Windows (convolution and pooling) along one spatial axis: an input of `size` padded with
`pad_begin` before and `pad_end` after, a kernel of `kernel` taps spaced `dilation` apart,
moved by `stride`. The output has floor((size + pads - dilation*(kernel-1) - 1) / stride) + 1
positions, or ceil(...) + 1 with `ceil_mode` (ONNX pooling; a window may then start in the
end padding but never beyond it). SCALE-Sim's topology rule E = ceil((H - R + s)/s) is
`ceil_mode` without padding (its last window runs past the input, see archsim.workloads).
"""
from __future__ import annotations

import math

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int = 1, pad_begin: int = 0,
                     pad_end: int | None = None, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output positions of a window along one axis (`pad_end` defaults to `pad_begin`)."""
    pad_end = pad_begin if pad_end is None else pad_end
    span = size + pad_begin + pad_end - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        # ONNX/PyTorch: the last window must start inside the input or the begin padding
        if (out - 1) * stride >= size + pad_begin:
            out -= 1
        return out
    return span // stride + 1


def scalesim_output_size(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's topology rule E = ceil((H - R + s)/s): a partial last window is scheduled."""
    return math.ceil((size - kernel + stride) / stride)


def pad_nchw(x: np.ndarray, pads: tuple[int, int, int, int], value: float = 0.0) -> np.ndarray:
    """x [N, C, H, W] padded by (top, left, bottom, right) with `value`."""
    top, left, bottom, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
            pads: tuple[int, int, int, int] = (0, 0, 0, 0), dilation: tuple[int, int] = (1, 1),
            out_hw: tuple[int, int] | None = None, pad_value: float = 0.0) -> np.ndarray:
    """A strided view [N, C, OH, OW, R, S] of the windows of x [N, C, H, W] (no copy of the
    padded input beyond the pad). `out_hw` overrides the output size (ceil-mode pooling pads
    the end further so every counted window is in range)."""
    r, s = kernel
    (sh, sw), (dh, dw) = stride, dilation
    h, w = x.shape[2], x.shape[3]
    if out_hw is None:
        out_hw = (conv_output_size(h, r, sh, pads[0], pads[2], dh),
                  conv_output_size(w, s, sw, pads[1], pads[3], dw))
    oh, ow = out_hw
    need_h = (oh - 1) * sh + dh * (r - 1) + 1
    need_w = (ow - 1) * sw + dw * (s - 1) + 1
    extra_b = max(0, need_h - (h + pads[0] + pads[2]))
    extra_r = max(0, need_w - (w + pads[1] + pads[3]))
    xp = pad_nchw(x, (pads[0], pads[1], pads[2] + extra_b, pads[3] + extra_r), pad_value)
    win = np.lib.stride_tricks.sliding_window_view(
        xp, ((r - 1) * dh + 1, (s - 1) * dw + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw][:, :, :oh, :ow, ::dh, ::dw]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int] | int = 1,
           pads: tuple[int, int, int, int] | int = 0,
           dilation: tuple[int, int] | int = 1) -> np.ndarray:
    """Patches of x [N, C, H, W] as [N*OH*OW, C*R*S], column k = (c*R + r)*S + s (the order
    archsim_core's conv2d and the simulator's ifmap model use), zero padding."""
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    pads = (pads,) * 4 if isinstance(pads, int) else tuple(pads)
    dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    win = windows(x, kernel, stride, pads, dilation)
    n, c, oh, ow, r, s = win.shape
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * r * s)
