"""Elementwise multiply throughput: archsim variants beside numpy float32 multiply, same run.

    python benchmarks/bench_multiply.py [--quick] [--n N] [--repeats R]

For each variant the same float32 arrays go through `m.multiply` (boundary conversion
included) and through numpy's `x * y`; the best of R timings of each is reported with the
ratio numpy/archsim. Targets: da within 10x of numpy, the generic netlist variant
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


def timed(fn):
    """(wall, process CPU time of all threads) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def best_pair(anchor, subject, repeats):
    """Best wall and best CPU time of anchor and subject over `repeats` rounds, after one
    warm-up each. The two alternate within each round so both see the same machine load.
    CPU time is reported too: on a shared machine a long call spans scheduler slices that a
    short numpy call escapes, so wall ratios overstate the work; CPU time measures the work."""
    anchor(), subject()
    best = [[float("inf")] * 2, [float("inf")] * 2]
    for _ in range(repeats):
        for slot, fn in enumerate((anchor, subject)):
            best[slot] = [min(old, new) for old, new in zip(best[slot], timed(fn))]
    return best


def verdict(ratio, target):
    return "-" if target is None else ("met" if ratio <= target else "MISSED")


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
    print("anchor: numpy float32 x * y; ratio = archsim time / numpy time (lower is better)")
    print(f"{'':<13}|{'wall time (Mmul/s)':^42}|{'CPU time (ns/mul)':^36}")
    print(f"{'variant':<13}|{'numpy':>8}{'archsim':>9}{'ratio':>8}{'target':>8}{'met?':>9}"
          f"|{'numpy':>7}{'archsim':>9}{'ratio':>8}{'met?':>10}")
    for name, target in TARGETS.items():
        m = get_multiplier(name)
        (w_np, c_np), (w_as, c_as) = best_pair(lambda: x * y, lambda: m.multiply(x, y), repeats)
        rw, rc = w_as / w_np, c_as / max(c_np, 1e-9)
        tgt = "-" if target is None else f"<={target:g}x"
        print(f"{name:<13}|{n / w_np / 1e6:>8.0f}{n / w_as / 1e6:>9.1f}{rw:>7.1f}x{tgt:>8}"
              f"{verdict(rw, target):>9}|{c_np / n * 1e9:>7.2f}{c_as / n * 1e9:>9.2f}{rc:>7.1f}x"
              f"{verdict(rc, target):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
