"""`archsim accuracy MODEL --dataset D --variants V... --out DIR`: top-1 per multiplier variant.

MODEL is an ONNX file or a built-in network (lenet5, da-lenet, alexnet-cifar10). The data
set is mnist or cifar10 (test split, from --data-dir / $ARCHSIM_DATA_DIR) or an .npz with
`x` (float32 inputs shaped like the model's input, used as given) and `y` (integer labels).
Every Conv/Gemm/MatMul product runs through the variant's multiplier; other operators are
float32. `float32` as a variant name is plain numpy float32 (BLAS sums), the speed and
accuracy reference. Writes DIR/accuracy.csv: variant, images, correct, top1.
"""
from __future__ import annotations

from pathlib import Path

COLUMNS = ["variant", "images", "correct", "top1"]
FLOAT32 = "float32"


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
    from archsim_core.variants import resolve_variant

    return [(FLOAT32, None) if v == FLOAT32 else (resolve_variant(v).name, v) for v in names]


def evaluate(graph, x, y, variants: list[str], batch_size: int, progress: bool) -> list[dict]:
    """One accuracy row per variant on inputs x and labels y."""
    from archsim.errors import DataError
    from archsim.network.execute import forward_graph
    from archsim.nn.network import labels_of

    if len(graph.output_shape) != 2:
        raise DataError(f"{graph.source}: output {graph.output_name!r} has shape "
                        f"{graph.output_shape}, not (N, classes)")
    rows = []
    for label, spec in _variants(variants):
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
    from archsim.results import output_dir, write_csv

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit: must be >= 1, got {args.limit}")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: must be >= 1, got {args.batch_size}")
    _variants(args.variants)  # unknown variants fail before any work
    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    x, y, source = load_dataset(args.dataset, args.data_dir)
    graph = load_model(args.model, data_dir or _env_data_dir())
    if args.limit is not None:
        x, y = x[:args.limit], y[:args.limit]
    x = check_graph_input(graph, x, source)
    rows = evaluate(graph, x, y, args.variants, args.batch_size, sys.stderr.isatty())
    with output_dir(args.out) as tmp:
        write_csv(tmp / "accuracy.csv", rows, COLUMNS)
    for row in rows:
        print(f"{row['variant']:>14}: {row['correct']}/{row['images']} = {row['top1']:.4f}")
    print(f"wrote {args.out}")
    return 0


def _env_data_dir():
    import os

    from archsim.nn.datasets import ENV_DATA_DIR
    value = os.environ.get(ENV_DATA_DIR)
    return Path(value).resolve() if value else None
