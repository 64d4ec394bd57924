"""The arithmetic really runs compiled: no pure-Python fallback can make the other tests pass."""
import importlib

import pytest

from archsim_core import get_multiplier, multiplier


@pytest.mark.parametrize("module", ["archsim_core._kernels", "archsim_core._sigmul"])
def test_extension_modules_are_shared_objects(module):
    mod = importlib.import_module(module)
    assert mod.__file__.endswith((".so", ".pyd")), mod.__file__


def test_multiplier_calls_the_compiled_kernels():
    from archsim_core import _kernels, _sigmul
    assert multiplier._kernels is _kernels
    for name in ("exact", "da", "da-reference", "lsb-AMA5-16"):
        engine = get_multiplier(name).engine
        assert isinstance(engine, _sigmul.SigMul)
        assert type(engine).__module__.startswith("archsim_core._")
        assert importlib.import_module(type(engine).__module__).__file__.endswith((".so", ".pyd"))
    # compiled functions are builtins, not Python functions
    assert type(_kernels.matmul_bits).__name__ in ("cython_function_or_method", "fused_cython_function")
