"""`archsim quantize WEIGHTS --architecture A --dataset D --out DIR`: post-training int8 quantization.

Calibrates per-tensor activation scales on a seeded sample of training images (or on the images
of `--calibration FILE.npz`, array `x`), derives per-channel weight scales, and writes
DIR/quant.json (the parameters, archsim.nn.quant's format). With `--variants`, it also runs the
test split through every variant and writes DIR/accuracy.csv (variant, images, correct, top1):
FP variants (float32-numpy, exact, da, ...) and integer ones (int8, int8:PATH.v, uint8:PATH.v,
uint8-da, uint8-lsb-CELL-k) in the same file. `--quant FILE` reuses existing parameters.
"""
from __future__ import annotations

import sys

ACCURACY_COLUMNS = ["variant", "images", "correct", "top1"]


def register(subparsers) -> None:
    """Add the `quantize` subcommand."""
    p = subparsers.add_parser("quantize", help="post-training int8 quantization (+ accuracy)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("weights", help="weights .npz (<layer>_weight / <layer>_bias)")
    p.add_argument("--architecture", required=True, help="da-lenet, lenet5, alexnet-cifar10")
    p.add_argument("--dataset", required=True, help="mnist or cifar10")
    p.add_argument("--data-dir", default=None, help="data directory (else $ARCHSIM_DATA_DIR)")
    p.add_argument("--method", default="percentile", choices=("minmax", "percentile"))
    p.add_argument("--percentile", type=float, default=99.99, help="for --method percentile")
    p.add_argument("--calibration-images", type=int, default=512,
                   help="training images drawn (seeded) for calibration (default 512)")
    p.add_argument("--seed", type=int, default=0, help="calibration sample seed (default 0)")
    p.add_argument("--calibration", default=None,
                   help="calibration images from FILE.npz (array x, float32 [N,C,H,W]) instead")
    p.add_argument("--quant", default=None, help="use this quant.json instead of calibrating")
    p.add_argument("--variants", nargs="*", default=[], metavar="VARIANT",
                   help="evaluate top-1 on the test split through these variants")
    p.add_argument("--limit", type=int, default=None, help="first N test images only")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", required=True, help="output directory (replaced on success)")
    p.set_defaults(handler=handle)


def _calibration_images(args, net):
    """Images x of --calibration FILE.npz and what to record about them."""
    import numpy as np
    import zipfile
    from pathlib import Path

    from archsim.errors import DataError

    path = Path(args.calibration)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data.files:
                raise DataError(f"{path}: x: missing (calibration images)")
            x = np.asarray(data["x"])
    except FileNotFoundError:
        raise DataError(f"{path}: calibration file not found") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable npz file ({exc})") from None
    if x.dtype.kind != "f":
        raise DataError(f"{path}: x: calibration images must be floating point, got {x.dtype}")
    return x, {"source": str(path)}


def handle(args) -> int:
    """Calibrate (or load), optionally evaluate, write all or nothing."""
    import numpy as np

    from archsim.errors import ConfigError
    from archsim.nn.architectures import load_network
    from archsim.nn.network import labels_of
    from archsim.nn.quant import (calibrate, calibrate_on_training, check_variant_names,
                                  load_quant, quantize_network, save_quant, variant_logits)
    from archsim.results import output_dir, write_csv

    for name in ("calibration_images", "batch_size"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit: must be >= 1, got {args.limit}")
    net = load_network(args.weights, args.architecture)
    check_variant_names(args.variants)
    if args.quant:
        params = load_quant(args.quant, net)
    elif args.calibration:
        x, info = _calibration_images(args, net)
        params = calibrate(net, x, args.method, args.percentile, source=args.calibration,
                           info=info)
    else:
        params = calibrate_on_training(net, args.dataset, args.data_dir, args.calibration_images,
                                       args.seed, args.method, args.percentile)
    qnet = quantize_network(net, params)
    rows = []
    if args.variants:
        from archsim.nn.datasets import load_split, resolve_data_dir
        test = load_split(args.dataset, resolve_data_dir(args.data_dir), "test")
        if args.limit is not None:
            test = test.take(min(args.limit, len(test.y)))
        for variant in args.variants:
            labels = labels_of(variant_logits(net, test.x, variant, qnet, args.batch_size,
                                              progress=sys.stderr.isatty()))
            correct = int(np.count_nonzero(labels == test.y))
            rows.append({"variant": variant, "images": int(len(test.y)), "correct": correct,
                         "top1": correct / len(test.y)})
            print(f"{variant:>24}: top-1 {correct / len(test.y):.4f} ({correct}/{len(test.y)})")
    with output_dir(args.out) as tmp:
        save_quant(params, tmp / "quant.json")
        if rows:
            write_csv(tmp / "accuracy.csv", rows, ACCURACY_COLUMNS)
    print(f"wrote {args.out}")
    return 0
