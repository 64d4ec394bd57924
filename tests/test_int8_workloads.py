"""workloads/int8/sweep.py (the every-multiplier top-1 sweep): its exact int8 row against the
independent int64 numpy oracle, an interrupted-and-resumed run byte-identical to a whole one,
a slice of the order equal to the same rows of the whole, and the interleaved order."""
import csv
import importlib.util
import sys

import numpy as np
import pytest

from test_quant import _oracle_int8_forward


@pytest.fixture(scope="module")
def sweep_module(repo_root):
    spec = importlib.util.spec_from_file_location("int8_sweep",
                                                  repo_root / "workloads" / "int8" / "sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(shared_data, repo_root, out, *extra):
    return ["--architecture", "da-lenet", "--weights", str(shared_data / "da_lenet_official.npz"),
            "--dataset", "mnist", "--data-dir", str(shared_data),
            "--quant", str(repo_root / "workloads" / "int8" / "da_lenet.quant.json"),
            "--limit", "30", "--out", str(out), *extra]


def test_rows_resume_and_slices(tmp_path, shared_data, repo_root, sweep_module):
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.quant import load_quant

    run = lambda out, *extra: sweep_module.main(_args(shared_data, repo_root, out, *extra))  # noqa
    assert run(tmp_path / "whole", "--jobs", ":5") == 0
    whole = (tmp_path / "whole" / "sweep.csv").read_text()
    rows = list(csv.DictReader(whole.splitlines()))
    assert [r["variant"] for r in rows][:2] == ["float32-numpy", "int8"] and len(rows) == 5
    assert [r["kind"] for r in rows[2:]] == ["evoapprox-signed"] * 3
    net = load_network(shared_data / "da_lenet_official.npz", "da-lenet")
    test = load_split("mnist", shared_data, "test")
    quant = load_quant(repo_root / "workloads" / "int8" / "da_lenet.quant.json", net)
    want = int(np.count_nonzero(_oracle_int8_forward(net, quant, test.x[:30]).argmax(1)
                                == test.y[:30]))
    assert int(rows[1]["correct"]) == want and rows[1]["images"] == "30"
    # stopped after three rows, then resumed: the same bytes
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "sweep.csv").write_text("".join(whole.splitlines(True)[:4]))
    assert run(tmp_path / "part", "--jobs", ":5") == 0
    assert (tmp_path / "part" / "sweep.csv").read_text() == whole
    # a slice holds the same rows as the whole run
    assert run(tmp_path / "slice", "--jobs", "3:5") == 0
    assert (tmp_path / "slice" / "sweep.csv").read_text().splitlines()[1:] == \
        whole.splitlines()[4:6]
    # a file of another sweep is refused, not mixed
    with pytest.raises(SystemExit, match="rows do not match"):
        run(tmp_path / "slice", "--jobs", ":5")
    assert (tmp_path / "whole" / "table.md").is_file()
    assert (tmp_path / "whole" / "pareto.png").is_file()


def test_interleaved_order(sweep_module):
    circuits = [("s1", "evoapprox-signed"), ("s2", "evoapprox-signed"),
                ("u1", "evoapprox-unsigned"), ("u2", "evoapprox-unsigned"),
                ("u3", "evoapprox-unsigned")]
    assert [c[0] for c in sweep_module.interleaved(circuits)] == ["s1", "u1", "s2", "u2", "u3"]
