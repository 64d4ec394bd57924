"""validate-cost: statistics against scipy, and the command on a small EvoApprox-style directory."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from scipy import stats

from archsim.cli import main
from archsim.cost.validate import metric_stats, spearman


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, 200).astype(float)
    y = x + rng.normal(0, 5, 200)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)


def test_metric_stats_hand_example():
    rows = [{"m": v, "p": 2 * v ** 1.5} for v in (1.0, 2.0, 4.0, 8.0)] + [{"m": 0.0, "p": 0.0}]
    s = metric_stats(rows, "m", "p", scale=1.0)
    assert s["n"] == 4 and s["spearman"] == pytest.approx(1.0) and s["r2_loglog"] == pytest.approx(1.0)
    # APE with scale 1: |v - 2 v^1.5| / (2 v^1.5) -> 50%, 64.6%, 75%, 82.3%; median 69.8%
    apes = [abs(v - 2 * v ** 1.5) / (2 * v ** 1.5) * 100 for v in (1.0, 2.0, 4.0, 8.0)]
    assert s["median_ape_pct"] == pytest.approx(np.median(apes))


@pytest.fixture()
def small_library(shared_data, tmp_path):
    """A copy of meta.json restricted to two families, Verilog read from ../shared in place."""
    src = shared_data / "evoapprox"
    meta = json.loads((src / "meta.json").read_text())
    keep = []
    for group in meta:
        fams = [f for f in group["datasets"] if f["folder"] in ("adders/8_unsigned", "multiplers/8x2_unsigned")]
        if fams:
            keep.append({**group, "datasets": fams})
    root = tmp_path / "lib"
    root.mkdir()
    (root / "meta.json").write_text(json.dumps(keep))
    for folder in ("adders/8_unsigned", "multiplers/8x2_unsigned"):
        (root / folder).parent.mkdir(parents=True, exist_ok=True)
        (root / folder).symlink_to(src / folder)
    return root


def test_validate_cost_command(small_library, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["validate-cost", str(small_library), "--out", str(out)]) == 0
    with (out / "validation.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:8] == ["circuit", "family", "area_um2", "delay_ns", "energy_pj",
                                 "published_area_um2", "published_delay_ns", "published_power_mw"]
    for col in ("area_um2", "delay_ns", "energy_pj", "published_area_um2", "published_delay_ns",
                "published_power_mw"):
        assert col in rows[0]
    assert {r["family"] for r in rows} == {"add_8_unsigned", "mul_8x2_unsigned"}
    summary = json.loads((out / "summary.json").read_text())
    for group in ("overall", "add_8_unsigned", "mul_8x2_unsigned"):
        for metric in ("area_um2", "delay_ns", "energy_pj"):
            s = summary["groups"][group][metric]
            assert -1 <= s["spearman"] <= 1 and s["n"] >= 5
    # circuits synthesised to nothing (published area 0: outputs are wires/constants) have no
    # gates in archsim either, and every other circuit has some
    for r in rows:
        assert (float(r["published_area_um2"]) == 0) == (float(r["area_um2"]) == 0), r["circuit"]
    for metric in ("area_um2", "delay_ns", "energy_pj"):
        assert (out / f"scatter_{metric}.png").stat().st_size > 1000
    first = (out / "validation.csv").read_bytes()
    shutil.rmtree(out)
    assert main(["validate-cost", str(small_library), "--out", str(out)]) == 0
    assert (out / "validation.csv").read_bytes() == first


def test_validate_cost_bad_dir(tmp_path, capsys):
    assert main(["validate-cost", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "meta.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_gscl45nm_library_is_what_its_script_writes(repo_root, tmp_path):
    """The 45 nm YAML is generated: re-running the script gives the same bytes, it loads, and its
    figures are the Liberty ones (FAX1 area 8.9167 um^2) with the derivation rule applied."""
    import subprocess
    import sys

    from archsim.cost.library import load_library
    from archsim_core.verilog import GATE_CELLS

    path = repo_root / "archsim" / "data" / "cell_library_gscl45nm.yaml"
    before = path.read_bytes()
    subprocess.run([sys.executable, str(repo_root / "tools" / "make_library_gscl45nm.py")],
                   check=True, capture_output=True)
    assert path.read_bytes() == before
    lib = load_library(path)
    assert lib.cell("FA").area_um2 == 8.9167 and lib.cell("HA").area_um2 == 4.693
    # INVX1: rise 0.334383 -> 1.62606 and fall 0.22935 -> 1.04769 between 0.1 and 0.5 pF,
    # extrapolated to 0.005 pF and averaged
    rise = 0.334383 + (1.62606 - 0.334383) / 0.4 * (0.005 - 0.1)
    fall = 0.22935 + (1.04769 - 0.22935) / 0.4 * (0.005 - 0.1)
    assert lib.cell("G_INV").pin_delays("Sum")["A"] == pytest.approx((rise + fall) / 2, abs=1e-4)
    for name, ct in GATE_CELLS.items():
        if lib.has(name):
            assert (lib.cell_types[name].sum_table, lib.cell_types[name].cout_table) == \
                (ct.sum_table, ct.cout_table)


def test_validate_cost_gscl45nm_library(small_library, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out45"
    assert main(["validate-cost", str(small_library), "--library", "gscl45nm", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["library"] == "gscl45nm-freepdk45"
    assert summary["groups"]["overall"]["area_um2"]["n"] >= 50
