"""In CI a skipped test fails (a missing prerequisite must not turn CI
green). Runs the repository's own conftest on a small inline test module."""
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

MODULE = """
import pytest

def test_needs_missing_prerequisite():
    pytest.importorskip("no_such_module_archsim_17")

def test_skips_on_purpose():
    pytest.skip("data not found")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False

def test_passes():
    assert True
"""
MODULE_LEVEL = """
import pytest
pytest.importorskip("no_such_module_archsim_17")

def test_never_collected():
    pass
"""


@pytest.fixture
def suite(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_inline=MODULE, test_module_level=MODULE_LEVEL)
    return pytester


def test_skips_fail_in_ci(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = suite.runpytest("-p", "no:cacheprovider", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, failed=2, xfailed=1, errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI, which must not happen*"])


def test_ci_values():
    import importlib.util
    spec = importlib.util.spec_from_file_location("archsim_conftest",
                                                  Path(__file__).parent / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    import os
    old = os.environ.get("CI")
    try:
        for value, expected in (("true", True), ("1", True), ("True", True), ("false", False),
                                ("0", False), ("", False)):
            os.environ["CI"] = value
            assert conftest.in_ci() is expected, value
    finally:
        if old is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = old


def test_skips_stay_skips_outside_ci(suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
