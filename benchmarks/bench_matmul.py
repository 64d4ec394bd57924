"""Approximate GEMM throughput on a LeNet-sized layer beside numpy float32 matmul (BLAS sgemm)
and beside the measured arithmetic floor of each fast path, all in one run.

    python benchmarks/bench_matmul.py [--quick] [--batch B] [--repeats R] [--no-floor]

The layer is the DA MNIST LeNet conv2 as a GEMM: M = 196 * batch output pixels, K = 288
(32 channels x 3 x 3), N = 64 filters. archsim sends every product through the multiplier
and accumulates in increasing k; numpy's matmul (BLAS, float32) is the anchor. The floor
(benchmarks/floor.py) is the throughput of the vector instructions the path needs per MAC,
register-resident, on this CPU in this run.

Columns: G MAC/s by wall time (all threads), and by process CPU time (MACs per CPU-second:
on a loaded machine a long call spans scheduler slices that a short BLAS call escapes, so
CPU time measures the work better); `x floor` = floor rate per CPU-second / archsim rate
per CPU-second; `x BLAS` = archsim wall time / numpy wall time.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from archsim_core import get_multiplier  # noqa: E402

K, N, PIXELS = 288, 64, 196
SETTLE_S = 0.5
ANCHOR_TRIES = 4
TABLE_T24 = {"name": "table-AMA3-k8", "structure": {
    "kind": "hierarchical", "k": 8, "leaf": {"kind": "carry-save", "cells": "AMA3"}}}


def best_times(fn, repeats):
    """Best wall and best process CPU time (all threads) of `repeats` calls after a warm-up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def isolated(fn, repeats):
    """`best_times` after a pause: OpenBLAS worker threads busy-wait for a while after each
    numpy matmul, and that spinning would otherwise be charged to (and slow) the next call."""
    time.sleep(SETTLE_S)
    return best_times(fn, repeats)


def floor_of(m, floors):
    """(floor name, MACs per CPU-second of one core, MACs per wall second on all cores) for
    the engine behind multiplier `m`, or None if no floor applies."""
    from archsim_core.evaluate import compile_netlist
    import floor as fl

    kind = type(m.engine).__name__
    if kind == "ExactSigMul":
        f = floors["exact-dbl"]
        return "exact-dbl", f["per_cpu_s"], f["all"]
    if kind == "Ama5ChunkSigMul":
        best = max(("da-dbl", "da-int"), key=lambda k: floors[k]["per_cpu_s"])
        return best, floors[best]["per_cpu_s"], floors[best]["all"]
    if kind == "BitslicedSigMul":
        ops = fl.bitsliced_ternlogs(compile_netlist(m.netlist))
        f = floors["ternlog"]
        return f"ternlog x{ops}/512", f["per_cpu_s"] * 512 / ops, f["all"] * 512 / ops
    if kind == "TableSigMul":
        k = m.engine.k
        lookups = (-(-m.engine.n_a // k)) * (-(-m.engine.n_b // k))
        f = floors["gather"]
        return f"gather x{lookups}", f["per_cpu_s"] / lookups, f["all"] / lookups
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch 1, few repeats, two variants")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-floor", action="store_true", help="skip the floor microbenchmark")
    args = ap.parse_args(argv)
    batch = args.batch or (1 if args.quick else 8)
    repeats = args.repeats or (3 if args.quick else 5)
    variants = ("exact", "da") if args.quick else (
        "exact", "da", "da-flat", "da-reference", "lsb-AMA5-16", TABLE_T24)
    m_rows = PIXELS * batch
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((m_rows, K)), 0).astype(np.float32)   # post-ReLU activations
    w = (rng.standard_normal((K, N)) * 0.05).astype(np.float32)
    macs = m_rows * K * N
    cpus = os.cpu_count()
    print(f"GEMM M={m_rows} (196 x batch {batch}), K={K}, N={N}: {macs / 1e6:.1f} M MACs, best of "
          f"{repeats} (numpy: {ANCHOR_TRIES * repeats}); OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={cpus}, "
          f"load average {os.getloadavg()[0]:.1f}")
    floors = None
    if not args.no_floor:
        import floor as fl
        try:
            floors = fl.measure()
        except fl.FloorUnavailable as exc:
            print(f"floor: not measured ({exc})")
    if floors:
        print("floor loops (register-resident; per core by CPU time, and all cores at once by wall):")
        for name, f in floors.items():
            print(f"  {name:<10} {f['per_cpu_s'] / 1e9:7.2f} G {f['unit']}/s per core, "
                  f"{f['all'] / 1e9:7.2f} G/s on {cpus} cores")
    print("anchor: numpy float32 x @ w (BLAS sgemm), timed in this run")
    print(f"{'variant':<14}|{'floor':<17}|{'G MAC/s (wall, all cores)':^28}|"
          f"{'G MAC/s per CPU-second':^30}|{'x BLAS':>7}")
    print(f"{'':<14}|{'':<17}|{'floor':>8}{'BLAS':>9}{'archsim':>10} |{'floor':>8}{'BLAS':>9}"
          f"{'archsim':>9}{'x floor':>8}|{'wall':>7}")
    for spec in variants:
        m = get_multiplier(spec)
        w_np, c_np = isolated(lambda: x @ w, ANCHOR_TRIES * repeats)
        w_as, c_as = isolated(lambda: m.matmul(x, w, on_domain_error="nan"), repeats)
        fl_info = floor_of(m, floors) if floors else None
        if fl_info:
            fname, f_cpu, f_all = fl_info
            # the floor's per-CPU-second rate is per core; archsim's is per CPU-second of all
            # its threads: both are MACs per second of one busy core
            fcols = f"{f_all / 1e9:>8.2f}"
            fcpu = f"{f_cpu / 1e9:>8.2f}"
            ratio = f"{f_cpu / (macs / c_as):>7.1f}x"
        else:
            fname, fcols, fcpu, ratio = "-", f"{'-':>8}", f"{'-':>8}", f"{'-':>8}"
        print(f"{m.name:<14}|{fname:<17}|{fcols}{macs / w_np / 1e9:>9.1f}{macs / w_as / 1e9:>10.3f} |"
              f"{fcpu}{macs / c_np / 1e9:>9.1f}{macs / c_as / 1e9:>9.3f}{ratio}|"
              f"{w_as / w_np:>6.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
