"""archsim vs SCALE-Sim on AlexNet: wall time side by side in one run, cycles compared.

For each array (8x8, 32x32, 128x128) and dataflow (os, ws, is) both tools get the same SCALE-Sim
config (64 KiB SRAMs, CALC bandwidth) and SCALE-Sim's own `alexnet.csv`:

- SCALE-Sim 3.0.0 runs as a subprocess with the python of its own virtual environment (its
  API, trace files off, so its time is compute, not trace writing); past
  --time-limit-s it is killed and its time is reported as a lower bound (">=").  Per-layer
  cycles are read from its progress output, so layers it finished are still compared.
- archsim runs `archsim scalesim` (same inputs, same report files) as a subprocess too, so
  both wall times include interpreter start-up (best of 3 runs; SCALE-Sim runs once); the
  in-process time is shown beside it.
- archsim's SimPy transaction model (`archsim run`'s engine, archsim.sim.accelerator) runs
  in-process on the same layers, array and dataflow (64 KiB SRAMs of 1-byte words, DRAM
  10 bytes/cycle as the config's Bandwidth, no DRAM latency); only `simulate_workload` is
  timed (best of 3 when a run takes under 5 s, else once). Its no-stall compute cycles must
  be SCALE-Sim's + 1 per layer; its stall cycles (and fill/drain) are shown apart, since
  SCALE-Sim's CALC mode models no stalls. --no-simpy skips it.

Cycles must be identical (SCALE-Sim's "Total Cycles", i.e. archsim's true count minus one).

    nice -n 10 python benchmarks/bench_sim.py [--quick | --arrays 128,32,8]
        [--time-limit-s 300] [--topology /work/scalesim-venv/topologies/alexnet.csv]
        [--scalesim-python /work/scalesim-venv/bin/python]

SCALE-Sim's PyPI package does not ship its topologies: `alexnet.csv` is the file
topologies/conv_nets/alexnet.csv of scalesim-project/scale-sim-v2; pass its path.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from scalesim_golden import CONFIG_TEMPLATE  # noqa: E402  (the same config SCALE-Sim reads)

QUICK = [((32, 32), "os"), ((128, 128), "ws"), ((128, 128), "is")]
REPEATS = 3
# SCALE-Sim through its own API with its trace files off: its CLI in 3.0.0 ignores `-s N` and
# always writes per-layer traces (hundreds of MB for AlexNet), which would inflate its time.
SCALESIM_MAIN = ("import sys; from scalesim.scale_sim import scalesim; "
                 "scalesim(save_disk_space=True, verbose=True, config=sys.argv[1], "
                 "topology=sys.argv[2], layout=sys.argv[3]).run_scale(top_path=sys.argv[4])")


def run_scalesim(python: str, cfg: Path, topo: Path, work: Path, limit_s: float):
    """(seconds, finished, per-layer 'Total Cycles' of the layers it completed)."""
    (work / "layout.csv").write_text("Layer name,\n")
    log = work / "scalesim.log"
    cmd = [python, "-c", SCALESIM_MAIN, str(cfg), str(topo), str(work / "layout.csv"),
           str(work / "ss")]
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=work, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=limit_s)
            # SCALE-Sim exits 0 even on a missing input: finished means it wrote its reports
            finished = proc.returncode == 0 and any((work / "ss").glob("*/COMPUTE_REPORT.csv"))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # SCALE-Sim and only it (its own session)
            proc.wait()
            finished = False
    seconds = time.perf_counter() - start
    cycles = [int(c) for c in re.findall(r"^Compute cycles: (\d+)", log.read_text(), re.M)]
    return seconds, finished, cycles


def run_archsim(cfg: Path, topo: Path, work: Path):
    """(end-to-end CLI seconds, in-process seconds, per-layer reports in SCALE-Sim's conventions)."""
    from archsim.sim.scalesim.compat import expand_depthwise, layer_report, read_scalesim_config
    from archsim.workloads import read_scalesim_topology

    cli_s = inproc_s = float("inf")
    for _ in range(REPEATS):  # best of REPEATS: the machine is shared
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsim", "scalesim", "-c", str(cfg), "-t",
                        str(topo), "-p", str(work / "archsim")], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_s = min(cli_s, time.perf_counter() - start)
        start = time.perf_counter()
        config = read_scalesim_config(cfg)
        reports = [layer_report(layer, config)
                   for layer in expand_depthwise(read_scalesim_topology(topo)).layers]
        inproc_s = min(inproc_s, time.perf_counter() - start)
    return cli_s, inproc_s, reports


def run_simpy(rows: int, cols: int, df: str, topo: Path):
    """(seconds of simulate_workload, per-layer compute cycles, stall, fill + drain cycles)."""
    from archsim.config import ArrayConfig, MemoryConfig
    from archsim.sim.scalesim.compat import expand_depthwise
    from archsim.sim.accelerator import simulate_workload
    from archsim.sim.plan import Dataflow
    from archsim.workloads import read_scalesim_topology

    workload = expand_depthwise(read_scalesim_topology(topo))
    array = ArrayConfig(rows, cols, Dataflow(df))
    memory = MemoryConfig(64, 64, 64, 1, 10, 0)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = simulate_workload(workload, array, memory)
        best = min(best, time.perf_counter() - start)
        if best > 5:
            break
    layers = result.layers
    return (best, [r.compute_cycles for r in layers], sum(r.stall_cycles for r in layers),
            sum(r.fill_cycles + r.drain_cycles for r in layers))


def compare_reports(ours: Path, theirs: Path) -> str:
    """Once SCALE-Sim finished: how many lines of its three reports ours reproduce exactly."""
    same = total = 0
    for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        mine = (ours / name).read_text().splitlines()
        ref = (theirs / name).read_text().splitlines()
        same += sum(a == b for a, b in zip(mine, ref)) if len(mine) == len(ref) else 0
        total += len(ref)
    return f"report lines identical (incl. headers): {same}/{total}"


def bench_one(args, rows: int, cols: int, df: str, tmp: Path) -> str:
    """One table line for one (array, dataflow)."""
    name = f"alexnet_{rows}x{cols}_{df}"
    work = tmp / name
    work.mkdir()
    cfg = work / f"{name}.cfg"
    cfg.write_text(CONFIG_TEMPLATE.format(run=name, rows=rows, cols=cols, kb=64, df=df))
    a_cli, a_in, reports = run_archsim(cfg, args.topology, work)
    a_cycles = [r.total_cycles for r in reports]
    s_time, done, s_cycles = run_scalesim(args.scalesim_python, cfg, args.topology, work,
                                          args.time_limit_s)
    same = s_cycles == a_cycles[:len(s_cycles)]
    bound = "" if done else ">="
    line = (f"{rows:>3}x{cols:<3} {df:>2}  {bound:>2}{s_time:9.1f}  {a_cli:8.2f}  {a_in:8.3f}  "
            f"{bound:>2}{s_time / a_cli:8.0f}x  ")
    if not args.no_simpy:
        p_s, p_compute, p_stall, p_edges = run_simpy(rows, cols, df, args.topology)
        # no-stall compute cycles = SCALE-Sim's Total Cycles + 1, layer by layer
        p_same = [c - 1 for c in p_compute[:len(s_cycles)]] == s_cycles
        line += (f"{p_s:8.2f}  {bound:>2}{s_time / p_s:6.0f}x  "
                 f"{'=ss+1' if p_same else 'DIFFER':>6}  {p_stall:>9}  {p_edges:>9}  ")
    line += (f"{sum(a_cycles):>11}  "
             f"{len(s_cycles)}/{len(a_cycles)} layers done: {'identical' if same else 'DIFFER'}")
    if done:
        line += "; " + compare_reports(work / "archsim" / name, work / "ss" / name)
    return line


def main(argv: list[str] | None = None) -> int:
    """Run the table; prints one line per configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", type=Path,
                        default=Path("/work/scalesim-venv/topologies/alexnet.csv"))
    parser.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python")
    parser.add_argument("--time-limit-s", type=float, default=300.0,
                        help="per configuration; SCALE-Sim is killed past it (lower bound)")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK}")
    parser.add_argument("--no-simpy", action="store_true",
                        help="skip the SimPy transaction model's column")
    parser.add_argument("--arrays", default="128,32,8",
                        help="square array sizes, comma-separated (without --quick)")
    args = parser.parse_args(argv)
    if not args.topology.is_file():
        parser.error(f"--topology {args.topology}: not found (SCALE-Sim's alexnet.csv)")
    args.topology = args.topology.resolve()  # SCALE-Sim runs in its own working directory
    print(f"AlexNet ({args.topology}), 64 KiB SRAMs, CALC bandwidth; SCALE-Sim limit "
          f"{args.time_limit_s:.0f} s per config")
    print("array    df  SCALE-Sim_s  archsim_s  inproc_s   speedup  "
          + ("" if args.no_simpy else
             "simpy_s  simpy_speedup  compute  stall_cyc  fill+drain  ")
          + "archsim_cycles  per-layer Total Cycles vs SCALE-Sim's (layers it finished)")
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [int(v) for v in args.arrays.split(",")]
        configs = QUICK if args.quick else [((r, r), df) for r in sizes
                                            for df in ("os", "ws", "is")]
        for (rows, cols), df in configs:
            print(bench_one(args, rows, cols, df, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
