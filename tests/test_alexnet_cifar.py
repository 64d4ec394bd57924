"""CIFAR-10 AlexNet: construction and shape checks, exact inference against an independent
float64 direct-convolution reference (and PyTorch when present), and the accelerator workload
YAML of the same network (when it exists) cross-checked layer by layer."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from archsim.errors import DataError
from archsim.nn.alexnet_cifar import DEFAULT_WEIGHTS, build_alexnet_cifar, load_alexnet_cifar
from archsim.nn.cifar10 import load_cifar10
from archsim.nn.network import forward
from cifar_data import cifar_batches_dir

REPO = Path(__file__).resolve().parents[1]
# (name, C_in, F, kernel, padding, input side) of the fixed architecture, typed from its specification
SPEC = [("conv1", 3, 32, 5, 2, 32), ("conv2", 32, 64, 5, 2, 16), ("conv3", 64, 96, 3, 1, 8),
        ("conv4", 96, 96, 3, 1, 8), ("conv5", 96, 64, 3, 1, 8)]
FC = [("fc1", 1024, 256), ("fc2", 256, 128), ("fc3", 128, 10)]


def _random_params(seed=0):
    rng = np.random.default_rng(seed)
    p = {}
    for name, c, f, k, _, _ in SPEC:
        p[f"{name}_weight"] = rng.normal(0, np.sqrt(2 / (c * k * k)), (f, c, k, k))
        p[f"{name}_bias"] = rng.normal(0, 0.05, f)
    for name, i, o in FC:
        p[f"{name}_weight"] = rng.normal(0, np.sqrt(2 / i), (o, i))
        p[f"{name}_bias"] = rng.normal(0, 0.05, o)
    return {k: v.astype(np.float16) for k, v in p.items()}


def _reference(params, x):
    """Direct convolution (sum over kernel offsets) in float64, pools by reshape: no im2col."""
    h = x.astype(np.float64)
    for name, _, _, k, pad, side in SPEC:
        w, b = params[f"{name}_weight"].astype(np.float64), params[f"{name}_bias"]
        hp = np.pad(h, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        out = np.zeros((h.shape[0], w.shape[0], side, side))
        for r in range(k):
            for s in range(k):
                out += np.einsum("ncyx,fc->nfyx", hp[:, :, r:r + side, s:s + side], w[:, :, r, s])
        h = np.maximum(out + b.astype(np.float64)[None, :, None, None], 0)
        if name in ("conv1", "conv2", "conv5"):
            n, c, hh, ww = h.shape
            h = h.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
    h = h.reshape(h.shape[0], -1)
    for name, _, _ in FC:
        h = h @ params[f"{name}_weight"].astype(np.float64).T + params[f"{name}_bias"]
        h = np.maximum(h, 0) if name != "fc3" else h
    return h


def test_structure_and_macs_match_the_fixed_architecture():
    net = build_alexnet_cifar(_random_params())
    assert net.input_shape == (3, 32, 32) and net.output_shape == (10,)
    macs = (32 * 32 * 32 * 3 * 25 + 16 * 16 * 64 * 32 * 25 + 8 * 8 * 96 * 64 * 9
            + 8 * 8 * 96 * 96 * 9 + 8 * 8 * 64 * 96 * 9 + 1024 * 256 + 256 * 128 + 128 * 10)
    assert net.macs == macs
    weighted = [layer.name for layer in net.layers if hasattr(layer, "weight")]
    assert weighted == [n for n, *_ in SPEC] + [n for n, *_ in FC]


def test_exact_forward_matches_float64_direct_reference():
    params = _random_params(1)
    x = np.random.default_rng(2).random((3, 3, 32, 32), dtype=np.float32)
    got = forward(build_alexnet_cifar(params), x)
    want = _reference(params, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def _torch_logits(params, x):
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("alexnet_train",
                                                  REPO / "workloads/alexnet_cifar10/train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.AlexNetCifar()
    with torch.no_grad():
        for name in mod.LAYER_NAMES:
            layer = getattr(model, name)
            layer.weight.copy_(torch.from_numpy(params[f"{name}_weight"].astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(params[f"{name}_bias"].astype(np.float32)))
        return model.eval()(torch.from_numpy(x)).numpy()


@pytest.mark.torch
def test_exact_forward_matches_torch_model():
    params = _random_params(3)
    x = np.random.default_rng(4).random((4, 3, 32, 32), dtype=np.float32)
    want = _torch_logits(params, x)
    np.testing.assert_allclose(forward(build_alexnet_cifar(params), x), want,
                               rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("mutate, match", [
    (lambda p: p.pop("conv3_bias"), "missing key 'conv3_bias'"),
    (lambda p: p.__setitem__("conv2_weight", np.zeros((64, 32, 3, 3))), "'conv2_weight' has shape"),
    (lambda p: p.__setitem__("fc1_weight", np.zeros((256, 1000))), "'fc1_weight' has shape"),
    (lambda p: p.__setitem__("fc3_bias", np.zeros(10, np.int32)), "dtype int32"),
    (lambda p: p.__setitem__("fc2_bias", np.full(128, np.nan)), "non-finite"),
    (lambda p: p.__setitem__("conv6_weight", np.zeros(3)), "unexpected arrays"),
])
def test_bad_weights_raise_data_error_naming_file(tmp_path, mutate, match):
    params = _random_params()
    mutate(params)
    path = tmp_path / "w.npz"
    np.savez(path, **params)
    with pytest.raises(DataError, match="w.npz") as err:
        load_alexnet_cifar(path)
    assert err.match(match)


def test_missing_and_corrupt_weights_file(tmp_path):
    with pytest.raises(DataError, match="nope.npz.*not found"):
        load_alexnet_cifar(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(DataError, match="bad.npz.*damaged .npz archive"):
        load_alexnet_cifar(bad)


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory, shared_data):
    return cifar_batches_dir(tmp_path_factory, shared_data)


@pytest.mark.torch
@pytest.mark.parametrize("filename", ["alexnet_cifar10.npz", "alexnet_cifar10_proxy.npz"])
def test_shipped_weights_on_real_images_agree_with_torch(cifar_dir, filename):
    """Trained weights (target and attacker proxy): numpy float32 inference predicts what torch
    predicts on real (JPEG-decoded) CIFAR-10 images, and far above chance (10%)."""
    path = DEFAULT_WEIGHTS.with_name(filename)
    x, y = load_cifar10(cifar_dir, "test", limit=200)
    with np.load(path) as z:
        params = {k: z[k] for k in z.files}
    assert all(v.dtype == np.float16 for v in params.values())
    got = forward(load_alexnet_cifar(path), x)
    want = _torch_logits(params, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert np.array_equal(got.argmax(1), want.argmax(1))
    assert (got.argmax(1) == y).mean() > 0.3


def test_workload_yaml_has_the_network_dimensions():
    """B1's accelerator workload for the same AlexNet: same layers, same dimensions."""
    path = REPO / "workloads" / "alexnet_cifar10.yaml"
    from archsim import workloads
    layers = workloads.load_workload(path).layers
    assert len(layers) == len(SPEC) + len(FC)
    for layer, (name, c, f, k, pad, side) in zip(layers[:5], SPEC):
        assert layer.kind == workloads.LayerKind.CONV
        assert (layer.channels, layer.num_filters, layer.filter_h, layer.filter_w) == (c, f, k, k)
        assert (layer.ifmap_h, layer.ifmap_w, layer.stride, layer.padding) == (side, side, 1, pad)
        assert (layer.ofmap_h, layer.ofmap_w) == (side, side)
    for layer, (name, i, o) in zip(layers[5:], FC):
        assert layer.kind == workloads.LayerKind.FC
        assert (layer.gemm_k, layer.gemm_n) == (i, o)
    net = load_alexnet_cifar() if DEFAULT_WEIGHTS.is_file() else build_alexnet_cifar(
        _random_params())
    assert sum(layer.macs for layer in layers) == net.macs


def _cli_config(tmp_path, data_dir, images):
    import yaml
    cfg = {"name": "c", "dataset": {"name": "cifar10", "data_dir": str(data_dir)},
           "target": {"architecture": "alexnet-cifar10", "weights": str(DEFAULT_WEIGHTS)},
           "approximate": "da", "seed": 0, "batch_size": 8,
           "experiments": {"clean": {"images": images, "variants": ["da"]}}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_robustness_cli_names_a_corrupt_cifar_batch(tmp_path, capsys):
    """Through D's runner: a corrupt test batch -> exit 2, one line naming it, no output."""
    from archsim.cli import main
    batches = tmp_path / "data" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "test_batch").write_bytes(b"\x80\x02 truncated")
    out = tmp_path / "out"
    assert main(["robustness", str(_cli_config(tmp_path, tmp_path / "data", 4)),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "test_batch" in err and "corrupt" in err
    assert not out.exists()


def test_robustness_cli_clean_run_on_cifar(tmp_path, cifar_dir):
    """A tiny clean-accuracy run of the shipped AlexNet through D's runner: the float32 row
    counts what the independent float64 reference predicts; the da row is a valid count."""
    import csv
    from archsim.cli import main
    out = tmp_path / "out"
    assert main(["robustness", str(_cli_config(tmp_path, cifar_dir, 6)), "--out", str(out)]) == 0
    rows = {r["variant"]: r for r in csv.DictReader(open(out / "clean.csv"))}
    x, y = load_cifar10(cifar_dir, "test", limit=6)
    with np.load(DEFAULT_WEIGHTS) as z:
        want = int((_reference({k: z[k] for k in z.files}, x).argmax(1) == y).sum())
    assert int(rows["float32-numpy"]["correct"]) == want
    assert 0 <= int(rows["da"]["correct"]) <= 6 and rows["da"]["images"] == "6"


@pytest.mark.slow
@pytest.mark.torch
def test_training_script_is_deterministic(tmp_path, cifar_dir):
    """Two short runs of the training script with the same seed and thread count write
    byte-identical weights; another seed writes different ones."""
    import subprocess
    import sys
    pytest.importorskip("torch")
    script = REPO / "workloads" / "alexnet_cifar10" / "train.py"
    outs = []
    for i, seed in enumerate((0, 0, 1)):
        out = tmp_path / f"w{i}.npz"
        subprocess.run([sys.executable, str(script), "--data-dir", str(cifar_dir), "--epochs",
                        "1", "--max-batches", "3", "--seed", str(seed), "--out", str(out)],
                       check=True, capture_output=True)
        with np.load(out) as z:
            outs.append({k: z[k] for k in z.files})
    assert outs[0].keys() == outs[1].keys() == set(
        f"{n}_{p}" for n in (n for n, *_ in SPEC + FC) for p in ("weight", "bias"))
    assert all(np.array_equal(outs[0][k], outs[1][k]) for k in outs[0])
    assert not np.array_equal(outs[0]["conv1_weight"], outs[2]["conv1_weight"])
