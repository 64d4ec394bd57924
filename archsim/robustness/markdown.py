"""report.md: every robustness table as Markdown, rendered from the same rows as the CSVs.

Numbers are formatted, never recomputed: rates as percentages with one decimal, lengths with
three significant decimals. The mean reduction of attack success and the paired PSNR gap are
copied from the experiment summaries (computed in threats.py).
"""
from __future__ import annotations

import math

PCT, NUM, INT, TXT = "pct", "num", "int", "txt"

# table key -> [(row column, heading, cell format)]; black-box has two tables (proxy, decision)
CI = "ci"   # a (low, high) pair of rate columns, shown as [lo, hi] %
_TRANSFER = [("source", "crafted on", TXT), ("label", "attack", TXT), ("model", "model", TXT),
             ("n", "n", INT), ("fooled", "fooled", INT), ("success", "success", PCT),
             (("ci_low", "ci_high"), "95% CI", CI), ("transfer_rate", "transfer rate", PCT),
             ("reduction_transfer", "1 - transfer", PCT),
             ("reduction_ratio", "1 - S/S_exact", PCT), ("mcnemar_p", "McNemar p vs exact", NUM)]
TABLES = {
    "clean": [("variant", "model", TXT), ("images", "images", INT),
              ("correct", "correct", INT), ("accuracy", "accuracy", PCT)],
    "noise": [("sigma", "sigma", NUM), ("variant", "model", TXT), ("images", "images", INT),
              ("accuracy", "accuracy", PCT)],
    "transfer": _TRANSFER,
    "blackbox_proxy": _TRANSFER,
    "blackbox": [("attack", "attack", TXT), ("model", "model", TXT),
                 ("images", "images", INT), ("query_budget", "query budget", INT),
                 ("success_rate", "success", PCT), (("ci_low", "ci_high"), "95% CI", CI),
                 ("median_l2", "median L2", NUM), ("mean_queries", "mean queries", NUM)],
    "whitebox": [("label", "attack", TXT), ("model", "model", TXT), ("n", "n", INT),
                 ("fooled", "fooled", INT), ("success", "success", PCT),
                 (("ci_low", "ci_high"), "95% CI", CI), ("mcnemar_p", "McNemar p vs exact", NUM),
                 ("median_dist", "median distance", NUM),
                 ("mean_psnr_db_fooled", "mean PSNR dB (fooled)", NUM)],
    "claims": [("claim", "claim", TXT), ("paper_value", "paper", NUM),
               ("archsim_value", "archsim", NUM), (("ci_low", "ci_high"), "95% CI", "ci-num"),
               ("verdict", "verdict", TXT)],
}
TITLES = {"clean": "Clean accuracy", "confidence": "Confidence (images both classify correctly)",
          "noise": "Gaussian noise", "transfer": "Transferability (crafted on the exact network)",
          "blackbox_proxy": "Black-box: crafted on the attacker's proxy",
          "blackbox": "Black-box: decision-based, on each model", "whitebox": "White-box (BPDA)",
          "claims": "Claims"}


def fmt(value, kind: str) -> str:
    """One table cell."""
    if kind == TXT:
        return str(value)
    if kind in (CI, "ci-num"):
        inner = PCT if kind == CI else NUM
        return f"[{fmt(value[0], inner)}, {fmt(value[1], inner)}]"
    if value == "":
        return "n/a"
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == INT:
        return str(int(value))
    if kind == PCT:
        return f"{100 * value:.1f} %"
    return f"{value:.3f}"


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> list[str]:
    """Markdown lines of one table (columns missing from the rows are left out)."""
    def has(k):
        return all(c in rows[0] for c in k) if isinstance(k, tuple) else k in rows[0]

    def get(r, k):
        return tuple(r[c] for c in k) if isinstance(k, tuple) else r[k]
    cols = [c for c in columns if rows and has(c[0])]
    lines = ["| " + " | ".join(h for _, h, _ in cols) + " |",
             "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(get(r, k), f) for k, _, f in cols) + " |" for r in rows]
    return lines


def _summary_lines(kind: str, summary: dict) -> list[str]:
    if kind in ("transfer", "blackbox") and summary:
        lines = ["Pooled over every attack run (counts summed, not ratios averaged). The paper's "
                 "reduction is 1 - transfer rate (share of the examples that fool the source "
                 "and do not fool the model); 1 - S/S_exact is the other definition.", ""]
        for v in summary.values():
            lo, hi = v["reduction_transfer_ci"]
            lines.append(f"- {v['source']} -> {v['model']}: {v['transferred']}/"
                         f"{v['fooled_source']} transferred, 1 - transfer rate "
                         f"**{fmt(v['reduction_transfer'], PCT)}** [{fmt(lo, PCT)}, "
                         f"{fmt(hi, PCT)}]; 1 - S/S_exact {fmt(v['reduction_ratio'], PCT)} "
                         f"({v['fooled']} vs {v['fooled_exact']} fooled of {v['attempts']})")
        return lines
    if kind == "whitebox":
        return [f"- {v['attack']}: PSNR(exact) - PSNR({v['model']}) = "
                f"{fmt(v['psnr_exact_minus_model_db'], NUM)} dB [{fmt(v['ci_low'], NUM)}, "
                f"{fmt(v['ci_high'], NUM)}] over the {v['images_both_fooled']} images fooled "
                "on both" for v in summary.values()]
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


ACCURACY_CONFOUND = 0.02   # clean-accuracy loss (fraction) from which the report names the confound


def _confound(approximate: str, clean: dict | None) -> list[str]:
    """A paragraph naming the accuracy confound when the approximate model loses at least
    ACCURACY_CONFOUND of clean accuracy against exact (from the clean experiment's rows)."""
    rows = {r["variant"]: r for r in (clean or {}).get("rows", [])}
    if "float32-numpy" not in rows or approximate not in rows:
        return []
    e, a = rows["float32-numpy"], rows[approximate]
    loss = e["accuracy"] - a["accuracy"]
    if not loss >= ACCURACY_CONFOUND:
        return []
    return ["## Confound: the approximate model's accuracy", "",
            f"`{approximate}` classifies {fmt(a['accuracy'], PCT)} of {a['images']} clean test "
            f"images correctly, exact {fmt(e['accuracy'], PCT)} ({100 * loss:.1f} points "
            "fewer). Every attack statistic is computed on eligible images only (correct on "
            "exact, on the approximate model and, where stated, on every control): a subset "
            f"selected by `{approximate}`'s errors, so its rates are conditional on that "
            "selection and do not describe the test set. A difference between "
            f"`{approximate}` and exact on it mixes the effect of approximate arithmetic with "
            "the effect of whatever made the model lose accuracy (its changed logits and "
            "margins, the images it drops): only what exceeds the controls that change the "
            "network without approximate arithmetic (scaled-like, noise-like) is attributed "
            "to the arithmetic.", ""]


def render(name: str, approximate: str, results: dict[str, dict],
           claims: list[dict] | None = None) -> str:
    """The whole report.md text (claims first, when given)."""
    out = [f"# Robustness report: {name}", "",
           f"approx = `{approximate}`; exact = float32 numpy inference. Definitions are in "
           "results.json.", ""]
    if claims:
        out += ["## Claims", "", "Verdict rules: results.json `definitions.verdicts`. "
                "Intervals are 95%.", ""] + table(claims, TABLES["claims"]) + [""]
    out += _confound(approximate, results.get("clean"))
    for kind, result in results.items():
        for key, rows, summary in _sections(kind, result):
            out += [f"## {TITLES[key]}", "", result["subset"], ""]
            out += (table(rows, TABLES[key]) + [""]) if rows else []
            out += (summary + [""]) if summary else []
    return "\n".join(out).rstrip() + "\n"
