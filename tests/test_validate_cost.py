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
        fams = [f for f in group["datasets"] if f["folder"] in ("adders/8_unsigned", "multiplers/8x4_unsigned")]
        if fams:
            keep.append({**group, "datasets": fams})
    root = tmp_path / "lib"
    root.mkdir()
    (root / "meta.json").write_text(json.dumps(keep))
    for folder in ("adders/8_unsigned", "multiplers/8x4_unsigned"):
        (root / folder).parent.mkdir(parents=True, exist_ok=True)
        (root / folder).symlink_to(src / folder)
    return root


def test_validate_cost_command(small_library, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["validate-cost", str(small_library), "--out", str(out)]) == 0
    with (out / "validation.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:2] == ["circuit", "family"]
    for col in ("area_um2", "delay_ns", "energy_pj", "published_area_um2", "published_delay_ns",
                "published_power_mw"):
        assert col in rows[0]
    assert {r["family"] for r in rows} == {"add_8_unsigned", "mul_8x4_unsigned"}
    summary = json.loads((out / "summary.json").read_text())
    for group in ("overall", "add_8_unsigned", "mul_8x4_unsigned"):
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
