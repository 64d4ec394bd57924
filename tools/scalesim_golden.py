"""Regenerate the SCALE-Sim golden data in tests/data/scalesim/ by running SCALE-Sim itself.

SCALE-Sim (PyPI `scalesim==3.0.0`, needs numpy<2) lives in its own virtual environment and is
run as a subprocess, exactly as a user runs it (`python -m scalesim.scale -c -t -l -p -s N`).
This script writes our own small test topology and one config per (array, dataflow), runs
SCALE-Sim on each, keeps its three report files verbatim and gathers every number into
`golden.csv`. Nothing here imports archsim: the golden numbers come from SCALE-Sim alone.

    python3 -m venv /work/scalesim-venv
    /work/scalesim-venv/bin/pip install scalesim==3.0.0 'numpy<2'
    python tools/scalesim_golden.py --scalesim-python /work/scalesim-venv/bin/python
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "scalesim"
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")

# Our own test layers (name, H, W, R, S, C, filters, stride): even and uneven folds, strides
# that leave a partial last window (SCALE-Sim's E = ceil((H-R+s)/s)), a stride larger than the
# filter (input pixels never read, output pixels whose whole window lies outside the input),
# fc-like 1x1 layers, and dimensions past 128 so even the 128x128 array folds.
LAYERS = (
    ("conv_even", 10, 10, 3, 3, 8, 16, 1),
    ("conv_odd", 13, 13, 3, 3, 5, 21, 1),
    ("conv_s2_partial", 16, 16, 5, 5, 3, 10, 2),
    ("conv_s3_gap", 11, 11, 1, 1, 4, 9, 3),
    ("conv_2x2_s3", 10, 10, 2, 2, 6, 7, 3),
    ("pointwise", 7, 7, 1, 1, 40, 33, 1),
    ("fc_small", 1, 1, 1, 1, 50, 13, 1),
    ("fc_wide", 1, 1, 1, 1, 200, 150, 1),
    ("conv_rect", 12, 9, 3, 2, 7, 130, 1),
)
ARRAYS = ((8, 8), (32, 32), (128, 128), (16, 4))
# SCALE-Sim's GEMM input (`-i gemm`, rows name, M, N, K), run on GEMM_ARRAY (reports only).
GEMM_LAYERS = (("gemm_a", 100, 37, 50), ("gemm_b", 7, 300, 129), ("gemm_c", 64, 64, 64))
GEMM_ARRAY = (32, 16)
# A depthwise layer ("DP" in its name: SCALE-Sim runs one 1-channel layer per channel).
DW_LAYERS = (("dw_DP", 9, 9, 3, 3, 3, 2, 1), ("pw_after_dw", 7, 7, 1, 1, 3, 5, 1))
DW_ARRAY = (8, 8)
# 1 KiB SRAMs: operands overflow SCALE-Sim's read-buffer window (re-fetches) and the ofmap
# buffer drains during compute, on every layer (reports only).
TINY_SRAM_KB = 1
TINY_SRAM_ARRAYS = ((8, 8), (16, 4))
DATAFLOWS = ("os", "ws", "is")
SRAM_KB = 64  # ifmap, filter and ofmap SRAM sizes (SCALE-Sim's example config)

TOPOLOGY_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,")

CONFIG_TEMPLATE = """[general]
run_name = {run}

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = {kb}
FilterSramSzkB = {kb}
OfmapSramSzkB = {kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = {df}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""

LAYER_COLUMNS = ("layer", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels",
                 "num_filters", "stride")
# SCALE-Sim's report fields, in report order, under snake_case names.
COMPUTE_FIELDS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles",
                  "overall_util_pct", "mapping_efficiency_pct", "compute_util_pct")
DETAIL_FIELDS = tuple(
    f"{mem}_{op}_{what}"
    for mem, op, last in (("sram", "ifmap", "reads"), ("sram", "filter", "reads"),
                          ("sram", "ofmap", "writes"), ("dram", "ifmap", "reads"),
                          ("dram", "filter", "reads"), ("dram", "ofmap", "writes"))
    for what in ("start_cycle", "stop_cycle", last))


def topology_text(layers=LAYERS) -> str:
    """A test topology in SCALE-Sim's CSV format (trailing comma on every row)."""
    rows = [TOPOLOGY_HEADER] + [", ".join(str(v) for v in layer) + "," for layer in layers]
    return "\n".join(rows) + "\n"


def gemm_topology_text() -> str:
    """The GEMM test topology in SCALE-Sim's `-i gemm` format."""
    rows = ["Layer, M, N, K,"] + [", ".join(str(v) for v in layer) + "," for layer in GEMM_LAYERS]
    return "\n".join(rows) + "\n"


def run_name(rows: int, cols: int, df: str, prefix: str = "") -> str:
    """Directory / run name of one SCALE-Sim run."""
    return f"{prefix}{rows}x{cols}_{df}"


def read_report(path: Path) -> list[list[str]]:
    """Data rows of a SCALE-Sim report: fields split on commas, trailing empty field dropped."""
    lines = path.read_text().splitlines()[1:]
    return [[f.strip() for f in line.split(",")][:-1] for line in lines if line.strip()]


def run_scalesim(python: str, cfg: Path, topo: Path, layout: Path, work: Path,
                 timeout_s: float, input_type: str = "conv") -> Path:
    """Run SCALE-Sim once; returns its report directory."""
    cmd = [python, "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topo), "-l", str(layout),
           "-p", str(work / "out"), "-s", "N", "-i", input_type]
    subprocess.run(cmd, check=True, cwd=work, timeout=timeout_s,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return work / "out" / cfg.stem


def read_topology(path: Path) -> tuple:
    """(name, H, W, R, S, C, filters, stride) per row, read as SCALE-Sim does (by position,
    the last field of every row dropped)."""
    layers = []
    for line in path.read_text().splitlines()[1:]:
        fields = [f.strip() for f in line.split(",")[:-1]]
        if fields:
            layers.append((fields[0], *(int(v) for v in fields[1:8])))
    return tuple(layers)


def golden_rows(report_dir: Path, rows: int, cols: int, df: str, layers=LAYERS) -> list[dict]:
    """One golden row per layer, joining the compute and detailed-access reports."""
    compute = read_report(report_dir / "COMPUTE_REPORT.csv")
    detail = read_report(report_dir / "DETAILED_ACCESS_REPORT.csv")
    out = []
    for layer, comp, det in zip(layers, compute, detail, strict=True):
        row = {"array_rows": rows, "array_cols": cols, "dataflow": df}
        row.update(zip(LAYER_COLUMNS, layer))
        row.update(zip(COMPUTE_FIELDS, comp[1:], strict=True))
        row.update(zip(DETAIL_FIELDS, det[1:], strict=True))
        out.append(row)
    return out


def one_run(args, tmp: Path, name: str, rows: int, cols: int, df: str, topo: Path,
            input_type: str = "conv", keep: bool = True, kb: int = SRAM_KB) -> Path:
    """Write the config of one run, run SCALE-Sim, keep its reports (unless `keep` is false);
    returns the directory holding the reports."""
    run_dir = args.out / "reports" / name if keep else tmp / f"{name}_reports"
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = run_dir / "scale.cfg"
    cfg.write_text(CONFIG_TEMPLATE.format(run=name, rows=rows, cols=cols, kb=kb, df=df))
    work = tmp / name
    work.mkdir()
    cfg_copy = work / f"{name}.cfg"
    shutil.copy(cfg, cfg_copy)
    print(f"SCALE-Sim {name} ...", file=sys.stderr, flush=True)
    report_dir = run_scalesim(args.scalesim_python, cfg_copy, topo, tmp / "layout.csv", work,
                              args.timeout_s, input_type)
    for report in REPORTS:
        shutil.copy(report_dir / report, run_dir / report)
    return run_dir


def write_golden(path: Path, table: list[dict]) -> None:
    """The golden table as CSV."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    print(f"wrote {len(table)} golden rows to {path}", file=sys.stderr)


def network_golden(args) -> int:
    """SCALE-Sim on a real network for each square array and dataflow -> golden_<name>.csv."""
    layers = read_topology(args.network)
    args.out.mkdir(parents=True, exist_ok=True)
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "layout.csv").write_text("Layer name,\n")
        for size in (int(v) for v in args.network_arrays.split(",")):
            for df in DATAFLOWS:
                name = run_name(size, size, df, f"{args.network.stem}_")
                report_dir = one_run(args, tmp, name, size, size, df, args.network.resolve(),
                                     keep=False)
                table += golden_rows(report_dir, size, size, df, layers)
    write_golden(args.out / f"golden_{args.network.stem.lower()}.csv", table)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run every (array, dataflow) configuration and rewrite tests/data/scalesim/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python",
                        help="python of the virtual environment that has scalesim==3.0.0")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--timeout-s", type=float, default=600.0, help="per SCALE-Sim run")
    parser.add_argument("--network", type=Path,
                        help="instead: a SCALE-Sim topology of a real network (e.g. its "
                             "alexnet.csv); writes golden_<name>.csv only")
    parser.add_argument("--network-arrays", default="128",
                        help="square array sizes for --network, comma-separated")
    args = parser.parse_args(argv)
    if args.network:
        return network_golden(args)

    args.out.mkdir(parents=True, exist_ok=True)
    topo = args.out / "topology.csv"
    topo.write_text(topology_text())
    gemm_topo = args.out / "topology_gemm.csv"
    gemm_topo.write_text(gemm_topology_text())
    dw_topo = args.out / "topology_dw.csv"
    dw_topo.write_text(topology_text(DW_LAYERS))
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "layout.csv").write_text("Layer name,\n")  # SCALE-Sim opens one even if unused
        for (rows, cols) in ARRAYS:
            for df in DATAFLOWS:
                run_dir = one_run(args, tmp, run_name(rows, cols, df), rows, cols, df, topo)
                table += golden_rows(run_dir, rows, cols, df)
        for df in DATAFLOWS:
            one_run(args, tmp, run_name(*GEMM_ARRAY, df, "gemm_"), *GEMM_ARRAY, df, gemm_topo,
                    "gemm")
            one_run(args, tmp, run_name(*DW_ARRAY, df, "dw_"), *DW_ARRAY, df, dw_topo)
            for rows, cols in TINY_SRAM_ARRAYS:
                one_run(args, tmp, run_name(rows, cols, df, "sram1k_"), rows, cols, df, topo,
                        kb=TINY_SRAM_KB)
    write_golden(args.out / "golden.csv", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
