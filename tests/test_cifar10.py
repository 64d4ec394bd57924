"""CIFAR-10 batch loader: validation on small synthetic batch files, and the real (JPEG-decoded)
test batch checked pixel by pixel against an independent Pillow decode of the JPEG store."""
import io
import os
import pickle

import numpy as np
import pytest

from archsim.errors import DataError
from archsim.nn.cifar10 import (ENV_VAR, load_cifar10, load_cifar10_uint8, read_batch,
                                resolve_data_dir)
from cifar_data import cifar_batches_dir


def _write(path, data, labels, **extra):
    d = {b"batch_label": b"synthetic", b"data": data, b"labels": labels,
         b"filenames": [b"x"] * len(labels)}
    d.update(extra)
    with open(path, "wb") as f:
        pickle.dump(d, f, protocol=2)


def _make_set(root, n=4, seed=0):
    """A complete tiny cifar-10-batches-py directory; returns its pixels per file."""
    rng = np.random.default_rng(seed)
    batches = root / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    pixels = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        _write(batches / name, data, labels)
        pixels[name] = (data, labels)
    return batches, pixels


def test_synthetic_set_roundtrip_chw_and_scaling(tmp_path):
    batches, pixels = _make_set(tmp_path)
    x, y = load_cifar10_uint8(tmp_path, "train")
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    # row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major 32x32
    d1, l1 = pixels["data_batch_1"]
    assert x[0, 1, 2, 3] == d1[0, 1024 + 2 * 32 + 3]
    assert y[:4].tolist() == l1
    d5, l5 = pixels["data_batch_5"]
    assert np.array_equal(x[16:].reshape(4, -1), d5) and y[16:].tolist() == l5
    xf, yt = load_cifar10(batches, "test")      # the batch directory itself is accepted too
    assert xf.dtype == np.float32 and xf.shape == (4, 3, 32, 32)
    assert np.array_equal(xf * np.float32(255), pixels["test_batch"][0].reshape(4, 3, 32, 32))
    assert load_cifar10_uint8(tmp_path, "train", limit=6)[0].shape[0] == 6


def test_env_var_names_the_directory(tmp_path, monkeypatch):
    _make_set(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resolve_data_dir() == tmp_path / "cifar-10-batches-py"
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(DataError, match=ENV_VAR):
        resolve_data_dir()


def test_data_root_with_cifar10_subdirectory(tmp_path):
    """A data root holding one folder per data set (root/cifar10/cifar-10-batches-py)."""
    _make_set(tmp_path / "cifar10")
    assert resolve_data_dir(tmp_path) == tmp_path / "cifar10" / "cifar-10-batches-py"
    assert load_cifar10(tmp_path, "test")[0].shape == (4, 3, 32, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no CIFAR-10 batches"):
        resolve_data_dir(tmp_path / "empty")


def test_missing_directory_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        load_cifar10(tmp_path / "nowhere")
    batches, _ = _make_set(tmp_path)
    os.remove(batches / "data_batch_3")
    with pytest.raises(DataError, match="data_batch_3.*missing"):
        load_cifar10(tmp_path, "train")


@pytest.mark.parametrize("payload", [b"", b"not a pickle at all", None])
def test_corrupt_file_names_it(tmp_path, payload):
    batches, _ = _make_set(tmp_path)
    path = batches / "test_batch"
    if payload is None:  # a truncated real batch
        payload = path.read_bytes()[:5000]
    path.write_bytes(payload)
    with pytest.raises(DataError, match="test_batch.*corrupt"):
        load_cifar10(tmp_path, "test")


@pytest.mark.parametrize("data, labels, match", [
    (np.zeros((4, 3000), np.uint8), [0, 1, 2, 3], r"'data' has shape \(4, 3000\)"),
    (np.zeros((4, 3, 32, 32), np.uint8), [0, 1, 2, 3], r"'data' has shape"),
    (np.zeros((4, 3072), np.float32), [0, 1, 2, 3], "uint8"),
    ([[0] * 3072] * 4, [0, 1, 2, 3], "uint8"),
    (np.zeros((4, 3072), np.uint8), [0, 1, 2], "4 integers"),
    (np.zeros((4, 3072), np.uint8), [0, 1, 2, 10], r"outside 0\.\.9"),
    (np.zeros((4, 3072), np.uint8), [0, -1, 2, 3], r"outside 0\.\.9"),
    (np.zeros((4, 3072), np.uint8), [0.5, 1, 2, 3], "integers"),
])
def test_malformed_batch_is_rejected(tmp_path, data, labels, match):
    path = tmp_path / "data_batch_1"
    _write(path, data, labels)
    with pytest.raises(DataError, match="data_batch_1") as err:
        read_batch(path)
    assert err.match(match)


def test_missing_key_and_non_dict(tmp_path):
    path = tmp_path / "b"
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8)}, f)
    with pytest.raises(DataError, match="no 'labels'"):
        read_batch(path)
    with open(path, "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(DataError, match="expected a dict"):
        read_batch(path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_cannot_run_code(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(DataError, match="forbidden global"):
        read_batch(path)


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory, shared_data):
    return cifar_batches_dir(tmp_path_factory, shared_data)


def test_real_test_batch_matches_independent_jpeg_decode(cifar_dir, shared_data):
    """Real data: 10k test images, balanced classes; a few images equal a direct Pillow decode.

    The pixels are JPEG-decoded (differ slightly from the official CIFAR-10 images).
    to_batches.py permutes with default_rng(0): train permutation first, then the test one.
    """
    from PIL import Image
    x, y = load_cifar10_uint8(cifar_dir, "test")
    assert x.shape == (10000, 3, 32, 32)
    assert np.bincount(y, minlength=10).tolist() == [1000] * 10
    rng = np.random.default_rng(0)
    rng.permutation(50000)
    order = rng.permutation(10000)
    z = np.load(shared_data / "cifar10" / "test_jpeg.npz")
    blob, offs, labels = z["jpeg"], z["offsets"], z["labels"]
    for j in (0, 1, 4321, 9999):
        i = order[j]
        img = Image.open(io.BytesIO(blob[offs[i]:offs[i + 1]].tobytes())).convert("RGB")
        assert np.array_equal(x[j], np.asarray(img).transpose(2, 0, 1))
        assert y[j] == labels[i]
