"""Reading .npz files safely, with messages that name the file and the array (never numpy's
internals): no pickles, a clear line for a file that is not an .npz archive at all."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from archsim_core.errors import DataError

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"


def read_npz(path, what: str = "npz file", error=DataError) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path`, loaded (allow_pickle=False).

    `error(message)` names the file, and the array when one array is the problem: missing
    file, not an .npz (a .npy, text, garbage), a damaged archive, an array of Python objects.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if head.startswith(_NPY_MAGIC):
        raise error(f"{path}: is a single .npy array, not an .npz archive ({what}; save it "
                    f"with numpy.savez)")
    if not head.startswith(_ZIP_MAGIC):
        raise error(f"{path}: not an .npz archive ({what}: expected a zip of .npy arrays, as "
                    f"written by numpy.savez)")
    out = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                try:
                    out[key] = data[key]
                except ValueError as exc:
                    why = ("holds Python objects (pickled data is refused)"
                           if "pickle" in str(exc) else f"is unreadable ({exc})")
                    raise error(f"{path}: array {key!r} {why}") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise error(f"{path}: damaged .npz archive ({what}): {type(exc).__name__}: "
                    f"{' '.join(str(exc).split())}") from None
    return out
