"""Approximate GEMM throughput on a LeNet-sized layer, beside numpy float32 matmul, same run.

    python benchmarks/bench_matmul.py [--quick] [--batch B] [--repeats R]

The layer is the DA MNIST LeNet conv2 as a GEMM: M = 196 * batch output pixels, K = 288
(32 channels x 3 x 3), N = 64 filters. archsim sends every product through the multiplier
and accumulates in increasing k; numpy's matmul (BLAS, float32) is the anchor.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from archsim_core import get_multiplier  # noqa: E402

K, N, PIXELS = 288, 64, 196


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
    ap.add_argument("--quick", action="store_true", help="batch 1, few repeats, two variants")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    batch = args.batch or (1 if args.quick else 8)
    repeats = args.repeats or (3 if args.quick else 5)
    variants = ("exact", "da") if args.quick else ("exact", "da", "da-reference", "lsb-AMA5-16")
    m_rows = PIXELS * batch
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((m_rows, K)), 0).astype(np.float32)   # post-ReLU activations
    w = (rng.standard_normal((K, N)) * 0.05).astype(np.float32)
    macs = m_rows * K * N
    print(f"GEMM M={m_rows} (196 x batch {batch}), K={K}, N={N}: {macs / 1e6:.1f} M MACs, best of "
          f"{repeats}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':<14}{'---- wall time: MMAC/s ----':^40}{'---- CPU time: ns/MAC ----':^36}")
    print(f"{'variant':<14}{'archsim':>10}{'numpy':>10}{'numpy/archsim':>15}"
          f"{'archsim':>12}{'numpy':>9}{'archsim/numpy':>15}")
    for name in variants:
        m = get_multiplier(name)
        w_np, c_np = best_time(lambda: x @ w, repeats)
        w_as, c_as = best_time(lambda: m.matmul(x, w, on_domain_error="nan"), repeats)
        print(f"{name:<14}{macs / w_as / 1e6:>10.1f}{macs / w_np / 1e6:>10.1f}{w_as / w_np:>14.1f}x"
              f"{c_as / macs * 1e9:>12.3f}{c_np / macs * 1e9:>9.3f}{c_as / max(c_np, 1e-9):>14.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
