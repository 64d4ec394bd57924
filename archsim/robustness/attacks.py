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
    """An attack: ART class name ("" = archsim's own), roles it may play, accepted parameters
    with their defaults (ART's for ART attacks), and archsim-level parameters (`extras`) that
    are not passed to ART: `loss` (see adaptive.LOSSES) and `rel_step` (when set, eps_step =
    rel_step * eps / max_iter, so the step follows the budget)."""

    art_class: str
    roles: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]
    extras: tuple[tuple[str, Any], ...] = ()


_GRAD = ("exact", "whitebox")
_LOSS = (("loss", "ce"),)
_STEP = (("loss", "ce"), ("rel_step", None))
ATTACKS: dict[str, AttackDef] = {
    "fgsm": AttackDef("FastGradientMethod", _GRAD, (("norm", "inf"), ("eps", 0.3),
                                                    ("eps_step", 0.1), ("num_random_init", 0)),
                      _LOSS),
    "bim": AttackDef("BasicIterativeMethod", _GRAD, (("eps", 0.3), ("eps_step", 0.1),
                                                     ("max_iter", 100)), _STEP),
    "pgd": AttackDef("ProjectedGradientDescent", _GRAD, (
        ("norm", "inf"), ("eps", 0.3), ("eps_step", 0.1), ("max_iter", 100),
        ("num_random_init", 0)), _STEP),
    "apgd": AttackDef("AutoProjectedGradientDescent", _GRAD, (
        ("norm", "inf"), ("eps", 0.3), ("eps_step", 0.1), ("max_iter", 100),
        ("nb_random_init", 5), ("loss_type", None)), _STEP),
    "mim": AttackDef("MomentumIterativeMethod", _GRAD, (
        ("norm", "inf"), ("eps", 0.3), ("eps_step", 0.1), ("decay", 1.0), ("max_iter", 100)),
        _STEP),
    "cw": AttackDef("CarliniL2Method", _GRAD, (
        ("confidence", 0.0), ("learning_rate", 0.01), ("binary_search_steps", 10),
        ("max_iter", 10), ("initial_const", 0.01), ("max_halving", 5), ("max_doubling", 5))),
    "deepfool": AttackDef("DeepFool", _GRAD, (("max_iter", 100), ("epsilon", 1e-6),
                                              ("nb_grads", 10))),
    "ddn": AttackDef("", _GRAD, (("steps", 100), ("init_eps", 1.0), ("gamma", 0.05),
                                 ("confidence", 0.0)),
                     (("loss", "margin"),)),
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
MIN_NORM = ("cw", "deepfool", "ddn")   # unbounded: report distances, curves from them
_COUNTS = {"max_iter", "steps", "binary_search_steps", "nb_grads", "max_eval", "init_eval",
           "init_size", "num_trial", "sample_size", "nb_restarts"}
_NONNEG = {"eps", "confidence", "epsilon", "num_random_init", "nb_random_init", "min_epsilon",
           "decay", "gamma", "delta", "max_halving", "max_doubling", "init_eps", "p_init"}
_POSITIVE = {"eps_step", "learning_rate", "initial_const", "rel_step", "theta", "step_adapt"}


def check_value(key: str, value: Any) -> str | None:
    """Why `value` is not acceptable for parameter `key` (None if it is)."""
    from archsim.robustness.adaptive import LOSSES
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == "norm":
        return None if value in ("inf", 1, 2) else f"expected inf, 1 or 2, got {value!r}"
    if key == "loss":
        return None if value in LOSSES else \
            f"unknown loss {value!r} (known: {', '.join(LOSSES)})"
    if key == "loss_type":
        return None if value in (None, "cross_entropy", "difference_logits_ratio") else \
            f"expected cross_entropy or difference_logits_ratio, got {value!r}"
    if key == "rel_step" and value is None:
        return None
    if key in _COUNTS and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        return f"expected an integer >= 1, got {value!r}"
    if key in _NONNEG and (not num or value < 0):
        return f"expected a number >= 0, got {value!r}"
    if key in _POSITIVE and (not num or value <= 0):
        return f"expected a number > 0, got {value!r}"
    return None


@dataclass(frozen=True)
class AttackSpec:
    """One configured attack: name, fixed params, and the swept parameter with its values."""

    name: str
    params: tuple[tuple[str, Any], ...]
    sweep_key: str | None = None
    sweep_values: tuple[Any, ...] = ()

    def runs(self) -> list[tuple[str, dict]]:
        """(label, full kwargs incl. extras) per budget value (defaults filled in)."""
        a = ATTACKS[self.name]
        base = dict(a.defaults) | dict(a.extras) | dict(self.params)
        if self.sweep_key is None:
            return [(self.name, _finish(base))]
        return [(f"{self.name}[{self.sweep_key}={_label_value(v)}]",
                 _finish(base | {self.sweep_key: v})) for v in self.sweep_values]


def _finish(kwargs: dict) -> dict:
    kw = _norm_values(kwargs)
    if kw.get("rel_step") is not None and "eps" in kw and "max_iter" in kw:
        kw["eps_step"] = kw["rel_step"] * kw["eps"] / kw["max_iter"]
    return kw


def split_extras(name: str, kwargs: dict) -> tuple[dict, dict]:
    """(ART kwargs, archsim extras) of one run's kwargs."""
    keys = {k for k, _ in ATTACKS[name].extras}
    return ({k: v for k, v in kwargs.items() if k not in keys},
            {k: v for k, v in kwargs.items() if k in keys})


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
        known = dict(ATTACKS[name].defaults) | dict(ATTACKS[name].extras)
        sweeps = [k for k, v in params.items() if isinstance(v, list)]
        for key in sorted(set(params) - set(known)):
            add_error(f"{where}.{key}", f"unknown parameter (known: {', '.join(sorted(known))})")
        for key in sorted(set(params) & set(known)):
            for v in (params[key] if isinstance(params[key], list) else [params[key]]):
                problem = check_value(key, v)
                if problem:
                    add_error(f"{where}.{key}", problem)
                    break
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
    """Instantiate ART's attack `name` on `estimator` (ConfigError if ART rejects a value);
    archsim-level extras in `kwargs` are dropped here (they shape the estimator)."""
    evasion = require_art(f"attack {name}")
    import inspect
    kwargs, _ = split_extras(name, kwargs)
    cls = getattr(evasion, ATTACKS[name].art_class)
    quiet = {"verbose": False} if "verbose" in inspect.signature(cls.__init__).parameters else {}
    try:
        return cls(estimator, batch_size=batch_size, **quiet, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"attack {name}: ART rejected the parameters {kwargs} ({exc})") from None


def torch_classifier(module, input_shape: tuple[int, ...], num_classes: int, loss: str = "ce"):
    """ART PyTorchClassifier over a torch module (logits), inputs clipped to [0, 1], with the
    loss gradient attacks maximise (adaptive.LOSSES)."""
    from art.estimators.classification import PyTorchClassifier

    from archsim.robustness.adaptive import loss_module
    return PyTorchClassifier(model=module, loss=loss_module(loss),
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
        self.tracking, self.exclude = True, None

    def starting_point(self, start: np.ndarray | None) -> None:
        """The attack's given start (our seeded noise image): it and the queries that found it
        count against the budget but are never the attack's result."""
        self.exclude = None if start is None else np.asarray(start, np.float32)
        self.tracking = True

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
        if self.original is None or not self.tracking:
            return
        wrong = logits.argmax(axis=1) != self.label
        if self.exclude is not None:
            wrong &= ~(x == self.exclude).reshape(len(x), -1).all(axis=1)
        if not wrong.any():
            return
        d = np.sqrt(((x[wrong] - self.original) ** 2).reshape(int(wrong.sum()), -1).sum(axis=1))
        i = int(d.argmin())
        if d[i] < self.best_l2:
            self.best_l2, self.best = float(d[i]), x[wrong][i].copy()
