"""`archsim scalesim` against SCALE-Sim's own report files (tests/data/scalesim/reports/).

Each report directory holds the config SCALE-Sim was given and its three reports, verbatim.
archsim, given the same config and topology, must write the same files, byte for byte.
"""
import csv
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.sim.scalesim.compat import (BANDWIDTH_HEADER, COMPUTE_HEADER, DETAILED_HEADER,
                                     ScaleSimConfig, layer_report, read_scalesim_config)
from archsim.sim.plan import Dataflow
from archsim.workloads import Layer, LayerKind, read_scalesim_topology

DATA = Path(__file__).resolve().parent / "data" / "scalesim"
RUNS = sorted(p for p in (DATA / "reports").iterdir() if p.is_dir())
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")
def _topology(run: Path) -> tuple[Path, list[str]]:
    if run.name.startswith("gemm_"):
        return DATA / "topology_gemm.csv", ["-i", "gemm"]
    if run.name.startswith("dw_"):
        return DATA / "topology_dw.csv", []
    return DATA / "topology.csv", []


def _layer_names(topo: Path) -> list[str]:
    """Report rows in order; SCALE-Sim splits a "DP" layer into one layer per channel."""
    names = []
    for line in topo.read_text().splitlines()[1:]:
        fields = [f.strip() for f in line.split(",")]
        if "DP" in fields[0]:
            names += [f"{fields[0]}Channel_{i}" for i in range(int(fields[5]))]
        else:
            names.append(fields[0])
    return names


def _run(run: Path, out: Path, capsys) -> tuple[Path, list[str]]:
    topo, extra = _topology(run)
    code = main(["scalesim", "-c", str(run / "scale.cfg"), "-t", str(topo), "-p", str(out),
                 *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    notes = [line for line in captured.err.splitlines() if "note:" in line]
    return out / read_scalesim_config(run / "scale.cfg").run_name, notes


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.name)
def test_reports_equal_scalesim(run, tmp_path, capsys):
    """All three files, character for character, and no layer needing a caveat."""
    out, notes = _run(run, tmp_path, capsys)
    assert notes == []
    names = _layer_names(_topology(run)[0])
    for report in REPORTS:
        ours = (out / report).read_text().splitlines()
        theirs = (run / report).read_text().splitlines()
        assert len(theirs) == len(names) + 1
        for line, (mine, ref) in enumerate(zip(ours, theirs)):
            assert mine == ref, f"{report} line {line + 1}"
        assert len(ours) == len(theirs)


def test_depthwise_layers_run_per_channel_as_in_scalesim():
    assert any(p.name.startswith("dw_") for p in RUNS)
    assert len(_layer_names(DATA / "topology_dw.csv")) == 3 + 1


def test_headers_are_scalesims():
    text = (RUNS[0] / "COMPUTE_REPORT.csv").read_text().splitlines()[0]
    assert text == COMPUTE_HEADER
    assert (RUNS[0] / "BANDWIDTH_REPORT.csv").read_text().splitlines()[0] == BANDWIDTH_HEADER
    assert (RUNS[0] / "DETAILED_ACCESS_REPORT.csv").read_text().splitlines()[0] == DETAILED_HEADER


def test_os_report_keeps_scalesims_ofmap_count_and_cycle_convention():
    """The compatible report carries SCALE-Sim's conventions, archsim's plan does not."""
    config = read_scalesim_config(DATA / "reports" / "8x8_os" / "scale.cfg")
    layer = read_scalesim_topology(DATA / "topology.csv").layers[0]
    report = layer_report(layer, config)
    assert report.sram[2][2] == layer.gemm_m * layer.gemm_n + 8 * 2 * (8 + 8)  # 8x2 folds
    assert report.total_cycles == 16 * (layer.gemm_k + 8 + 8 - 2) - 1


GOOD_CFG = (DATA / "reports" / "8x8_os" / "scale.cfg").read_text()
BAD_CONFIGS = {
    "missing_key": (GOOD_CFG.replace("ArrayWidth = 8\n", ""), "ArrayWidth: missing"),
    "not_int": (GOOD_CFG.replace("ArrayHeight = 8", "ArrayHeight = eight"), "ArrayHeight"),
    "zero": (GOOD_CFG.replace("IfmapSramSzkB = 64", "IfmapSramSzkB = 0"), "IfmapSramSzkB"),
    "dataflow": (GOOD_CFG.replace("Dataflow = os", "Dataflow = rs"), "Dataflow"),
    "unknown_key": (GOOD_CFG.replace("[general]\n", "[general]\nArrayHieght = 3\n"),
                    "arrayhieght: unknown key"),
    "unknown_section": (GOOD_CFG + "\n[extras]\nx = 1\n", "[extras]"),
    "user_bw": (GOOD_CFG.replace("InterfaceBandwidth = CALC", "InterfaceBandwidth = USER"),
                "InterfaceBandwidth"),
    "sparsity": (GOOD_CFG.replace("SparsitySupport = false", "SparsitySupport = true"),
                 "SparsitySupport"),
    "not_ini": ("ArrayHeight 8\n", "cannot read"),
}
BAD_TOPOLOGIES = {
    "missing_field": ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                      "Channels, Num Filter, Strides,\nc1, 8, 8, 3, 3, 2,\n", "row 2"),
    "filter_too_big": ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                       "Channels, Num Filter, Strides,\nc1, 4, 4, 5, 3, 2, 4, 1,\n", "filter_h"),
    "not_int": ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                "Channels, Num Filter, Strides,\nc1, 8, x, 3, 3, 2, 4, 1,\n", "ifmap_w"),
}


def _expect_error(argv, must_name, bad_file, out, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and str(bad_file) in err[0] and must_name in err[0], err
    assert not out.exists() and not list(out.parent.glob(".*tmp*"))


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_one_line_exit_2_no_output(case, tmp_path, capsys):
    text, must_name = BAD_CONFIGS[case]
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(text)
    out = tmp_path / "out"
    _expect_error(["scalesim", "-c", str(cfg), "-t", str(DATA / "topology.csv"), "-p", str(out)],
                  must_name, cfg, out, capsys)


@pytest.mark.parametrize("case", sorted(BAD_TOPOLOGIES))
def test_bad_topology_one_line_exit_2_no_output(case, tmp_path, capsys):
    text, must_name = BAD_TOPOLOGIES[case]
    topo = tmp_path / "bad.csv"
    topo.write_text(text)
    out = tmp_path / "out"
    _expect_error(["scalesim", "-c", str(DATA / "reports" / "8x8_os" / "scale.cfg"), "-t",
                   str(topo), "-p", str(out)], must_name, topo, out, capsys)


def test_bad_gemm_topology(tmp_path, capsys):
    topo = tmp_path / "g.csv"
    topo.write_text("Layer, M, N, K,\ng1, 4, 0, 3,\n")
    out = tmp_path / "out"
    _expect_error(["scalesim", "-i", "gemm", "-c", str(DATA / "reports" / "8x8_os" / "scale.cfg"),
                   "-t", str(topo), "-p", str(out)], "field N", topo, out, capsys)


GOLDEN = [(path.stem, row) for path in sorted(DATA.glob("golden*.csv"))
          for row in csv.DictReader(path.open())]
COMPUTE_FIELDS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles",
                  "overall_util_pct", "mapping_efficiency_pct", "compute_util_pct")
DETAIL_FIELDS = [f"{mem}_{op}_{what}" for mem in ("sram", "dram")
                 for op, count in (("ifmap", "reads"), ("filter", "reads"), ("ofmap", "writes"))
                 for what in ("start_cycle", "stop_cycle", count)]


@pytest.mark.parametrize("table,row", GOLDEN, ids=[
    f"{t}-{r['array_rows']}x{r['array_cols']}-{r['dataflow']}-{r['layer']}" for t, r in GOLDEN])
def test_layer_report_fields_equal_scalesims_golden_table(table, row):
    """Every field of every golden row (incl. AlexNet on 128x128, whose operands overflow
    SCALE-Sim's read-buffer window and are re-fetched), as SCALE-Sim prints it."""
    layer = Layer(row["layer"], LayerKind.CONV, *(int(row[k]) for k in (
        "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride")),
        partial_window=True)
    config = ScaleSimConfig("golden", int(row["array_rows"]), int(row["array_cols"]), 64, 64,
                            64, Dataflow(row["dataflow"]))
    report = layer_report(layer, config)
    ours = dict(zip(COMPUTE_FIELDS, (report.cycles_incl_prefetch, report.total_cycles,
                                     report.stall_cycles, report.overall_util_pct,
                                     report.mapping_efficiency_pct, report.compute_util_pct)))
    ours.update(zip(DETAIL_FIELDS, [v for triple in report.sram + report.dram for v in triple]))
    assert report.notes == ()
    for field, value in ours.items():
        assert str(value) == row[field], field
