"""`archsim accuracy` with integer variants (issue #15): its int8 rows equal `archsim quantize`'s
for the same network, quantization file and images; the exact int8 count equals an independent
int64 numpy re-derivation of the quantized network; calibration without --quant gives the same
parameters as `archsim quantize`; bad input is one line, exit 2, no output."""
import csv

import numpy as np
import pytest

from archsim import cli
from cifar_data import cifar_batches_dir
from test_quant import _oracle_int8_forward

QUANT = {"da-lenet": "workloads/int8/da_lenet.quant.json",
         "alexnet-cifar10": "workloads/int8/alexnet_cifar10.quant.json"}


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _run(capsys, argv):
    code = cli.main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def circuits(shared_data):
    """A signed and an unsigned EvoApprox 8x8 multiplier (Verilog)."""
    base = shared_data / "evoapprox" / "multiplers"
    return {"signed": base / "8x8_signed" / "pareto_pwr_ep" / "mul8s_1KR3.v",
            "unsigned": base / "8x8_unsigned" / "pareto_pwr_ep" / "mul8u_1446.v"}


def test_da_lenet_int8_rows_equal_archsim_quantize(capsys, tmp_path, shared_data, repo_root,
                                                  circuits):
    quant = repo_root / QUANT["da-lenet"]
    ints = ["int8", f"int8:{circuits['signed']}", f"uint8:{circuits['unsigned']}",
            "uint8-lsb-AMA5-4"]
    common = ["--dataset", "mnist", "--data-dir", str(shared_data), "--quant", str(quant),
              "--limit", "200"]
    code, out, err = _run(capsys, ["accuracy", "da-lenet", *common, "--variants", "exact",
                                   ints[0], "float32", *ints[1:], "--out", str(tmp_path / "a")])
    assert code == 0, err
    assert f"int8 quantization: {quant}" in out
    acc = _rows(tmp_path / "a" / "accuracy.csv")
    assert [r["variant"] for r in acc] == ["exact", "int8", "float32", *ints[1:]]
    assert (tmp_path / "a" / "quant.json").read_bytes() == quant.read_bytes()
    code, _, err = _run(capsys, ["quantize", str(shared_data / "da_lenet_official.npz"),
                                 "--architecture", "da-lenet", *common, "--variants", *ints,
                                 "--out", str(tmp_path / "q")])
    assert code == 0, err
    q = _rows(tmp_path / "q" / "accuracy.csv")
    assert [r for r in acc if r["variant"] in ints] == q
    by = {r["variant"]: int(r["correct"]) for r in acc}
    # the rows are not all alike: the signed EvoApprox circuit mul8s_1KR3 loses most of top-1
    assert by[ints[1]] < by["int8"] - 50 and abs(by["int8"] - by["exact"]) <= 4


def test_int8_count_equals_independent_integer_oracle(capsys, tmp_path, shared_data, repo_root):
    """The exact-int8 count on 60 MNIST test images against test_quant's int64 numpy oracle
    (its own weight/bias quantization, im2col matmuls and requantisation; no archsim kernels)."""
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.quant import load_quant

    quant = repo_root / QUANT["da-lenet"]
    code, _, err = _run(capsys, ["accuracy", "da-lenet", "--dataset", "mnist", "--data-dir",
                                 str(shared_data), "--quant", str(quant), "--variants", "int8",
                                 "--limit", "60", "--out", str(tmp_path / "a")])
    assert code == 0, err
    net = load_network(shared_data / "da_lenet_official.npz", "da-lenet")
    test = load_split("mnist", shared_data, "test")
    x, y = test.x[:60], test.y[:60]
    logits = _oracle_int8_forward(net, load_quant(quant, net), x)
    correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
    assert _rows(tmp_path / "a" / "accuracy.csv") == [
        {"variant": "int8", "images": "60", "correct": str(correct), "top1": repr(correct / 60)}]


def test_calibrated_without_quant_matches_archsim_quantize(capsys, tmp_path, shared_data):
    calib = ["--calibration-images", "64", "--seed", "3", "--method", "minmax"]
    common = ["--dataset", "mnist", "--data-dir", str(shared_data), "--limit", "100",
              "--variants", "int8", "uint8-da"]
    code, out, err = _run(capsys, ["accuracy", "da-lenet", *common, *calib,
                                   "--out", str(tmp_path / "a")])
    assert code == 0, err
    assert "int8 quantization: calibrated on 64 mnist training images (seed 3, minmax)" in out
    code, _, err = _run(capsys, ["quantize", str(shared_data / "da_lenet_official.npz"),
                                 "--architecture", "da-lenet", *common, *calib,
                                 "--out", str(tmp_path / "q")])
    assert code == 0, err
    assert (tmp_path / "a" / "quant.json").read_bytes() == \
        (tmp_path / "q" / "quant.json").read_bytes()
    assert _rows(tmp_path / "a" / "accuracy.csv") == _rows(tmp_path / "q" / "accuracy.csv")


def test_alexnet_cifar10_int8_rows_equal_archsim_quantize(capsys, tmp_path, tmp_path_factory,
                                                          shared_data, repo_root):
    data = cifar_batches_dir(tmp_path_factory, shared_data)
    quant = repo_root / QUANT["alexnet-cifar10"]
    common = ["--dataset", "cifar10", "--data-dir", str(data), "--quant", str(quant),
              "--limit", "24"]
    code, _, err = _run(capsys, ["accuracy", "alexnet-cifar10", *common, "--variants",
                                 "float32", "int8", "uint8-lsb-AMA5-6", "--out",
                                 str(tmp_path / "a")])
    assert code == 0, err
    code, _, err = _run(capsys, ["quantize", str(repo_root / "workloads/alexnet_cifar10/alexnet_cifar10.npz"),
                                 "--architecture", "alexnet-cifar10", *common, "--variants",
                                 "int8", "uint8-lsb-AMA5-6", "--out", str(tmp_path / "q")])
    assert code == 0, err
    acc = _rows(tmp_path / "a" / "accuracy.csv")
    assert acc[1:] == _rows(tmp_path / "q" / "accuracy.csv")
    assert abs(int(acc[1]["correct"]) - int(acc[0]["correct"])) <= 3


@pytest.fixture(scope="module")
def lenet5_onnx(tmp_path_factory):
    """The built-in lenet5 exported to ONNX (a real model: only the int8 variant is refused)."""
    import torch

    from archsim.network.builtin import BUILTIN_WEIGHTS
    from archsim.nn.architectures import load_network
    from onnx_models import export, torch_sequential

    net = load_network(BUILTIN_WEIGHTS["lenet5"], "lenet5")
    path = tmp_path_factory.mktemp("onnx") / "lenet5.onnx"
    return export(torch_sequential(net), torch.zeros(1, 1, 28, 28), path)


@pytest.mark.parametrize("case", ["onnx", "other-network-quant", "quant-without-int",
                                  "missing-verilog", "calibration-images"])
def test_bad_int8_input_one_line_exit_2_no_output(capsys, tmp_path, shared_data, repo_root,
                                                   lenet5_onnx, case):
    model, variants, extra = "da-lenet", ["exact", "int8"], []
    if case == "onnx":
        model = str(lenet5_onnx)
        want = (f"{lenet5_onnx}: integer variant int8 needs a built-in network",
                "quantizing ONNX models is not built")
    elif case == "other-network-quant":
        quant = repo_root / QUANT["alexnet-cifar10"]
        extra = ["--quant", str(quant)]
        want = (f"{quant}: layers:", "network da-lenet has 4 conv/linear layers")
    elif case == "quant-without-int":
        variants, extra = ["exact"], ["--quant", str(repo_root / QUANT["da-lenet"])]
        want = ("--quant:", "no integer variant")
    elif case == "missing-verilog":
        variants = ["exact", f"int8:{tmp_path / 'nope.v'}"]
        want = (str(tmp_path / "nope.v"),)
    else:
        extra = ["--calibration-images", "0"]
        want = ("--calibration-images: must be >= 1",)
    out = tmp_path / "acc"
    code, stdout, err = _run(capsys, ["accuracy", model, "--dataset", "mnist", "--data-dir",
                                      str(shared_data), "--variants", *variants, *extra,
                                      "--limit", "20", "--out", str(out)])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("archsim accuracy: error: "), err
    assert all(w in err for w in want), err
    assert stdout == "" and not out.exists()
