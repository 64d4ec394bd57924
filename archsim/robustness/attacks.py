"""Attack registry on top of the adversarial-robustness-toolbox (ART, optional extra).

Every attack is ART's implementation; archsim only wraps the models:
- gradient attacks run on a PyTorchClassifier of the exact network (transferability), or of
  the approximate network with BPDA gradients (white-box, see archsim.nn.torch_bridge);
- decision-based attacks run on a predict-only BlackBoxClassifierNeuralNetwork whose
  predictions come from archsim's approximate inference (each query is a bit-level forward
  pass), under a strict query budget enforced by `QueryBudget`.
No attack is re-implemented here. Parameters not given in YAML keep ART 1.20's defaults
(listed in `ATTACKS`), because the Defensive Approximation paper does not state its settings;
one parameter per attack may be a list (the budget sweep, e.g. `eps: [0.05, 0.1, 0.2]`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archsim.errors import ConfigError


@dataclass(frozen=True)
class AttackDef:
    """An ART attack: class name, roles it may play, accepted parameters with ART defaults."""

    art_class: str
    roles: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]


_GRAD = ("exact", "whitebox")
ATTACKS: dict[str, AttackDef] = {
    "fgsm": AttackDef("FastGradientMethod", _GRAD, (("norm", "inf"), ("eps", 0.3),
                                                    ("eps_step", 0.1), ("num_random_init", 0))),
    "bim": AttackDef("BasicIterativeMethod", _GRAD, (("eps", 0.3), ("eps_step", 0.1),
                                                     ("max_iter", 100))),
    "pgd": AttackDef("ProjectedGradientDescent", _GRAD, (
        ("norm", "inf"), ("eps", 0.3), ("eps_step", 0.1), ("max_iter", 100),
        ("num_random_init", 0))),
    "mim": AttackDef("MomentumIterativeMethod", _GRAD, (
        ("norm", "inf"), ("eps", 0.3), ("eps_step", 0.1), ("decay", 1.0), ("max_iter", 100))),
    "cw": AttackDef("CarliniL2Method", _GRAD, (
        ("confidence", 0.0), ("learning_rate", 0.01), ("binary_search_steps", 10),
        ("max_iter", 10), ("initial_const", 0.01), ("max_halving", 5), ("max_doubling", 5))),
    "deepfool": AttackDef("DeepFool", _GRAD, (("max_iter", 100), ("epsilon", 1e-6),
                                              ("nb_grads", 10))),
    "jsma": AttackDef("SaliencyMapMethod", _GRAD, (("theta", 0.1), ("gamma", 1.0))),
    "hopskipjump": AttackDef("HopSkipJump", ("decision",), (
        ("norm", 2), ("max_iter", 50), ("max_eval", 10000), ("init_eval", 100),
        ("init_size", 100))),
    "square": AttackDef("SquareAttack", ("decision",), (
        ("norm", "inf"), ("max_iter", 100), ("eps", 0.3), ("p_init", 0.8), ("nb_restarts", 1))),
    "boundary": AttackDef("BoundaryAttack", ("decision",), (
        ("delta", 0.01), ("epsilon", 0.01), ("step_adapt", 0.667), ("max_iter", 5000),
        ("num_trial", 25), ("sample_size", 20), ("init_size", 100), ("min_epsilon", 0.0))),
}


@dataclass(frozen=True)
class AttackSpec:
    """One configured attack: name, fixed params, and the swept parameter with its values."""

    name: str
    params: tuple[tuple[str, Any], ...]
    sweep_key: str | None = None
    sweep_values: tuple[Any, ...] = ()

    def runs(self) -> list[tuple[str, dict]]:
        """(label, full ART kwargs) per budget value (ART defaults filled in)."""
        base = dict(ATTACKS[self.name].defaults) | dict(self.params)
        if self.sweep_key is None:
            return [(self.name, _norm_values(base))]
        return [(f"{self.name}[{self.sweep_key}={_label_value(v)}]",
                 _norm_values(base | {self.sweep_key: v})) for v in self.sweep_values]


def _label_value(v: Any) -> str:
    """A swept value in a run label: floats to 4 significant digits (0.007843, not
    0.00784313725490196); the full value stays in the ART kwargs and results.json."""
    return format(v, ".4g") if isinstance(v, float) else str(v)


def _norm_values(kwargs: dict) -> dict:
    return {k: (np.inf if v == "inf" else v) for k, v in kwargs.items()}


def parse_attacks(raw: Any, path: str, role: str, add_error: Callable[[str, str], None]
                  ) -> tuple[AttackSpec, ...]:
    """Validate `{name: {param: value | [values]}}`; errors go to add_error(path, message)."""
    if not isinstance(raw, dict):
        add_error(path, "expected a mapping of attack name -> parameters")
        return ()
    specs = []
    for name in sorted(raw):
        params = raw[name] or {}
        where = f"{path}.{name}"
        if name not in ATTACKS:
            add_error(where, f"unknown attack (known: {', '.join(sorted(ATTACKS))})")
            continue
        if role not in ATTACKS[name].roles:
            add_error(where, f"cannot run as a {role} attack here")
            continue
        if not isinstance(params, dict):
            add_error(where, "expected a mapping of parameters")
            continue
        known = dict(ATTACKS[name].defaults)
        sweeps = [k for k, v in params.items() if isinstance(v, list)]
        for key in sorted(set(params) - set(known)):
            add_error(f"{where}.{key}", f"unknown parameter (known: {', '.join(sorted(known))})")
        if len(sweeps) > 1:
            add_error(where, f"at most one swept (list) parameter, got {sorted(sweeps)}")
        if sweeps and not params[sweeps[0]]:
            add_error(f"{where}.{sweeps[0]}", "empty list")
        for key, value in sorted(params.items()):
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                add_error(f"{where}.{key}", f"must be finite, got {value!r}")
        fixed = tuple(sorted((k, v) for k, v in params.items() if k not in sweeps))
        sweep = sweeps[0] if len(sweeps) == 1 else None
        specs.append(AttackSpec(name, fixed, sweep, tuple(params[sweep]) if sweep else ()))
    return tuple(specs)


def require_art(purpose: str):
    """The art.attacks.evasion module, or ConfigError naming the optional extra."""
    try:
        import art.attacks.evasion as evasion
    except ImportError:
        raise ConfigError(f"{purpose} needs the adversarial-robustness-toolbox, an optional "
                          "extra: pip install 'archsim[robust]'") from None
    return evasion


def make_attack(name: str, kwargs: dict, estimator, batch_size: int):
    """Instantiate ART's attack `name` on `estimator` (ConfigError if ART rejects a value)."""
    evasion = require_art(f"attack {name}")
    import inspect
    cls = getattr(evasion, ATTACKS[name].art_class)
    quiet = {"verbose": False} if "verbose" in inspect.signature(cls.__init__).parameters else {}
    try:
        return cls(estimator, batch_size=batch_size, **quiet, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"attack {name}: ART rejected the parameters {kwargs} ({exc})") from None


def torch_classifier(module, input_shape: tuple[int, ...], num_classes: int):
    """ART PyTorchClassifier over a torch module (logits), inputs clipped to [0, 1]."""
    from art.estimators.classification import PyTorchClassifier

    import torch
    return PyTorchClassifier(model=module, loss=torch.nn.CrossEntropyLoss(),
                             input_shape=tuple(input_shape), nb_classes=num_classes,
                             clip_values=(0.0, 1.0), device_type="cpu")


class BudgetExhausted(Exception):
    """Raised inside ART by `QueryBudget` when the attack has used its queries."""


class QueryBudget:
    """Predict-only access to a model with a hard per-image query budget.

    Every row ART asks to classify is one query. When the budget is used up the wrapper
    raises `BudgetExhausted`; the attack's result is then the best query seen: the
    misclassified input closest (L2) to the original among the queries made. That makes the
    budget exact for every attack, whatever its internal schedule.
    """

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], budget: int):
        self.predict, self.budget = predict, budget
        self.reset(None, -1)

    def reset(self, original: np.ndarray | None, label: int) -> None:
        """Start a new image."""
        self.original, self.label, self.used = original, label, 0
        self.best, self.best_l2 = None, np.inf

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        room = self.budget - self.used
        if room <= 0:
            raise BudgetExhausted
        take = x[:room]
        logits = self.predict(take)
        self.used += len(take)
        self._track(take, logits)
        if len(take) < len(x):
            raise BudgetExhausted
        return logits

    def _track(self, x: np.ndarray, logits: np.ndarray) -> None:
        if self.original is None:
            return
        wrong = logits.argmax(axis=1) != self.label
        if not wrong.any():
            return
        d = np.sqrt(((x[wrong] - self.original) ** 2).reshape(int(wrong.sum()), -1).sum(axis=1))
        i = int(d.argmin())
        if d[i] < self.best_l2:
            self.best_l2, self.best = float(d[i]), x[wrong][i].copy()
