"""`archsim quantize`: quant.json + accuracy.csv on real MNIST, and bad input as one line, exit 2,
no output directory."""
import csv
import json

import numpy as np
import pytest

from archsim import cli


@pytest.fixture(scope="module")
def da_lenet(shared_data):
    return shared_data / "da_lenet_official.npz"


def _run(capsys, argv):
    code = cli.main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_quantize_writes_params_and_accuracy(capsys, tmp_path, shared_data, da_lenet):
    out = tmp_path / "q"
    argv = ["quantize", str(da_lenet), "--architecture", "da-lenet", "--dataset", "mnist",
            "--data-dir", str(shared_data), "--calibration-images", "128",
            "--variants", "float32-numpy", "int8", "uint8-lsb-AMA5-4", "--limit", "200",
            "--out", str(out)]
    code, _, err = _run(capsys, argv)
    assert code == 0, err
    rows = list(csv.DictReader((out / "accuracy.csv").open()))
    assert [r["variant"] for r in rows] == ["float32-numpy", "int8", "uint8-lsb-AMA5-4"]
    for r in rows:
        assert int(r["images"]) == 200 and float(r["top1"]) == int(r["correct"]) / 200
    assert abs(float(rows[1]["top1"]) - float(rows[0]["top1"])) <= 0.02
    doc = json.loads((out / "quant.json").read_text())
    assert [l["name"] for l in doc["layers"]] == ["conv1", "conv2", "linear1", "linear2"]
    assert doc["calibration"] == {"images": 128, "method": "percentile", "percentile": 99.99,
                                  "seed": 0, "source": "mnist-train"}
    first = (out / "quant.json").read_bytes()
    # same input, same bytes; --quant reuses the file unchanged
    argv2 = argv[:argv.index("--variants")] + ["--quant", str(out / "quant.json"), "--out",
                                               str(tmp_path / "q2")]
    assert _run(capsys, argv2)[0] == 0
    assert (tmp_path / "q2" / "quant.json").read_bytes() == first


def test_bad_inputs_one_line_exit_2_no_output(capsys, tmp_path, shared_data, da_lenet):
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.zeros((8, 3, 28, 28), np.float32))
    bad_quant = tmp_path / "bad.json"
    bad_quant.write_text(json.dumps({"format": "archsim-quant/1", "layers": [
        {"name": "conv1", "input_scale": 0.1, "weight_scales": [1.0] * 31}] + [{}] * 3}))
    wide = tmp_path / "mul12.v"
    wide.write_text("module mul12(A, B, O);\ninput [11:0] A;\ninput [7:0] B;\n"
                    "output [19:0] O;\nassign O = {A, B};\nendmodule\n")
    base = ["quantize", str(da_lenet), "--architecture", "da-lenet", "--dataset", "mnist",
            "--data-dir", str(shared_data)]
    cases = [
        (["--calibration", str(calib)], f"{calib}: x: calibration images have shape (8, 3, 28, 28)"),
        (["--quant", str(bad_quant)], f"{bad_quant}: layers[0].weight_scales: 31 entries"),
        (["--variants", f"int8:{wide}", "--calibration-images", "16"],
         (f"{wide}: input A is 12 bits", f"{wide}: multiplier is 12x8 bits")),
    ]
    for extra, message in cases:
        out = tmp_path / "never"
        code, stdout, err = _run(capsys, base + extra + ["--out", str(out)])
        assert code == 2
        messages = message if isinstance(message, tuple) else (message,)
        assert err.count("\n") == 1 and any(m in err for m in messages), err
        assert not out.exists()
