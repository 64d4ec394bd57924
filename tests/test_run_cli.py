"""`archsim run / plot / compare` end to end: hand-derived totals, determinism, bad input."""
import csv
import json
import math

import pytest

from archsim import cli

TINY = """
name: tiny
workload:
  inline:
    input: [4, 1, 1]
    layers: [{name: fc, type: fc, out_features: 2}]
array: {rows: 2, cols: 2, dataflow: os}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 1,
         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 0}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact, da]}
"""


def run(argv):
    return cli.main([str(a) for a in argv])


def test_tiny_run_matches_hand_derivation(tmp_path):
    from archsim.cost.pe import pe_cost

    (tmp_path / "c.yaml").write_text(TINY)
    assert run(["run", tmp_path / "c.yaml", "--out", tmp_path / "out", "--no-plots"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # FC 4 -> 2 on a 2x2 OS array: 1 fold of K + R + C - 2 = 6 cycles. Prefetch 4 + 8 bytes
    # at 4 B/cycle = 3 cycles before it, drain of 2 bytes = 1 cycle after: 10 cycles.
    # Counts: 8 MACs; SRAM ifmap 4 reads + 4 fills, filter 8 + 8, ofmap 2 writes + 2 drains
    # = 28 accesses; DRAM 12 + 2 bytes. 8 KiB SRAM -> 4 KiB bank -> 5/sqrt(2) pJ per 32 bits,
    # x 1/4 for 1-byte words; DRAM 160 pJ/byte.
    sram_pj = 5 / math.sqrt(2) / 4
    for name in ("exact", "da"):
        pe, v = pe_cost(name), summary["variants"][name]
        energy_j = (8 * (pe.mult_energy_pj + pe.add_energy_pj) + 28 * sram_pj + 14 * 160) * 1e-12
        assert v["cycles"] == 10
        assert v["latency_s"] == pytest.approx(10 / 100e6)
        assert v["energy_j"] == pytest.approx(energy_j)
        assert v["edp_js"] == pytest.approx(energy_j * 10 / 100e6)
        assert v["utilisation"] == pytest.approx(8 / (10 * 4))
        assert v["mapping_efficiency"] == pytest.approx(2 / 4)  # 1 of 2 rows used, 2 of 2 cols
    assert summary["config"]["memory"]["word_bytes"] == 1  # resolved config echoed
    rows = list(csv.DictReader((tmp_path / "out" / "energy_breakdown.csv").open()))
    assert {(r["component"], r["action"]) for r in rows} >= {("pe", "multiply"), ("dram", "read")}


def test_main_job_runs_deterministically_with_plots(tmp_path, repo_root):
    from archsim.cost.pe import pe_cost

    config = repo_root / "configs" / "da_mnist.yaml"
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert run(["run", config, "--out", out]) == 0
    for name in ("summary.json", "layers.csv", "energy_breakdown.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    assert sorted(p.name for p in (outs[0] / "plots").iterdir()) == [
        "energy_breakdown.png", "layer_cycles.png", "normalised.png"]
    summary = json.loads((outs[0] / "summary.json").read_text())
    for name in ("exact", "da"):  # critical-path clock: 1 / MAC delay
        assert summary["variants"][name]["clock_mhz"] == pytest.approx(
            1000 / pe_cost(name).mac_delay_ns)
    layers = list(csv.DictReader((outs[0] / "layers.csv").open()))
    assert [r["layer"] for r in layers if r["variant"] == "exact"] == [
        "conv1", "conv2", "linear1", "linear2"]


def test_plot_and_compare(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(TINY)
    assert run(["run", tmp_path / "c.yaml", "--out", tmp_path / "r1", "--no-plots"]) == 0
    assert run(["plot", tmp_path / "r1"]) == 0
    assert (tmp_path / "r1" / "plots" / "normalised.png").stat().st_size > 0
    assert run(["compare", tmp_path / "r1", tmp_path / "r1", "--csv", tmp_path / "c.csv"]) == 0
    rows = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert [r["variant"] for r in rows] == ["exact", "da", "exact", "da"]
    assert float(rows[2]["energy_rel"]) == 1.0


@pytest.mark.parametrize("edit,fragment", [
    (lambda s: s.replace("rows: 2", "rows: 0"), "array.rows: must be an integer >= 1"),
    (lambda s: s.replace("name: fc, type: fc", "name: fc, type: fcc"), "layers[0].type"),
    (lambda s: s.replace("word_bytes: 1", "word_bytez: 1"), "memory.word_bytez: unknown key"),
    (lambda s: s + "  bad: [\n", "malformed YAML"),
])
def test_bad_config_one_line_exit_2_no_output(tmp_path, capsys, edit, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(edit(TINY))
    assert run(["run", path, "--out", tmp_path / "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and fragment in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_bad_topology_names_file_and_row(tmp_path, capsys):
    (tmp_path / "net.csv").write_text(
        "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,"
        "Num Filter,Strides,\nConv1,9,9,3,3,2,4,1,\nConv2,4,4,5,5,2,4,1,\n")
    text = TINY.replace(TINY[TINY.index("workload:"):TINY.index("array:")],
                        "workload: {path: net.csv}\n")
    (tmp_path / "c.yaml").write_text(text)
    assert run(["run", tmp_path / "c.yaml", "--out", tmp_path / "out"]) == 2
    err = capsys.readouterr().err
    assert "net.csv: row 3" in err and "filter_h" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_plot_delegates_cost_directories(tmp_path):
    assert run(["cost", "exact", "da", "--out", tmp_path / "cost", "--no-plot"]) == 0
    assert run(["plot", tmp_path / "cost"]) == 0
    assert any(p.suffix == ".png" for p in (tmp_path / "cost").rglob("*"))


def test_plot_of_an_empty_directory_is_an_error(tmp_path, capsys):
    assert run(["plot", tmp_path]) == 2
    assert "no summary.json or cost.json" in capsys.readouterr().err
