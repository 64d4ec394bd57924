"""archsim's plan against SCALE-Sim's own numbers (tests/data/scalesim/golden.csv).

The golden table was produced by running SCALE-Sim 3.0.0 (tools/scalesim_golden.py); nothing
in it comes from archsim. SCALE-Sim is not needed to run these tests.
"""
import csv
import math
from pathlib import Path

import pytest

from archsim.sim.plan import Dataflow, plan_layer
from archsim.workloads import Layer, LayerKind, read_scalesim_topology

DATA = Path(__file__).resolve().parent / "data" / "scalesim"
DIMS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")
# golden.csv: our test layers; golden_<network>.csv: a real network run by SCALE-Sim.
TABLES = {p.stem: list(csv.DictReader(p.open())) for p in sorted(DATA.glob("golden*.csv"))}
GOLDEN = [dict(row, table=name) for name, rows in TABLES.items() for row in rows]
LAYERS = {layer.name: layer for layer in read_scalesim_topology(DATA / "topology.csv").layers}


def _case_id(row):
    return (f"{row['table']}-{row['array_rows']}x{row['array_cols']}-{row['dataflow']}-"
            f"{row['layer']}")


def _layer(row):
    """The layer SCALE-Sim ran, with its conventions (no padding, partial last window)."""
    return Layer(row["layer"], LayerKind.CONV, *(int(row[k]) for k in DIMS),
                 partial_window=True)


def _plan(row):
    return plan_layer(_layer(row), int(row["array_rows"]), int(row["array_cols"]),
                      row["dataflow"])


def test_golden_table_covers_the_required_cases():
    """Arrays 8x8/32x32/128x128, all dataflows, uneven folds, SCALE-Sim's partial windows."""
    golden = TABLES["golden"]
    arrays = {(int(r["array_rows"]), int(r["array_cols"])) for r in golden}
    assert {(8, 8), (32, 32), (128, 128)} <= arrays
    assert {r["dataflow"] for r in golden} == {"os", "ws", "is"}
    plans = [_plan(r) for r in golden]
    assert any(p.sr % p.rows and p.sc % p.cols for p in plans)          # both edges partial
    assert any(p.folds == 1 for p in plans) and max(p.folds for p in plans) > 100
    partial = [layer for layer in LAYERS.values()
               if layer.ofmap_h != (layer.ifmap_h - layer.filter_h) // layer.stride + 1]
    assert partial, "no layer exercises SCALE-Sim's partial last window"
    # the table's layers are those archsim reads from the topology file SCALE-Sim read
    for row in golden:
        assert LAYERS[row["layer"]] == _layer(row)


@pytest.mark.parametrize("row", GOLDEN, ids=_case_id)
def test_cycles_are_scalesim_plus_one(row):
    plan = _plan(row)
    assert int(row["stall_cycles"]) == 0
    assert plan.compute_cycles == int(row["total_cycles"]) + 1
    assert plan.scalesim_cycles == int(row["total_cycles"])


@pytest.mark.parametrize("row", GOLDEN, ids=_case_id)
def test_sram_counts_match_except_the_os_ofmap_bug(row):
    plan = _plan(row)
    assert plan.ifmap_sram_reads == int(row["sram_ifmap_reads"])
    assert plan.filter_sram_reads == int(row["sram_filter_reads"])
    extra = int(row["sram_ofmap_writes"]) - plan.ofmap_sram_writes
    if plan.dataflow is Dataflow.OS:
        # SCALE-Sim adds each fold's output-tile height + width to its write counter
        assert extra == plan.folds * (plan.rows + plan.cols)
        assert plan.ofmap_sram_writes == plan.layer.gemm_m * plan.layer.gemm_n
    else:
        assert extra == 0


@pytest.mark.parametrize("row", GOLDEN, ids=_case_id)
def test_utilisation_and_mapping_efficiency_definitions(row):
    plan = _plan(row)
    pes = plan.rows * plan.cols
    reported_cycles = int(row["total_cycles"])
    # SCALE-Sim divides the MACs by its reported (count - 1) cycles; archsim by the true count
    assert float(row["overall_util_pct"]) == pytest.approx(
        plan.macs * 100 / (reported_cycles * pes), rel=1e-12)
    assert plan.utilisation * plan.compute_cycles == pytest.approx(
        float(row["overall_util_pct"]) / 100 * reported_cycles, rel=1e-12)
    assert plan.mapping_efficiency * 100 == pytest.approx(
        float(row["mapping_efficiency_pct"]), rel=1e-12)


@pytest.mark.parametrize("row", GOLDEN, ids=_case_id)
def test_compulsory_dram_traffic_when_operands_fit(row):
    """Within half of its 64 KiB SRAMs SCALE-Sim fetches each filter word once and writes
    each ofmap word (every partial sum for ws/is) once."""
    plan = _plan(row)
    half_words = 64 * 1024 // 2
    k_n = plan.layer.gemm_k * plan.layer.gemm_n
    if k_n < 50 * (64 * 1024 // 100):
        assert int(row["dram_filter_reads"]) == k_n
    if plan.ofmap_sram_writes <= half_words:
        assert int(row["dram_ofmap_writes"]) == plan.ofmap_sram_writes
        # the drain starts at SCALE-Sim's last compute cycle, array-width words per cycle
        assert float(row["dram_ofmap_start_cycle"]) == plan.scalesim_cycles
        assert float(row["dram_ofmap_stop_cycle"]) == (
            plan.scalesim_cycles + math.ceil(plan.ofmap_sram_writes / plan.cols) - 1)


@pytest.mark.parametrize("row", GOLDEN, ids=_case_id)
def test_simpy_simulator_matches_scalesim_when_memory_is_ample(row):
    """The transaction-level simulator, with DRAM fast enough never to stall, computes for
    exactly SCALE-Sim's cycles + 1 and counts SCALE-Sim's SRAM reads."""
    from archsim.config import ArrayConfig, MemoryConfig
    from archsim.sim.accelerator import simulate_layer

    rows, cols = int(row["array_rows"]), int(row["array_cols"])
    array = ArrayConfig(rows, cols, Dataflow(row["dataflow"]))
    memory = MemoryConfig(4096.0, 4096.0, 4096.0, 1, 1e9, 0)
    result = simulate_layer(_layer(row), array, memory)
    assert result.stall_cycles == 0
    assert result.total_cycles - result.fill_cycles - result.drain_cycles == (
        int(row["total_cycles"]) + 1)
    counts = result.count_map()
    assert counts[("ifmap_sram", "read")] == int(row["sram_ifmap_reads"])
    assert counts[("filter_sram", "read")] == int(row["sram_filter_reads"])
    assert counts[("pe", "multiply")] == _layer(row).macs
