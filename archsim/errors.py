"""Exception hierarchy. The library raises these; only the CLI turns them into exit codes.

The root is the compiled core's own base class (`archsim_core.errors.ArchsimCoreError`, which
`ArchsimError` names here), and `SpecError` / `DataError` are the core's classes, so errors
raised inside `archsim_core` (which imports nothing from `archsim`) are archsim errors too.
"""
from archsim_core.errors import ArchsimCoreError as ArchsimError
from archsim_core.errors import DataError, SpecError

__all__ = ["ArchsimError", "ConfigError", "WorkloadError", "DataError", "SpecError",
           "OutputError", "ResourceError"]


class ConfigError(ArchsimError, ValueError):
    """A configuration file or value is invalid (the message names the file and dotted path)."""


class WorkloadError(ArchsimError, ValueError):
    """A workload/topology definition is invalid (the message names the file, row and field)."""


class OutputError(ArchsimError):
    """An output location cannot be used or written (names the path)."""


class ResourceError(ArchsimError, ValueError):
    """The requested work is too large to run (memory or time estimate over a stated bound)."""
