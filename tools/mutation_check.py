"""Mutation check of the robustness tests: break an attack (or a statistic, or a control) on
purpose and see which tests notice.

Each named mutation replaces one function of `archsim.robustness` / `archsim.nn.torch_bridge`
in memory, inside the pytest process only: this file doubles as a pytest plugin (loaded with
`-p mutation_check`) that applies the mutation named by the environment variable
ARCHSIM_MUTATION at `pytest_configure`, before any test module is imported. No source file is
ever edited on disk. A replaced function is also rebound in every already-imported `archsim*`
module that holds it under the same name (`from ... import name`). If a mutation's target no
longer exists (a function renamed), pytest stops with an internal error and the check reports
that mutation as an ERROR, never as killed.

For each mutation the tool runs the robustness tests (default: the non-slow tests of the files
in ROBUSTNESS_TESTS) in a fresh `python -m pytest` subprocess and prints a table
mutation -> number of failed tests (and which; a test that failed by an exception other
than an assertion is tagged with its type, e.g. `[TypeError]`, so that a mutation that merely
crashes is told apart from one the tests catch). It runs the unmutated baseline first: every
test must pass there. Exit status: 0 when the baseline passes and every mutation is killed
(>= 1 failing test); 1 when some mutation survives (no test fails) or the baseline fails;
2 on bad arguments or when a mutation could not be applied.

    nice -n 10 python tools/mutation_check.py                 # baseline + all mutations
                                                              # (~1 min each, 2 cores)
    python tools/mutation_check.py --list                     # names and descriptions
    python tools/mutation_check.py -m wilson-0-1 -m ddn-returns-clean
    python tools/mutation_check.py -m wilson-0-1 --tests tests/test_robustness_stats.py
    python tools/mutation_check.py --slow                     # include @pytest.mark.slow tests
    python tools/mutation_check.py --no-baseline -m bpda-zero-grad

Tests run in a subprocess of their own (e.g. `archsim` invoked via subprocess.run) would not
see a mutation; the robustness tests call the CLI in-process (`archsim.cli.main`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = "ARCHSIM_MUTATION"
ROBUSTNESS_TESTS = ("tests/test_attacks.py", "tests/test_adaptive_attacks.py",
                    "tests/test_robustness_stats.py", "tests/test_robustness_cli.py",
                    "tests/test_robustness_claims.py", "tests/test_robustness_markdown.py",
                    "tests/test_robustness_oracles.py")


# ------------------------------------------------------------------ patching machinery

def _swap(module_name: str, attr: str, make: Callable[[Callable], Callable]) -> None:
    """Replace `module.attr` by make(original), also where archsim modules imported it by name.
    AttributeError (-> pytest internal error -> reported as ERROR) if the target is gone."""
    mod = importlib.import_module(module_name)
    old = getattr(mod, attr)
    new = make(old)
    for m in list(sys.modules.values()):
        name = getattr(m, "__name__", "") or ""
        if (name == module_name or name.startswith("archsim")) and \
                getattr(m, attr, None) is old:
            setattr(m, attr, new)


def _gradient_attacks_return_clean() -> None:
    from archsim.robustness.attacks import ATTACKS

    class _Clean:
        def __init__(self, inner):
            self.inner = inner

        def generate(self, x, *args, **kwargs):
            import numpy as np
            return np.array(x, dtype=np.float32, copy=True)

        def __getattr__(self, key):
            return getattr(self.inner, key)

    def make(orig):
        def make_attack(name, *args, **kwargs):
            atk = orig(name, *args, **kwargs)
            gradient = "whitebox" in ATTACKS[name].roles or "exact" in ATTACKS[name].roles
            return _Clean(atk) if gradient else atk
        return make_attack
    _swap("archsim.robustness.attacks", "make_attack", make)
    _ddn_returns_clean()


def _ddn_returns_clean() -> None:
    def make(orig):
        def ddn(module, x, y, *args, **kwargs):
            import numpy as np
            return np.array(x, dtype=np.float32, copy=True)
        return ddn
    _swap("archsim.robustness.adaptive", "ddn", make)


def _ddn_ignores_confidence() -> None:
    def make(orig):
        def ddn(module, x, y, *args, **kwargs):
            kwargs["confidence"] = 0.0
            return orig(module, x, y, *args, **kwargs)
        return ddn
    _swap("archsim.robustness.adaptive", "ddn", make)


def _bpda_zero_grad() -> None:
    def make(orig):
        def _bpda_function():
            cls = orig()

            class _ZeroGrad(cls):
                @staticmethod
                def backward(ctx, grad):
                    gx, gw, gb, *rest = cls.backward(ctx, grad)
                    return (gx * 0, gw * 0, gb * 0, *rest)
            return _ZeroGrad
        return _bpda_function
    _swap("archsim.nn.torch_bridge", "_bpda_function", make)


def _bpda_exact_forward() -> None:
    def make(orig):
        def torch_module(net, multiplier=None, *args, **kwargs):
            return orig(net, None, *args, **kwargs)
        return torch_module
    _swap("archsim.nn.torch_bridge", "torch_module", make)


def _margin_is_ce() -> None:
    _swap("archsim.robustness.adaptive", "loss_module", lambda orig: lambda name: orig("ce"))


def _loss_negated() -> None:
    def make(orig):
        def loss_module(name):
            import torch
            inner = orig(name)

            class _Neg(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.inner = inner

                def forward(self, z, y):
                    return -self.inner(z, y)
            return _Neg()
        return loss_module
    _swap("archsim.robustness.adaptive", "loss_module", make)


def _rel_step_ignored() -> None:
    def make(orig):
        def _finish(kwargs):
            if "rel_step" not in kwargs:
                return orig(kwargs)
            kw = orig(dict(kwargs) | {"rel_step": None})
            kw["rel_step"] = kwargs["rel_step"]
            return kw
        return _finish
    _swap("archsim.robustness.attacks", "_finish", make)


def _decision_counts_start() -> None:
    from archsim.robustness.attacks import QueryBudget
    QueryBudget.starting_point  # noqa: B018  (AttributeError if the method is gone)

    def starting_point(self, start):
        self.exclude = None
    QueryBudget.starting_point = starting_point
    QueryBudget.tracking = property(lambda self: True, lambda self, value: None)


def _whitebox_uses_exact_gradients() -> None:
    def make(orig):
        def model_classifier(runner, name, *args, **kwargs):
            from archsim.robustness import threats
            return threats._classifier(runner, runner.model(name).net, None, *args, **kwargs)
        return model_classifier
    _swap("archsim.robustness.threats", "model_classifier", make)


def _returns(module_name: str, attr: str, value_of: Callable) -> Callable[[], None]:
    def apply():
        _swap(module_name, attr, lambda orig: lambda *a, **k: value_of(*a, **k))
    return apply


MUTATIONS: dict[str, tuple[str, Callable[[], None]]] = {
    "gradient-attacks-return-clean": (
        "every gradient attack (ART's via make_attack, and DDN) returns the clean input",
        _gradient_attacks_return_clean),
    "bpda-zero-grad": ("BPDA's backward pass returns zero gradients", _bpda_zero_grad),
    "bpda-exact-forward": ("BPDA removed: torch_module ignores the multiplier (exact forward)",
                           _bpda_exact_forward),
    "whitebox-uses-exact-gradients": (
        "the white-box experiment attacks each model through the exact network's gradients "
        "(transfer in disguise)", _whitebox_uses_exact_gradients),
    "margin-is-ce": ("every attack loss (margin, ce-normalised) replaced by cross-entropy",
                     _margin_is_ce),
    "loss-negated": ("the attack loss is minimised instead of maximised", _loss_negated),
    "ddn-returns-clean": ("DDN returns the clean images", _ddn_returns_clean),
    "ddn-ignores-confidence": ("DDN runs with confidence 0 whatever it is given",
                               _ddn_ignores_confidence),
    "rel-step-ignored": ("PGD's step is not tied to eps (rel_step ignored: ART's eps_step)",
                         _rel_step_ignored),
    "decision-counts-start": ("decision-based success counts the seeded start and the queries "
                              "that found it", _decision_counts_start),
    "wilson-0-1": ("the Wilson interval is always (0, 1)",
                   _returns("archsim.robustness.stats", "wilson", lambda *a, **k: (0.0, 1.0))),
    "mcnemar-p-1": ("McNemar's p-value is always 1",
                    _returns("archsim.robustness.stats", "mcnemar_exact", lambda *a, **k: 1.0)),
    "fp-weights-unrounded": ("the fp16/bf16 weight controls return the unmodified network",
                             _returns("archsim.robustness.adaptive", "round_weights",
                                      lambda net, *a, **k: net)),
    "scaled-unscaled": ("the scaled-like control returns the unmodified network",
                        _returns("archsim.robustness.adaptive", "scaled_like",
                                 lambda net, *a, **k: net)),
    "noise-free": ("the noise-like control returns the unmodified network",
                   _returns("archsim.robustness.adaptive", "noise_like",
                            lambda net, *a, **k: net)),
}


# ------------------------------------------------------------------ pytest plugin side

def pytest_configure(config):
    """Apply the mutation named by $ARCHSIM_MUTATION (none when unset or empty)."""
    name = os.environ.get(ENV, "")
    if not name:
        return
    if name not in MUTATIONS:
        raise RuntimeError(f"{ENV}={name!r}: unknown mutation (known: {', '.join(MUTATIONS)})")
    MUTATIONS[name][1]()


def pytest_report_header(config):
    name = os.environ.get(ENV, "")
    return f"mutation: {name} ({MUTATIONS[name][0]})" if name in MUTATIONS else None


# ------------------------------------------------------------------ driver side

def run_tests(mutation: str, tests: list[str], slow: bool) -> dict:
    """One pytest subprocess under `mutation` ("" = none): exit code, failed test ids, counts."""
    with tempfile.TemporaryDirectory(prefix="archsim-mutation-") as tmp:
        xml = Path(tmp) / "report.xml"
        env = dict(os.environ)
        env[ENV] = mutation
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent)] + [p for p in [env.get("PYTHONPATH")] if p])
        env.setdefault("OMP_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "mutation_check",
               "-p", "no:cacheprovider", "--junitxml", str(xml), "-o", "addopts="]
        if not slow:
            cmd += ["-m", "not slow"]
        start = time.monotonic()
        proc = subprocess.run(cmd + tests, cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        failed, total = [], 0
        if xml.is_file():
            for case in ET.parse(xml).getroot().iter("testcase"):
                total += 1
                bad = case.find("failure")
                bad = case.find("error") if bad is None else bad
                if bad is not None:
                    failed.append(f"{case.get('classname', '').rsplit('.', 1)[-1]}::"
                                  f"{case.get('name')}{_kind(bad.get('message') or '')}")
    return {"code": proc.returncode, "failed": failed, "total": total, "seconds": seconds,
            "output": proc.stdout + proc.stderr}


def _kind(message: str) -> str:
    """'' for an assertion failure (the test noticed), else ' [ExceptionType]' (the mutated
    code crashed the test: still a failure, but flagged so a broken mutation is visible)."""
    first = message.strip().split(":", 1)[0].strip()
    if not first or first.startswith(("assert", "AssertionError", "Failed")):
        return ""
    return f" [{first.split()[0]}]"


def _compact(failed: list[str]) -> str:
    """Failing test ids, parametrized cases of one test folded: `test_x (10 cases)`."""
    counts: dict[str, int] = {}
    for test_id in failed:
        name, _, kind = test_id.partition(" [")
        base = name.split("[", 1)[0] + (f" [{kind}" if kind else "")
        counts[base] = counts.get(base, 0) + 1
    return ", ".join(b if n == 1 else f"{b} ({n} cases)" for b, n in counts.items()) or "-"


def _status(res: dict, baseline: bool) -> str:
    if res["code"] not in (0, 1) or res["total"] == 0:
        return "ERROR"
    if baseline:
        return "pass" if res["code"] == 0 and not res["failed"] else "FAIL"
    return "killed" if res["failed"] else "SURVIVED"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--mutation", action="append", default=[],
                    help="a mutation to check (repeatable; default: all)")
    ap.add_argument("--tests", nargs="+", default=list(ROBUSTNESS_TESTS),
                    help="test files or node ids, relative to the repository root")
    ap.add_argument("--slow", action="store_true", help="include @pytest.mark.slow tests")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    # SIGTERM -> SystemExit: subprocess.run then kills the running pytest and the temporary
    # directory is removed (no orphaned test run left behind)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.list:
        for name, (desc, _) in MUTATIONS.items():
            print(f"{name:32s} {desc}")
        return 0
    unknown = [m for m in args.mutation if m not in MUTATIONS]
    if unknown:
        print(f"mutation_check: --mutation: unknown {', '.join(unknown)} "
              f"(known: {', '.join(MUTATIONS)})", file=sys.stderr)
        return 2
    missing = [t for t in args.tests if not (REPO / t.split("::")[0]).exists()]
    if missing:
        print(f"mutation_check: --tests: not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    names = ([""] if not args.no_baseline else []) + (args.mutation or list(MUTATIONS))
    print(f"tests: {' '.join(args.tests)} ({'all' if args.slow else 'not slow'})", flush=True)
    rows, errors = [], []
    for name in names:
        res = run_tests(name, args.tests, args.slow)
        status = _status(res, baseline=not name)
        rows.append((name or "(none: baseline)", status, res))
        print(f"{name or '(none: baseline)':32s} {status:9s} {len(res['failed']):3d} of "
              f"{res['total']:3d} tests failed ({res['seconds']:.0f} s)", flush=True)
        if status == "ERROR":
            errors.append(name)
            tail = res["output"].strip().splitlines()[-15:]
            print("    " + "\n    ".join(tail), file=sys.stderr)
    print("\n| mutation | status | failed | failing tests |")
    print("|---|---|---|---|")
    for name, status, res in rows:
        print(f"| {name} | {status} | {len(res['failed'])}/{res['total']} | "
              f"{_compact(res['failed'])} |")
    if errors:
        return 2
    survived = [n for n, s, _ in rows if s in ("SURVIVED", "FAIL")]
    if survived:
        print(f"\nnot caught / baseline failing: {', '.join(survived)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
