"""int8 PE in the simulator: per-tensor word sizes (1-byte ifmap/filter/ofmap, 4-byte psums)
against hand-derived timelines and byte counts, SRAM prices, and the int8 MAC cost against its
netlists and Horowitz's published 45 nm figures."""
import dataclasses
import json

import numpy as np
import pytest

from archsim import cli
from archsim.config import ArrayConfig, MemoryConfig, load_config
from archsim.energy import action_energies_pj, load_ert
from archsim.sim.accelerator import simulate_layer
from archsim.sim.plan import Dataflow
from archsim.sim.precision import INT8_WORDS, memory_for_variant, word_bytes_of
from archsim.workloads import Layer, LayerKind


def gemm_layer(m, k, n):
    return Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n)


def int8(mem: MemoryConfig) -> MemoryConfig:
    return memory_for_variant(mem, "int8")


def test_memory_for_variant_sets_int8_words_only_for_integer_variants():
    mem = MemoryConfig(64, 64, 64, 4, 16, 100)
    assert memory_for_variant(mem, "da") is mem
    m8 = int8(mem)
    assert {t: word_bytes_of(m8, t) for t in INT8_WORDS} == {"ifmap": 1, "filter": 1,
                                                            "psum": 4, "ofmap": 1}
    assert {t: word_bytes_of(mem, t) for t in INT8_WORDS} == dict.fromkeys(INT8_WORDS, 4)


def test_int8_os_timeline_equals_the_hand_calculated_one_byte_timeline():
    # tests/test_sim.py::test_hand_calculated_stall with 1-byte words: fill 16, stall 2, drain 4,
    # total 34. An int8 OS PE moves 1-byte operands and 1-byte finished outputs: same timeline;
    # FP32 words (4 B) quadruple every transfer: fill 64, each fold's prefetch 32 B > 6 cycles.
    mem = MemoryConfig(64, 64, 64, 4, 1, 0)
    r = simulate_layer(gemm_layer(4, 4, 2), ArrayConfig(2, 2, Dataflow.OS), int8(mem))
    assert (r.fill_cycles, r.stall_cycles, r.drain_cycles, r.total_cycles) == (16, 2, 4, 34)
    counts = r.count_map()
    assert counts[("dram", "read")] == 8 + 8 + 8 and counts[("dram", "write")] == 8
    fp = simulate_layer(gemm_layer(4, 4, 2), ArrayConfig(2, 2, Dataflow.OS), mem)
    assert fp.count_map()[("dram", "read")] == 4 * 24 and fp.fill_cycles == 64


def test_ws_partial_sum_spill_moves_4_byte_psums_and_1_byte_outputs():
    # M=2, K=4, N=2 on a 2x2 WS array: 2 row folds (K blocks), 1 column fold; the ofmap tile
    # (M x 2 = 4 accumulators = 16 B) does not fit half of a 10-byte ofmap SRAM -> spill.
    # fold 0: read ifmap 2x2 + filter 2x2 = 8 B; write 4 psums x 4 B = 16 B
    # fold 1: read ifmap 4 + filter 4 + psum-back 4 x 4 B = 24 B; write 4 outputs x 1 B = 4 B
    mem = MemoryConfig(64, 64, 10 / 1024, 4, 1e9, 0)
    r = simulate_layer(gemm_layer(2, 4, 2), ArrayConfig(2, 2, Dataflow.WS), int8(mem))
    counts = r.count_map()
    assert counts[("dram", "read")] == 8 + 24 and counts[("dram", "write")] == 16 + 4
    fp = simulate_layer(gemm_layer(2, 4, 2), ArrayConfig(2, 2, Dataflow.WS), mem).count_map()
    assert fp[("dram", "read")] == 4 * (8 + 12) and fp[("dram", "write")] == 4 * (4 + 4)


def test_one_byte_operands_fit_sram_that_fp32_overflows():
    # OS, M=64, K=64, N=16 on 16x16: 4 row folds x 1 column fold; ifmap = 64x64 = 4096 elements.
    # Half the ifmap SRAM = 4 KiB: 4096 int8 words fit (resident: fetched once, 4096 B), 1024
    # FP32 words do not; the ifmap tile changes every fold, so FP32 also fetches 4096 elements,
    # but now consider a second column fold (N=32): FP32 refetches every tile, int8 keeps them.
    mem = MemoryConfig(8, 64, 64, 4, 1e9, 0)
    layer = gemm_layer(64, 64, 32)
    arr = ArrayConfig(16, 16, Dataflow.OS)
    i8 = simulate_layer(layer, arr, int8(mem)).count_map()
    fp = simulate_layer(layer, arr, mem).count_map()
    assert i8[("ifmap_sram", "write")] == 64 * 64                 # compulsory only
    assert fp[("ifmap_sram", "write")] == 2 * 64 * 64             # every tile again per col fold
    assert i8[("dram", "read")] == 64 * 64 + 64 * 32              # ifmap + filter, 1 B each
    assert fp[("dram", "read")] == 4 * (2 * 64 * 64 + 64 * 32)


def test_sram_prices_follow_the_word_size_of_their_tensor():
    table = load_ert()
    mem = MemoryConfig(64, 64, 64, 4, 16, 100)
    pe = dataclasses.make_dataclass("PE", ["mult_energy_pj", "add_energy_pj"])(1.0, 1.0)
    fp, i8 = action_energies_pj(table, mem, pe), action_energies_pj(table, int8(mem), pe)
    for sram, ratio in (("ifmap_sram", 0.25), ("filter_sram", 0.25), ("ofmap_sram", 1.0)):
        for action in ("read", "write"):
            assert i8[(sram, action)] == pytest.approx(ratio * fp[(sram, action)], rel=1e-12)


def test_int32_adder_netlist_adds():
    from archsim.int8_mac import int32_adder_netlist
    from archsim_core.evaluate import evaluate

    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, 2000, dtype=np.uint64)
    b = rng.integers(0, 2**32, 2000, dtype=np.uint64)
    np.testing.assert_array_equal(evaluate(int32_adder_netlist(), a, b), a + b)


def test_int8_mac_cost_against_horowitz_and_fp32():
    # Horowitz, ISSCC 2014 (45 nm): 8-bit integer multiply 0.2 pJ, 32-bit integer add 0.1 pJ,
    # FP32 multiply 3.7 pJ (our anchor), FP32 add 0.9 pJ. Ours come from the netlists alone.
    from archsim.cost.pe import pe_cost
    from archsim.int8_mac import int8_pe_cost

    i8, fp = int8_pe_cost("int8"), pe_cost("exact")
    assert 0.1 <= i8.mult_energy_pj <= 0.4
    assert 0.05 <= i8.adder_energy_pj <= 0.2             # the int32 adder alone (no register)
    assert i8.mult_energy_pj + i8.add_energy_pj < (fp.mult_energy_pj + fp.add_energy_pj) / 5
    assert i8.mac_delay_ns < fp.mac_delay_ns
    # the sign-magnitude wrapper costs energy and delay around the same unsigned array
    u8 = int8_pe_cost("uint8-exact")
    assert u8.mult_energy_pj > i8.mult_energy_pj and u8.mult_delay_ns > i8.mult_delay_ns
    # approximate AMA5 low columns are buffers: cheaper than the exact unsigned array
    assert int8_pe_cost("uint8-lsb-AMA5-6").mult_energy_pj < u8.mult_energy_pj


def test_archsim_run_with_int8_variants(tmp_path, repo_root, capsys):
    cfg = tmp_path / "int8.yaml"
    cfg.write_text(
        f"name: int8\nworkload: {{path: {repo_root / 'workloads' / 'da_mnist.yaml'}}}\n"
        "batch: 1\narray: {rows: 16, cols: 16, dataflow: os}\n"
        "memory: {ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 4,\n"
        "         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 100}\n"
        "clock: {mode: critical_path}\npe: {variants: [exact, int8, uint8-lsb-AMA5-6]}\n")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())["variants"]
    # OS writes every output once: FP32 4 B, int8 1 B (requantised)
    config = load_config(cfg)
    outputs = sum(l.gemm_m * l.gemm_n for l in config.workload.layers)
    assert s["exact"]["dram_write_bytes"] == 4 * outputs
    assert s["int8"]["dram_write_bytes"] == outputs
    assert s["int8"]["dram_read_bytes"] <= s["exact"]["dram_read_bytes"] / 4
    assert s["int8"]["cycles"] <= s["exact"]["cycles"]
    assert s["int8"]["cycles"] == s["uint8-lsb-AMA5-6"]["cycles"]
    assert s["int8"]["energy_j"] < s["exact"]["energy_j"]
    assert s["int8"]["pe"]["variant"] == "int8"
    rows = (tmp_path / "out" / "layers.csv").read_text().splitlines()
    assert sum(r.startswith("int8,") for r in rows) == len(config.workload.layers)


def test_run_config_rejects_a_bad_integer_variant(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("workload: {inline: {name: w, input: [1, 8, 8], layers: [{name: c, type: conv, filters: 2, kernel: 3}]}}\n"
                   "array: {rows: 4, cols: 4, dataflow: os}\n"
                   "memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 4,\n"
                   "         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 10}\n"
                   "clock: {mode: fixed, clock_mhz: 100}\npe: {variants: [exact, 'int8:missing.v']}\n")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pe.variants[1]" in err and "missing.v" in err
    assert "workload" not in err
    assert not (tmp_path / "o").exists()


def _acc_config(tmp_path, repo_root, shared_data, accuracy: str, variants: str) -> "Path":
    cfg = tmp_path / "acc.yaml"
    cfg.write_text(
        f"name: acc\nworkload: {{path: {repo_root / 'workloads' / 'da_mnist.yaml'}}}\n"
        "array: {rows: 16, cols: 16, dataflow: os}\n"
        "memory: {ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 4,\n"
        "         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 100}\n"
        f"clock: {{mode: critical_path}}\npe: {{variants: [{variants}]}}\naccuracy: {accuracy}\n")
    return cfg


def test_run_accuracy_section_reports_int8_beside_fp(tmp_path, repo_root, shared_data, capsys):
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import predict_labels

    acc = (f"{{architecture: da-lenet, weights: {shared_data / 'da_lenet_official.npz'}, "
           f"dataset: mnist, data_dir: {shared_data}, "
           f"quant: {repo_root / 'workloads' / 'int8' / 'da_lenet.quant.json'}, images: 300}}")
    cfg = _acc_config(tmp_path, repo_root, shared_data, acc, "int8, uint8-exact, uint8-da")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--no-plots"]) == 0
    rows = (tmp_path / "o" / "accuracy.csv").read_text().splitlines()
    assert rows[0] == "variant,images,correct,top1"
    got = {r.split(",")[0]: int(r.split(",")[2]) for r in rows[1:]}
    # the exact unsigned array through the sign-magnitude wrapper is the exact int8 PE
    assert got["int8"] == got["uint8-exact"]
    # FP32 numpy on the same images (independent path): 8-bit PTQ within 1 point
    net = load_network(shared_data / "da_lenet_official.npz", "da-lenet")
    test = load_split("mnist", shared_data, "test").take(300)
    fp = int((predict_labels(net, test.x) == test.y).sum())
    assert abs(got["int8"] - fp) <= 3
    assert got["uint8-da"] < got["int8"] - 30       # DA's AMA5 8x8 block on integer codes


@pytest.mark.parametrize("accuracy,variants,message", [
    ("{weights: w.npz, dataset: mnist}", "int8", "accuracy.architecture: missing"),
    ("{architecture: da-lenet, weights: W, dataset: mnist, data_dir: D, images: 0}", "int8",
     "accuracy.images: must be an integer >= 1"),
    ("{architecture: da-lenet, weights: W, dataset: mnist, data_dir: D}", "int8",
     "accuracy.quant: integer PE variants need a quantization file"),
])
def test_run_accuracy_section_bad_input(tmp_path, repo_root, shared_data, capsys, accuracy,
                                        variants, message):
    accuracy = accuracy.replace(" W,", f" {shared_data / 'da_lenet_official.npz'},")
    accuracy = accuracy.replace(" D", f" {shared_data}")
    cfg = _acc_config(tmp_path, repo_root, shared_data, accuracy, variants)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists()


def test_functional_mode_with_an_integer_variant_is_refused(tmp_path, repo_root, capsys):
    cfg = tmp_path / "f.yaml"
    cfg.write_text(
        f"workload: {{path: {repo_root / 'workloads' / 'da_mnist.yaml'}}}\n"
        "array: {rows: 8, cols: 8, dataflow: os}\n"
        "memory: {ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 4,\n"
        "         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 100}\n"
        "clock: {mode: fixed, clock_mhz: 100}\npe: {variants: [exact, int8]}\n"
        "functional: {samples: 1}\n")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "functional: integer PE variants" in err
    assert not (tmp_path / "o").exists()
