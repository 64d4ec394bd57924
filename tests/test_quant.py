"""Post-training int8 quantization: scales against hand formulas, the integer pipeline against
an independent float64/int64 oracle, the file format and its validation, and real MNIST top-1."""
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from archsim.errors import ConfigError, DataError
from archsim.network.shapes import im2col
from archsim.nn.network import Conv2d, Flatten, Linear, MaxPool2d, Network, ReLU
from archsim.nn.quant import (calibrate, calibration_sample, fixed_point, forward_int8,
                              load_quant, quantize_network, requantise, save_quant)

RNG = np.random.default_rng(7)


def _tiny_net() -> Network:
    r = np.random.default_rng(3)
    return Network("tiny", (2, 6, 6), (
        Conv2d("c1", r.normal(0, 0.5, (3, 2, 3, 3)), r.normal(0, 0.1, 3), padding=1), ReLU(),
        MaxPool2d(2, 2), Flatten(),
        Linear("f1", r.normal(0, 0.3, (5, 27)), r.normal(0, 0.1, 5)), ReLU(),
        Linear("f2", r.normal(0, 0.3, (4, 5)), r.normal(0, 0.1, 4))))


def _calib(n=64, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 2, 6, 6)).astype(np.float32)


def test_scales_follow_the_formulas():
    net, x = _tiny_net(), _calib()
    qp = calibrate(net, x, "minmax")
    c1 = net.layers[0]
    np.testing.assert_allclose(qp.layers[0].weight_scales,
                               np.abs(c1.weight.astype(np.float64)).reshape(3, -1).max(1) / 127, rtol=1e-15)
    assert qp.layers[0].input_scale == pytest.approx(float(x.max()) / 127, rel=1e-12)
    # f1's input = flattened pooled relu of c1 (float64 recomputation, no archsim forward)
    h = np.einsum("nmk,fk->nfm", im2col(x.astype(np.float64), (3, 3), 1, 1).reshape(len(x), 36, -1),
                  c1.weight.reshape(3, -1).astype(np.float64)) + c1.bias[None, :, None]
    h = np.maximum(h, 0).reshape(64, 3, 6, 6).reshape(64, 3, 3, 2, 3, 2).max(axis=(3, 5))
    assert qp.layers[1].input_scale == pytest.approx(h.max() / 127, rel=1e-5)
    pct = calibrate(net, x, "percentile", 99.0)
    assert pct.layers[1].input_scale < qp.layers[1].input_scale
    assert pct.layers[1].input_scale == pytest.approx(np.percentile(h, 99.0) / 127, rel=1e-5)


def test_fixed_point_and_requantise_are_exact_round_half_up():
    mults = RNG.uniform(1e-5, 3.0, 50)
    m0, shift = fixed_point(mults)
    assert np.all((m0 >= 2**30) & (m0 < 2**31))
    np.testing.assert_allclose(m0 / 2.0**shift, mults, rtol=2**-30)
    acc = RNG.integers(-2**20, 2**20, (7, 50)).astype(np.int32)
    got = requantise(acc, m0, shift, channel_axis=1)
    for i in range(7):
        for f in range(50):
            exact = Fraction(int(acc[i, f]) * int(m0[f]), 2**int(shift[f]))
            want = max(-127, min(127, int((exact + Fraction(1, 2)).__floor__())))
            assert got[i, f] == want


def _oracle_int8_forward(net, qp, x):
    """The integer pipeline re-derived with float64/int64 numpy arithmetic and Fractions-free
    formulas (no archsim_core kernels, no quant.forward_int8)."""
    ls = {l.name: l for l in qp.layers}
    order = [l for l in net.layers if isinstance(l, (Conv2d, Linear))]

    def qw(layer):
        s = np.array(ls[layer.name].weight_scales)
        w = layer.weight.astype(np.float64)
        return np.clip(np.rint(w / s.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int64), s

    h = np.clip(np.rint(x.astype(np.float64) / qp.layers[0].input_scale), -127, 127).astype(np.int64)
    for layer in net.layers:
        if isinstance(layer, (Conv2d, Linear)):
            w, sw = qw(layer)
            sx = ls[layer.name].input_scale
            b = np.rint(layer.bias.astype(np.float64) / (sx * sw)).astype(np.int64)
            if isinstance(layer, Conv2d):
                n, _, hh, ww = h.shape
                cols = im2col(h, (3, 3), layer.stride, layer.padding).reshape(n, hh * ww, -1)  # int64
                acc = np.einsum("nmk,fk->nfm", cols, w.reshape(w.shape[0], -1)) + b[None, :, None]
                acc = acc.reshape(n, w.shape[0], hh, ww)
                bshape = (1, -1, 1, 1)
            else:
                acc = h @ w.T + b[None, :]
                bshape = (1, -1)
            i = order.index(layer)
            if i + 1 == len(order):
                return (acc * (sx * sw).reshape(bshape)).astype(np.float32)
            m0, sh = fixed_point(sx * sw / ls[order[i + 1].name].input_scale)
            h = np.clip((acc * m0.reshape(bshape) + (1 << (sh.reshape(bshape) - 1)))
                        >> sh.reshape(bshape), -127, 127)
        elif isinstance(layer, ReLU):
            h = np.maximum(h, 0)
        elif isinstance(layer, MaxPool2d):
            n, c, hh, ww = h.shape
            h = h.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
        elif isinstance(layer, Flatten):
            h = h.reshape(h.shape[0], -1)
    raise AssertionError("no last layer")


def test_int8_forward_equals_independent_integer_oracle():
    net = _tiny_net()
    qp = calibrate(net, _calib(), "percentile", 99.9)
    qn = quantize_network(net, qp)
    x = _calib(40, seed=9)
    got = forward_int8(qn, x, "int8", batch_size=16)
    np.testing.assert_array_equal(got, _oracle_int8_forward(net, qp, x))
    # the unsigned exact array through the sign-magnitude wrapper is the same PE on -127..127
    np.testing.assert_array_equal(forward_int8(qn, x, "uint8-exact"), got)
    # an approximate PE changes the logits
    assert not np.array_equal(forward_int8(qn, x, "uint8-lsb-AMA5-8"), got)


def test_quant_file_round_trip_is_byte_identical(tmp_path):
    net = _tiny_net()
    qp = calibrate(net, _calib(), "minmax", info={"seed": 0, "source": "synthetic"})
    a = save_quant(qp, tmp_path / "a.json")
    qp2 = load_quant(a, net)
    b = save_quant(qp2, tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    assert qp2.layers == qp.layers


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["layers"][0]["weight_scales"].pop(), "layers[0].weight_scales"),
    (lambda d: d["layers"][1].__setitem__("name", "fc9"), "layers[1].name"),
    (lambda d: d["layers"][2].__setitem__("input_scale", -1.0), "layers[2].input_scale"),
    (lambda d: d["layers"][0].__setitem__("input_zero_point", 3), "layers[0].input_zero_point"),
    (lambda d: d["layers"].pop(), "layers: 2 entries"),
    (lambda d: d.__setitem__("format", "other"), "format"),
])
def test_quant_file_that_does_not_match_the_network_names_file_and_field(tmp_path, edit, field):
    net = _tiny_net()
    path = save_quant(calibrate(net, _calib(), "minmax"), tmp_path / "q.json")
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as err:
        load_quant(path, net)
    assert str(err.value).startswith(f"{path}: ") and field in str(err.value)


def test_calibration_set_of_the_wrong_shape():
    with pytest.raises(DataError, match=r"calib.npz: x: calibration images have shape \(4, 1, 6, 6\)"):
        calibrate(_tiny_net(), np.zeros((4, 1, 6, 6), np.float32), source="calib.npz")
    with pytest.raises(ConfigError, match="method"):
        calibrate(_tiny_net(), _calib(), "mse")


def test_calibration_sample_is_seeded():
    x = np.arange(100)[:, None, None, None].astype(np.float32)
    a, ia = calibration_sample(x, 10, 3)
    b, ib = calibration_sample(x, 10, 3)
    assert np.array_equal(ia, ib) and len(set(ia.tolist())) == 10
    assert not np.array_equal(ia, calibration_sample(x, 10, 4)[1])


def test_da_lenet_int8_matches_fp32_on_mnist(shared_data):
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import labels_of, predict_labels

    net = load_network(shared_data / "da_lenet_official.npz", "da-lenet")
    train = load_split("mnist", shared_data, "train")
    test = load_split("mnist", shared_data, "test").take(500)
    xc, _ = calibration_sample(train.x, 256, 0)
    qn = quantize_network(net, calibrate(net, xc, "percentile"))
    fp = predict_labels(net, test.x)
    q = labels_of(forward_int8(qn, test.x))
    assert np.mean(q == fp) >= 0.99                     # 8-bit PTQ keeps almost every decision
    assert abs(np.mean(q == test.y) - np.mean(fp == test.y)) <= 0.01
