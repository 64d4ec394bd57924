"""archsim: design, simulate, cost and attack approximate-arithmetic CNN accelerators."""
from archsim.errors import ArchsimError, ConfigError, DataError, SpecError, WorkloadError

__all__ = ["ArchsimError", "ConfigError", "DataError", "SpecError", "WorkloadError", "__version__"]
__version__ = "0.1.0"
