"""Robustness experiment configuration: YAML → validated frozen dataclasses.

Every error is collected with its dotted path and raised as one ConfigError naming the file.
Paths: `{data_dir}` in a weights path is replaced by the resolved data directory (--data-dir,
`dataset.data_dir`, or $ARCHSIM_DATA_DIR); other relative paths are relative to the config file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsim.errors import ConfigError
from archsim.robustness.attacks import AttackSpec, parse_attacks

EXPERIMENTS = ("clean", "confidence", "noise", "transfer", "blackbox", "whitebox")


@dataclass(frozen=True)
class ModelConfig:
    """A network: architecture name and weights file."""

    architecture: str
    weights: Path


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: the first `images` test images after `offset`, plus its own options."""

    kind: str
    images: int
    offset: int = 0
    variants: tuple[tuple[str, int], ...] = ()   # (variant, images: a prefix of the subset)
    sigmas: tuple[float, ...] = ()
    attacks: tuple[AttackSpec, ...] = ()
    proxy_attacks: tuple[AttackSpec, ...] = ()
    query_budget: int = 0
    decision_images: int = 0
    sources: tuple[str, ...] = ("target",)   # transfer: models the examples are crafted on
    models: tuple[str, ...] = ()             # models evaluated (empty: every model)


@dataclass(frozen=True)
class RobustnessConfig:
    """A whole `archsim robustness` run."""

    name: str
    source: str
    dataset: str
    data_dir: Path
    target: ModelConfig
    proxy: ModelConfig | None
    approximate: str
    seed: int
    batch_size: int
    experiments: tuple[ExperimentConfig, ...] = field(default_factory=tuple)
    raw: dict = field(default_factory=dict, compare=False)
    controls: tuple = ()                      # items as in YAML (see adaptive.py)
    surrogates: tuple[tuple[str, ModelConfig], ...] = ()
    calibration_images: int = 100


class _Errors:
    """Collects (path, message) pairs; raises them together."""

    def __init__(self, source: str):
        self.source, self.items = source, []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(f"{self.source}: " + "; ".join(self.items))


def _keys(errs: _Errors, mapping: Any, path: str, allowed: set[str], required=()) -> dict:
    if not isinstance(mapping, dict):
        errs.add(path, f"expected a mapping, got {type(mapping).__name__}")
        return {}
    for key in sorted(set(mapping) - allowed):
        errs.add(f"{path}.{key}" if path else key, "unknown key")
    for key in required:
        if key not in mapping:
            errs.add(f"{path}.{key}" if path else key, "missing")
    return mapping


def _int(errs, value, path, low=0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        errs.add(path, f"expected an integer >= {low}, got {value!r}")
        return low
    return value


def _model(errs, raw, path, base: Path, data_dir: Path) -> ModelConfig | None:
    m = _keys(errs, raw, path, {"architecture", "weights"}, ("architecture", "weights"))
    if not m:
        return None
    weights = str(m.get("weights", "")).replace("{data_dir}", str(data_dir))
    wpath = Path(weights).expanduser()
    return ModelConfig(str(m.get("architecture")), wpath if wpath.is_absolute() else base / wpath)


def _variants(errs, raw, path, images) -> tuple[tuple[str, int], ...]:
    """Items are a variant name (all images) or {name: n} (the first n images only)."""
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else [None]):
        if isinstance(item, str):
            out.append((item, images))
        elif isinstance(item, dict) and len(item) == 1:
            (name, n), = item.items()
            out.append((str(name), min(_int(errs, n, f"{path}[{i}].{name}", 1), images)))
        else:
            errs.add(f"{path}[{i}]", "expected a variant name or {name: images}")
    return tuple(out)


_EXP_KEYS = {"clean": {"variants"}, "confidence": set(), "noise": {"sigmas"},
             "transfer": {"attacks", "sources", "models"},
             "blackbox": {"attacks", "proxy_attacks", "query_budget", "decision_images"},
             "whitebox": {"attacks", "models"}}


def _names(errs, raw, path) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        errs.add(path, "expected a list of model names")
        return ()
    return tuple(raw)


def _experiment(errs, kind, raw, seed_budget) -> ExperimentConfig:
    path = f"experiments.{kind}"
    e = _keys(errs, raw, path, {"images", "offset"} | _EXP_KEYS[kind], ("images",))
    images = _int(errs, e.get("images", 1), f"{path}.images", 1)
    offset = _int(errs, e.get("offset", 0), f"{path}.offset", 0)
    variants = _variants(errs, e.get("variants", []) or [], f"{path}.variants", images)
    sigmas = e.get("sigmas", []) or []
    if not isinstance(sigmas, list) or not all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and 0 <= s < float("inf")
            for s in sigmas):
        errs.add(f"{path}.sigmas", "expected a list of finite numbers >= 0")
        sigmas = ()
    role = {"transfer": "exact", "whitebox": "whitebox", "blackbox": "decision"}.get(kind)
    attacks = parse_attacks(e.get("attacks", {}), f"{path}.attacks", role, errs.add) if role else ()
    proxy = parse_attacks(e.get("proxy_attacks", {}), f"{path}.proxy_attacks", "exact",
                          errs.add) if kind == "blackbox" else ()
    budget = _int(errs, e.get("query_budget", seed_budget), f"{path}.query_budget", 1) \
        if kind == "blackbox" else 0
    decision = _int(errs, e.get("decision_images", 10), f"{path}.decision_images", 1) \
        if kind == "blackbox" else 0
    sources = _names(errs, e.get("sources", ["target"]), f"{path}.sources") \
        if kind == "transfer" else ("target",)
    return ExperimentConfig(kind, images, offset, variants, tuple(float(s) for s in sigmas),
                            attacks, proxy, budget, decision, sources or ("target",),
                            _names(errs, e.get("models"), f"{path}.models"))


def _controls(errs, raw, approximate: str) -> tuple:
    """Validate `controls:`; a referenced control needs its reference among the models."""
    from archsim.robustness.adaptive import REFERENCED_CONTROLS, WEIGHT_CONTROLS
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errs.add("controls", "expected a list")
        return ()
    variants = {approximate} | {c for c in raw if isinstance(c, str)}
    out = []
    for i, item in enumerate(raw):
        where = f"controls[{i}]"
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            (kind, ref), = item.items()
            if kind not in REFERENCED_CONTROLS:
                errs.add(f"{where}.{kind}", "unknown control (known: "
                         f"{', '.join(REFERENCED_CONTROLS)}: REF, {', '.join(WEIGHT_CONTROLS)}, "
                         "or a multiplier variant)")
            elif not isinstance(ref, str) or ref in WEIGHT_CONTROLS or ref not in variants:
                errs.add(f"{where}.{kind}", f"reference {ref!r} is not the approximate model "
                         "or a multiplier variant listed in controls")
            else:
                out.append({kind: ref})
        else:
            errs.add(where, "expected a variant name or {scaled|noise: REFERENCE}")
    return tuple(out)


def parse_config(raw: Any, source: str, cli_data_dir: str | None = None,
                 only: tuple[str, ...] = ()) -> RobustnessConfig:
    """Validate a loaded YAML document (all errors at once, each with its dotted path)."""
    from archsim.nn.datasets import resolve_data_dir
    errs = _Errors(source)
    top = _keys(errs, raw, "", {"name", "dataset", "target", "proxy", "approximate", "seed",
                                "batch_size", "experiments", "controls", "surrogates",
                                "calibration_images"}, ("dataset", "target", "experiments"))
    ds = _keys(errs, top.get("dataset", {}), "dataset", {"name", "data_dir"}, ("name",))
    base = Path(source).resolve().parent
    cfg_dir = ds.get("data_dir")  # relative to the config file, like every path in it
    try:
        data_dir = resolve_data_dir(cli_data_dir,
                                    str(base / Path(str(cfg_dir)).expanduser()) if cfg_dir else None)
    except ConfigError as exc:
        errs.add("dataset.data_dir", str(exc))
        data_dir = Path(".")
    target = _model(errs, top.get("target"), "target", base, data_dir)
    proxy = _model(errs, top["proxy"], "proxy", base, data_dir) if top.get("proxy") else None
    exps = _keys(errs, top.get("experiments", {}), "experiments", set(EXPERIMENTS))
    for kind in only:
        if kind not in exps:
            errs.add("--only", f"{kind!r} is not an experiment of this config")
    experiments = tuple(_experiment(errs, k, exps[k], 1000) for k in EXPERIMENTS
                        if k in exps and (not only or k in only))
    if any(e.kind == "blackbox" and e.proxy_attacks for e in experiments) and proxy is None:
        errs.add("proxy", "blackbox.proxy_attacks needs a proxy model")
    seed = _int(errs, top.get("seed", 0), "seed")
    batch = _int(errs, top.get("batch_size", 256), "batch_size", 1)
    approximate = str(top.get("approximate", "da"))
    controls = _controls(errs, top.get("controls"), approximate)
    sur = _keys(errs, top.get("surrogates") or {}, "surrogates", set(top.get("surrogates") or {}))
    surrogates = tuple((str(k), m) for k in sorted(sur)
                       if (m := _model(errs, sur[k], f"surrogates.{k}", base, data_dir)))
    sources_known = {"target"} | ({"proxy"} if proxy else set()) | {k for k, _ in surrogates}
    for e in experiments:
        for s in e.sources:
            if s not in sources_known:
                errs.add(f"experiments.{e.kind}.sources", f"unknown source model {s!r} "
                         f"(known: {', '.join(sorted(sources_known))})")
    calib = _int(errs, top.get("calibration_images", 100), "calibration_images", 1)
    errs.raise_if_any()
    return RobustnessConfig(str(top.get("name", Path(source).stem)), source, str(ds.get("name")),
                            data_dir, target, proxy, approximate, seed,
                            batch, experiments, raw=raw, controls=controls,
                            surrogates=surrogates, calibration_images=calib)


def load_config(path: str | os.PathLike, cli_data_dir: str | None = None,
                only: tuple[str, ...] = ()) -> RobustnessConfig:
    """Read and validate a robustness YAML config."""
    from archsim_core.yamlio import load_file
    path = Path(path)
    raw = load_file(path, ConfigError, "config")
    return parse_config(raw, str(path), cli_data_dir, only)
