"""`archsim run` on torchvision's ResNet-50 imported from ONNX vs SCALE-Sim on its own
ResNet-50 topology: wall time side by side in one run, as a ratio.

The two do not simulate identical layers: SCALE-Sim's `Resnet50.csv` (scale-sim-v2,
topologies/conv_nets; no padding, partial last windows) against the ONNX export of
torchvision's resnet50 at 1x3x224x224 (padded convs, plus the fc layer, pooling, adds and
ReLUs listed in ops.csv). Both are "ResNet-50 at 224x224 on an R x R output-stationary array
with 64 KiB SRAMs"; the MAC totals of both are printed so the difference is visible.

- SCALE-Sim 3.0.0 runs in its own virtual environment through its API with trace files off
  (benchmarks/bench_sim.py's runner), killed past --time-limit-s (its time then is a lower
  bound, ">="). Its topology is normalised first: the 8 SCALE-Sim columns, blank rows dropped
  (the published file carries 3 extra spreadsheet columns and an empty row).
- archsim: `python -m archsim run CONFIG --no-plots` as a subprocess (interpreter start-up,
  ONNX import, SimPy simulation of every layer, results written), best of 3. The ONNX export
  by torch happens once before, untimed.

    nice -n 10 python benchmarks/bench_onnx_sim.py [--arrays 32,128]
        [--topology /work/scalesim-venv/topologies/Resnet50.csv]
        [--scalesim-python /work/scalesim-venv/bin/python] [--time-limit-s 1800]
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_sim import run_scalesim  # noqa: E402
from scalesim_golden import CONFIG_TEMPLATE  # noqa: E402

RUN_CONFIG = """name: resnet50_{rows}
workload: {{onnx: {model}, batch: 1}}
array: {{rows: {rows}, cols: {rows}, dataflow: os}}
memory: {{ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64, word_bytes: 1,
         dram_bandwidth_bytes_per_cycle: 10, dram_latency_cycles: 0}}
clock: {{mode: fixed, clock_mhz: 1000}}
pe: {{variants: [exact]}}
vector: {{lanes: {rows}}}
"""
REPEATS = 3


def export_resnet50(path: Path) -> None:
    """torchvision's resnet50 definition (random weights) to ONNX, batch 1, 224x224."""
    import torch
    from onnx_models import export, torchvision_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(torchvision_models().resnet50(), torch.zeros(1, 3, 224, 224), path)


def normalise_topology(src: Path, dst: Path) -> int:
    """SCALE-Sim's 8 columns with the trailing comma, blank rows dropped; returns its MACs."""
    lines, macs = [], 0
    with src.open(newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            row = [f.strip() for f in row[:8]]
            if not any(row):
                continue
            lines.append(", ".join(row) + ",")
            if i:
                h, w, r, s, c, f, st = (int(v) for v in row[1:8])
                e = -(-(h - r + st) // st)  # SCALE-Sim's ceil((H - R + s)/s)
                macs += e * (-(-(w - s + st) // st)) * r * s * c * f
    dst.write_text("\n".join(lines) + "\n")
    return macs


def run_archsim(cfg: Path, out: Path) -> float:
    """Best wall seconds of `archsim run` (a subprocess) over REPEATS runs."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsim", "run", str(cfg), "--out", str(out),
                        "--no-plots"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    """Print one line per array size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", type=Path,
                        default=Path("/work/scalesim-venv/topologies/Resnet50.csv"))
    parser.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python")
    parser.add_argument("--time-limit-s", type=float, default=1800.0)
    parser.add_argument("--arrays", default="32,128")
    args = parser.parse_args(argv)
    if not args.topology.is_file():
        parser.error(f"--topology {args.topology}: not found (SCALE-Sim's Resnet50.csv)")
    import json

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tmp / "resnet50.onnx"
        export_resnet50(model)
        topo = tmp / "Resnet50.csv"
        ss_macs = normalise_topology(args.topology, topo)
        print(f"ResNet-50, 224x224, batch 1, os dataflow, 64 KiB SRAMs; SCALE-Sim limit "
              f"{args.time_limit_s:.0f} s")
        print("array    SCALE-Sim_s  archsim_run_s  speedup  archsim_cycles  archsim_MACs  "
              "SCALE-Sim_MACs  SCALE-Sim_cycles(sum)")
        for rows in (int(v) for v in args.arrays.split(",")):
            cfg = tmp / f"r{rows}.yaml"
            cfg.write_text(RUN_CONFIG.format(rows=rows, model=model))
            a_s = run_archsim(cfg, tmp / f"out{rows}")
            summary = json.loads((tmp / f"out{rows}" / "summary.json").read_text())
            work = tmp / f"ss{rows}"
            work.mkdir()
            sscfg = work / "resnet50.cfg"
            sscfg.write_text(CONFIG_TEMPLATE.format(run=f"resnet50_{rows}", rows=rows,
                                                    cols=rows, kb=64, df="os"))
            s_s, done, s_cycles = run_scalesim(args.scalesim_python, sscfg, topo, work,
                                               args.time_limit_s)
            bound = "" if done else ">="
            print(f"{rows:>3}x{rows:<3} {bound:>2}{s_s:10.1f}  {a_s:13.2f}  "
                  f"{bound:>2}{s_s / a_s:6.0f}x  {summary['network']['cycles']:>14}  "
                  f"{summary['network']['macs']:>12}  {ss_macs:>14}  "
                  f"{sum(s_cycles):>12} ({len(s_cycles)}/54 layers)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
