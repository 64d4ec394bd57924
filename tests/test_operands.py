"""Workload-driven MAC energy: PE operand windows per dataflow (checked against numpy float32
sums), sampled pricing with standard errors, the run config's `cost` section, bad input, and
`archsim run`'s MAC figures traced back to `archsim cost`'s netlist figures."""
import json

import numpy as np
import pytest
from archsim_core.multiplier import get_multiplier

from archsim import cli
from archsim.cost.library import load_library
from archsim.cost.operands import Gemm, capture_gemms, pe_windows, price_gemms
from archsim.cost.pe import variant_spec
from archsim.cost.power import netlist_energy

LIB = load_library()


def _gemm(seed=0, m=40, k=20, n=12):
    rng = np.random.default_rng(seed)
    return Gemm("g", rng.uniform(-1, 1, (m, k)).astype(np.float32),
                rng.uniform(-1, 1, (k, n)).astype(np.float32))


def _f32(words):
    return np.asarray(words, np.uint32).view(np.float32)


def test_os_windows_stream_over_k_and_restart_per_output():
    g, mul = _gemm(), get_multiplier("exact")
    (x, y, before, prod, after), = pe_windows(mul, g, "os", 4, 4, 1, 50, np.random.default_rng(1))
    xs, ys = _f32(x), _f32(y)
    # the first 20 operations are one output (m, n): a row of X against a column of W
    m = int(np.flatnonzero((g.x == xs[0]).all(axis=1) | (g.x[:, 0] == xs[0]))[0])
    n = int(np.flatnonzero(g.w[0] == ys[0])[0])
    assert np.array_equal(xs[:20], g.x[m]) and np.array_equal(ys[:20], g.w[:, n])
    assert np.array_equal(xs[20:40], g.x[(m + 4) % 40])            # next output: m + R
    assert _f32(before)[0] == 0 and _f32(before)[20] == 0            # restart per output
    assert np.array_equal(_f32(after)[:20], np.cumsum(xs[:20] * ys[:20], dtype=np.float32))


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_stationary_operand_does_not_toggle_and_partial_sums_come_from_above(dataflow):
    g, mul = _gemm(2), get_multiplier("exact")
    rows = 8
    for x, y, before, prod, after in pe_windows(mul, g, dataflow, rows, 4, 6, 30,
                                                np.random.default_rng(3)):
        xs, ys = _f32(x), _f32(y)
        held, moving = (ys, xs) if dataflow == "ws" else (xs, ys)
        assert np.all(held == held[0]) and len(set(moving.tolist())) > 1
        # find the PE: k from the held operand, fold base = k // rows * rows
        if dataflow == "ws":
            k, n = map(int, np.argwhere(g.w == held[0])[0])
            m = [int(np.flatnonzero(g.x[:, k] == v)[0]) for v in xs]
            above = [g.x[m, kk] * g.w[kk, n] for kk in range(k // rows * rows, k)]
        else:
            m, k = map(int, np.argwhere(g.x == held[0])[0])
            n = [int(np.flatnonzero(g.w[k] == v)[0]) for v in ys]
            above = [g.x[m, kk] * g.w[kk, n] for kk in range(k // rows * rows, k)]
        want = np.zeros(len(xs), np.float32)
        for i, p in enumerate(above):
            want = p.astype(np.float32) if i == 0 else (want + p).astype(np.float32)
        assert np.array_equal(_f32(before), want)
        assert np.array_equal(_f32(after), (want + xs * ys).astype(np.float32))


def test_sampled_energy_is_the_mean_of_window_energies_with_its_standard_error():
    spec = variant_spec("da")
    g = _gemm(4, m=64, k=30, n=16)
    mul = get_multiplier(spec)
    from archsim_core.fp_unit import unit_netlist

    res = price_gemms(spec, LIB, [g], "ws", 8, 8, 6, 7, 40, "test")
    wins = pe_windows(mul, g, "ws", 8, 8, 6, 40, np.random.default_rng(7))
    e = np.array([netlist_energy(unit_netlist(spec), x, y, LIB).per_op_eu for x, y, *_ in wins])
    assert res.mult_eu == pytest.approx(e.mean())
    assert res.mult_se == pytest.approx(e.std(ddof=1) / np.sqrt(6))
    assert res.layers[0]["samples"] == 6 and res.mult_se > 0


def test_capture_records_each_layers_gemm(shared_data):
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import forward

    net = load_network(shared_data / "da_lenet_official.npz", "da-lenet")
    x = load_split("mnist", shared_data, "test").x[:3]
    gemms = capture_gemms(net, x)
    assert [g.name for g in gemms] == ["conv1", "conv2", "linear1", "linear2"]
    assert [g.x.shape for g in gemms] == [(3 * 784, 9), (3 * 196, 288), (3, 3136), (3, 200)]
    # the last GEMM reproduces the network's logits (bias aside)
    logits = forward(net, x)
    last = net.layers[-1]
    assert np.allclose(gemms[-1].x @ gemms[-1].w + last.bias, logits, atol=1e-4)


TINY = """
name: tiny
workload:
  inline:
    input: [4, 1, 1]
    layers: [{name: fc, type: fc, out_features: 2}]
array: {rows: 2, cols: 2, dataflow: os}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 1,
         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 0}
clock: {mode: critical_path}
pe: {variants: [exact, da]}
"""


def test_run_mac_figures_trace_to_the_cost_netlists(tmp_path):
    """`archsim run` prices each MAC with the figures `archsim cost` derives from netlists
    (proven by tests/test_fp_unit.py::test_every_cost_figure_comes_from_a_netlist_or_the_ert):
    multiplier = the fp_unit row, add = adder + register blocks, clock = 1 / MAC path."""
    (tmp_path / "c.yaml").write_text(TINY)
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    assert cli.main(["cost", "exact", "da", "--out", str(tmp_path / "c"), "--no-plot"]) == 0
    run = json.loads((tmp_path / "r" / "summary.json").read_text())
    cost = json.loads((tmp_path / "c" / "cost.json").read_text())
    for name in ("exact", "da"):
        pe = run["variants"][name]["pe"]
        rows = {r["level"]: r for r in cost["rows"] if r["variant"] == name}
        blocks = {b["block"]: b for b in cost["blocks"][name]}
        assert pe["mult_energy_pj"] == pytest.approx(rows["fp_unit"]["energy_pj"])
        assert pe["add_energy_pj"] == pytest.approx(blocks["adder"]["energy_pj"]
                                                     + blocks["register"]["energy_pj"])
        assert pe["mac_delay_ns"] == pytest.approx(rows["mac"]["delay_ns"])
        assert run["variants"][name]["clock_mhz"] == pytest.approx(1000 / rows["mac"]["delay_ns"])
        assert "uniform" in pe["energy_source"]


def test_npz_operands_price_the_recorded_pairs(tmp_path):
    from archsim.cost.pe import mac_cost_from_words, pe_cost_from

    rng = np.random.default_rng(9)
    x, y = rng.uniform(0, 1, 300).astype(np.float32), rng.normal(0, 0.1, 300).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=x, y=y)
    (tmp_path / "c.yaml").write_text(TINY + "cost: {operands: {source: npz, path: pairs.npz}}\n")
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    pe = json.loads((tmp_path / "r" / "summary.json").read_text())["variants"]["da"]["pe"]
    mul = get_multiplier("da")
    want = pe_cost_from(variant_spec("da"), LIB, mac_cost_from_words(
        variant_spec("da"), LIB, mul.to_bits(x), mul.to_bits(y)))
    assert pe["mult_energy_pj"] == pytest.approx(want.mult_energy_pj)
    assert "pairs.npz" in pe["energy_source"]


def test_dataset_operands_end_to_end(tmp_path, shared_data, repo_root):
    workload = f"workload: {{path: {repo_root / 'workloads' / 'da_mnist.yaml'}}}\n"
    body = workload + TINY[TINY.index("array:"):] + (
        "cost:\n  operands: {source: dataset, dataset: mnist, architecture: da-lenet, "
        f"weights: {shared_data / 'da_lenet_official.npz'}, images: 2, data_dir: {shared_data}}}\n"
        "  sample: 3\n  ops: 40\n  seed: 5\n")
    (tmp_path / "c.yaml").write_text(body)
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(out), "--no-plots"]) == 0
    a, b = ((o / "summary.json").read_bytes() for o in outs)
    assert a == b
    pe = json.loads(a)["variants"]["exact"]["pe"]
    assert "mnist test (2 images)" in pe["energy_source"] and pe["mult_energy_se_pj"] > 0


@pytest.mark.parametrize("cost, fragment", [
    ("{operands: {source: poisson}}", "cost.operands.source"),
    ("{operands: {source: npz}}", "cost.operands.path"),
    ("{operands: {source: npz, path: INTS}}", "dtype"),
    ("{operands: {source: npz, path: TWO_D}}", "shape"),
    ("{operands: {source: dataset, dataset: mnist, architecture: da-lenet}}", "cost.operands.weights"),
    ("{operands: {source: dataset, dataset: mnist, architecture: da-lenet, weights: INTS, "
     "data_dir: nowhere}}", "cost.operands.data_dir"),
    ("{library: missing.yaml}", "cost.library"),
    ("{operands: {source: dataset, dataset: mnist, architecture: da-lenet, weights: WEIGHTS, "
     "data_dir: EMPTY}}", "t10k-images"),
    ("{sample: 1}", "cost.sample"),
])
def test_bad_cost_section_one_line_exit_2_no_output(tmp_path, capsys, shared_data, cost, fragment):
    np.savez(tmp_path / "ints.npz", x=np.arange(4), y=np.arange(4))
    np.savez(tmp_path / "two_d.npz", x=np.zeros((2, 2), np.float32), y=np.zeros((2, 2), np.float32))
    (tmp_path / "empty").mkdir()
    cost = cost.replace("INTS", str(tmp_path / "ints.npz")).replace("TWO_D", str(tmp_path / "two_d.npz"))
    cost = cost.replace("EMPTY", str(tmp_path / "empty")).replace(
        "WEIGHTS", str(shared_data / "da_lenet_official.npz"))
    (tmp_path / "c.yaml").write_text(TINY + f"cost: {cost}\n")
    out = tmp_path / "out"
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "c.yaml" in err and "cost." in err
    assert not out.exists()


def test_dataset_network_must_match_the_workload(tmp_path, capsys, shared_data):
    body = TINY + (
        "cost:\n  operands: {source: dataset, dataset: mnist, architecture: da-lenet, "
        f"weights: {shared_data / 'da_lenet_official.npz'}, images: 1, data_dir: {shared_data}}}\n")
    (tmp_path / "c.yaml").write_text(body)
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cost.operands.architecture" in err
    assert not (tmp_path / "o").exists()
