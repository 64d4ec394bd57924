"""Independent plain-numpy references for network tests (no archsim.nn code is used here).

Convolution is a float64 sum over kernel offsets (no im2col); the approximate reference
multiplies element by element through `m.multiply` and accumulates in float32 in increasing
k = (c*R + r)*S + s order, exactly as archsim_core's m.conv2d / m.matmul document it.
"""
import numpy as np

DA_LENET = (("conv", "conv1", 1), "relu", "pool", ("conv", "conv2", 1), "relu", "pool", "flat",
            ("fc", "linear1"), "relu", ("fc", "linear2"))


def conv_f64(x, w, b, pad):
    """Stride-1 convolution in float64 as a sum of R*S shifted tensor products."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    f, c, r, s = w.shape
    oh, ow = x.shape[2] - r + 1, x.shape[3] - s + 1
    out = np.zeros((x.shape[0], f, oh, ow))
    for i in range(r):
        for j in range(s):
            out += np.einsum("nchw,fc->nfhw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return out + b.astype(np.float64)[None, :, None, None]


def pool2(x):
    """2x2 / stride 2 max pooling by explicit comparison of the four phases."""
    return np.maximum(np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                      np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))


def run_f64(params, x, plan=DA_LENET):
    """Logits of the plan in float64."""
    h = x.astype(np.float64)
    for step in plan:
        if step == "relu":
            h = np.maximum(h, 0.0)
        elif step == "pool":
            h = pool2(h)
        elif step == "flat":
            h = h.reshape(h.shape[0], -1)
        elif step[0] == "conv":
            h = conv_f64(h, params[step[1] + "_weight"].astype(np.float64),
                         params[step[1] + "_bias"], step[2])
        else:
            h = h @ params[step[1] + "_weight"].astype(np.float64).T + params[step[1] + "_bias"]
    return h


def _sum_k(products, bias):
    """float32 accumulation over the last axis in increasing k, then + bias (float32)."""
    acc = np.zeros(products.shape[:-1], dtype=np.float32)
    for k in range(products.shape[-1]):
        acc = acc + products[..., k]
    return acc + bias.astype(np.float32)


def conv_mult(m, x, w, b, pad):
    """Stride-1 conv: patches built by loops, products through m.multiply(activation, weight)."""
    n, c, h, wd = x.shape
    f, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - r + 1, wd + 2 * pad - s + 1
    patches = np.empty((n, oh, ow, c * r * s), dtype=np.float32)
    for ci in range(c):
        for ri in range(r):
            for si in range(s):
                patches[..., (ci * r + ri) * s + si] = xp[:, ci, ri:ri + oh, si:si + ow]
    wk = w.reshape(f, -1).astype(np.float32)
    prods = np.asarray(m.multiply(patches[:, :, :, None, :], wk[None, None, None]), np.float32)
    return _sum_k(prods, b).transpose(0, 3, 1, 2)


def run_mult(m, params, x, plan=DA_LENET):
    """Logits of the plan with every product through m.multiply (float32 throughout)."""
    h = x.astype(np.float32)
    for step in plan:
        if step == "relu":
            h = np.maximum(h, np.float32(0))
        elif step == "pool":
            h = pool2(h)
        elif step == "flat":
            h = h.reshape(h.shape[0], -1)
        elif step[0] == "conv":
            h = conv_mult(m, h, params[step[1] + "_weight"], params[step[1] + "_bias"], step[2])
        else:
            w = params[step[1] + "_weight"].astype(np.float32)
            prods = np.asarray(m.multiply(h[:, None, :], w[None]), np.float32)
            h = _sum_k(prods, params[step[1] + "_bias"])
    return h
