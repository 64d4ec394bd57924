"""Write robustness results: results.json (config, definitions, tables), CSVs, report.md,
plots."""
from __future__ import annotations

from pathlib import Path

from archsim.results import write_csv, write_json
from archsim.robustness import claims as claims_mod
from archsim.robustness import metrics
from archsim.robustness.attacks import ATTACKS
from archsim.robustness.markdown import render


WHITEBOX_COLUMNS = ["dataset", "model", "attack", "norm", "eps", "n", "fooled", "success",
                    "ci_low", "ci_high"]   # the Interface's leading columns, then the rest


def _csv(path: Path, rows: list[dict], first: list[str] | None = None) -> Path | None:
    if not rows:
        return None
    cols = list(first or []) + [c for c in rows[0] if c not in (first or [])]
    return write_csv(path, rows, cols)


def run_header(config, target, proxy, runner=None) -> dict:
    """results.json's fields other than `results` and the part's coverage."""
    return {
        "name": config.name,
        "config": config.raw,
        "dataset": config.dataset,
        "approximate_variant": config.approximate,
        "networks": {"target": {"architecture": config.target.architecture,
                                "weights": config.target.weights.name, "macs": target.macs}}
        | ({"proxy": {"architecture": config.proxy.architecture,
                      "weights": config.proxy.weights.name, "macs": proxy.macs}}
           if proxy else {}),
        "definitions": metrics.DEFINITIONS | {"verdicts": claims_mod.__doc__},
        "controls": [str(c) for c in config.controls],
        "control_layer_stats": getattr(runner, "layer_stats", {}) if runner else {},
        "attack_defaults": {k: {"art_class": a.art_class, "defaults": dict(a.defaults)}
                            for k, a in ATTACKS.items()},
    }


def coverage(config, part: tuple[int, int] | None) -> dict:
    """Which images of each experiment's subset a run covered: {kind: {subset, covered}} as
    half-open test-set index ranges, plus the part (K, N) for a split run."""
    from archsim.robustness.parts import span
    out = {"part": list(part) if part else None, "experiments": {}}
    for exp in config.experiments:
        lo, hi = span(exp.images, part)
        out["experiments"][exp.kind] = {
            "subset": [exp.offset, exp.offset + exp.images],
            "covered": [[exp.offset + lo, exp.offset + hi]], "missing": []}
    return out


def _coverage_lines(cov: dict) -> list[str]:
    """report.md lines stating a split or merged run's coverage (none for a whole run)."""
    exps = cov["experiments"]
    whole = all(c["covered"] == [c["subset"]] for c in exps.values())
    if whole and cov.get("part") is None and not cov.get("merged_from"):
        return []
    head = f"Part {cov['part'][0]}/{cov['part'][1]} of a split run" if cov.get("part") else \
        f"Merged from {len(cov.get('merged_from', []))} runs"
    lines = ["## Coverage", "", head + " (test-set index ranges, half-open):", ""]
    for kind, c in exps.items():
        cov_txt = ", ".join(f"[{a}, {b})" for a, b in c["covered"])
        miss = ", ".join(f"[{a}, {b})" for a, b in c["missing"])
        lines.append(f"- {kind}: subset [{c['subset'][0]}, {c['subset'][1]}), covered {cov_txt}"
                     + (f"; **missing {miss}** (the tables cover only the images present)"
                        if miss else ""))
    lines += [f"- warning: {w}" for w in cov.get("warnings", [])]
    return lines + [""]


def write_results(out: Path, header: dict, results: dict[str, dict],
                  cov: dict | None = None) -> list[Path]:
    """All result files into `out` (CSVs, claims.csv, results.json, per_image.npz, report.md,
    figures); returns their paths. `header`: see run_header; `cov`: see coverage."""
    from archsim.robustness.parts import PER_IMAGE, save_per_image
    from archsim.robustness.plots import plot_all
    written = []
    for kind, result in results.items():
        written.append(_csv(out / f"{kind}.csv", result["rows"],
                            WHITEBOX_COLUMNS if kind == "whitebox" else None))
        if result.get("proxy_rows"):
            written.append(_csv(out / f"{kind}_proxy.csv", result["proxy_rows"]))
        if result.get("curves"):
            written.append(_csv(out / "curves.csv", result["curves"]))
    claim_rows = claims_mod.claims(header["dataset"], header["approximate_variant"], results)
    written.append(write_csv(out / "claims.csv", claim_rows, claims_mod.COLUMNS))
    payload = header | {"results": {k: {"subset": r["subset"], "summary": r["summary"]}
                                    for k, r in results.items()}}
    if cov is not None:
        payload["coverage"] = cov
    written.append(write_json(out / "results.json", payload))
    written.append(save_per_image(out / PER_IMAGE, {k: r["data"] for k, r in results.items()}))
    figures = plot_all(results, out)
    report = out / "report.md"
    text = render(header["name"], header["approximate_variant"], results, claim_rows)
    if cov is not None and (lines := _coverage_lines(cov)):
        text = text.rstrip() + "\n\n" + "\n".join(lines).rstrip() + "\n"
    if figures:
        text += "\n## Figures\n\n" + "".join(f"![{p.stem}]({p.name})\n" for p in figures)
    report.write_text(text, encoding="utf-8")
    written.append(report)
    written.extend(figures)
    return [p for p in written if p is not None]
