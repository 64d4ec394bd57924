"""MNIST IDX loader: real files (official MD5 sums) and every corruption named clearly."""
import gzip
import hashlib

import numpy as np
import pytest

from archsim.errors import ConfigError, DataError
from archsim.nn.datasets import ENV_DATA_DIR, load_split, resolve_data_dir
from archsim.nn.mnist import FILES, download_mnist, load_mnist


def test_test_split_matches_raw_bytes(shared_data):
    split = load_mnist(shared_data / "mnist", "test")
    assert split.x.shape == (10000, 1, 28, 28) and split.x.dtype == np.float32
    raw = gzip.open(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read()
    assert hashlib.md5(raw).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    np.testing.assert_array_equal(split.y, np.frombuffer(raw, np.uint8, offset=8))
    assert np.bincount(split.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    img = gzip.open(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read()
    assert split.x[3, 0, 14, 10] == np.float32(img[16 + 3 * 784 + 14 * 28 + 10] / 255.0)
    assert split.x.min() == 0.0 and split.x.max() == 1.0


def test_root_dir_and_registry_find_mnist_subdir(shared_data):
    split = load_split("mnist", shared_data, "test")
    assert split.y[:5].tolist() == [7, 2, 1, 0, 4]


def _copy_test_split(src, dst, images: bytes | None = None, gz: bool = True):
    for kind in ("images", "labels"):
        stem, _ = FILES[("test", kind)]
        raw = gzip.open(src / (stem + ".gz")).read()
        if kind == "images" and images is not None:
            raw = images
        if gz:
            (dst / (stem + ".gz")).write_bytes(gzip.compress(raw, mtime=0))
        else:
            (dst / stem).write_bytes(raw)
    return gzip.open(src / (FILES[("test", "images")][0] + ".gz")).read()


def test_raw_uncompressed_files_load(shared_data, tmp_path):
    _copy_test_split(shared_data / "mnist", tmp_path, gz=False)
    assert load_mnist(tmp_path, "test").y.shape == (10000,)


@pytest.mark.parametrize("corrupt, message", [
    (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "bad magic number"),
    (lambda raw: raw[:-100], "truncated"),
    (lambda raw: raw[:10], "truncated IDX header"),
    (lambda raw: raw[:500] + bytes([raw[500] ^ 1]) + raw[501:], "MD5"),
])
def test_corrupt_images_file_is_named(shared_data, tmp_path, corrupt, message):
    raw = gzip.open(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read()
    _copy_test_split(shared_data / "mnist", tmp_path, images=corrupt(raw))
    with pytest.raises(DataError, match=message) as err:
        load_mnist(tmp_path, "test")
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)


def test_broken_gzip_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path, "test")
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read"):
        load_mnist(tmp_path, "test")


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_data_dir("cli", "cfg").name == "cli"
    assert resolve_data_dir(None, "cfg").name == "cfg"
    assert resolve_data_dir(None, None).name == "env"
    monkeypatch.delenv(ENV_DATA_DIR)
    with pytest.raises(ConfigError, match=ENV_DATA_DIR):
        resolve_data_dir(None, None)


def test_download_offline_fails_clearly(monkeypatch, tmp_path):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="cannot download .*by hand"):
        download_mnist(tmp_path)
