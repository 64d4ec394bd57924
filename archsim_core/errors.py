"""The core's own exception types: archsim_core imports nothing from archsim.

`ArchsimCoreError` is the root of every error the core reports to a user (one clear line).
The `archsim` package builds its hierarchy on this root (`archsim.errors.ArchsimError` is
this class), so the command line turns core and archsim errors alike into one line, exit 2.
"""


class ArchsimCoreError(Exception):
    """Base class of every error reported to a user (one clear line, exit code 2 in the CLI)."""


class SpecError(ArchsimCoreError, ValueError):
    """A multiplier, netlist, cell or FP-format specification is invalid (names the field)."""


class DataError(ArchsimCoreError, ValueError):
    """A data or operand file is missing, corrupt or of the wrong shape (names the file)."""
