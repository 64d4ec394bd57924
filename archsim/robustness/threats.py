"""The three threat models: transferability, black-box, and white-box (BPDA).

- transfer: ART gradient attacks crafted on the exact target network, evaluated on the exact
  and on the approximate network (the paper's first threat model);
- blackbox: (a) attacks crafted on the attacker's own proxy network, evaluated on the target
  exact and approximate; (b) decision-based attacks run on each target network directly,
  predict-only, with a hard query budget per image;
- whitebox: C&W-L2 / DeepFool (any gradient attack) on the exact network and, through BPDA,
  on the approximate one; the perturbation each needs (L2, MSE, PSNR).
"""
from __future__ import annotations

import numpy as np

from archsim.nn.network import labels_of
from archsim.robustness import metrics
from archsim.robustness.attacks import (BudgetExhausted, QueryBudget, make_attack,
                                        require_art, torch_classifier)
from archsim.robustness.config import ExperimentConfig
from archsim.robustness.experiments import FLOAT32, Runner, subset_note


def _classifier(runner: Runner, net, multiplier=None):
    from archsim.nn.torch_bridge import torch_module
    return torch_classifier(torch_module(net, multiplier), net.input_shape,
                            runner.test.num_classes)


def _craft(runner: Runner, attack: str, kwargs: dict, clf, x: np.ndarray, y: np.ndarray):
    """ART adversarial examples (untargeted; JSMA gets seeded random wrong target classes)."""
    if len(x) == 0:  # no eligible image: ART cannot generate from an empty batch
        return np.empty_like(x, dtype=np.float32)
    runner.seed_libraries()
    atk = make_attack(attack, kwargs, clf, batch_size=min(runner.config.batch_size, 128))
    if attack == "jsma":
        k = runner.test.num_classes
        target = (y + runner.rng(7).integers(1, k, size=len(y))) % k
        return atk.generate(x, y=np.eye(k, dtype=np.float32)[target]).astype(np.float32)
    return atk.generate(x).astype(np.float32)


def _evaluate(runner: Runner, exp: ExperimentConfig, label: str, x_adv, sub, extra: dict):
    clean_e = labels_of(runner.clean_logits(FLOAT32, exp))
    clean_a = labels_of(runner.clean_logits(runner.config.approximate, exp))
    adv_e = labels_of(runner.logits(FLOAT32, x_adv))
    adv_a = labels_of(runner.logits(runner.config.approximate, x_adv))
    pert = metrics.perturbation(x_adv, sub.x)
    row = {"attack": label} | extra | metrics.success_stats(sub.y, clean_e, clean_a, adv_e, adv_a)
    runner.note(f"{exp.kind} {label} ({extra['crafted_on']}): fooled {row['fooled_exact']} exact, "
                f"{row['fooled_approx']} approx of {row['eligible']} eligible")
    return row | {"mean_l2": float(pert["l2"].mean()), "mean_linf": float(pert["linf"].mean())}


def run_transfer(runner: Runner, exp: ExperimentConfig) -> dict:
    """Examples crafted on the exact network; success on exact vs approximate."""
    require_art("the transfer experiment")
    sub = runner.subset(exp)
    clf = _classifier(runner, runner.target)
    rows = []
    for spec in exp.attacks:
        for label, kwargs in spec.runs():
            x_adv = _craft(runner, spec.name, kwargs, clf, sub.x, sub.y)
            rows.append(_evaluate(runner, exp, label, x_adv, sub, {"crafted_on": "target-exact"}))
    return {"rows": rows, "subset": subset_note(sub), "summary": _mean_reduction(rows)}


def _mean_reduction(rows: list[dict]) -> dict:
    red = [r["success_reduction"] for r in rows if np.isfinite(r["success_reduction"])]
    return {"mean_success_reduction": float(np.mean(red)) if red else float("nan"),
            "runs_averaged": len(red)}


def seeded_start(predict, rng: np.random.Generator, x: np.ndarray, label: int,
                 trials: int) -> np.ndarray | None:
    """A uniform-noise image the model misclassifies, drawn from our seeded generator (one query
    per candidate, as ART's own search does); None if none within `trials` draws."""
    for _ in range(trials):
        cand = rng.uniform(0.0, 1.0, size=x.shape).astype(np.float32)
        if int(np.argmax(predict(cand[None])[0])) != label:
            return cand
    return None


def _decision_attack(runner, exp, spec, label, kwargs, variant, sub, eligible) -> dict:
    """One decision-based attack per eligible image on `variant`, hard query budget."""
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork
    budget = QueryBudget(lambda x: runner.logits(variant, x), exp.query_budget)
    clf = BlackBoxClassifierNeuralNetwork(budget, runner.target.input_shape,
                                          runner.test.num_classes, clip_values=(0.0, 1.0))
    k = runner.test.num_classes
    found, l2, used = [], [], []
    for i in np.flatnonzero(eligible)[:exp.decision_images]:
        budget.reset(sub.x[i], int(sub.y[i]))
        runner.seed_libraries()
        atk = make_attack(spec.name, kwargs, clf, batch_size=64)
        if spec.name == "boundary":
            atk.targeted = False  # ART's BoundaryAttack defaults to targeted
        try:
            extra = {}
            if spec.name in ("hopskipjump", "boundary"):  # ART: unseeded RandomState start
                start = seeded_start(budget, runner.rng(1000 + int(i)), sub.x[i], int(sub.y[i]),
                                     atk.init_size)
                extra = {"x_adv_init": start[None]} if start is not None else None
            if extra is not None:
                atk.generate(sub.x[i:i + 1], y=np.eye(k, dtype=np.float32)[sub.y[i:i + 1]],
                             **extra)
        except BudgetExhausted:
            pass
        found.append(budget.best is not None)
        l2.append(budget.best_l2)
        used.append(budget.used)
    l2a = np.array(l2)
    runner.note(f"{exp.kind} {label} on {variant}: {sum(found)}/{len(found)} fooled within "
                f"{exp.query_budget} queries")
    return {"attack": label, "model": variant, "query_budget": exp.query_budget,
            "images": len(found), "success_rate": float(np.mean(found)),
            "median_l2": metrics.summary(l2a)["median"], "mean_l2": metrics.summary(l2a)["mean"],
            "mean_queries": float(np.mean(used))}


def run_blackbox(runner: Runner, exp: ExperimentConfig) -> dict:
    """Proxy-model transfer, and decision-based attacks on each target within a budget."""
    require_art("the blackbox experiment")
    sub = runner.subset(exp)
    proxy_rows = []
    if exp.proxy_attacks:
        clf = _classifier(runner, runner.proxy)
        for spec in exp.proxy_attacks:
            for label, kwargs in spec.runs():
                x_adv = _craft(runner, spec.name, kwargs, clf, sub.x, sub.y)
                proxy_rows.append(_evaluate(runner, exp, label, x_adv, sub,
                                            {"crafted_on": "proxy-exact"}))
    eligible = ((labels_of(runner.clean_logits(FLOAT32, exp)) == sub.y)
                & (labels_of(runner.clean_logits(runner.config.approximate, exp)) == sub.y))
    rows = [_decision_attack(runner, exp, spec, label, kwargs, variant, sub, eligible)
            for spec in exp.attacks for label, kwargs in spec.runs()
            for variant in (FLOAT32, runner.config.approximate)]
    return {"rows": rows, "proxy_rows": proxy_rows, "subset": subset_note(sub),
            "summary": _mean_reduction(proxy_rows)}


def run_whitebox(runner: Runner, exp: ExperimentConfig) -> dict:
    """Minimal-perturbation attacks on exact and (BPDA) approximate: L2, MSE, PSNR needed."""
    require_art("the whitebox experiment")
    sub = runner.subset(exp)
    approx = runner.config.approximate
    clfs = {FLOAT32: _classifier(runner, runner.target),
            approx: _classifier(runner, runner.target, runner.multiplier(approx))}
    eligible = ((labels_of(runner.clean_logits(FLOAT32, exp)) == sub.y)
                & (labels_of(runner.clean_logits(approx, exp)) == sub.y))
    x, y = sub.x[eligible], sub.y[eligible]
    rows, per_image = [], {}
    for spec in exp.attacks:
        for label, kwargs in spec.runs():
            for variant, clf in clfs.items():
                x_adv = _craft(runner, spec.name, kwargs, clf, x, y)
                ok = labels_of(runner.logits(variant, x_adv)) != y
                pert = metrics.perturbation(x_adv, x)
                per_image[(label, variant)] = (ok, pert["psnr_db"])
                runner.note(f"whitebox {label} on {variant}: {int(ok.sum())}/{len(y)} fooled")
                rows.append({"attack": label, "model": variant, "eligible": len(y),
                             "success_rate": float(ok.mean()) if len(y) else float("nan")}
                            | {f"mean_{k}": metrics.summary(v[ok])["mean"]
                               for k, v in pert.items() if k != "linf"})
    return {"rows": rows, "subset": subset_note(sub),
            "summary": _paired_psnr(per_image, approx)}


def _paired_psnr(per_image: dict, approx: str) -> dict:
    """Mean PSNR(exact) - PSNR(approx) over images both attacks fooled, per attack."""
    out = {}
    for label in sorted({lab for lab, _ in per_image}):
        ok_e, p_e = per_image[(label, FLOAT32)]
        ok_a, p_a = per_image[(label, approx)]
        both = ok_e & ok_a & np.isfinite(p_e) & np.isfinite(p_a)
        out[label] = {"images_both_fooled": int(both.sum()),
                      "psnr_exact_minus_approx_db": float((p_e[both] - p_a[both]).mean())
                      if both.any() else float("nan")}
    return out
