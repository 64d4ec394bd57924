"""lsb-<CELL>-k forward passes before and after the low-table engine, beside `da` and float32
numpy, on the CIFAR-10 AlexNet, single thread, in one run.

    python benchmarks/bench_lsb_kernel.py [--images 20] [--repeats 2] [--variant lsb-AMA5-8]
        [--data-dir DIR]

Rows: numpy float32 (the anchor: BLAS), `da` (blocked closed-form GEMM, 2 products), the
variant with the engine get_multiplier now selects (LowTableSigMul: 1 product + a gathered
table correction in the blocked GEMM) and with the engine it replaces (forced:
Multiplier(spec, engine=build_engine(spec)), the bit-sliced netlist on the bit-plane GEMM).
Columns: best wall and process-CPU seconds of `--repeats` runs (after a warm-up image), ms per
image by CPU time, and the CPU-time ratios to numpy, to da and old/new. The script asserts
that the old and new engines give bit-identical logits. Images: the first N CIFAR-10 test
images when --data-dir (or $ARCHSIM_CIFAR10_DIR) is given, else N seeded uniform [0, 1)
images (the kernels' cost does not depend on the values). OMP_NUM_THREADS defaults to 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from archsim.nn.alexnet_cifar import DEFAULT_WEIGHTS, load_alexnet_cifar  # noqa: E402
from archsim.nn.network import forward  # noqa: E402
from archsim_core import get_multiplier  # noqa: E402
from archsim_core.multiplier import Multiplier  # noqa: E402
from archsim_core.variants import build_engine, resolve_variant  # noqa: E402


def timed(net, x, mult, repeats):
    """(logits, best wall s, best CPU s) of `repeats` forward passes after a 1-image warm-up."""
    forward(net, x[:1], mult)
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = forward(net, x, mult, batch_size=len(x))
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return out, best_wall, best_cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--variant", default="lsb-AMA5-8")
    ap.add_argument("--data-dir", default=os.environ.get("ARCHSIM_CIFAR10_DIR"))
    args = ap.parse_args(argv)

    net = load_alexnet_cifar(DEFAULT_WEIGHTS)
    if args.data_dir:
        from archsim.nn.cifar10 import load_cifar10
        x = load_cifar10(args.data_dir, "test")[0][:args.images]
        source = f"first {len(x)} CIFAR-10 test images"
    else:
        x = np.random.default_rng(0).random((args.images,) + net.input_shape).astype(np.float32)
        source = f"{len(x)} seeded uniform [0,1) images"
    spec = resolve_variant(args.variant)
    new = get_multiplier(spec)
    old = Multiplier(spec, engine=build_engine(spec))
    print(f"# AlexNet-CIFAR10 forward, {net.macs:,} MACs/image, {source}; OMP_NUM_THREADS="
          f"{os.environ['OMP_NUM_THREADS']}, cpus={os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.2f}; best of {args.repeats}")
    runs = [("numpy float32 (anchor)", None), ("da", get_multiplier("da")),
            (f"{args.variant} new [{type(new.engine).__name__}]", new),
            (f"{args.variant} old [{type(old.engine).__name__}]", old)]
    res = {}
    for label, mult in runs:
        res[label] = timed(net, x, mult, args.repeats)
    anchor_cpu = res[runs[0][0]][2]
    da_cpu = res[runs[1][0]][2]
    new_cpu, old_cpu = res[runs[2][0]][2], res[runs[3][0]][2]
    print(f"{'run':<44} {'wall_s':>8} {'cpu_s':>8} {'ms/img':>8} {'x numpy':>8} {'x da':>7}")
    for label, _ in runs:
        _, wall, cpu = res[label]
        print(f"{label:<44} {wall:8.3f} {cpu:8.3f} {1000 * cpu / len(x):8.1f} "
              f"{cpu / anchor_cpu:8.2f} {cpu / da_cpu:7.2f}")
    print(f"speed-up old/new ({args.variant}, CPU time): {old_cpu / new_cpu:.2f}x")
    same = np.array_equal(res[runs[2][0]][0].view(np.uint32), res[runs[3][0]][0].view(np.uint32))
    print(f"old and new logits bit-identical: {same}")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    assert same, "old and new engines disagree"
    return 0


if __name__ == "__main__":
    sys.exit(main())
