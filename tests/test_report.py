"""`archsim report DIR`: one self-contained HTML for a run or a sweep; opened in headless
Chromium (slow test) to prove every embedded image decodes."""
import base64
import re
import shutil
import subprocess

import pytest

from archsim import cli
from tiny_configs import TINY_RUN

BASE = TINY_RUN
SPEC = """base: base.yaml
axes:
  array.size: [2, 4, 8]
  array.dataflow: [os, ws]
  pe.variant: [exact, da, da-flat]
objectives: [latency, energy, area]
"""


def run(argv):
    return cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "base.yaml").write_text(BASE)
    (tmp / "spec.yaml").write_text(SPEC)
    assert run(["sweep", tmp / "spec.yaml", "--out", tmp / "sweep", "--workers", "0"]) == 0
    assert run(["run", tmp / "base.yaml", "--out", tmp / "run"]) == 0
    for d in ("sweep", "run"):
        assert run(["report", tmp / d]) == 0
    return tmp


@pytest.mark.parametrize("kind", ["sweep", "run"])
def test_report_embeds_every_plot_and_nothing_external(dirs, kind):
    html = (dirs / kind / "report.html").read_text()
    sources = re.findall(r"src='([^']*)'", html)
    pngs = sorted((dirs / kind / "plots").glob("*.png"))
    assert len(pngs) >= 3 and len(sources) == len(pngs)
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in sources)
    assert embedded == sorted(p.read_bytes() for p in pngs)    # the plots, byte for byte
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"(href|src)=['\"]?(https?:|//|file:)", html)
    # the configuration is echoed
    assert "dram_bandwidth_bytes_per_cycle" in html


def test_sweep_report_tables(dirs):
    import csv
    html = (dirs / "sweep" / "report.html").read_text()
    front = list(csv.DictReader((dirs / "sweep" / "pareto.csv").open()))
    assert f"18 points (grid sampling), 18 feasible, {len(front)} on the Pareto front" in html
    for row in front:
        assert f"<td class='s'>{row['config_hash']}</td>" in html
    assert html.count("<tr>") == 1 + len(front) + 1 + 18 + 0   # two tables with header rows


def test_report_is_deterministic(dirs, tmp_path):
    assert run(["report", dirs / "sweep", "--out", tmp_path / "again.html"]) == 0
    assert (tmp_path / "again.html").read_bytes() == (dirs / "sweep" / "report.html").read_bytes()


def test_report_of_unknown_or_unfinished_directory(tmp_path, capsys, dirs):
    assert run(["report", tmp_path]) == 2
    assert "neither a run (summary.json) nor a sweep" in capsys.readouterr().err
    shutil.copytree(dirs / "sweep", tmp_path / "part")
    lines = (tmp_path / "part" / "results.csv").read_text().splitlines(keepends=True)
    (tmp_path / "part" / "results.csv").write_text("".join(lines[:5]))
    assert run(["report", tmp_path / "part", "--out", tmp_path / "r.html"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4 of 18 points" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_report_in_headless_chromium(dirs, tmp_path):
    """Open the report in Chromium: every <img> decodes (naturalWidth > 0); screenshot."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (.ci/run installs it from Debian)"
    html = (dirs / "sweep" / "report.html").read_text()
    probe = ("<script>window.addEventListener('load', () => {const im = [...document.images];"
             "document.title = 'images=' + im.length + ' broken=' + "
             "im.filter(i => !i.complete || i.naturalWidth === 0).length;});</script>")
    (tmp_path / "probe.html").write_text(html.replace("</body>", probe + "</body>"))
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(flags + ["--virtual-time-budget=5000", "--dump-dom",
                                  (tmp_path / "probe.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    n = len(list((dirs / "sweep" / "plots").glob("*.png")))
    assert f"<title>images={n} broken=0</title>" in dom, dom[:300]
    shot = tmp_path / "report.png"
    subprocess.run(flags + ["--window-size=1280,2000", f"--screenshot={shot}",
                            (dirs / "sweep" / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image
    import numpy as np
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (2000, 1280) and (pixels < 128).mean() > 0.005  # not a blank page
