"""The robustness experiment runner: data set + networks + config in, result tables out.

Data-set agnostic: `Runner` receives a test `Split`, the target `Network`, an optional
attacker proxy `Network` and a validated `RobustnessConfig`; MNIST and CIFAR-10 differ only in
those inputs. Each experiment returns {"rows": [...], "summary": {...}, "subset": ...}; the
command writes them as CSV/JSON and plots. Every subset is the first `images` test images
after `offset` (stated in the outputs). Results depend only on the config (seeded RNGs).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from archsim.nn.datasets import Split
from archsim.nn.network import Network, forward, labels_of
from archsim.robustness import metrics
from archsim.robustness.config import ExperimentConfig, RobustnessConfig

FLOAT32 = "float32-numpy"  # exact float32 inference by numpy/BLAS (the baseline row)


class Runner:
    """Holds the models and a cache of clean logits per (model, subset)."""

    def __init__(self, config: RobustnessConfig, test: Split, target: Network,
                 proxy: Network | None = None, progress: bool = False,
                 log: Callable[[str], None] | None = None,
                 part: tuple[int, int] | None = None):
        self.config, self.test, self.target, self.proxy = config, test, target, proxy
        self.part = part  # (K, N): only range K of N of every subset (see parts.py)
        self.progress = progress
        self.log = log  # one line per finished step (the CLI prints them to stderr)
        self._mults: dict[str, Any] = {}
        self._cache: dict[tuple, np.ndarray] = {}
        self.surrogates: dict[str, Network] = {}   # transfer sources besides target/proxy
        self._models = None

    def models(self) -> dict:
        """name -> adaptive.Model: exact, the approximate model, then each control in config
        order (weight controls are built once, from `calibration_images` test images)."""
        if self._models is None:
            from archsim.robustness import adaptive
            cfg, net = self.config, self.target
            models = {FLOAT32: adaptive.Model(FLOAT32, net, None, "exact float32"),
                      cfg.approximate: adaptive.Model(cfg.approximate, net, cfg.approximate,
                                                      "approximate multiplier")}
            calib = self.test.x[:cfg.calibration_images]
            self.layer_stats = {}
            for item in cfg.controls:
                name = adaptive.control_name(item)
                if isinstance(item, dict):
                    (kind, ref), = item.items()
                    if ref not in self.layer_stats:
                        self.layer_stats[ref] = adaptive.measure_layers(
                            net, self.multiplier(ref), calib)
                    stats = self.layer_stats[ref]
                    cnet = adaptive.scaled_like(net, stats, ref) if kind == "scaled" else \
                        adaptive.noise_like(net, stats, ref, calib, self.rng(4242))
                    models[name] = adaptive.Model(name, cnet, None, f"{kind} like {ref}")
                elif item in adaptive.WEIGHT_CONTROLS:
                    models[name] = adaptive.Model(name, adaptive.round_weights(net, item), None,
                                                  item)
                else:
                    models[name] = adaptive.Model(name, net, item, "multiplier variant")
            self._models = models
        return self._models

    def model(self, name: str):
        """One model by name (ConfigError if the config does not define it)."""
        from archsim.errors import ConfigError
        models = self.models()
        if name not in models:
            raise ConfigError(f"{self.config.source}: unknown model {name!r} (known: "
                              f"{', '.join(models)})")
        return models[name]

    def multiplier(self, variant: str):
        """The archsim_core multiplier of a variant (None for the float32-numpy baseline)."""
        if variant == FLOAT32:
            return None
        if variant not in self._mults:
            from archsim_core import get_multiplier
            self._mults[variant] = get_multiplier(variant)
        return self._mults[variant]

    def logits(self, variant: str, x: np.ndarray, net: Network | None = None) -> np.ndarray:
        """Logits of the target (or `net`) with `variant`'s multiplier; a control's name gives
        that control's network and multiplier."""
        if net is None and variant in self.models():
            m = self.models()[variant]
            net, variant = m.net, m.variant or FLOAT32
        return forward(net or self.target, x, self.multiplier(variant),
                       batch_size=self.config.batch_size, progress=self.progress)

    def subset(self, exp: ExperimentConfig) -> Split:
        """The experiment's test subset (ConfigError if the test set is smaller)."""
        from archsim.errors import ConfigError
        if exp.offset + exp.images > len(self.test.y):
            raise ConfigError(f"{self.config.source}: experiments.{exp.kind}.images: "
                              f"{exp.images} images after offset {exp.offset} exceed the "
                              f"{len(self.test.y)} test images")
        return self.test.take(exp.images, exp.offset)

    def span(self, exp: ExperimentConfig) -> tuple[int, int]:
        """Positions [lo, hi) of the subset this run works on (all of it unless a part)."""
        from archsim.robustness.parts import span
        return span(exp.images, self.part)

    def indices(self, exp: ExperimentConfig) -> np.ndarray:
        """Test-set indices of the images this run works on."""
        lo, hi = self.span(exp)
        return np.arange(exp.offset + lo, exp.offset + hi, dtype=np.int64)

    def part_x(self, exp: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the images this run works on."""
        self.subset(exp)   # size check
        lo, hi = self.span(exp)
        sl = slice(exp.offset + lo, exp.offset + hi)
        return self.test.x[sl], self.test.y[sl]

    def clean_logits(self, variant: str, exp: ExperimentConfig, whole: bool = False,
                     limit: int | None = None) -> np.ndarray:
        """Cached clean logits of the images this run works on (of the whole subset with
        `whole`; only subset positions < `limit` with a limit), reused from any larger range."""
        self.subset(exp)   # size check
        lo, hi = (0, exp.images) if whole else self.span(exp)
        if limit is not None:
            lo, hi = min(lo, limit), min(hi, limit)
        start, n = exp.offset + lo, hi - lo
        for (v, off, m), val in self._cache.items():
            if v == variant and off <= start and off + m >= start + n:
                return val[start - off:start - off + n]
        val = self.logits(variant, self.test.x[start:start + n]) if n else \
            np.zeros((0, self.test.num_classes), np.float32)
        self._cache[(variant, start, n)] = val
        return val

    def subset_note(self, exp: ExperimentConfig) -> str:
        """How the experiment's (whole) subset was chosen, for the outputs."""
        self.subset(exp)   # size check
        return f"{self.test.name}[{exp.offset}:{exp.offset + exp.images}]: {exp.images} " \
            "images, in file order (no shuffling)"

    def note(self, message: str) -> None:
        """Report a finished step (no-op without a log)."""
        if self.log is not None:
            self.log(message)

    def rng(self, salt: int) -> np.random.Generator:
        """A generator seeded by (config seed, salt)."""
        return np.random.default_rng([self.config.seed, salt])

    def seed_libraries(self, restart: int = 0) -> None:
        """Seed numpy's and torch's global RNGs (ART draws from them) before each attack;
        restart r > 0 of an attack run one start at a time gets seed + r."""
        np.random.seed(self.config.seed + restart)
        try:
            import torch
            torch.manual_seed(self.config.seed + restart)
        except ImportError:
            pass


def subset_note(split: Split) -> str:
    """How a subset was chosen, for the outputs."""
    return f"{split.name}: {len(split.y)} images, in file order (no shuffling)"


def _frac(flags: np.ndarray) -> float:
    """Fraction of True flags (nan for none), as metrics.accuracy computes it."""
    return float(np.mean(flags)) if len(flags) else float("nan")


def run_clean(runner: Runner, exp: ExperimentConfig) -> dict:
    """Clean accuracy of the float32 baseline and each configured variant (on its prefix)."""
    listed = tuple(v for v in exp.variants if v[0] != FLOAT32)
    # the approximate model and every control, on all images, unless listed with a prefix
    controls = tuple((m, exp.images) for m in list(runner.models())[1:]
                     if m not in {v for v, _ in listed})
    _, y_all = runner.part_x(exp)
    variants = []
    for variant, n in ((FLOAT32, exp.images),) + listed + controls:
        pred = labels_of(runner.clean_logits(variant, exp, limit=n))
        y = y_all[:len(pred)]
        variants.append({"variant": variant, "prefix": n, "correct": pred == y,
                         "invalid": pred < 0})
    return build_clean({"subset": runner.subset_note(exp), "variants": variants})


def build_clean(data: dict) -> dict:
    """Rows of the clean experiment from its per-image flags."""
    rows = [{"variant": v["variant"], "images": len(v["correct"]),
             "correct": int(v["correct"].sum()), "invalid": int(v["invalid"].sum()),
             "accuracy": _frac(v["correct"])} for v in data["variants"]]
    return {"rows": rows, "subset": data["subset"], "summary": {}, "data": data}


def run_confidence(runner: Runner, exp: ExperimentConfig) -> dict:
    """Top-1 softmax confidence exact vs approximate, and the logit magnification."""
    _, y = runner.part_x(exp)
    z_e = runner.clean_logits(FLOAT32, exp)
    z_a = runner.clean_logits(runner.config.approximate, exp)
    norms = lambda z: np.array([float(np.linalg.norm(r)) for r in z], np.float64)
    return build_confidence({
        "subset": runner.subset_note(exp), "index": runner.indices(exp),
        "label": np.asarray(y, np.int64),
        "both_correct": (labels_of(z_e) == y) & (labels_of(z_a) == y),
        "top1_conf_exact": metrics.top1_confidence(z_e),
        "top1_conf_approx": metrics.top1_confidence(z_a),
        "logit_norm_exact": norms(z_e), "logit_norm_approx": norms(z_a),
        "logit_magnification": metrics.logit_magnification(z_a, z_e)})


def build_confidence(data: dict) -> dict:
    """Per-image rows and the summary of the confidence experiment."""
    both, c_e, c_a = data["both_correct"], data["top1_conf_exact"], data["top1_conf_approx"]
    mag = data["logit_magnification"]
    rows = [{"index": int(data["index"][i]), "label": int(data["label"][i]),
             "both_correct": bool(both[i]), "top1_conf_exact": float(c_e[i]),
             "top1_conf_approx": float(c_a[i]),
             "logit_norm_exact": float(data["logit_norm_exact"][i]),
             "logit_norm_approx": float(data["logit_norm_approx"][i]),
             "logit_magnification": float(mag[i])} for i in range(len(both))]
    summary = {"top1_conf_exact": metrics.summary(c_e[both]),
               "top1_conf_approx": metrics.summary(c_a[both]),
               "logit_magnification": metrics.summary(mag[both]),
               "fraction_approx_more_confident": float(np.mean(c_a[both] > c_e[both]))}
    return {"rows": rows, "subset": data["subset"], "summary": summary, "data": data}


def run_noise(runner: Runner, exp: ExperimentConfig) -> dict:
    """Accuracy under additive Gaussian noise N(0, sigma^2), clipped to [0, 1]. The noise is
    drawn for the whole subset (one seeded draw per sigma), a part uses its rows of it."""
    x, y = runner.part_x(exp)
    lo, hi = runner.span(exp)
    runs = []
    for i, sigma in enumerate(exp.sigmas):
        noise = runner.rng(1000 + i).standard_normal(
            (exp.images,) + x.shape[1:]).astype(np.float32)[lo:hi]
        xn = np.clip(x + np.float32(sigma) * noise, 0.0, 1.0).astype(np.float32)
        for variant in (FLOAT32, runner.config.approximate):
            pred = labels_of(runner.logits(variant, xn))
            runs.append({"sigma": sigma, "variant": variant, "correct": pred == y})
    return build_noise({"subset": runner.subset_note(exp), "runs": runs})


def build_noise(data: dict) -> dict:
    """Rows of the noise experiment from its per-image flags."""
    rows = [{"sigma": r["sigma"], "variant": r["variant"], "images": len(r["correct"]),
             "accuracy": _frac(r["correct"])} for r in data["runs"]]
    return {"rows": rows, "subset": data["subset"], "summary": {}, "data": data}


def builders() -> dict:
    """kind -> the function building an experiment's result from its per-image data (used by
    a run and by robustness-merge alike)."""
    from archsim.robustness import threats
    return {"clean": build_clean, "confidence": build_confidence, "noise": build_noise,
            "transfer": threats.build_transfer, "blackbox": threats.build_blackbox,
            "whitebox": threats.build_whitebox}


def run_experiments(runner: Runner) -> dict[str, dict]:
    """Every configured experiment, in config order; {kind: result}."""
    from archsim.robustness import threats
    table = {"clean": run_clean, "confidence": run_confidence, "noise": run_noise,
             "transfer": threats.run_transfer, "blackbox": threats.run_blackbox,
             "whitebox": threats.run_whitebox}
    for exp in runner.config.experiments:   # sizes checked before any work or log line
        runner.subset(exp)
        if exp.kind == "blackbox" and exp.attacks:
            threats.check_decision_images(runner, exp)
        for name in exp.models:
            runner.model(name)
    results = {}
    for exp in runner.config.experiments:
        lo, hi = runner.span(exp)
        where = "" if runner.part is None else \
            f", part {runner.part[0]}/{runner.part[1]}: test images [{exp.offset + lo}, " \
            f"{exp.offset + hi})"
        runner.note(f"{exp.kind}: started ({exp.images} images{where})")
        results[exp.kind] = table[exp.kind](runner, exp)
    return results
