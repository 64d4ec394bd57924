"""archsim_core stands alone: it imports and works with archsim blocked,
raises its own error types, and archsim's hierarchy is rooted in them (one CLI line)."""
import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "archsim" or name.startswith("archsim."):
            raise ImportError("archsim is blocked: " + name)
sys.meta_path.insert(0, Block())
import numpy as np
import archsim_core
for m in pkgutil.iter_modules(archsim_core.__path__):
    importlib.import_module("archsim_core." + m.name)
from archsim_core import get_multiplier
from archsim_core.errors import ArchsimCoreError, SpecError
x = np.float32([1.5, 3.0]); y = np.float32([2.0, -0.5])
assert get_multiplier("exact").multiply(x, y).tolist() == [3.0, -1.5]
try:
    get_multiplier("no-such-variant")
except SpecError as exc:
    assert isinstance(exc, ArchsimCoreError)
else:
    raise SystemExit("no SpecError")
assert not any(k == "archsim" or k.startswith("archsim.") for k in sys.modules)
print("standalone ok")
"""


def test_core_imports_and_runs_without_archsim():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "standalone ok"


def test_archsim_errors_are_rooted_in_the_core():
    from archsim_core import errors as core
    from archsim import errors

    assert errors.ArchsimError is core.ArchsimCoreError
    assert errors.SpecError is core.SpecError and errors.DataError is core.DataError
    for cls in (errors.ConfigError, errors.WorkloadError, errors.OutputError,
                errors.ResourceError):
        assert issubclass(cls, core.ArchsimCoreError)


def test_core_error_is_one_cli_line(capsys):
    from archsim import cli

    assert cli.main(["characterize", "no-such-variant", "--n", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown variant 'no-such-variant'" in err[0]
