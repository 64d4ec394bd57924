"""Elementwise multiply throughput: archsim variants beside numpy float32 multiply, same run.

    python benchmarks/bench_multiply.py [--quick] [--n N] [--repeats R]

For each variant the same float32 arrays go through `m.multiply` (boundary conversion
included) and through numpy's `x * y`; the best of R timings of each is reported with the
ratio numpy/archsim. Targets (issue 2): da within 10x of numpy, the generic netlist variant
lsb-AMA5-16 within 50x.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from archsim_core import get_multiplier  # noqa: E402

TARGETS = {"exact": None, "da": 10.0, "lsb-AMA5-16": 50.0}


def best_time(fn, repeats):
    """Best wall time and best process CPU time (all threads) of `repeats` calls, after one
    warm-up call. CPU time is reported too because on a shared machine a long call spans
    scheduler slices that a short numpy call escapes; CPU time measures the work itself."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small arrays, few repeats")
    ap.add_argument("--n", type=int, default=None, help="elements per array")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    n = args.n or (500_000 if args.quick else 4_000_000)
    repeats = args.repeats or (3 if args.quick else 7)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, n).astype(np.float32)
    y = rng.uniform(-1, 1, n).astype(np.float32)
    print(f"n = {n:,} float32 pairs, best of {repeats}; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':<14}{'---- wall time: Mmul/s ----':^40}{'---- CPU time: ns/mul ----':^36}")
    print(f"{'variant':<14}{'archsim':>10}{'numpy':>10}{'numpy/archsim':>15}{'target':>14}"
          f"{'archsim':>10}{'numpy':>9}{'archsim/numpy':>15}")
    for name, target in TARGETS.items():
        m = get_multiplier(name)
        w_np, c_np = best_time(lambda: x * y, repeats)
        w_as, c_as = best_time(lambda: m.multiply(x, y), repeats)
        ratio = w_as / w_np
        verdict = "" if target is None else f"<={target:g}x " + ("met" if ratio <= target else "MISSED")
        print(f"{name:<14}{n / w_as / 1e6:>10.1f}{n / w_np / 1e6:>10.1f}{ratio:>14.1f}x{verdict:>14}"
              f"{c_as / n * 1e9:>10.2f}{c_np / n * 1e9:>9.2f}{c_as / max(c_np, 1e-9):>14.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
