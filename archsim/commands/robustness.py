"""`archsim robustness CONFIG [--out DIR] [--data-dir DIR] [--only KINDS] [--part K/N]`:
adversarial-robustness experiments (clean accuracy, confidence, noise, transferability,
black-box, white-box BPDA) of a network run with exact and approximate multipliers. Writes
results.json, one CSV per table, per_image.npz (the per-image outcomes the tables are built
from), report.md and plots. `--part K/N` runs range K of N of every experiment's images;
`archsim robustness-merge` pools the parts exactly as one run would report them."""
from __future__ import annotations

import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    """Add the `robustness` subcommand."""
    p = subparsers.add_parser("robustness", help="adversarial robustness: exact vs approximate",
                              description=__doc__)
    p.add_argument("config", help="robustness YAML config (see configs/robustness_mnist.yaml)")
    p.add_argument("--out", help="output directory (default: runs/<config name>); new, empty "
                                  "or archsim's")
    p.add_argument("--data-dir", help="data directory (overrides dataset.data_dir and "
                                      "$ARCHSIM_DATA_DIR)")
    p.add_argument("--only", help="comma-separated experiments of the config to run "
                                   "(e.g. transfer,whitebox); default: all")
    p.add_argument("--part", metavar="K/N",
                   help="run only range K of N contiguous, disjoint ranges of every selected "
                        "experiment's images (1 <= K <= N); merge the parts with "
                        "`archsim robustness-merge`")
    p.set_defaults(handler=run)


INSTALL_HINT = "pip install torch==2.13.0 && pip install -e '.[robust]'"  # as in README.md


def _require_extras() -> None:
    """Fail before any work if the 'robust' extra (torch, ART) is not installed."""
    import importlib.util

    from archsim.errors import ConfigError
    missing = [name for module, name in (("torch", "PyTorch"),
                                         ("art", "adversarial-robustness-toolbox"))
               if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(f"archsim robustness needs {' and '.join(missing)} (the optional "
                          f"'robust' extra; CPU wheel of torch first): {INSTALL_HINT}")


def _check_variants(config) -> None:
    from archsim_core import resolve_variant
    from archsim.robustness.experiments import FLOAT32
    from archsim.robustness.adaptive import WEIGHT_CONTROLS
    resolve_variant(config.approximate)
    for c in config.controls:
        if isinstance(c, str) and c not in WEIGHT_CONTROLS:
            resolve_variant(c)
    for exp in config.experiments:
        for v, _ in exp.variants:
            if v != FLOAT32:
                resolve_variant(v)


def _stderr_log(start: float):
    """One line per finished step on stderr, with the elapsed time (above any progress bar)."""
    from tqdm import tqdm

    def log(message: str) -> None:
        tqdm.write(f"archsim robustness: [{time.perf_counter() - start:7.1f} s] {message}",
                   file=sys.stderr)
    return log


def run(args) -> int:
    """Load, validate, run every experiment, write results (all-or-nothing)."""
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.robustness.config import load_config
    from archsim.robustness.experiments import Runner, run_experiments
    from archsim.robustness.parts import check_part, parse_part
    from archsim.robustness.report import coverage, run_header, write_results
    from archsim.outdir import check_output_dir, default_out, output_dir
    part = parse_part(args.part) if args.part is not None else None
    _require_extras()
    only = tuple(s.strip() for s in (args.only or "").split(",") if s.strip())
    config = load_config(args.config, args.data_dir, only)
    check_part(config, part)
    _check_variants(config)
    out = Path(args.out) if args.out else default_out(config.name)
    check_output_dir(out)
    target = load_network(config.target.weights, config.target.architecture, name="target")
    needs_proxy = config.proxy and any(e.proxy_attacks or "proxy" in e.sources
                                       for e in config.experiments)
    proxy = (load_network(config.proxy.weights, config.proxy.architecture, name="proxy")
             if needs_proxy else None)
    test = load_split(config.dataset, config.data_dir, "test")
    runner = Runner(config, test, target, proxy, progress=sys.stderr.isatty(),
                    log=_stderr_log(time.perf_counter()), part=part)
    runner.surrogates = {name: load_network(m.weights, m.architecture, name=name)
                         for name, m in config.surrogates}
    results = run_experiments(runner)
    with output_dir(out) as tmp:
        written = write_results(tmp, run_header(config, target, proxy, runner), results,
                                coverage(config, part))
    print(f"archsim robustness: wrote {len(written)} files to {out}")
    return 0
