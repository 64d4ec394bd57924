"""Write robustness results: results.json (config, definitions, tables), CSVs, report.md,
plots."""
from __future__ import annotations

from pathlib import Path

from archsim.results import write_csv, write_json
from archsim.robustness import metrics
from archsim.robustness.attacks import ATTACKS
from archsim.robustness.markdown import render


def _csv(path: Path, rows: list[dict]) -> Path | None:
    if not rows:
        return None
    return write_csv(path, rows, list(rows[0]))


def write_results(out: Path, config, target, proxy, results: dict[str, dict]) -> list[Path]:
    """All result files into `out`; returns their paths."""
    from archsim.robustness.plots import plot_all
    written = []
    for kind, result in results.items():
        written.append(_csv(out / f"{kind}.csv", result["rows"]))
        if result.get("proxy_rows"):
            written.append(_csv(out / f"{kind}_proxy.csv", result["proxy_rows"]))
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
        "definitions": metrics.DEFINITIONS,
        "attack_defaults": {k: {"art_class": a.art_class, "defaults": dict(a.defaults)}
                            for k, a in ATTACKS.items()},
        "results": {k: {"subset": r["subset"], "summary": r["summary"]} for k, r in
                    results.items()},
    }
    written.append(write_json(out / "results.json", payload))
    report = out / "report.md"
    report.write_text(render(config.name, config.approximate, results), encoding="utf-8")
    written.append(report)
    written.extend(plot_all(results, out))
    return [p for p in written if p is not None]
