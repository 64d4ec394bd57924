"""Inference time of the CIFAR-10 AlexNet on the test images: exact vs approximate multipliers.

    python benchmarks/bench_cifar_inference.py --data-dir /work/cache/cifar [--limit 200]
        [--variants da exact] [--weights workloads/alexnet_cifar10/alexnet_cifar10.npz]

Anchor: the exact float32 numpy (BLAS) forward pass over all N images, timed in the same run.
Then, for each variant, the bit-level forward pass (every product through the variant's
multiplier model, archsim_core kernels on all cores) over the first `--limit` images (default
all 10,000). Printed per variant: images evaluated, seconds, images/s, the ratio to the
anchor's per-image time, accuracy on those images, and — when `--limit` < N — the
EXTRAPOLATED time for the full test set (rate x N), labelled as such.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsim.nn.alexnet_cifar import DEFAULT_WEIGHTS, load_alexnet_cifar  # noqa: E402
from archsim.nn.cifar10 import load_cifar10  # noqa: E402
from archsim.nn.network import forward  # noqa: E402


def _timed(net, x, multiplier, batch_size):
    t0 = time.perf_counter()
    logits = forward(net, x, multiplier=multiplier, batch_size=batch_size, progress=True)
    return logits, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="cifar-10-batches-py or its parent "
                   "(default $ARCHSIM_CIFAR10_DIR)")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--limit", type=int, default=None, help="approximate runs on the first N images")
    p.add_argument("--variants", nargs="+", default=["da"])
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args(argv)

    net = load_alexnet_cifar(args.weights)
    x, y = load_cifar10(args.data_dir, "test")
    n_all = len(y)
    limit = n_all if args.limit is None else min(args.limit, n_all)
    print(f"# AlexNet-CIFAR10, {net.macs:,} MACs/image; cpus={os.cpu_count()} "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    logits, t_exact = _timed(net, x, None, args.batch_size)
    per_img_exact = t_exact / n_all
    acc = float((logits.argmax(1) == y).mean())
    print(f"anchor exact-numpy-f32: {n_all} images {t_exact:.2f} s "
          f"({n_all / t_exact:.1f} img/s) accuracy {acc:.4f}")
    header = "variant,images,time_s,images_per_s,ratio_to_exact,accuracy,full_test_time_s,full_is"
    print(header)
    for variant in args.variants:
        logits, t = _timed(net, x[:limit], variant, args.batch_size)
        rate = limit / t
        full, kind = (t, "measured") if limit == n_all else (n_all / rate, "EXTRAPOLATED")
        acc = float((logits.argmax(1) == y[:limit]).mean())
        print(f"{variant},{limit},{t:.2f},{rate:.2f},{(t / limit) / per_img_exact:.1f},"
              f"{acc:.4f},{full:.1f},{kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
