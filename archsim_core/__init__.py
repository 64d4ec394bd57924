"""archsim_core: bit-level multipliers built from one netlist each, and FP kernels over them.

    from archsim_core import get_multiplier
    m = get_multiplier("da")            # or "exact", "da-reference", "lsb-AMA5-16", a spec dict
    z = m.multiply(x, y); Y = m.matmul(X, W); y = m.conv2d(x, w, b, stride=1, padding=0)
"""
from archsim_core.multiplier import DomainError, Multiplier, get_multiplier
from archsim_core.variants import list_variants, resolve_variant

__all__ = ["DomainError", "Multiplier", "get_multiplier", "list_variants", "resolve_variant"]
