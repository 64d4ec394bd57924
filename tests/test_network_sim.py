"""What the simulator takes from a network graph: grouped layers against the same groups
simulated as separate layers, activation matmuls, vector-unit timing by hand, `archsim run`
on an ONNX workload, `archsim accuracy` end to end and its bad input."""
import csv
import json
import math

import numpy as np
import pytest

from archsim import cli
from archsim.config import ArrayConfig, MemoryConfig
from archsim.sim.accelerator import simulate_layer
from archsim.sim.grouped import simulate_network
from archsim.sim.plan import Dataflow
from archsim.sim.vector import VectorConfig, time_operator
from archsim.workloads import Layer, LayerKind, Operator, Workload

MEM = MemoryConfig(2, 2, 2, 4, 8, 20)


@pytest.mark.parametrize("dataflow", list(Dataflow))
def test_grouped_conv_equals_its_groups_run_as_layers(dataflow):
    layer = Layer("g", LayerKind.CONV, 9, 7, 3, 3, 12, 8, stride=2, padding=1, batch=2,
                  groups=4)
    assert (layer.gemm_m, layer.gemm_k, layer.gemm_n) == (2 * 5 * 4, 9 * 3, 2)
    assert layer.macs == 4 * 40 * 27 * 2
    array = ArrayConfig(4, 4, dataflow)
    got = simulate_network(Workload("w", (layer,)), array, MEM).layers[0]
    # oracle: four ungrouped layers of 3 channels and 2 filters, simulated one by one
    parts = [simulate_layer(Layer(f"g{i}", LayerKind.CONV, 9, 7, 3, 3, 3, 2, stride=2,
                                  padding=1, batch=2), array, MEM) for i in range(4)]
    assert got.total_cycles == sum(p.total_cycles for p in parts)
    assert got.plan.compute_cycles == sum(p.plan.compute_cycles for p in parts)
    assert got.plan.folds == sum(p.plan.folds for p in parts)
    assert got.plan.macs == sum(p.plan.macs for p in parts) == layer.macs
    total = {}
    for p in parts:
        for key, count in p.counts:
            total[key] = total.get(key, 0) + count
    assert dict(got.counts) == total
    assert got.plan.ifmap_sram_reads == sum(p.plan.ifmap_sram_reads for p in parts)


def test_repeated_layers_reuse_one_simulation_exactly():
    a = Layer("a", LayerKind.CONV, 8, 8, 3, 3, 4, 4, padding=1)
    b = Layer("b", LayerKind.CONV, 8, 8, 3, 3, 4, 4, padding=1)
    array = ArrayConfig(4, 4, Dataflow.WS)
    res = simulate_network(Workload("w", (a, b)), array, MEM).layers
    assert [r.plan.layer.name for r in res] == ["a", "b"]
    for r, layer in zip(res, (a, b)):
        ref = simulate_layer(layer, array, MEM)
        assert (r.total_cycles, r.counts, r.plan) == (ref.total_cycles, ref.counts, ref.plan)


def test_vector_operator_timing_by_hand():
    op = Operator("relu", "Relu", "vector", 0, 1000, 1000, 1000)
    t = time_operator(op, VectorConfig(lanes=8, ops_per_cycle=2), MEM)
    # 1000 ops / 16 per cycle = 63 cycles; 8000 bytes / 8 B per cycle = 1000 DRAM cycles
    assert (t.compute_cycles, t.dram_cycles, t.total_cycles) == (63, 1000, 1020)
    assert (t.dram_read_bytes, t.dram_write_bytes) == (4000, 4000)
    softmax = Operator("sm", "Softmax", "vector", 0, 5 * 64, 64, 64)
    fast = MemoryConfig(2, 2, 2, 4, 1e9, 0)
    assert time_operator(softmax, VectorConfig(4), fast).total_cycles == math.ceil(320 / 4)


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory):
    import torch
    from onnx_models import encoder_layer, export, residual_block

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("models")
    return {"res": export(residual_block(), torch.zeros(1, 8, 10, 10), d / "res.onnx"),
            "enc": export(encoder_layer(), torch.zeros(2, 5, 16), d / "enc.onnx",
                          dynamic_batch=False)}


def test_encoder_attention_matmuls_are_grouped_activation_layers(onnx_models):
    from archsim.network.lower import graph_workload
    from archsim.network.onnx import load_onnx

    wl = graph_workload(load_onnx(onnx_models["enc"]))
    mm = [l for l in wl.layers if l.kind is LayerKind.MATMUL]
    # scores: per (batch, head) 5x8 @ 8x5; context: 5x5 @ 5x8; 2 batches x 2 heads
    assert [(l.groups, l.gemm_m, l.gemm_k, l.gemm_n) for l in mm] == [(4, 5, 8, 5), (4, 5, 5, 8)]
    fc = [l for l in wl.layers if l.kind is LayerKind.FC]
    assert [(l.gemm_m, l.gemm_k, l.gemm_n) for l in fc] == [(10, 16, 16)] * 4 + [
        (10, 16, 32), (10, 32, 16)]
    units = {o.op: o.unit for o in wl.operators}
    assert units["MatMul"] == units["Linear"] == "array"
    assert units["Softmax"] == units["LayerNormalization"] == "vector"
    assert units["Reshape"] == "none"


CONFIG = """
name: res
workload: {{onnx: {model}, batch: 2}}
array: {{rows: 8, cols: 8, dataflow: ws}}
memory: {{ifmap_sram_kib: 16, filter_sram_kib: 16, ofmap_sram_kib: 16, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 10}}
clock: {{mode: fixed, clock_mhz: 200}}
pe: {{variants: [exact, da]}}
{vector}
"""


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_on_onnx_workload_reports_where_ops_ran(tmp_path, onnx_models):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(model=onnx_models["res"], vector="vector: {lanes: 16}"))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    layers = [r for r in _rows(tmp_path / "out" / "layers.csv") if r["variant"] == "exact"]
    # hand count at batch 2: two 3x3 8->8 convs on 10x10, a 3x3/2 8->16 conv and a 1x1/2
    # 8->16 shortcut on 5x5 outputs, fc 16->5
    assert [int(r["macs"]) for r in layers] == [2 * 100 * 72 * 8] * 2 + [
        2 * 25 * 72 * 16, 2 * 25 * 8 * 16, 2 * 16 * 5]
    ops = _rows(tmp_path / "out" / "ops.csv")
    where = {r["op"]: r["unit"] for r in ops}
    assert where == {"Conv": "array", "Relu": "vector", "Add": "vector",
                     "GlobalAveragePool": "vector", "Flatten": "none", "Linear": "array"}
    vector_cycles = sum(int(r["cycles"]) for r in ops if r["unit"] == "vector")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    net = summary["network"]
    assert net["vector_cycles"] == vector_cycles > 0
    assert net["cycles"] == net["array_cycles"] + vector_cycles
    assert net["array_cycles"] == sum(int(r["total_cycles"]) for r in layers)


def test_run_on_onnx_bad_model_is_one_line(tmp_path, capsys):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07garbage")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(model=tmp_path / "m.onnx", vector=""))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "workload.onnx" in err and "m.onnx: not a readable ONNX" in err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def lenet_npz(tmp_path_factory):
    from archsim.network.builtin import BUILTIN_WEIGHTS
    from archsim.nn.architectures import load_network
    from archsim.nn.network import predict_labels

    net = load_network(BUILTIN_WEIGHTS["lenet5"], "lenet5")
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 28, 28), dtype=np.float32)
    y = predict_labels(net, x)
    y[::3] = (y[::3] + 1) % 10  # a third of the labels wrong: top-1 = 26/40 exactly
    path = tmp_path_factory.mktemp("data") / "d.npz"
    np.savez(path, x=x, y=y)
    return path


def test_accuracy_command_on_builtin_and_npz(tmp_path, lenet_npz):
    out = tmp_path / "acc"
    assert cli.main(["accuracy", "lenet5", "--dataset", str(lenet_npz), "--variants",
                     "float32", "exact", "--out", str(out), "--batch-size", "16"]) == 0
    rows = _rows(out / "accuracy.csv")
    assert list(rows[0]) == ["variant", "images", "correct", "top1"]
    assert [(r["variant"], r["images"], r["correct"]) for r in rows] == [
        ("float32", "40", "26"), ("exact", "40", "26")]
    assert float(rows[0]["top1"]) == 26 / 40
    assert cli.main(["accuracy", "lenet5", "--dataset", str(lenet_npz), "--variants", "exact",
                     "--limit", "10", "--out", str(out)]) == 0
    assert _rows(out / "accuracy.csv")[0]["images"] == "10"


@pytest.mark.parametrize("case", ["shape", "model", "variant", "onnx"])
def test_accuracy_bad_input_is_one_line_and_no_output(tmp_path, capsys, lenet_npz, case):
    data = lenet_npz
    model = "lenet5"
    variants = ["exact"]
    if case == "shape":
        data = tmp_path / "cifar_like.npz"
        np.savez(data, x=np.zeros((4, 3, 32, 32), np.float32), y=np.zeros(4, np.int64))
    elif case == "model":
        model = "resnet-9000"
    elif case == "variant":
        variants = ["exact", "bogus"]
    else:
        model = str(tmp_path / "empty.onnx")
        (tmp_path / "empty.onnx").write_bytes(b"")
    out = tmp_path / "acc"
    assert cli.main(["accuracy", model, "--dataset", str(data), "--variants", *variants,
                     "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("archsim accuracy: error: ")
    assert not out.exists()
    if case == "shape":
        assert "cifar_like.npz" in err and "input 'input'" in err
    if case == "onnx":
        assert "empty.onnx" in err
