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
SETTLE_S = 0.5
ANCHOR_TRIES = 4


def best_times(fn, repeats):
    """Best wall and best process CPU time (all threads) of `repeats` calls after a warm-up.
    CPU time is reported too: on a shared machine a long call spans scheduler slices that a
    short BLAS call escapes, so wall ratios overstate the work; CPU time measures the work."""
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
          f"{repeats} (numpy: {ANCHOR_TRIES * repeats}); OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}, cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("anchor: numpy float32 x @ w (BLAS); ratio = archsim time / numpy time; no target set")
    print(f"{'':<13}|{'wall time (MMAC/s)':^26}|{'CPU time (ns/MAC)':^28}")
    print(f"{'variant':<13}|{'numpy':>8}{'archsim':>9}{'ratio':>9}|{'numpy':>8}{'archsim':>10}{'ratio':>10}")
    for name in variants:
        m = get_multiplier(name)
        # BLAS times swing ~20x under load (its threads spin-wait for descheduled peers), so
        # the anchor gets more tries: best-of favours numpy, the conservative direction
        w_np, c_np = isolated(lambda: x @ w, ANCHOR_TRIES * repeats)
        w_as, c_as = isolated(lambda: m.matmul(x, w, on_domain_error="nan"), repeats)
        print(f"{name:<13}|{macs / w_np / 1e6:>8.0f}{macs / w_as / 1e6:>9.1f}{w_as / w_np:>8.1f}x"
              f"|{c_np / macs * 1e9:>8.3f}{c_as / macs * 1e9:>10.3f}{c_as / max(c_np, 1e-9):>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
