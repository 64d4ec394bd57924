"""Helpers shared by the CIFAR-10 tests: where the standard batches are, built once per session.

The batches are the JPEG-decoded ones of ../shared/data/cifar10/to_batches.py (pixels differ
slightly from the official archive). ``ARCHSIM_CIFAR10_DIR`` names an existing directory;
otherwise the script runs (about 10 s) into the session's pytest base temp directory, which
both CIFAR test modules share.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def cifar_batches_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A directory holding cifar-10-batches-py (skips if neither the env var nor the store)."""
    env = os.environ.get("ARCHSIM_CIFAR10_DIR")
    if env:
        return Path(env)
    script = shared_data / "cifar10" / "to_batches.py"
    if not script.is_file():
        pytest.skip(f"{script} not found")
    pytest.importorskip("PIL")
    out = tmp_path_factory.getbasetemp() / "cifar10"
    if not (out / "cifar-10-batches-py" / "batches.meta").is_file():
        subprocess.run([sys.executable, str(script), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return out
