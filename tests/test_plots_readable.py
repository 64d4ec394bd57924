"""Readable plots drawn without touching matplotlib's global
state, and progress lines when stderr is not a terminal."""
import subprocess
import sys
from pathlib import Path

import pytest

from archsim import cli

TINY = """name: tiny
workload:
  inline:
    input: [3, 12, 12]
    layers: [{name: conv, type: conv, filters: 8, kernel: 3},
             {name: linear2, type: fc, out_features: 2}]
array: {rows: 4, cols: 4, dataflow: ws}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 1, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 4, dram_latency_cycles: 10}
clock: {mode: fixed, clock_mhz: 100}
pe: {variants: [exact, da]}
"""


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Run once with plots; capture every figure the run draws."""
    import archsim.plots as plots

    tmp = tmp_path_factory.mktemp("plots")
    (tmp / "c.yaml").write_text(TINY)
    captured = {}
    real_save = plots._save

    def keep(fig, path):
        captured[Path(path).name] = fig
        return real_save(fig, path)
    plots._save = keep
    try:
        assert cli.main(["run", str(tmp / "c.yaml"), "--out", str(tmp / "out")]) == 0
    finally:
        plots._save = real_save
    return captured


def _legend_outside(fig, ax) -> bool:
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend() or fig.legends[0]
    return legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_every_axis_has_labels(figures):
    assert set(figures) == {"layer_cycles.png", "energy_breakdown.png", "normalised.png"}
    for name, fig in figures.items():
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel(), name


def test_small_parts_get_a_log_panel_and_legends_stay_off_the_bars(figures):
    for name in ("layer_cycles.png", "energy_breakdown.png"):
        left, right = figures[name].axes
        assert left.get_yscale() == "linear" and right.get_yscale() == "log"
        assert "log scale" in right.get_ylabel()
        assert _legend_outside(figures[name], right)
        # every bar with a positive height is above the log axis' bottom (visible)
        bottom = right.get_ylim()[0]
        heights = [p.get_height() for p in right.patches if p.get_height() > 0]
        assert heights and min(heights) > bottom
    assert _legend_outside(figures["normalised.png"], figures["normalised.png"].axes[0])


def test_units_and_category_names(figures):
    left, right = figures["energy_breakdown.png"].axes
    assert "µJ" in left.get_ylabel() and "uJ" not in left.get_ylabel()
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert labels == ["PE (multiply + add)", "ifmap SRAM", "filter SRAM", "ofmap SRAM", "DRAM"]
    ticks = [t.get_text() for t in figures["normalised.png"].axes[0].get_xticklabels()]
    assert ticks == ["PE energy", "total energy", "latency", "EDP"]
    layer_ticks = [t.get_text() for t in figures["layer_cycles.png"].axes[1].get_xticklabels()]
    assert layer_ticks == ["conv", "linear2"]


def test_cost_plot_has_a_y_label_on_its_log_axis(tmp_path):
    import json

    from archsim.cost import report
    from archsim.plotting import new_figure

    assert cli.main(["cost", "exact", "da", "--out", str(tmp_path / "c")]) == 0
    data = json.loads((tmp_path / "c" / "cost.json").read_text())
    fig, axes = new_figure(1, 2)
    for ax, level in zip(axes, report.LEVELS):  # the panels cost.png is drawn from
        report._bars(ax, data["rows"], level, ["exact", "da"])
        assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
        assert ax.get_xlabel() == "metric"
        assert [t.get_text() for t in ax.get_xticklabels()] == ["energy", "delay", "EDP"]


SCRIPT = r"""
import sys
import matplotlib
matplotlib.use("svg")
from archsim import cli
code = cli.main(["run", sys.argv[1], "--out", sys.argv[2]])
assert code == 0
code = cli.main(["cost", "exact", "--out", sys.argv[3]])
assert code == 0
from archsim.robustness import plots as robustness_plots  # imports cleanly, no switch either
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""


def test_no_global_backend_switch(tmp_path):
    (tmp_path / "c.yaml").write_text(TINY)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "c.yaml"),
                           str(tmp_path / "a"), str(tmp_path / "b")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["svg", "False"]
    assert (tmp_path / "a" / "plots" / "layer_cycles.png").stat().st_size > 0


def test_no_matplotlib_use_in_the_sources(repo_root):
    hits = [str(p) for p in (repo_root / "archsim").rglob("*.py")
            if 'matplotlib.use("' in p.read_text(encoding="utf-8")]
    assert hits == []


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(TINY)
    assert cli.main(["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"),
                     "--no-plots"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("archsim: simulating workload: layer 1/2 conv done [")
    assert err[1].startswith("archsim: simulating workload: layer 2/2 linear2 done [")
    assert err[1].endswith(" s]")
