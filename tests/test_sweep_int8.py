"""Integer PE variants in `archsim sweep` (issue #15): int8 rows equal `archsim run` on the same
design (its own simulation per word-size set) and hand-counted 1-byte DRAM traffic; top-1 of
int8 points equals an independent int64 numpy re-derivation of the quantized network; Dask
gives the serial bytes; mixing integer and FP PEs in one point is refused in one line."""
import csv
import json
import shutil
import subprocess
import sys

import pytest

from archsim import cli
from test_quant import _oracle_int8_forward
from tiny_configs import TINY_RUN

EVO = "evoapprox/multiplers/8x8_unsigned/pareto_pwr_ep/mul8u_1446.v"
KEYS_EXACT = ("cycles", "dram_read_bytes", "dram_write_bytes")
KEYS_FLOAT = ("clock_mhz", "latency_s", "energy_j", "edp_js")


def run(argv):
    return cli.main([str(a) for a in argv])


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def tree_bytes(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture()
def mixed_spec(tmp_path, shared_data):
    """FP and integer variants on two dataflows; the EvoApprox circuit by a path relative to
    the spec file (a copy in the test's directory)."""
    (tmp_path / "circ").mkdir()
    shutil.copy(shared_data / EVO, tmp_path / "circ")
    (tmp_path / "base.yaml").write_text(TINY_RUN)
    spec = tmp_path / "spec.yaml"
    spec.write_text("base: base.yaml\naxes:\n  array.dataflow: [os, ws]\n"
                    "  pe.variant: [exact, int8, uint8-lsb-AMA5-6, 'uint8:circ/mul8u_1446.v',"
                    " da]\n")
    return spec


def test_int8_rows_equal_archsim_run_and_hand_counted_bytes(tmp_path, mixed_spec, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)      # the spec named by a relative path
    assert run(["sweep", f"{tmp_path.name}/spec.yaml", "--out", tmp_path / "sw", "--workers",
                "0", "--no-plots"]) == 0
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert len(rows) == 10
    circuit = tmp_path / "circ" / "mul8u_1446.v"
    labels = {"exact": "exact", "int8": "int8", "uint8-lsb-AMA5-6": "uint8-lsb-AMA5-6",
              "uint8:circ/mul8u_1446.v": None, "da": "da"}
    # hand count for the tiny network (every tensor crosses DRAM once on these SRAMs):
    # reads = input 3*8*8 + c1 weights 4*3*3*3 + f1 input 4*8*8 + f1 weights 256*5 elements,
    # writes = c1 output 4*8*8 + f1 output 5 elements; FP32 words 4 B, int8 words 1 B
    read_elems, write_elems = 192 + 108 + 256 + 1280, 256 + 5
    for flow in ("os", "ws"):
        cfg = tmp_path / f"run-{flow}.yaml"
        cfg.write_text(TINY_RUN.replace("dataflow: os", f"dataflow: {flow}").replace(
            "variants: [exact, da]", f"variants: [exact, int8, uint8-lsb-AMA5-6, "
                                     f"'uint8:{circuit}', da]"))
        assert run(["run", cfg, "--out", tmp_path / f"run-{flow}", "--no-plots"]) == 0
        summary = json.loads((tmp_path / f"run-{flow}" / "summary.json").read_text())["variants"]
        assert len(summary) == 5
        for cell, label in labels.items():
            row = next(r for r in rows if (r["array.dataflow"], r["pe.variant"]) == (flow, cell))
            want = summary[label] if label else next(
                v for k, v in summary.items() if "1446" in k)
            for key in KEYS_EXACT:
                assert int(row[key]) == want[key], (flow, cell, key)
            for key in KEYS_FLOAT:
                assert float(row[key]) == want[key], (flow, cell, key)
            assert float(row["pe_energy_j"]) == pytest.approx(want["pe_energy_j"], rel=1e-12)
            word = 1 if cell not in ("exact", "da") else 4
            assert int(row["dram_read_bytes"]) == word * read_elems, (flow, cell)
            assert int(row["dram_write_bytes"]) == word * write_elems, (flow, cell)
    by = {(r["array.dataflow"], r["pe.variant"]): r for r in rows}
    # the integer MAC prices differ by circuit; one int8 simulation per dataflow serves them all
    energies = {float(by[("os", c)]["pe_energy_j"]) for c in labels}
    assert len(energies) == 5
    assert by[("os", "int8")]["cycles"] == by[("os", "uint8:circ/mul8u_1446.v")]["cycles"]
    assert int(by[("os", "int8")]["cycles"]) < int(by[("os", "exact")]["cycles"])


def test_int8_top1_equals_the_integer_oracle(tmp_path, shared_data, repo_root):
    """One accuracy run per variant, shared by the array sizes; exact int8 against test_quant's
    int64 numpy oracle, FP exact against the FP forward; without `quant` the sweep calibrates
    as `archsim accuracy` does, which reproduces the shipped quantization file."""
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import predict_labels
    from archsim.nn.quant import load_quant

    weights = shared_data / "da_lenet_official.npz"
    quant = repo_root / "workloads" / "int8" / "da_lenet.quant.json"
    accuracy = (f"accuracy: {{dataset: mnist, architecture: da-lenet, images: 60, "
                f"weights: {weights}, data_dir: {shared_data}")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"base: {repo_root / 'configs' / 'da_mnist.yaml'}\naxes:\n"
                    f"  array.size: [8, 16]\n"
                    f"  pe.variant: [exact, int8, 'uint8:{shared_data / EVO}']\n"
                    f"objectives: [energy, top1]\n{accuracy}, quant: {quant}}}\n")
    import archsim.sweep.execute as execute
    calls = []
    original = execute.top1_accuracy
    execute.top1_accuracy = lambda *a: calls.append(a) or original(*a)
    try:
        assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0",
                    "--no-plots"]) == 0
    finally:
        execute.top1_accuracy = original
    assert len(calls) == 3                     # 6 points, 3 variants
    echo = json.loads((tmp_path / "sw" / "sweep.json").read_text())["accuracy"]
    assert echo["quant"] == "da_lenet.quant.json"
    rows = read_rows(tmp_path / "sw" / "results.csv")
    net = load_network(weights, "da-lenet")
    test = load_split("mnist", shared_data, "test")
    x, y = test.x[:60], test.y[:60]
    want_int8 = (_oracle_int8_forward(net, load_quant(quant, net), x).argmax(axis=1) == y).sum()
    want_exact = (predict_labels(net, x, "exact") == y).sum()
    top1 = {(r["array.size"], r["pe.variant"]): float(r["top1"]) for r in rows}
    for size in ("8", "16"):
        assert top1[(size, "int8")] == want_int8 / 60
        assert top1[(size, "exact")] == want_exact / 60
    # the approximate circuit's top-1 is that of `archsim accuracy` on the same images
    assert run(["accuracy", "da-lenet", "--dataset", "mnist", "--data-dir", shared_data,
                "--quant", quant, "--variants", f"uint8:{shared_data / EVO}", "--limit", "60",
                "--out", tmp_path / "acc"]) == 0
    acc = read_rows(tmp_path / "acc" / "accuracy.csv")[0]
    assert top1[("8", f"uint8:{shared_data / EVO}")] == float(acc["top1"])
    # calibrated on the seeded training sample when the spec names no quantization file
    spec.write_text(f"base: {repo_root / 'configs' / 'da_mnist.yaml'}\naxes:\n"
                    f"  array.size: [16]\n  pe.variant: [int8]\nobjectives: [top1]\n{accuracy}}}\n")
    assert run(["sweep", spec, "--out", tmp_path / "cal", "--workers", "0", "--no-plots"]) == 0
    assert float(read_rows(tmp_path / "cal" / "results.csv")[0]["top1"]) == want_int8 / 60


def test_dask_int8_rows_same_bytes_as_serial(tmp_path, mixed_spec):
    outs = []
    for workers in ("0", "2"):
        outs.append(tmp_path / f"out{workers}")
        proc = subprocess.run([sys.executable, "-m", "archsim", "sweep", str(mixed_spec), "--out",
                               str(outs[-1]), "--workers", workers, "--no-plots"],
                              capture_output=True, text=True, timeout=300,
                              env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        assert proc.returncode == 0, proc.stderr
    assert tree_bytes(outs[0]) == tree_bytes(outs[1])
    rows = read_rows(outs[1] / "results.csv")
    assert {r["pe.variant"] for r in rows if int(r["dram_write_bytes"]) == 261} == {
        "int8", "uint8-lsb-AMA5-6", "uint8:circ/mul8u_1446.v"}


BAD = [
    ("axes:\n  pe.layers: [{c1: int8, f1: exact}]\n", "axes.pe.layers[0]: mixes integer and FP"),
    # the base's default variant (exact) on f1, int8 on c1
    ("axes:\n  pe.layers: {layers: [c1], variants: [exact, int8]}\n",
     'point 1 (pe.layers={"c1":"int8"}): mixes integer and FP'),
    ("axes:\n  pe.variant: [int8]\n  pe.layers: [{c1: exact}]\n", "point 0 (pe.variant=int8"),
    ("axes:\n  pe.variant: ['int8:nowhere.v']\n", "axes.pe.variant[0]"),
]


@pytest.mark.parametrize("spec_text, field", BAD)
def test_bad_int8_spec_one_line_exit_2_no_output(tmp_path, capsys, spec_text, field):
    (tmp_path / "base.yaml").write_text(TINY_RUN)
    spec = tmp_path / "spec.yaml"
    spec.write_text("base: base.yaml\n" + spec_text)
    assert run(["sweep", spec, "--out", tmp_path / "out", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(spec) in err and field in err, err
    assert not (tmp_path / "out").exists()


def test_quant_file_of_another_network_is_refused(tmp_path, capsys, shared_data, repo_root):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"base: {repo_root / 'configs' / 'da_mnist.yaml'}\naxes:\n"
                    f"  pe.variant: [int8]\nobjectives: [top1]\n"
                    f"accuracy: {{dataset: mnist, architecture: da-lenet, images: 10, "
                    f"weights: {shared_data / 'da_lenet_official.npz'}, data_dir: {shared_data}, "
                    f"quant: {repo_root / 'workloads' / 'int8' / 'alexnet_cifar10.quant.json'}}}\n")
    assert run(["sweep", spec, "--out", tmp_path / "out", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "accuracy.quant" in err and str(spec) in err, err
    assert not (tmp_path / "out").exists()


def test_per_layer_integer_mix_is_the_sum_of_int8_layer_energies(tmp_path):
    """Different integer multipliers per layer share the int8 simulation; each layer is
    priced with its own multiplier (layers.csv of an `archsim run` with both)."""
    (tmp_path / "base.yaml").write_text(TINY_RUN.replace("variants: [exact, da]",
                                                         "variants: [int8, uint8-lsb-AMA5-6]"))
    spec = tmp_path / "spec.yaml"
    spec.write_text("base: base.yaml\naxes:\n"
                    "  pe.layers: {layers: [c1, f1], variants: [int8, uint8-lsb-AMA5-6]}\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0", "--no-plots"]) == 0
    assert run(["run", tmp_path / "base.yaml", "--out", tmp_path / "r", "--no-plots"]) == 0
    layers = {(r["variant"], r["layer"]): r for r in read_rows(tmp_path / "r" / "layers.csv")}
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert len(rows) == 4
    for row in rows:
        assign = json.loads(row["pe.layers"])
        want = sum(float(layers[(assign[n], n)]["energy_pj"]) for n in ("c1", "f1")) * 1e-12
        assert float(row["energy_j"]) == pytest.approx(want, rel=1e-12)
        assert int(row["dram_write_bytes"]) == 261
    assert len({r["energy_j"] for r in rows}) == 4


def test_per_layer_integer_mix_with_accuracy_is_refused(tmp_path, capsys, shared_data,
                                                        repo_root):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"base: {repo_root / 'configs' / 'da_mnist.yaml'}\naxes:\n"
                    f"  pe.variant: [int8]\n  pe.layers: [{{conv1: uint8-lsb-AMA5-6}}]\n"
                    f"objectives: [top1]\n"
                    f"accuracy: {{dataset: mnist, architecture: da-lenet, images: 10, "
                    f"weights: {shared_data / 'da_lenet_official.npz'}, "
                    f"data_dir: {shared_data}}}\n")
    assert run(["sweep", spec, "--out", tmp_path / "out", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "one integer multiplier for every layer" in err, err
    assert not (tmp_path / "out").exists()
