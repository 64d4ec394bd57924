"""Networks: exact inference against an independent float64 reference, weight validation,
and the approximate path bit for bit against element-wise m.multiply + ordered float32 sums."""
import gzip

import numpy as np
import pytest

from archsim.errors import ConfigError, DataError
from archsim.nn.architectures import build_network, expected_shapes, load_network, save_network
from archsim.nn.network import Conv2d, Linear, MaxPool2d, Network, ReLU, forward, predict_labels
from nn_reference import run_f64, run_mult

# Correct predictions of the official DA network on the first 1000 MNIST test images, counted
# with tests/nn_reference.run_f64 (float64, no archsim code) on the raw IDX bytes.
OFFICIAL_CORRECT_FIRST_1000 = 984


@pytest.fixture(scope="module")
def mnist_test(shared_data):
    img = gzip.open(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read()
    lab = gzip.open(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read()
    x = np.frombuffer(img, np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return x, np.frombuffer(lab, np.uint8, offset=8)


@pytest.fixture(scope="module")
def official(shared_data):
    path = shared_data / "da_lenet_official.npz"
    return load_network(path, "da-lenet"), dict(np.load(path))


def test_official_accuracy_on_fixed_subset(mnist_test, official):
    x, y = mnist_test
    net, params = official
    ref = run_f64(params, x[:1000] / 255.0).argmax(1)
    assert int((ref == y[:1000]).sum()) == OFFICIAL_CORRECT_FIRST_1000
    ours = predict_labels(net, x[:1000].astype(np.float32) / np.float32(255))
    assert int((ours == y[:1000]).sum()) == OFFICIAL_CORRECT_FIRST_1000


def test_exact_logits_equal_float64_reference(mnist_test, official):
    x, _ = mnist_test
    net, params = official
    xs = x[1000:1200].astype(np.float32) / np.float32(255)
    ours = forward(net, xs, batch_size=64)
    ref = run_f64(params, xs)
    assert ours.dtype == np.float32 and ours.shape == (200, 10)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-4 * np.abs(ref).max())
    np.testing.assert_array_equal(ours.argmax(1), ref.argmax(1))


def test_batching_changes_only_blas_rounding(mnist_test, official):
    # the exact path sums in BLAS order (batch-size dependent blocking): equal up to rounding;
    # a bit-defined order is the 'exact' multiplier's job
    xs = mnist_test[0][:40].astype(np.float32) / np.float32(255)
    net = official[0]
    a, b = forward(net, xs, batch_size=40), forward(net, xs, batch_size=7)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(a.argmax(1), b.argmax(1))


def test_macs_of_official_network(official):
    # conv1 28*28*32*9 + conv2 14*14*64*288 + 3136*200 + 200*10, by hand
    assert official[0].macs == 225792 + 3612672 + 627200 + 2000


class _Float64Mult:
    """A duck-typed multiplier: records operand shapes, computes exactly in float64."""

    name = "float64-test"

    def __init__(self):
        self.calls = []

    def matmul(self, x, w, bias=None):
        self.calls.append(("matmul", x.shape, w.shape))
        return (x.astype(np.float64) @ w + bias).astype(np.float32)

    def conv2d(self, x, w, b=None, stride=1, padding=0):
        from nn_reference import conv_f64
        self.calls.append(("conv2d", x.shape, w.shape, padding))
        return conv_f64(x, w, b, padding).astype(np.float32)


def test_multiplier_hook_gets_activation_first(mnist_test, official):
    net, params = official
    xs = mnist_test[0][:3].astype(np.float32) / np.float32(255)
    mult = _Float64Mult()
    out = forward(net, xs, multiplier=mult)
    assert [c[0] for c in mult.calls] == ["conv2d", "conv2d", "matmul", "matmul"]
    assert mult.calls[0][1:] == ((3, 1, 28, 28), (32, 1, 3, 3), 1)
    assert mult.calls[2][1:] == ((3, 3136), (3136, 200))
    np.testing.assert_allclose(out, run_f64(params, xs), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("variant", ["da", "da-reference", "exact"])
def test_approximate_forward_bit_exact(mnist_test, official, variant):
    import archsim_core as core
    m = core.get_multiplier(variant)
    net, params = official
    xs = mnist_test[0][5:7].astype(np.float32) / np.float32(255)
    ours = forward(net, xs, multiplier=m)
    ref = run_mult(m, params, xs)
    np.testing.assert_array_equal(ours.view(np.uint32), ref.view(np.uint32))


def test_wrong_weight_shape_names_key_and_file(official, tmp_path):
    params = {k: v.copy() for k, v in official[1].items()}
    params["linear1_weight"] = params["linear1_weight"][:, :100]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **params)
    with pytest.raises(DataError, match=r"bad\.npz.*'linear1_weight'.*\(200, 100\)"):
        load_network(bad, "da-lenet")
    del params["linear1_weight"]
    np.savez(bad, **params)
    with pytest.raises(DataError, match="missing key 'linear1_weight'"):
        load_network(bad, "da-lenet")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz"):
        load_network(tmp_path / "junk.npz", "da-lenet")
    with pytest.raises(ConfigError, match="unknown 'vgg'"):
        load_network(bad, "vgg")


def test_save_roundtrip_float16(official, tmp_path):
    net = official[0]
    path = save_network(net, tmp_path / "w.npz")
    back = load_network(path, "da-lenet")
    for key, arr in net.parameters().items():
        np.testing.assert_array_equal(back.parameters()[key], arr.astype(np.float16))


def test_network_validation_and_shapes():
    rng = np.random.default_rng(0)
    conv = Conv2d("c", rng.normal(size=(4, 2, 3, 3)), np.zeros(4), stride=2, padding=1)
    assert conv.output_shape((2, 9, 9)) == (4, 5, 5)
    assert MaxPool2d(3, 2).output_shape((4, 5, 5)) == (4, 2, 2)
    with pytest.raises(DataError, match="channels"):
        Network("n", (3, 9, 9), (conv,))
    with pytest.raises(DataError, match="bias"):
        Linear("fc", np.zeros((3, 4)), np.zeros(2))
    net = Network("n", (2, 9, 9), (conv, ReLU(), MaxPool2d(3, 2)))
    x = rng.random((2, 2, 9, 9)).astype(np.float32)
    with pytest.raises(DataError, match="input batch shape"):
        forward(net, x[:, :1])
    with pytest.raises(ConfigError, match="multiplier"):
        forward(net, x, multiplier=3.5)
    assert forward(net, x).shape == (2, 4, 2, 2)
    assert set(expected_shapes("lenet5")) == set(build_network(
        "lenet5", {k: np.zeros(s) for k, s in expected_shapes("lenet5").items()}).parameters())


@pytest.mark.slow
def test_official_accuracy_full_test_set(mnist_test, official):
    # 98.89% is the figure stated with the weights (../shared/data/README.md)
    x, y = mnist_test
    net, params = official
    ref = np.concatenate([run_f64(params, x[i:i + 1000] / 255.0).argmax(1)
                          for i in range(0, 10000, 1000)])
    assert int((ref == y).sum()) == 9889
    ours = predict_labels(net, x.astype(np.float32) / np.float32(255))
    assert int((ours == y).sum()) == 9889
