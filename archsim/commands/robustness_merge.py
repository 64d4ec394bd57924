"""`archsim robustness-merge RUN_DIR... --out DIR [--allow-missing]`: pool the parts of a split
robustness run (`archsim robustness CONFIG --part K/N`, any `--only`) into the files one run
writes: the parts' per-image outcomes (per_image.npz) are joined in image order and every table,
curve, summary, claim, report and figure is built from them by the same code as a single run.

Checks (one line, exit 2, nothing written): every RUN_DIR is an archsim robustness run with
per-image data; all come from the same config (identical content; `--only`/`--part` may
differ); their image ranges of each experiment are disjoint; and together they cover each
experiment's whole subset. With `--allow-missing` an incomplete experiment is written from the
images present and results.json (`coverage`) and report.md name the missing ranges."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add the `robustness-merge` subcommand."""
    p = subparsers.add_parser("robustness-merge", help="pool the parts of a split robustness "
                              "run (--part / --only) into one run's results",
                              description=__doc__)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="output directories of "
                   "`archsim robustness` runs (parts of one config)")
    p.add_argument("--out", required=True, help="output directory (new, empty or archsim's)")
    p.add_argument("--allow-missing", action="store_true",
                   help="write experiments whose parts leave images uncovered (stated in "
                        "results.json and report.md) instead of refusing")
    p.set_defaults(handler=run)


def _load(run: str) -> dict:
    """results.json and per_image.npz of one run; ConfigError unless it is a robustness run."""
    from archsim.errors import ConfigError
    from archsim.robustness.parts import PER_IMAGE, load_per_image
    path = Path(run)
    meta_path, data_path = path / "results.json", path / PER_IMAGE
    if not path.is_dir() or not meta_path.is_file():
        raise ConfigError(f"{run}: not an archsim robustness run (no results.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{meta_path}: not readable JSON ({exc})") from None
    need = ("config", "results", "coverage", "approximate_variant", "dataset", "name")
    lacks = [k for k in need if k not in meta] if isinstance(meta, dict) else list(need)
    if lacks:
        raise ConfigError(f"{run}: not an archsim robustness run with per-image data "
                          f"(results.json lacks {', '.join(lacks)})")
    if not data_path.is_file():
        raise ConfigError(f"{run}: no {PER_IMAGE} (written by archsim robustness since "
                          "--part exists; rerun that part)")
    data = load_per_image(data_path)
    cov = meta["coverage"]["experiments"]
    if set(data) != set(meta["results"]) or set(cov) != set(data):
        raise ConfigError(f"{data_path}: its experiments differ from results.json's")
    ranges = {}
    for kind, c in cov.items():
        if len(c["covered"]) != 1:
            raise ConfigError(f"{run}: experiments.{kind} covers several separate ranges "
                              f"({c['covered']}); merge its own parts instead")
        ranges[kind] = tuple(c["covered"][0])
    return {"run": run, "meta": meta, "data": data, "ranges": ranges}


def _first_difference(a, b, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b or a[k] != b[k]:
                return _first_difference(a.get(k), b.get(k), f"{where}.{k}" if where else str(k))
    return where or "the whole config"


def _check_same_config(parts: list[dict]) -> None:
    from archsim.errors import ConfigError
    ref = parts[0]
    for p in parts[1:]:
        for key in ("config", "name"):
            if p["meta"][key] != ref["meta"][key]:
                field = _first_difference(p["meta"]["config"], ref["meta"]["config"]) \
                    if key == "config" else "name"
                raise ConfigError(f"{p['run']}: config differs from {ref['run']}'s "
                                  f"(config field {field}); parts must come from one config")


def _intervals(ranges: list[tuple[int, int]]) -> list[list[int]]:
    """Sorted disjoint ranges with adjacent ones joined."""
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b])
    return out


def plan(parts: list[dict], allow_missing: bool) -> dict:
    """{kind: (subset, [part, ...] in image order, covered, missing)}; ConfigError on
    overlapping ranges or (without allow_missing) an uncovered range."""
    from archsim.errors import ConfigError
    from archsim.robustness.config import EXPERIMENTS
    out = {}
    for kind in EXPERIMENTS:
        having = sorted((p for p in parts if kind in p["ranges"]),
                        key=lambda p: p["ranges"][kind])
        if not having:
            continue
        subset = tuple(having[0]["meta"]["coverage"]["experiments"][kind]["subset"])
        for prev, cur in zip(having, having[1:]):
            (a0, b0), (a1, b1) = prev["ranges"][kind], cur["ranges"][kind]
            if a1 < b0:
                raise ConfigError(f"{cur['run']}: experiments.{kind} test images [{a1}, {b1}) "
                                  f"overlap {prev['run']}'s [{a0}, {b0})")
        covered = _intervals([p["ranges"][kind] for p in having])
        missing, pos = [], subset[0]
        for a, b in covered + [[subset[1], subset[1]]]:
            if a > pos:
                missing.append([pos, a])
            pos = max(pos, b)
        if missing and not allow_missing:
            gaps = ", ".join(f"[{a}, {b})" for a, b in missing)
            raise ConfigError(f"experiments.{kind}: test images {gaps} of its subset "
                              f"[{subset[0]}, {subset[1]}) are in none of the runs (run those "
                              "parts, or pass --allow-missing)")
        out[kind] = (subset, having, covered, missing)
    return out


def _header(parts: list[dict]) -> tuple[dict, list[str]]:
    """results.json's header (the first part's, with the networks and control statistics of
    whichever parts have them: a part builds only what its experiments need), and warnings:
    parts whose control calibration statistics differ from the header's (another machine's
    BLAS rounding: the weight controls of those parts are not bit-identical)."""
    head = {k: v for k, v in parts[0]["meta"].items() if k not in ("results", "coverage")}
    head["networks"] = {}
    for p in parts:
        head["networks"] |= {k: v for k, v in p["meta"].get("networks", {}).items()
                             if k not in head["networks"]}
        if not head.get("control_layer_stats") and p["meta"].get("control_layer_stats"):
            head["control_layer_stats"] = p["meta"]["control_layer_stats"]
    warnings = [f"{Path(p['run']).name}: control_layer_stats differ from the merged header's "
                "(controls calibrated with other rounding)" for p in parts
                if p["meta"].get("control_layer_stats")
                and p["meta"]["control_layer_stats"] != head["control_layer_stats"]]
    return head, warnings


def merge(runs: list[str], allow_missing: bool = False) -> tuple[dict, dict, dict]:
    """(header, results, coverage) of the pooled runs (ConfigError on bad input)."""
    from archsim.robustness.experiments import builders
    from archsim.robustness.parts import concat
    parts = [_load(r) for r in runs]
    _check_same_config(parts)
    parts.sort(key=lambda p: sorted(p["ranges"].items()))
    layout = plan(parts, allow_missing)
    build = builders()
    results, cov = {}, {}
    for kind, (subset, having, covered, missing) in layout.items():
        data = concat([p["data"][kind] for p in having], f"per_image.npz {kind}")
        results[kind] = build[kind](data)
        cov[kind] = {"subset": list(subset), "covered": covered, "missing": missing}
    merged_from = [{"run": Path(p["run"]).name, "part": p["meta"]["coverage"].get("part"),
                    "experiments": {k: list(v) for k, v in p["ranges"].items()}} for p in parts]
    header, warnings = _header(parts)
    return header, results, {"part": None, "merged_from": merged_from, "experiments": cov} \
        | ({"warnings": warnings} if warnings else {})


def run(args) -> int:
    """Validate and load every run, pool, then write (all-or-nothing)."""
    from archsim.errors import ConfigError
    from archsim.outdir import check_output_dir, output_dir
    from archsim.robustness.report import write_results
    out = check_output_dir(args.out)
    for r in args.runs:
        if Path(r).resolve() == out:
            raise ConfigError(f"--out: {args.out} is one of the runs being merged")
    header, results, cov = merge(args.runs, args.allow_missing)
    with output_dir(args.out) as tmp:
        written = write_results(tmp, header, results, cov)
    missing = [k for k, c in cov["experiments"].items() if c["missing"]]
    for w in cov.get("warnings", []):
        print(f"archsim robustness-merge: warning: {w}", file=sys.stderr)
    print(f"archsim robustness-merge: pooled {len(args.runs)} runs into {len(written)} files "
          f"in {args.out}" + (f" (incomplete: {', '.join(missing)})" if missing else ""))
    return 0
