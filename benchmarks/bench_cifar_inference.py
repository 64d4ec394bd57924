"""Inference time of the CIFAR-10 AlexNet on the test images: exact float32 numpy (the
anchor: BLAS) beside archsim's approximate inference, same images, same run.

    python benchmarks/bench_cifar_inference.py --data-dir DIR [--limit 1000]
        [--variants da exact] [--weights workloads/alexnet_cifar10/alexnet_cifar10.npz]

DIR holds cifar-10-batches-py (or is it; default $ARCHSIM_CIFAR10_DIR); build it with
../shared/data/cifar10/to_batches.py DIR. Both the anchor and every variant run on the first
`--limit` test images (default all 10,000). Printed per run: images, wall and process CPU
seconds (all threads), images/s, the wall and CPU ratios to the anchor, accuracy on those
images, and - when `--limit` < N - the full-test-set time EXTRAPOLATED from the rate (labelled
as such). On a shared machine wall time varies with load; the load average is printed.
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
    c0, t0 = time.process_time(), time.perf_counter()
    logits = forward(net, x, multiplier=multiplier, batch_size=batch_size,
                     progress=sys.stderr.isatty())
    return logits, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="cifar-10-batches-py or its parent "
                   "(default $ARCHSIM_CIFAR10_DIR)")
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--limit", type=int, default=None, help="run on the first N test images")
    p.add_argument("--variants", nargs="+", default=["da"])
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args(argv)

    net = load_alexnet_cifar(args.weights)
    x, y = load_cifar10(args.data_dir, "test")
    n_all = len(y)
    limit = n_all if args.limit is None else min(args.limit, n_all)
    x, y = x[:limit], y[:limit]
    print(f"# AlexNet-CIFAR10, {net.macs:,} MACs/image, {limit} of {n_all} test images; "
          f"cpus={os.cpu_count()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
          f"load average {os.getloadavg()[0]:.2f}")
    print("run,images,wall_s,cpu_s,images_per_s,wall_ratio,cpu_ratio,accuracy,"
          "full_test_wall_s,full_is")
    anchor = None
    for variant in [None] + list(args.variants):
        logits, wall, cpu = _timed(net, x, variant, args.batch_size)
        if anchor is None:
            anchor = (wall, cpu)
        full, kind = (wall, "measured") if limit == n_all else (wall * n_all / limit, "EXTRAPOLATED")
        acc = float((logits.argmax(1) == y).mean())
        name = "anchor exact-numpy-f32" if variant is None else f"archsim {variant}"
        print(f"{name},{limit},{wall:.2f},{cpu:.2f},{limit / wall:.1f},{wall / anchor[0]:.2f},"
              f"{cpu / anchor[1]:.2f},{acc:.4f},{full:.1f},{kind}")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
