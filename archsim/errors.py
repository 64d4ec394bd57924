"""Exception hierarchy. The library raises these; only the CLI turns them into exit codes."""


class ArchsimError(Exception):
    """Base class of every error archsim reports to a user (one clear line, exit code 2)."""


class ConfigError(ArchsimError, ValueError):
    """A configuration file or value is invalid (the message names the file and dotted path)."""


class WorkloadError(ArchsimError, ValueError):
    """A workload/topology definition is invalid (the message names the file, row and field)."""


class DataError(ArchsimError, ValueError):
    """A data or weights file is missing, corrupt or of the wrong shape (names the file)."""


class SpecError(ArchsimError, ValueError):
    """A multiplier, netlist, cell or FP-format specification is invalid (names the field)."""


class OutputError(ArchsimError):
    """An output location cannot be used or written (names the path)."""


class ResourceError(ArchsimError, ValueError):
    """The requested work is too large to run (memory or time estimate over a stated bound)."""
