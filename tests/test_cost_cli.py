"""`archsim cost`: outputs, determinism, bad input, the sweep's error metrics vs numpy."""
import csv
import json

import numpy as np
import pytest

from archsim.cli import main
from archsim.cost.pe import pe_cost
from archsim.cost.report import pareto_front, plot_cost_dir
from archsim.cost.sweep import deviation_from_exact, parse_k_range
from archsim.errors import SpecError


def test_compare_writes_normalised_rows(tmp_path):
    out = tmp_path / "c"
    assert main(["cost", "exact", "da-flat", "--out", str(out), "--no-plot"]) == 0
    rows = list(csv.DictReader((out / "cost.csv").open()))
    assert [(r["variant"], r["level"]) for r in rows] == [
        ("exact", "significand"), ("exact", "fp_unit"), ("exact", "mac"),
        ("da-flat", "significand"), ("da-flat", "fp_unit"), ("da-flat", "mac")]
    for r in rows[:3]:
        assert float(r["energy_pj_rel"]) == 1.0 and float(r["edp_pj_ns_rel"]) == 1.0
    data = json.loads((out / "cost.json").read_text())
    unit = {r["variant"]: r for r in data["rows"] if r["level"] == "fp_unit"}
    assert unit["exact"]["energy_pj"] == pytest.approx(3.7)
    assert unit["da-flat"]["energy_pj"] == pytest.approx(pe_cost("da-flat").mult_energy_pj)
    assert unit["da-flat"]["edp_pj_ns_rel"] == pytest.approx(
        unit["da-flat"]["energy_pj_rel"] * unit["da-flat"]["delay_ns_rel"])
    assert data["critical_paths"]["da-flat"][0].startswith("AND2")
    for name in ("exact", "da-flat"):
        blocks = {b["block"]: b for b in data["blocks"][name]}
        assert {"significand", "adder", "register"} <= set(blocks)
        assert all(b["method"].startswith("netlist ") for b in blocks.values())
        assert f"{name}.unit" in blocks["normalise"]["method"]


def test_output_is_deterministic_and_plots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["cost", "da", "--out", str(a)]) == 0
    assert main(["cost", "da", "--out", str(b), "--no-plot"]) == 0
    assert (a / "cost.json").read_bytes() == (b / "cost.json").read_bytes()
    assert (a / "cost.png").stat().st_size > 0
    assert plot_cost_dir(b) == [b / "cost.png"]


@pytest.mark.parametrize("argv, words", [
    (["cost", "no-such-variant"], ["no-such-variant"]),
    (["cost", "exact", "--library", "missing.yaml"], ["missing.yaml"]),
    (["cost", "exact", "--stream", "poisson"], ["poisson"]),
    (["cost", "--sweep", "lsb", "--k", "3..x"], ["--k"]),
    (["cost", "da-reference"], ["da-reference", "not a circuit"]),
    (["cost", "exact", "--library", "LIB_NO_MUX"], ["LIB_NO_MUX", "gates.MUX2"]),
    (["cost", "WIDE_SPEC"], ["WIDE_SPEC", "format"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, words):
    import yaml

    from archsim.cost.library import DEFAULT_LIBRARY_PATH

    lib = yaml.safe_load(DEFAULT_LIBRARY_PATH.read_text(encoding="utf-8"))
    del lib["gates"]["MUX2"]                       # a gate the unit generators need
    (tmp_path / "LIB_NO_MUX.yaml").write_text(yaml.safe_dump(lib))
    (tmp_path / "WIDE_SPEC.yaml").write_text(     # 35-bit words: more than the evaluator takes
        "base: exact\nformat: {exp_bits: 11, man_bits: 23}\nstructure: {kind: ripple-row}\n")
    files = {"LIB_NO_MUX": tmp_path / "LIB_NO_MUX.yaml", "WIDE_SPEC": tmp_path / "WIDE_SPEC.yaml"}
    argv = [str(files.get(a, a)) for a in argv]
    out = tmp_path / "o"
    assert main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words)
    assert not out.exists()


def test_sweep_rows(tmp_path):
    out = tmp_path / "s"
    assert main(["cost", "--sweep", "lsb", "--cells", "AMA5", "--k", "0,16", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [r["variant"] for r in rows] == ["exact", "lsb-AMA5-16"]
    assert float(rows[0]["er_vs_exact"]) == 0.0 and float(rows[0]["energy_pj_rel"]) == 1.0
    assert float(rows[1]["energy_pj_rel"]) < 1.0 and float(rows[1]["er_vs_exact"]) > 0.0
    # against the real product the exact multiplier's rounding error is the floor
    assert 0 < float(rows[0]["mred"]) <= float(rows[1]["mred"])
    assert (out / "pareto.png").exists()


def test_error_metrics_match_a_numpy_truncation_oracle():
    """exact-truncate vs exact: float64 holds the exact product; RNE = float32 cast; truncation
    = the float32 next to it towards zero whenever RNE rounded away from zero."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, 20000).astype(np.float32)
    y = rng.uniform(-1, 1, 20000).astype(np.float32)
    er, mred = deviation_from_exact("exact-truncate", x, y)
    p = x.astype(np.float64) * y.astype(np.float64)
    rne = p.astype(np.float32)
    up = np.abs(rne.astype(np.float64)) > np.abs(p)
    trunc = np.where(up, np.nextafter(rne, np.float32(0)), rne)
    assert er == pytest.approx(np.mean(trunc != rne))
    nz = rne != 0
    assert mred == pytest.approx(np.mean(np.abs(trunc[nz].astype(np.float64) - rne[nz]) / np.abs(rne[nz])))


def test_pareto_front_and_k_ranges():
    rows = [{"c": 1, "e": 5}, {"c": 2, "e": 3}, {"c": 3, "e": 4}, {"c": 4, "e": 1}]
    assert [r["c"] for r in pareto_front(rows, "c", "e")] == [1, 2, 4]
    assert parse_k_range("0..3,8") == [0, 1, 2, 3, 8]
    with pytest.raises(SpecError):
        parse_k_range("5..60")


def test_spec_file_variants_and_baseline_choice(tmp_path):
    """A spec .yaml (here: the da hierarchy with exact leaves) is costed under its file stem."""
    spec = tmp_path / "exact-hier.yaml"
    spec.write_text("base: exact\nstructure: {kind: hierarchical, k: 8, leaf: {kind: hierarchical, "
                    "k: 4, leaf: {kind: ripple-row}}}\n")
    out = tmp_path / "o"
    assert main(["cost", "da", str(spec), "--baseline", str(spec), "--out", str(out), "--no-plot"]) == 0
    data = json.loads((out / "cost.json").read_text())
    assert data["baseline"] == "exact-hier"
    assert [r["variant"] for r in data["rows"]][::3] == ["exact-hier", "da"]
    assert data["what_if_prefix_recombination"]["exact-hier"]["delay_units_prefix_recomb"] < \
        data["what_if_prefix_recombination"]["exact-hier"]["delay_units_ripple"]
