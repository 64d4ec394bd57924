"""Plots of robustness results (matplotlib's OO API on Agg, imported lazily). Each function takes the
result of one experiment and a directory, saves one PNG, closes it and returns its path."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    from archsim.plotting import pyplot  # OO API on Agg: no global backend switch
    return pyplot


def _finish(plt, fig, ax, title: str, path: Path, legend_fontsize: int) -> Path:
    """Title, legend, tight layout, save at 120 dpi, close; returns the path."""
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=legend_fontsize)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _bars(path: Path, labels, series: dict[str, list[float]], ylabel: str, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(labels) + 2), 3.6))
    width = 0.8 / max(1, len(series))
    xs = np.arange(len(labels))
    for i, (name, vals) in enumerate(series.items()):
        ax.bar(xs + i * width, vals, width, label=name)
    ax.set_xticks(xs + width * (len(series) - 1) / 2, labels, rotation=45, ha="right",
                  fontsize=7)
    ax.set_ylabel(ylabel)
    return _finish(plt, fig, ax, title, path, 7)


def plot_clean(result: dict, out: Path) -> Path:
    """Clean accuracy per variant."""
    rows = result["rows"]
    return _bars(out / "clean_accuracy.png", [r["variant"] for r in rows],
                 {"accuracy": [r["accuracy"] for r in rows]}, "accuracy", result["subset"])


def plot_transfer(result: dict, out: Path, name: str = "transfer", key: str = "rows") -> Path:
    """Success rate per attack run (groups) and model (bars), first source model."""
    rows = result[key]
    source = rows[0]["source"]
    rows = [r for r in rows if r["source"] == source]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    value = {(r["label"], r["model"]): r["success"] for r in rows}
    return _bars(out / f"{name}_success.png", labels,
                 {m: [value[(a, m)] for a in labels] for m in models},
                 f"success rate (crafted on {source})", result["subset"])


def _per_model_bars(result: dict, path: Path, metric: str, ylabel: str) -> Path:
    """Grouped bars of one row metric per attack (groups) and model (bars)."""
    rows = result["rows"]
    labels = sorted({r["attack"] for r in rows})
    models = sorted({r["model"] for r in rows})
    value = {(r["attack"], r["model"]): r[metric] for r in rows}
    return _bars(path, labels, {m: [value[(a, m)] for a in labels] for m in models},
                 ylabel, result["subset"])


def plot_decision(result: dict, out: Path) -> Path:
    """Median L2 of the best adversarial found within the query budget, per model."""
    return _per_model_bars(result, out / "blackbox_decision_l2.png", "median_l2",
                           "median L2 at budget")


def plot_whitebox(result: dict, out: Path) -> Path:
    """Median minimal distance (bootstrap 95% interval) per attack and model (BPDA)."""
    plt = _plt()
    rows = [r for r in result["rows"] if r["eps"] == ""] or result["rows"]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) * len(models) / 3 + 2), 3.6))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        rs = [next(r for r in rows if r["label"] == a and r["model"] == m) for a in labels]
        mid = np.array([r["median_dist"] for r in rs], float)
        err = np.array([[r["median_dist"] - r["median_dist_ci_low"] for r in rs],
                        [r["median_dist_ci_high"] - r["median_dist"] for r in rs]], float)
        fin = np.isfinite(mid) & np.isfinite(err).all(axis=0)
        xs = np.arange(len(labels)) + i * width
        ax.bar(xs[fin], mid[fin], width, yerr=err[:, fin], capsize=2, label=m)
    ax.set_xticks(np.arange(len(labels)) + width * (len(models) - 1) / 2, labels, rotation=45,
                  ha="right", fontsize=7)
    ax.set_ylabel("median distance (failure = inf)")
    return _finish(plt, fig, ax, result["subset"], out / "whitebox_distance.png", 7)


def plot_curves(result: dict, out: Path) -> list[Path]:
    """Robustness curves: success vs eps per model (Wilson band), one figure per attack."""
    plt = _plt()
    paths = []
    curves = result["curves"]
    for attack, norm in dict.fromkeys((c["attack"], c["norm"]) for c in curves):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        pts = [c for c in curves if c["attack"] == attack and c["norm"] == norm]
        for m in dict.fromkeys(c["model"] for c in pts):
            cs = sorted((c for c in pts if c["model"] == m), key=lambda c: c["eps"])
            e = [c["eps"] for c in cs]
            ax.plot(e, [c["success"] for c in cs], marker="o", label=m)
            ax.fill_between(e, [c["ci_low"] for c in cs], [c["ci_high"] for c in cs], alpha=0.15)
        ax.set_xlabel(f"eps (L{norm})")
        ax.set_ylabel("success rate")
        paths.append(_finish(plt, fig, ax, f"{attack} L{norm}: {result['subset']}",
                             out / f"curve_{attack}_L{norm}.png", 7))
    return paths


def plot_confidence(result: dict, out: Path) -> Path:
    """Empirical CDF of top-1 confidence, exact vs approximate (images both classify right)."""
    plt = _plt()
    rows = [r for r in result["rows"] if r["both_correct"]]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for key, name in (("top1_conf_exact", "exact"), ("top1_conf_approx", "approximate")):
        v = np.sort([r[key] for r in rows])
        ax.step(v, np.arange(1, len(v) + 1) / max(1, len(v)), where="post", label=name)
    ax.set_xlabel("top-1 softmax confidence")
    ax.set_ylabel("fraction of images <= x")
    return _finish(plt, fig, ax, result["subset"], out / "confidence_cdf.png", 8)


def plot_noise(result: dict, out: Path) -> Path:
    """Accuracy vs Gaussian noise sigma per model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for variant in sorted({r["variant"] for r in result["rows"]}):
        pts = [(r["sigma"], r["accuracy"]) for r in result["rows"] if r["variant"] == variant]
        ax.plot(*zip(*pts), marker="o", label=variant)
    ax.set_xlabel("noise sigma (pixels in [0, 1])")
    ax.set_ylabel("accuracy")
    return _finish(plt, fig, ax, result["subset"], out / "noise_accuracy.png", 8)


def plot_all(results: dict[str, dict], out: Path) -> list[Path]:
    """Every plot the results allow."""
    paths = []
    simple = {"clean": plot_clean, "confidence": plot_confidence, "noise": plot_noise,
              "whitebox": plot_whitebox}
    for kind, result in results.items():
        if kind in simple and result["rows"]:
            paths.append(simple[kind](result, out))
        elif kind == "transfer" and result["rows"]:
            paths.append(plot_transfer(result, out))
        if kind == "whitebox" and result.get("curves"):
            paths.extend(plot_curves(result, out))
        elif kind == "blackbox":
            if result["proxy_rows"]:
                paths.append(plot_transfer(result, out, "blackbox_proxy", "proxy_rows"))
            if result["rows"]:
                paths.append(plot_decision(result, out))
    return paths
