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
    """Best wall time of `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
          f"{os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={os.cpu_count()}")
    print(f"{'variant':<14}{'archsim Mmul/s':>16}{'numpy Mmul/s':>15}{'numpy/archsim':>15}{'target':>9}")
    for name, target in TARGETS.items():
        m = get_multiplier(name)
        t_np = best_time(lambda: x * y, repeats)
        t_as = best_time(lambda: m.multiply(x, y), repeats)
        ratio = t_as / t_np
        verdict = "" if target is None else (f"<={target:g}x " + ("met" if ratio <= target else "MISSED"))
        print(f"{name:<14}{n / t_as / 1e6:>16.1f}{n / t_np / 1e6:>15.1f}{ratio:>14.1f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
