"""`archsim accuracy MODEL --dataset D --variants V... --out DIR`: top-1 per multiplier variant.

MODEL is an ONNX file or a built-in network (lenet5, da-lenet, alexnet-cifar10). The data
set is mnist or cifar10 (test split, from --data-dir / $ARCHSIM_DATA_DIR) or an .npz with
`x` (float32 inputs shaped like the model's input, used as given) and `y` (integer labels).
Every Conv/Gemm/MatMul product runs through the variant's multiplier; other operators are
float32. `float32` as a variant name is plain numpy float32 (BLAS sums), the speed and
accuracy reference. Writes DIR/accuracy.csv: variant, images, correct, top1.

Integer variants (int8, int8:PATH.v, uint8:PATH.v, uint8-da, uint8-lsb-CELL-k; see
archsim_core.int8) run the post-training-quantized network (archsim.nn.quant) of a built-in
MODEL: parameters from `--quant quant.json` (written by `archsim quantize`), else calibrated on
a seeded sample of the network's training images (--calibration-images, --seed, --method,
--percentile; the defaults of `archsim quantize`). The parameters used are written to
DIR/quant.json. Quantizing an ONNX MODEL is not built (an integer variant with one is an error).
"""
from __future__ import annotations

from pathlib import Path

COLUMNS = ["variant", "images", "correct", "top1"]
FLOAT32 = "float32"
# the data set each built-in network was trained on: int8 calibration draws from its train split
TRAINING_SET = {"lenet5": "mnist", "da-lenet": "mnist", "alexnet-cifar10": "cifar10"}


def register(subparsers) -> None:
    """Add the `accuracy` subcommand."""
    p = subparsers.add_parser("accuracy", help="top-1 of a network (ONNX or built-in) per "
                              "multiplier variant", description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="an .onnx file or a built-in network name")
    p.add_argument("--dataset", required=True, help="mnist, cifar10 or an .npz with x and y")
    p.add_argument("--data-dir", default=None, help="data directory (default $ARCHSIM_DATA_DIR)")
    p.add_argument("--variants", nargs="+", required=True, metavar="V",
                   help="multiplier variants (exact, da, ...; float32 = numpy) or spec files")
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    p.add_argument("--quant", default=None, metavar="FILE",
                   help="int8 quantization parameters (quant.json from archsim quantize) for "
                   "integer variants; default: calibrate on seeded training images")
    p.add_argument("--calibration-images", type=int, default=512,
                   help="training images drawn (seeded) for int8 calibration (default 512)")
    p.add_argument("--seed", type=int, default=0, help="calibration sample seed (default 0)")
    p.add_argument("--method", default="percentile", choices=("minmax", "percentile"),
                   help="int8 activation calibration (default percentile)")
    p.add_argument("--percentile", type=float, default=99.99, help="for --method percentile")
    p.add_argument("--out", required=True, help="output directory (replaced on success)")
    p.set_defaults(handler=handle)


def load_dataset(dataset: str, data_dir: str | None):
    """(x, y, name) of the test split or the npz file."""
    import zipfile

    import numpy as np

    from archsim.errors import DataError
    from archsim.nn.datasets import load_split, resolve_data_dir

    if dataset.lower().endswith(".npz"):
        path = Path(dataset)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("x", "y") if k not in data.files]
                if missing:
                    raise DataError(f"{path}: missing array {missing[0]!r} (needs x and y)")
                x, y = np.asarray(data["x"], np.float32), np.asarray(data["y"])
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: not a readable npz data set ({exc})") from None
        if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu":
            raise DataError(f"{path}: y must be {len(x)} integer labels, got {y.dtype} "
                            f"{y.shape}")
        return x, y.astype(np.int64), str(path)
    split = load_split(dataset, resolve_data_dir(data_dir), "test")
    return split.x, split.y, f"{dataset} test split"


def _variants(names: list[str]):
    """(label, spec) per variant name; every name is resolved (SpecError if bad)."""
    from archsim_core.int8 import int_variant, is_int_variant
    from archsim_core.variants import resolve_variant

    out = []
    for v in names:
        if v == FLOAT32:
            out.append((FLOAT32, None))
        elif is_int_variant(v):
            int_variant(v)
            out.append((v, v))
        else:
            out.append((resolve_variant(v).name, v))
    return out


def _check_int_options(args, int_names: list[str]) -> None:
    """Integer variants need a built-in MODEL; --quant needs an integer variant."""
    from archsim.errors import ConfigError
    from archsim.network.builtin import BUILTIN_WEIGHTS

    if args.quant is not None and not int_names:
        raise ConfigError(f"--quant: {args.quant} given but no integer variant (int8, "
                          "int8:PATH.v, uint8:PATH.v, ...) in --variants")
    if not int_names:
        return
    if args.model not in BUILTIN_WEIGHTS:
        raise ConfigError(f"{args.model}: integer variant {int_names[0]} needs a built-in network "
                          f"({', '.join(sorted(BUILTIN_WEIGHTS))}); quantizing ONNX models is "
                          "not built")
    if args.calibration_images < 1:
        raise ConfigError(f"--calibration-images: must be >= 1, got {args.calibration_images}")
    if not 50 < args.percentile <= 100:
        raise ConfigError(f"--percentile: must be in (50, 100], got {args.percentile}")


def quantized_builtin(args, data_dir: Path | None):
    """(net, qnet, note) of the built-in MODEL for integer variants: parameters from --quant,
    else calibrated on its training set; `note` says which."""
    from archsim.network.builtin import builtin_weights
    from archsim.nn.architectures import load_network
    from archsim.nn.quant import calibrate_on_training, load_quant, quantize_network

    net = load_network(builtin_weights(args.model, data_dir), args.model)
    if args.quant is not None:
        params = load_quant(args.quant, net)
        note = f"int8 quantization: {args.quant}"
    else:
        dataset = TRAINING_SET[args.model]
        params = calibrate_on_training(net, dataset, args.data_dir, args.calibration_images,
                                       args.seed, args.method, args.percentile)
        how = args.method + (f" {args.percentile:g}" if args.method == "percentile" else "")
        note = (f"int8 quantization: calibrated on {args.calibration_images} {dataset} training "
                f"images (seed {args.seed}, {how})")
    return net, quantize_network(net, params), note


def evaluate(graph, x, y, variants: list[str], batch_size: int, progress: bool,
             quantized=None) -> list[dict]:
    """One accuracy row per variant on inputs x and labels y; integer variants through
    `quantized` = (net, qnet) (archsim.nn.quant.accuracy_rows)."""
    from types import SimpleNamespace

    from archsim.errors import DataError
    from archsim.network.execute import forward_graph
    from archsim.nn.network import labels_of
    from archsim.nn.quant import accuracy_rows
    from archsim_core.int8 import is_int_variant

    if len(graph.output_shape) != 2:
        raise DataError(f"{graph.source}: output {graph.output_name!r} has shape "
                        f"{graph.output_shape}, not (N, classes)")
    rows = []
    for label, spec in _variants(variants):
        if is_int_variant(spec):
            rows += accuracy_rows(*quantized, SimpleNamespace(x=x, y=y), [(label, spec)],
                                  progress, batch_size)
            continue
        logits = forward_graph(graph, x, spec, batch_size, progress)
        correct = int((labels_of(logits) == y).sum())
        rows.append({"variant": label, "images": len(y), "correct": correct,
                     "top1": correct / len(y)})
    return rows


def handle(args) -> int:
    """Load model and data, check they fit, evaluate every variant, write accuracy.csv."""
    import sys

    from archsim.errors import ConfigError
    from archsim.network.builtin import load_model
    from archsim.network.execute import check_graph_input
    from archsim.nn.quant import save_quant
    from archsim.results import output_dir, write_csv
    from archsim_core.int8 import is_int_variant

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit: must be >= 1, got {args.limit}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: must be >= 1, got {args.batch_size}")
    int_names = [v for v in args.variants if is_int_variant(v)]
    _check_int_options(args, int_names)
    _variants(args.variants)  # unknown variants fail before any work
    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    x, y, source = load_dataset(args.dataset, args.data_dir)
    graph = load_model(args.model, data_dir or _env_data_dir())
    if args.limit is not None:
        x, y = x[:args.limit], y[:args.limit]
    x = check_graph_input(graph, x, source)
    quantized, note = None, None
    if int_names:
        net, qnet, note = quantized_builtin(args, data_dir or _env_data_dir())
        quantized = (net, qnet)
    rows = evaluate(graph, x, y, args.variants, args.batch_size, sys.stderr.isatty(), quantized)
    with output_dir(args.out) as tmp:
        write_csv(tmp / "accuracy.csv", rows, COLUMNS)
        if quantized is not None:
            save_quant(quantized[1].params, tmp / "quant.json")
    if note is not None:
        print(note)
    for row in rows:
        print(f"{row['variant']:>14}: {row['correct']}/{row['images']} = {row['top1']:.4f}")
    print(f"wrote {args.out}")
    return 0


def _env_data_dir():
    import os

    from archsim.nn.datasets import ENV_DATA_DIR
    value = os.environ.get(ENV_DATA_DIR)
    return Path(value).resolve() if value else None
