"""Huge shapes are refused from an estimate, before any allocation or
simulation (they used to spin for minutes in fold_traffic or die in numpy)."""
import time

import pytest

from archsim import cli
from archsim.config import ArrayConfig, MemoryConfig
from archsim.errors import ResourceError
from archsim.sim.accelerator import simulate_layer
from archsim.sim.limits import MAX_FOLDS, check_simulation, simulation_bytes
from archsim.sim.plan import Dataflow, plan_layer
from archsim.workloads import Layer, LayerKind

HUGE = """name: huge
workload:
  inline:
    input: [1, 1000000000, 1000000000]
    layers: [{name: c, type: conv, filters: 1000000000, kernel: 3}]
array: {rows: 16, cols: 16, dataflow: os}
memory: {ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 16, dram_latency_cycles: 0}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact]}
"""
CFG = "tests/data/scalesim/reports/8x8_os/scale.cfg"
HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
          "Num Filter, Strides,\n")


def one_line(capsys, code, *needles):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("archsim: ")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_huge_workload_layer_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "h.yaml").write_text(HUGE)
    start = time.perf_counter()
    code = cli.main(["run", str(tmp_path / "h.yaml"), "--out", str(tmp_path / "o")])
    assert time.perf_counter() - start < 30  # an estimate, not a hang (generous on a busy CI)
    one_line(capsys, code, "layer 'c'", "folds", f"{MAX_FOLDS:,}")
    assert not (tmp_path / "o").exists()


def test_huge_scalesim_ifmap_is_refused(tmp_path, capsys, repo_root):
    (tmp_path / "t.csv").write_text(HEADER + "big, 100000, 100000, 3, 3, 64, 64, 1,\n")
    code = cli.main(["scalesim", "-c", str(repo_root / CFG), "-t", str(tmp_path / "t.csv"),
                     "-p", str(tmp_path / "o")])
    one_line(capsys, code, "t.csv", "layer 'big'")
    assert not (tmp_path / "o").exists()


def test_huge_scalesim_array_is_refused(tmp_path, capsys, repo_root):
    text = (repo_root / CFG).read_text()
    lines = [("ArrayHeight : 1000000000" if line.startswith("ArrayHeight") else
              "ArrayWidth : 1000000000" if line.startswith("ArrayWidth") else line)
             for line in text.splitlines()]
    (tmp_path / "a.cfg").write_text("\n".join(lines) + "\n")
    code = cli.main(["scalesim", "-c", str(tmp_path / "a.cfg"), "-t",
                     str(repo_root / "tests/data/scalesim/topology.csv"),
                     "-p", str(tmp_path / "o")])
    one_line(capsys, code, "working memory", "2 GiB")


def test_huge_depthwise_expansion_is_refused(tmp_path, capsys, repo_root):
    (tmp_path / "t.csv").write_text(HEADER + "convDP, 8, 8, 3, 3, 1000000000, 1, 1,\n")
    code = cli.main(["scalesim", "-c", str(repo_root / CFG), "-t", str(tmp_path / "t.csv"),
                     "-p", str(tmp_path / "o")])
    one_line(capsys, code, "depthwise", "100,000")


def test_estimate_bounds_the_real_allocation():
    """The estimate is an over-approximation of what fold_traffic allocates: measured with
    tracemalloc on a mid-size layer, the peak stays below the estimate."""
    import tracemalloc

    from archsim.sim.memory import fold_traffic

    layer = Layer("c", LayerKind.CONV, 40, 40, 3, 3, 16, 32, padding=1)
    mem = MemoryConfig(1024, 64, 64, 4, 16, 0)
    for dataflow in Dataflow:
        plan = plan_layer(layer, 16, 16, dataflow)
        tracemalloc.start()
        list(fold_traffic(plan, mem))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= simulation_bytes(plan, mem), (dataflow, peak)


def test_normal_layers_pass_and_bound_is_exact_at_the_edge():
    layer = Layer("fc", LayerKind.FC, 1, 1, 1, 1, 1, MAX_FOLDS)  # N = 10^6 filters
    mem = MemoryConfig(64, 64, 64, 4, 16, 0)
    check_simulation(plan_layer(layer, 1, 1, Dataflow.OS), mem)  # exactly MAX_FOLDS: allowed
    bigger = Layer("fc", LayerKind.FC, 1, 1, 1, 1, 1, MAX_FOLDS + 1)
    with pytest.raises(ResourceError, match="folds"):
        simulate_layer(bigger, ArrayConfig(1, 1, Dataflow.OS), mem)


def test_functional_mode_on_a_large_layer_is_refused(tmp_path, capsys):
    # small enough to simulate, but 10^4 samples of 900 x 144 im2col rows each is 1.3e9
    # operand elements in functional mode
    text = HUGE.replace("[1, 1000000000, 1000000000]", "[16, 32, 32]").replace(
        "filters: 1000000000", "filters: 16") + "functional: {samples: 10000}\n"
    (tmp_path / "f.yaml").write_text(text)
    code = cli.main(["run", str(tmp_path / "f.yaml"), "--out", str(tmp_path / "o")])
    one_line(capsys, code, "functional mode", "layer 'c'")
