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
from archsim.robustness import stats as st
from archsim.robustness.attacks import (MIN_NORM, BudgetExhausted, QueryBudget, make_attack,
                                        require_art, torch_classifier)
from archsim.robustness.config import ExperimentConfig
from archsim.robustness.experiments import FLOAT32, Runner


def _classifier(runner: Runner, net, multiplier=None, loss: str = "ce"):
    from archsim.nn.torch_bridge import torch_module
    return torch_classifier(torch_module(net, multiplier, trainable=False), net.input_shape,
                            runner.test.num_classes, loss)


def model_classifier(runner: Runner, name: str, loss: str = "ce"):
    """ART classifier of a named model: exact torch, or BPDA through its multiplier."""
    m = runner.model(name)
    return _classifier(runner, m.net, runner.multiplier(m.variant or FLOAT32), loss)


def _source_net(runner: Runner, source: str):
    if source == "target":
        return runner.target
    if source == "proxy":
        return runner.proxy
    return runner.surrogates[source]


def _craft(runner: Runner, attack: str, kwargs: dict, clf, x: np.ndarray, y: np.ndarray,
           restart: int = 0):
    """Adversarial examples (untargeted, true labels given; JSMA gets seeded random wrong
    targets; DDN is archsim's own, on the classifier's torch module)."""
    if len(x) == 0:  # no eligible image: ART cannot generate from an empty batch
        return np.empty_like(x, dtype=np.float32)
    runner.seed_libraries(restart)
    k = runner.test.num_classes
    if attack == "ddn":
        from archsim.robustness.adaptive import ddn
        kw = dict(kwargs)
        return ddn(clf.model, x, y, steps=kw["steps"], init_eps=kw["init_eps"],
                   gamma=kw["gamma"], loss=kw["loss"], confidence=kw["confidence"],
                   batch_size=min(runner.config.batch_size, 128))
    atk = make_attack(attack, kwargs, clf, batch_size=min(runner.config.batch_size, 128))
    if attack == "jsma":
        target = (y + runner.rng(7).integers(1, k, size=len(y))) % k
        return atk.generate(x, y=np.eye(k, dtype=np.float32)[target]).astype(np.float32)
    return atk.generate(x, y=np.eye(k, dtype=np.float32)[y]).astype(np.float32)


def _fooled(runner: Runner, name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return labels_of(runner.logits(name, x)) != y if len(y) else np.zeros(0, bool)


def _eligible(runner: Runner, exp: ExperimentConfig, names) -> np.ndarray:
    """Images (of this run's range) every named model classifies correctly when clean
    (paired comparisons)."""
    _, y = runner.part_x(exp)
    ok = np.ones(len(y), bool)
    for name in names:
        ok &= labels_of(runner.clean_logits(name, exp)) == y
    return ok


def _models_of(runner: Runner, exp: ExperimentConfig) -> list[str]:
    names = list(exp.models) or list(runner.models())
    for n in names:
        runner.model(n)
    if FLOAT32 not in names:
        names.insert(0, FLOAT32)
    return names


def _attack_meta(spec_name: str, kwargs: dict) -> dict:
    norm = kwargs.get("norm", 2 if spec_name in ("cw", "deepfool", "ddn") else np.inf)
    loss = {"cross_entropy": "ce", "difference_logits_ratio": "dlr"}.get(
        kwargs.get("loss_type"), kwargs.get("loss", ""))   # APGD's own loss wins when set
    return {"attack": spec_name + (f"-{loss}" if loss else ""),
            "norm": "inf" if norm == np.inf else str(int(norm)),
            "eps": float(kwargs["eps"]) if "eps" in kwargs and spec_name not in
            ("cw", "deepfool", "ddn") else "",
            "confidence": kwargs.get("confidence", ""),
            "steps": kwargs.get("max_iter", kwargs.get("steps", "")),
            "restarts": kwargs.get("num_random_init", kwargs.get("nb_random_init", ""))}


def _rate(k: int, n: int) -> dict:
    lo, hi = st.wilson(k, n)
    return {"success": st.ratio(k, n), "ci_low": lo, "ci_high": hi}


def run_transfer(runner: Runner, exp: ExperimentConfig) -> dict:
    """Examples crafted on each source model (exact target, proxy, surrogates), evaluated on
    every model, on the images all of them (and the source) classify correctly."""
    require_art("the transfer experiment")
    return build_transfer(transfer_data(runner, exp))


def transfer_data(runner: Runner, exp: ExperimentConfig, sources=None, attacks=None) -> dict:
    """Per-image outcomes of the transfer runs: per (source, attack run) the test indices of
    the images attacked, whether each example fools the source and each model, its L2/Linf."""
    xs, ys = runner.part_x(exp)
    index = runner.indices(exp)
    names = _models_of(runner, exp)
    elig = _eligible(runner, exp, names)
    runs = []
    for source in sources or exp.sources:
        net = _source_net(runner, source)
        ok = elig & (labels_of(runner.logits(FLOAT32, xs, net=net)) == ys)
        x, y = xs[ok], ys[ok]
        for spec in attacks or exp.attacks:
            for label, kwargs in spec.runs():
                clf = _classifier(runner, net, None, kwargs.get("loss", "ce"))
                x_adv = _craft(runner, spec.name, kwargs, clf, x, y)
                f_src = _fooled(runner, FLOAT32, x_adv, y) if source == "target" else \
                    labels_of(runner.logits(FLOAT32, x_adv, net=net)) != y
                fooled = [_fooled(runner, n, x_adv, y) for n in names]
                pert = metrics.perturbation(x_adv, x)
                runs.append({"source": source, "label": label,
                             "meta": _attack_meta(spec.name, kwargs), "index": index[ok],
                             "fooled_source": f_src, "fooled": fooled, "l2": pert["l2"],
                             "linf": pert["linf"]})
                runner.note(f"{exp.kind} {label} from {source}: fooled " + ", ".join(
                    f"{n} {int(f.sum())}" for n, f in zip(names, fooled)) + f" of {len(y)}")
    return {"dataset": runner.config.dataset, "subset": runner.subset_note(exp),
            "names": names, "runs": runs}


def build_transfer(data: dict) -> dict:
    """Rows (one per source, attack run and model) and pooled summary of transfer data."""
    rows = []
    for run in data["runs"]:
        fooled = dict(zip(data["names"], run["fooled"]))
        f_src, n_img = run["fooled_source"], len(run["fooled_source"])
        for n, f in fooled.items():
            pair = st.paired(fooled[FLOAT32], f)
            tr_k, tr_n = int((f & f_src).sum()), int(f_src.sum())
            tr_lo, tr_hi = st.wilson(tr_k, tr_n)
            se, sm = st.ratio(fooled[FLOAT32].sum(), n_img), st.ratio(f.sum(), n_img)
            rows.append({"dataset": data["dataset"], "source": run["source"],
                         "label": run["label"]} | run["meta"]
                        | {"model": n, "n": n_img, "fooled_source": int(f_src.sum()),
                           "fooled": int(f.sum())} | _rate(int(f.sum()), n_img)
                        | {"transferred": tr_k, "transfer_rate": st.ratio(tr_k, tr_n),
                           "transfer_ci_low": tr_lo, "transfer_ci_high": tr_hi,
                           "reduction_ratio": 1 - sm / se if se else float("nan"),
                           "reduction_transfer": 1 - st.ratio(tr_k, tr_n),
                           "exact_only": pair["a_only"], "model_only": pair["b_only"],
                           "mcnemar_p": pair["mcnemar_p"],
                           "mean_l2": metrics.summary(run["l2"])["mean"],
                           "mean_linf": metrics.summary(run["linf"])["mean"]})
    return {"rows": rows, "subset": data["subset"], "summary": pooled_reductions(rows),
            "data": data}


def pooled_reductions(rows: list[dict]) -> dict:
    """Per (source, model): counts pooled over every attack run (not ratios averaged), with
    both reduction definitions and Wilson intervals. `reduction_transfer` (1 - transfer rate
    of the examples that fool the source) is the paper's wording; `reduction_ratio` is
    1 - S_model / S_exact from pooled counts."""
    out = {}
    for key in sorted({(r["source"], r["model"]) for r in rows}):
        rs = [r for r in rows if (r["source"], r["model"]) == key]
        ex = {(r["label"]) for r in rs}
        exact = [r for r in rows if r["source"] == key[0] and r["model"] == FLOAT32
                 and r["label"] in ex]
        k, n = st.pooled(rs, "fooled", "n")
        ke, _ = st.pooled(exact, "fooled", "n")
        tk, tn = st.pooled(rs, "transferred", "fooled_source")
        lo, hi = st.wilson(tk, tn)
        e_only, m_only = st.pooled(rs, "exact_only", "model_only")
        out[f"{key[0]}->{key[1]}"] = {
            "source": key[0], "model": key[1], "runs": len(rs), "attempts": n, "fooled": k,
            "fooled_exact": ke, "fooled_source": tn, "transferred": tk,
            "reduction_ratio": 1 - k / ke if ke else float("nan"),
            "reduction_transfer": 1 - st.ratio(tk, tn),
            "reduction_transfer_ci": [1 - hi, 1 - lo],
            "exact_only": e_only, "model_only": m_only,
            "mcnemar_p": st.mcnemar_exact(e_only, m_only)}
    return out


def seeded_start(predict, rng: np.random.Generator, x: np.ndarray, label: int,
                 trials: int) -> np.ndarray | None:
    """A uniform-noise image the model misclassifies, drawn from our seeded generator (one query
    per candidate, as ART's own search does); None if none within `trials` draws."""
    for _ in range(trials):
        cand = rng.uniform(0.0, 1.0, size=x.shape).astype(np.float32)
        if int(np.argmax(predict(cand[None])[0])) != label:
            return cand
    return None


def _decision_attack(runner, exp, spec, label, kwargs, variant, chosen) -> dict:
    """One decision-based attack per eligible image on `variant`, hard query budget. Success
    counts only adversarial queries the attack itself made: our seeded noise start (and the
    draws that found it) count against the budget but never as the attack's result.
    `chosen`: the subset positions to attack; returns their per-image outcomes."""
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork
    budget = QueryBudget(lambda x: runner.logits(variant, x), exp.query_budget)
    clf = BlackBoxClassifierNeuralNetwork(budget, runner.target.input_shape,
                                          runner.test.num_classes, clip_values=(0.0, 1.0))
    k = runner.test.num_classes
    found, l2, used = [], [], []
    xs = runner.test.x[exp.offset:exp.offset + exp.images]
    ys = runner.test.y[exp.offset:exp.offset + exp.images]
    for i in chosen:
        budget.reset(xs[i], int(ys[i]))
        runner.seed_libraries()
        atk = make_attack(spec.name, kwargs, clf, batch_size=64)
        if spec.name == "boundary":
            atk.targeted = False  # ART's BoundaryAttack defaults to targeted
        try:
            extra = {}
            if spec.name in ("hopskipjump", "boundary"):  # ART: unseeded RandomState start
                budget.tracking = False
                start = seeded_start(budget, runner.rng(1000 + int(i)), xs[i], int(ys[i]),
                                     atk.init_size)
                budget.starting_point(start)
                extra = {"x_adv_init": start[None]} if start is not None else None
            if extra is not None:
                atk.generate(xs[i:i + 1], y=np.eye(k, dtype=np.float32)[ys[i:i + 1]],
                             **extra)
        except BudgetExhausted:
            pass
        found.append(budget.best is not None)
        l2.append(budget.best_l2)
        used.append(budget.used)
    runner.note(f"{exp.kind} {label} on {variant}: {sum(found)}/{len(found)} fooled within "
                f"{exp.query_budget} queries")
    return {"label": label, "model": variant,
            "index": np.asarray(exp.offset + np.asarray(chosen, np.int64), np.int64),
            "found": np.array(found, bool), "best_l2": np.array(l2, np.float64),
            "queries": np.array(used, np.int64)}


def _decision_row(data: dict, run: dict) -> dict:
    """One decision-based row (attack, model) from its per-image outcomes."""
    found, used = run["found"], run["queries"]
    med, lo, hi = st.bootstrap_ci(run["best_l2"], seed=data["seed"])
    return {"dataset": data["dataset"], "attack": run["label"], "model": run["model"],
            "query_budget": data["query_budget"], "images": len(found),
            "found": int(found.sum())} \
        | {"success_rate" if k_ == "success" else k_: v
           for k_, v in _rate(int(found.sum()), len(found)).items()} \
        | {"median_l2": med, "median_l2_ci_low": lo, "median_l2_ci_high": hi,
           "mean_queries": float(np.mean(used)) if len(used) else float("nan")}


def check_decision_images(runner: Runner, exp: ExperimentConfig) -> np.ndarray:
    """The eligible mask of the (whole) black-box subset; ConfigError if `decision_images`
    exceeds it. A part computes it on the whole subset too: the attacked images are the first
    `decision_images` eligible ones of the subset, whichever part they fall in."""
    y = runner.test.y[exp.offset:exp.offset + exp.images]
    eligible = ((labels_of(runner.clean_logits(FLOAT32, exp, whole=True)) == y)
                & (labels_of(runner.clean_logits(runner.config.approximate, exp, whole=True))
                   == y))
    if exp.attacks and exp.decision_images > int(eligible.sum()):
        from archsim.errors import ConfigError
        raise ConfigError(f"{runner.config.source}: experiments.blackbox.decision_images: "
                          f"{exp.decision_images} exceeds the {int(eligible.sum())} eligible "
                          "images of the subset")
    return eligible


def run_blackbox(runner: Runner, exp: ExperimentConfig) -> dict:
    """Proxy-model transfer, and decision-based attacks on each target within a budget."""
    require_art("the blackbox experiment")
    proxy = transfer_data(runner, exp, sources=("proxy",), attacks=exp.proxy_attacks) \
        if exp.proxy_attacks else None
    chosen = np.flatnonzero(check_decision_images(runner, exp))[:exp.decision_images]
    lo, hi = runner.span(exp)
    chosen = chosen[(chosen >= lo) & (chosen < hi)]
    runs = [_decision_attack(runner, exp, spec, label, kwargs, variant, chosen)
            for spec in exp.attacks for label, kwargs in spec.runs()
            for variant in (FLOAT32, runner.config.approximate)]
    return build_blackbox({"dataset": runner.config.dataset, "seed": runner.config.seed,
                           "subset": runner.subset_note(exp), "query_budget": exp.query_budget,
                           "proxy": proxy, "decision": runs})


def build_blackbox(data: dict) -> dict:
    """Proxy transfer rows and decision-based rows of black-box data."""
    proxy = build_transfer(data["proxy"]) if data["proxy"] else {"rows": [], "summary": {}}
    return {"rows": [_decision_row(data, run) for run in data["decision"]],
            "proxy_rows": proxy["rows"], "subset": data["subset"],
            "summary": proxy["summary"], "data": data}


RESTART_KEYS = ("num_random_init", "nb_random_init")


def _restarts(kwargs: dict) -> tuple[str | None, int]:
    """(the attack's random-restart parameter, its count) for attacks with random starts."""
    for key in RESTART_KEYS:
        if key in kwargs:
            return key, int(kwargs[key])
    return None, 0


def _attack_model(runner: Runner, spec_name: str, kwargs: dict, name: str, x: np.ndarray,
                  y: np.ndarray, start: np.ndarray | None = None,
                  done: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_adv, fooled) of one attack run on one model. Only images not in `done` are attacked
    (the others keep `start`, an adversarial example already found within this run's budget);
    with R > 1 random starts the attack runs one start at a time (seed + r), each on the
    images no earlier start fooled, as ART keeps a later start's result only where it
    succeeds: the same attack with less work on images already fooled."""
    clf = model_classifier(runner, name, kwargs.get("loss", "ce"))
    x_adv = np.array(x if start is None else start, dtype=np.float32, copy=True)
    fooled = np.zeros(len(y), bool) if done is None else done.copy()
    key, starts = _restarts(kwargs)
    for r in range(max(1, starts) if key else 1):
        todo = np.flatnonzero(~fooled)
        if len(todo) == 0:
            break
        kw = dict(kwargs) | ({key: 1} if key and starts > 1 else {})
        x_adv[todo] = _craft(runner, spec_name, kw, clf, x[todo], y[todo], restart=r)
        fooled[todo] = _fooled(runner, name, x_adv[todo], y[todo])
    return x_adv, fooled


def run_whitebox(runner: Runner, exp: ExperimentConfig) -> dict:
    """Every attack on every model directly (BPDA through approximate multipliers), on the
    images all models classify correctly: success with Wilson intervals, paired McNemar
    against exact; minimum-norm attacks give distances (median with a bootstrap interval)
    and robustness curves (fraction with distance <= eps).

    An eps sweep runs in increasing eps; an image already fooled at a smaller eps keeps that
    example (it lies inside every larger ball), so only the others are attacked again. The
    success curve is thus monotone by construction; `carried` counts such images per row."""
    require_art("the whitebox experiment")
    xs, ys = runner.part_x(exp)
    names = _models_of(runner, exp)
    ok = _eligible(runner, exp, names)
    x, y = xs[ok], ys[ok]
    runs = []
    for spec in exp.attacks:
        spec_runs = spec.runs()
        if spec.sweep_key == "eps":
            spec_runs = sorted(spec_runs, key=lambda run: run[1]["eps"])
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # model -> (x_adv, fooled)
        for label, kwargs in spec_runs:
            models = []
            for name in names:
                start, done = found.get(name, (None, None))
                x_adv, f = _attack_model(runner, spec.name, kwargs, name, x, y, start, done)
                if spec.sweep_key == "eps":
                    found[name] = (x_adv, f)
                pert = metrics.perturbation(x_adv, x)
                models.append({"fooled": f, "carried": np.zeros(len(y), bool) if done is None
                               else done.copy(), "l2": pert["l2"], "linf": pert["linf"],
                               "psnr_db": pert["psnr_db"]})
                runner.note(f"whitebox {label} on {name}: {int(f.sum())}/{len(y)} fooled")
            runs.append({"label": label, "attack": spec.name,
                         "meta": _attack_meta(spec.name, kwargs), "models": models})
    return build_whitebox({"dataset": runner.config.dataset, "seed": runner.config.seed,
                           "subset": runner.subset_note(exp), "names": names,
                           "index": runner.indices(exp)[ok], "runs": runs})


def build_whitebox(data: dict) -> dict:
    """Rows, robustness curves and the paired PSNR summary of white-box data: per (attack
    run, model) the fooled and carried flags and the L2 / Linf / PSNR of each eligible
    image's example."""
    names, seed, dataset = data["names"], data["seed"], data["dataset"]
    n_img = len(data["index"])
    rows, curves, per_image = [], [], {}
    for run in data["runs"]:
        label, meta = run["label"], run["meta"]
        fooled = {}
        for name, m in zip(names, run["models"]):
            f = m["fooled"]
            pert = {"l2": m["l2"], "linf": m["linf"], "psnr_db": m["psnr_db"]}
            fooled[name] = f
            per_image[(label, name)] = (f, pert)
            dist = np.where(f, pert["l2" if meta["norm"] == "2" else "linf"], np.inf)
            med, lo, hi = st.bootstrap_ci(dist, seed=seed)
            pair = st.paired(fooled[FLOAT32], f)
            rows.append({"dataset": dataset, "model": name}
                        | {k: meta[k] for k in ("attack", "norm", "eps")}
                        | {"n": n_img, "fooled": int(f.sum())} | _rate(int(f.sum()), n_img)
                        | {"label": label, "steps": meta["steps"],
                           "restarts": meta["restarts"], "confidence": meta["confidence"],
                           "carried": int(m["carried"].sum()),
                           "exact_only": pair["a_only"], "model_only": pair["b_only"],
                           "mcnemar_p": pair["mcnemar_p"], "median_dist": med,
                           "median_dist_ci_low": lo, "median_dist_ci_high": hi,
                           "mean_l2_fooled": metrics.summary(pert["l2"][f])["mean"],
                           "mean_psnr_db_fooled": metrics.summary(pert["psnr_db"][f])["mean"]})
            if run["attack"] in MIN_NORM:
                for eps in _curve_grid(dataset, meta["norm"]):
                    k = int((dist <= eps).sum())
                    curves.append({"dataset": dataset, "model": name, "attack": meta["attack"],
                                   "norm": meta["norm"], "eps": eps, "n": n_img, "fooled": k}
                                  | _rate(k, n_img))
        for r in rows[-len(names):]:
            if r["eps"] != "":
                curves.append({k: r[k] for k in ("dataset", "model", "attack", "norm", "eps",
                                                  "n", "fooled", "success", "ci_low",
                                                  "ci_high")})
    return {"rows": rows, "curves": curves, "subset": data["subset"],
            "summary": _paired_psnr(per_image, names, seed), "data": data}


def _curve_grid(dataset: str, norm: str) -> tuple[float, ...]:
    """Budgets at which a minimum-norm attack's distances are read as a success curve."""
    if norm == "2":
        return (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0) if dataset == "mnist" else \
            (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
    return (0.05, 0.1, 0.2, 0.3) if dataset == "mnist" else (1 / 255, 2 / 255, 4 / 255, 8 / 255)


def _paired_psnr(per_image: dict, names: list[str], seed: int) -> dict:
    """Per attack and model: PSNR(exact) - PSNR(model) over images fooled on both, mean with
    a seeded bootstrap interval (positive = the model needs more noise)."""
    out = {}
    for label in sorted({lab for lab, _ in per_image}):
        f_e, p_e = per_image[(label, FLOAT32)]
        for name in names:
            if name == FLOAT32:
                continue
            f_m, p_m = per_image[(label, name)]
            both = f_e & f_m & np.isfinite(p_e["psnr_db"]) & np.isfinite(p_m["psnr_db"])
            gap = p_e["psnr_db"][both] - p_m["psnr_db"][both]
            mean, lo, hi = st.bootstrap_ci(gap, seed=seed, statistic=np.mean)
            out[f"{label}|{name}"] = {"attack": label, "model": name,
                                      "images_both_fooled": int(both.sum()),
                                      "psnr_exact_minus_model_db": mean,
                                      "ci_low": lo, "ci_high": hi}
    return out
