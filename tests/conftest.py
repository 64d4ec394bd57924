"""Shared fixtures. Data paths are relative to this file; ../shared sits beside the checkout.

In CI (environment variable CI set, as every CI service does), a skipped test is a failure:
a missing prerequisite (../shared/data, Pillow, torch, ART) must not turn CI green by
skipping. Locally, such tests skip with their reason.
"""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARCHSIM_SHARED", REPO.parent / "shared"))


def in_ci() -> bool:
    """True when the CI environment variable is set to anything but false/0/no/empty."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, turn a skip (not an xfail) into a failure that names the missing prerequisite."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must not happen: {_skip_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """In CI, a module skipped at collection (module-level importorskip) fails too."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped in CI, which must not happen: {_skip_reason(report)}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only data directory `../shared/data` (skips if absent; fails in CI)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


def da_lenet_correct(data: Path, first: int, keep: int):
    """(DA LeNet, the first `keep` of the first `first` MNIST test images float32 classifies
    correctly, their labels, the test split): the robustness tests' shared sample."""
    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import forward
    net = load_network(data / "da_lenet_official.npz", "da-lenet")
    test = load_split("mnist", data, "test")
    x, y = test.x[:first], test.y[:first]
    ok = forward(net, x).argmax(1) == y
    return net, x[ok][:keep], y[ok][:keep], test


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO
