"""Output directories that never lose a user's files (every command that writes results).

The rule, for every command:
- Default location: `runs/<name>` (`default_out(name)`): the config's `name` for `run` and
  `robustness`, the command's name otherwise (`runs/characterize`, `runs/cost`,
  `runs/scalesim`). Names are sanitised (`safe_name`) so they never escape `runs/`.
- archsim writes into a hidden temporary sibling; only when everything is written does it
  replace the target, atomically (the old directory is moved aside first, then removed).
- A target may be replaced only if it does not exist, is an empty directory, or carries
  archsim's marker file (`MARKER`, written into every output directory). Anything else (a
  non-empty directory archsim did not write, a file, a symbolic link, the working directory
  or one of its ancestors) is refused with one line, before any work starts
  (`check_output_dir`) and again just before writing.
- Missing parent directories are created and removed again if the command fails; the
  temporary directory is always removed. Directories get the usual permissions (0777 minus
  the umask), not `mkdtemp`'s 0700.
- Every OS error becomes an `OutputError` (one line naming the path, exit 2 in the CLI).

    from archsim.outdir import check_output_dir, output_dir
    check_output_dir(out)              # early: refuse before a long computation
    with output_dir(out) as tmp:       # write files into tmp
        (tmp / "x.csv").write_text(...)
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from archsim.errors import OutputError

MARKER = ".archsim-output"
MARKER_TEXT = "This directory was written by archsim; archsim may replace it as a whole.\n"
RUNS = Path("runs")


def safe_name(name: str, fallback: str = "run") -> str:
    """`name` reduced to one safe path component: letters, digits, '.', '_' and '-' kept,
    every other run of characters becomes '_'; no leading dots; never empty."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).lstrip(".")
    return text or fallback


def default_out(name: str) -> Path:
    """The default output directory of a command or config called `name`: runs/<name>."""
    return RUNS / safe_name(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_dir(path: str | os.PathLike) -> Path:
    """Raise OutputError unless archsim may write `path` (see the module rule); returns the
    absolute path. Nothing is created."""
    raw = Path(path)
    if str(path) == "":
        raise OutputError("output directory: empty path")
    final = Path(os.path.abspath(raw))
    cwd = Path(os.getcwd())
    if final == cwd or final in cwd.parents:
        raise OutputError(f"{raw}: refusing to replace the working directory or one of its "
                          f"parents; give a new directory")
    try:
        if final.is_symlink():
            raise OutputError(f"{raw}: is a symbolic link; give a directory path")
        if final.exists():
            if not final.is_dir():
                raise OutputError(f"{raw}: exists and is not a directory")
            entries = os.listdir(final)
            if entries and MARKER not in entries:
                raise OutputError(
                    f"{raw}: directory is not empty and was not written by archsim "
                    f"(no {MARKER}); refusing to replace it: give a new or empty directory")
        # the nearest existing ancestor must be a writable directory
        ancestor = final.parent
        while not ancestor.exists():
            if ancestor.is_symlink():  # dangling link
                raise OutputError(f"{raw}: {ancestor} is a dangling symbolic link")
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputError(f"{raw}: {ancestor} is not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputError(f"{raw}: cannot write in {ancestor}: permission denied")
    except OSError as exc:
        raise OutputError(f"{raw}: cannot use as output directory: {_describe(exc)}") from None
    return final


def _make_parents(directory: Path) -> list[Path]:
    """mkdir -p; returns the directories created (deepest last)."""
    missing = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for d in reversed(missing):
        d.mkdir()
    return list(reversed(missing))


def _remove_created(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def output_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory that atomically becomes `path` if the block succeeds.

    Refuses (OutputError) a target archsim may not replace; removes the temporary directory
    (and any parent it created) if the block raises; marks the result with MARKER.
    """
    raw = Path(path)
    final = check_output_dir(raw)
    created: list[Path] = []
    tmp = None
    try:
        created = _make_parents(final.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        _remove_created(created)
        raise OutputError(f"{raw}: cannot create output directory: {_describe(exc)}") from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise
    try:
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        check_output_dir(raw)  # the target may have changed while we worked
        trash = None
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, trash / "old")
        try:
            os.replace(tmp, final)
        except OSError:
            if trash is not None:
                os.replace(trash / "old", final)
            raise
        finally:
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise OutputError(f"{raw}: cannot write output: {_describe(exc)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise


def write_file_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write one user-named output file (e.g. `compare --csv F`) via a temporary sibling;
    OS errors become one-line OutputErrors; an existing directory is refused."""
    raw = Path(path)
    final = Path(os.path.abspath(raw))
    if final.is_dir():
        raise OutputError(f"{raw}: is a directory; give a file name")
    if not final.parent.is_dir():
        raise OutputError(f"{raw}: directory {final.parent} does not exist")
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise OutputError(f"{raw}: cannot write: {_describe(exc)}") from None
    return final
