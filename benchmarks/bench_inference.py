"""Inference time of the paper's MNIST network over the 10k test set: exact float32 numpy
(the anchor: BLAS) beside archsim's approximate inference, where every one of the 4.47 M
multiplications per image goes through a bit-level multiplier model (and the sums run in
declared k order). Prints both times and their ratio, plus the accuracies as a sanity check.

    nice -n 10 python benchmarks/bench_inference.py --data-dir ../shared/data [--limit 10000]
        [--variants da,exact] [--batch-size 250]

The anchor and every variant run on the same first `--limit` (alias `--images`) test images.

Wall-clock times on a shared machine vary with load, so the script also prints the process
CPU time (all threads) and the load average; on an idle 2-core machine wall ~ CPU / 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _timed(fn):
    """(result, wall seconds, process CPU seconds over all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> int:
    """Run the benchmark; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = next((d for d in (REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data")
                         if d.is_dir()), REPO.parent / "shared" / "data")
    ap.add_argument("--data-dir", default=str(default_data))
    ap.add_argument("--limit", "--images", dest="images", type=int, default=10000)
    ap.add_argument("--variants", default="da")
    ap.add_argument("--batch-size", type=int, default=250)
    args = ap.parse_args(argv)
    from archsim_core import get_multiplier
    from archsim.nn.architectures import load_network
    from archsim.nn.mnist import load_mnist
    from archsim.nn.network import predict_labels
    test = load_mnist(args.data_dir, "test").take(args.images)
    net = load_network(Path(args.data_dir) / "da_lenet_official.npz", "da-lenet")
    print(f"{args.images} MNIST test images, {net.macs} MACs/image, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    pred, t_exact, c_exact = _timed(lambda: predict_labels(net, test.x,
                                                           batch_size=args.batch_size))
    print(f"{'float32 numpy (anchor)':28s} wall {t_exact:8.2f} s  cpu {c_exact:8.2f} s  "
          f"accuracy {(pred == test.y).mean():.4f}")
    for variant in args.variants.split(","):
        m = get_multiplier(variant)
        pred, t, c = _timed(lambda: predict_labels(net, test.x, m, batch_size=args.batch_size,
                                                   progress=sys.stderr.isatty()))
        print(f"{'archsim ' + variant:28s} wall {t:8.2f} s  cpu {c:8.2f} s  accuracy "
              f"{(pred == test.y).mean():.4f}  wall ratio {t / t_exact:6.1f}x, cpu ratio "
              f"{c / c_exact:6.1f}x anchor  ({args.images * net.macs / c / 1e6:.1f} M mult "
              "per CPU-second)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
