"""report.md: every robustness table as Markdown, rendered from the same rows as the CSVs.

Numbers are formatted, never recomputed: rates as percentages with one decimal, lengths with
three significant decimals. The mean reduction of attack success and the paired PSNR gap are
copied from the experiment summaries (computed in threats.py).
"""
from __future__ import annotations

import math

PCT, NUM, INT, TXT = "pct", "num", "int", "txt"

# table key -> [(row column, heading, cell format)]; black-box has two tables (proxy, decision)
_TRANSFER = [("attack", "attack", TXT), ("eligible", "eligible", INT),
             ("fooled_exact", "fooled exact", INT), ("fooled_approx", "fooled approx", INT),
             ("success_rate_exact", "success exact", PCT),
             ("success_rate_approx", "success approx", PCT),
             ("transfer_rate", "transfer rate", PCT), ("success_reduction", "reduction", PCT),
             ("mean_l2", "mean L2", NUM), ("mean_linf", "mean Linf", NUM)]
TABLES = {
    "clean": [("variant", "model", TXT), ("images", "images", INT),
              ("correct", "correct", INT), ("accuracy", "accuracy", PCT)],
    "noise": [("sigma", "sigma", NUM), ("variant", "model", TXT), ("images", "images", INT),
              ("accuracy", "accuracy", PCT)],
    "transfer": _TRANSFER,
    "blackbox_proxy": _TRANSFER,
    "blackbox": [("attack", "attack", TXT), ("model", "model", TXT),
                 ("images", "images", INT), ("query_budget", "query budget", INT),
                 ("success_rate", "success", PCT), ("median_l2", "median L2", NUM),
                 ("mean_queries", "mean queries", NUM)],
    "whitebox": [("attack", "attack", TXT), ("model", "model", TXT),
                 ("eligible", "eligible", INT), ("success_rate", "success", PCT),
                 ("mean_l2", "mean L2 (fooled)", NUM),
                 ("mean_psnr_db", "mean PSNR dB (fooled)", NUM)],
}
TITLES = {"clean": "Clean accuracy", "confidence": "Confidence (images both classify correctly)",
          "noise": "Gaussian noise", "transfer": "Transferability (crafted on the exact network)",
          "blackbox_proxy": "Black-box: crafted on the attacker's proxy",
          "blackbox": "Black-box: decision-based, on each model", "whitebox": "White-box (BPDA)"}


def fmt(value, kind: str) -> str:
    """One table cell."""
    if kind == TXT:
        return str(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == INT:
        return str(int(value))
    if kind == PCT:
        return f"{100 * value:.1f} %"
    return f"{value:.3f}"


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> list[str]:
    """Markdown lines of one table (columns missing from the rows are left out)."""
    cols = [c for c in columns if rows and c[0] in rows[0]]
    lines = ["| " + " | ".join(h for _, h, _ in cols) + " |",
             "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r[k], f) for k, _, f in cols) + " |" for r in rows]
    return lines


def _summary_lines(kind: str, summary: dict) -> list[str]:
    if kind in ("transfer", "blackbox") and summary.get("runs_averaged"):
        return [f"Mean reduction of attack success over {summary['runs_averaged']} runs: "
                f"**{fmt(summary['mean_success_reduction'], PCT)}** "
                "(reduction = 1 - success(approx) / success(exact))."]
    if kind == "whitebox":
        return [f"- {label}: PSNR(exact) - PSNR(approx) = "
                f"{fmt(v['psnr_exact_minus_approx_db'], NUM)} dB over the "
                f"{v['images_both_fooled']} images fooled on both" for label, v in summary.items()]
    if kind == "confidence" and summary:
        conf_e, conf_a = summary["top1_conf_exact"], summary["top1_conf_approx"]
        mag = summary["logit_magnification"]
        return [f"Over {conf_e['count']} images: mean top-1 softmax confidence "
                f"{conf_e['mean']:.4f} exact, {conf_a['mean']:.4f} approx; approx more "
                f"confident on {fmt(summary['fraction_approx_more_confident'], PCT)}; logit "
                f"vectors {mag['mean']:.2f}x longer (median {mag['median']:.2f}, range "
                f"{mag['min']:.2f}-{mag['max']:.2f})."]
    return []


def _sections(kind: str, result: dict) -> list[tuple[str, list[dict], list[str]]]:
    """(table key, rows, summary lines) of one experiment; black-box has two tables."""
    summary = _summary_lines(kind, result["summary"])
    if kind != "blackbox":
        return [(kind, result["rows"] if kind in TABLES else [], summary)]
    proxy = result.get("proxy_rows") or []
    return ([("blackbox_proxy", proxy, summary)] if proxy else []) + \
        [("blackbox", result["rows"], [])]


def render(name: str, approximate: str, results: dict[str, dict]) -> str:
    """The whole report.md text."""
    out = [f"# Robustness report: {name}", "",
           f"approx = `{approximate}`; exact = float32 numpy inference. Definitions are in "
           "results.json.", ""]
    for kind, result in results.items():
        for key, rows, summary in _sections(kind, result):
            out += [f"## {TITLES[key]}", "", result["subset"], ""]
            out += (table(rows, TABLES[key]) + [""]) if rows else []
            out += (summary + [""]) if summary else []
    return "\n".join(out).rstrip() + "\n"
