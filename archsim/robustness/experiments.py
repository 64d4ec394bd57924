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
                 log: Callable[[str], None] | None = None):
        self.config, self.test, self.target, self.proxy = config, test, target, proxy
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

    def clean_logits(self, variant: str, exp: ExperimentConfig) -> np.ndarray:
        """Cached clean logits of the experiment's subset (reused from any larger prefix)."""
        n = min(exp.images, len(self.test.y) - exp.offset)
        for (v, off, m), val in self._cache.items():
            if v == variant and off <= exp.offset and off + m >= exp.offset + n:
                return val[exp.offset - off:exp.offset - off + n]
        val = self.logits(variant, self.subset(exp).x)
        self._cache[(variant, exp.offset, n)] = val
        return val

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


def run_clean(runner: Runner, exp: ExperimentConfig) -> dict:
    """Clean accuracy of the float32 baseline and each configured variant (on its prefix)."""
    sub = runner.subset(exp)
    rows = []
    listed = tuple(v for v in exp.variants if v[0] != FLOAT32)
    controls = tuple((m, exp.images) for m in list(runner.models())[2:]
                     if m not in {v for v, _ in listed})
    for variant, n in ((FLOAT32, exp.images),) + listed + controls:
        part = replace(exp, images=n)
        y = runner.subset(part).y
        pred = labels_of(runner.clean_logits(variant, part))
        rows.append({"variant": variant, "images": len(y), "correct": int((pred == y).sum()),
                     "invalid": int((pred < 0).sum()), "accuracy": metrics.accuracy(pred, y)})
    return {"rows": rows, "subset": subset_note(sub), "summary": {}}


def run_confidence(runner: Runner, exp: ExperimentConfig) -> dict:
    """Top-1 softmax confidence exact vs approximate, and the logit magnification."""
    sub = runner.subset(exp)
    z_e = runner.clean_logits(FLOAT32, exp)
    z_a = runner.clean_logits(runner.config.approximate, exp)
    both = (labels_of(z_e) == sub.y) & (labels_of(z_a) == sub.y)
    c_e, c_a = metrics.top1_confidence(z_e), metrics.top1_confidence(z_a)
    mag = metrics.logit_magnification(z_a, z_e)
    rows = [{"index": exp.offset + i, "label": int(sub.y[i]), "both_correct": bool(both[i]),
             "top1_conf_exact": float(c_e[i]), "top1_conf_approx": float(c_a[i]),
             "logit_norm_exact": float(np.linalg.norm(z_e[i])),
             "logit_norm_approx": float(np.linalg.norm(z_a[i])),
             "logit_magnification": float(mag[i])} for i in range(len(sub.y))]
    summary = {"top1_conf_exact": metrics.summary(c_e[both]),
               "top1_conf_approx": metrics.summary(c_a[both]),
               "logit_magnification": metrics.summary(mag[both]),
               "fraction_approx_more_confident": float(np.mean(c_a[both] > c_e[both]))}
    return {"rows": rows, "subset": subset_note(sub), "summary": summary}


def run_noise(runner: Runner, exp: ExperimentConfig) -> dict:
    """Accuracy under additive Gaussian noise N(0, sigma^2), clipped to [0, 1]."""
    sub = runner.subset(exp)
    rows = []
    for i, sigma in enumerate(exp.sigmas):
        noise = runner.rng(1000 + i).standard_normal(sub.x.shape).astype(np.float32)
        x = np.clip(sub.x + np.float32(sigma) * noise, 0.0, 1.0).astype(np.float32)
        for variant in (FLOAT32, runner.config.approximate):
            pred = labels_of(runner.logits(variant, x))
            rows.append({"sigma": sigma, "variant": variant, "images": len(sub.y),
                         "accuracy": metrics.accuracy(pred, sub.y)})
    return {"rows": rows, "subset": subset_note(sub), "summary": {}}


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
        runner.note(f"{exp.kind}: started ({exp.images} images)")
        results[exp.kind] = table[exp.kind](runner, exp)
    return results
