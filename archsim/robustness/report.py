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


def write_results(out: Path, config, target, proxy, results: dict[str, dict],
                  runner=None) -> list[Path]:
    """All result files into `out`; returns their paths."""
    from archsim.robustness.plots import plot_all
    written = []
    for kind, result in results.items():
        written.append(_csv(out / f"{kind}.csv", result["rows"],
                            WHITEBOX_COLUMNS if kind == "whitebox" else None))
        if result.get("proxy_rows"):
            written.append(_csv(out / f"{kind}_proxy.csv", result["proxy_rows"]))
        if result.get("curves"):
            written.append(_csv(out / "curves.csv", result["curves"]))
    claim_rows = claims_mod.claims(config.dataset, config.approximate, results)
    written.append(write_csv(out / "claims.csv", claim_rows, claims_mod.COLUMNS))
    payload = {
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
        "results": {k: {"subset": r["subset"], "summary": r["summary"]} for k, r in
                    results.items()},
    }
    written.append(write_json(out / "results.json", payload))
    figures = plot_all(results, out)
    report = out / "report.md"
    text = render(config.name, config.approximate, results, claim_rows)
    if figures:
        text += "\n## Figures\n\n" + "".join(f"![{p.stem}]({p.name})\n" for p in figures)
    report.write_text(text, encoding="utf-8")
    written.append(report)
    written.extend(figures)
    return [p for p in written if p is not None]
