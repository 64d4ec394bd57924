"""Sweeps as separate processes: SIGINT then rerun, a real Dask scheduler with two workers
(one killed mid-sweep), and the same bytes whatever the worker count. Localhost only."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The DA MNIST network on small arrays: 6 simulations, the quick ones first (os: 0.01-0.3 s)
# and the slow ones last (ws on 8x8 and 4x4: 0.5-1.5 s), so there is time to interrupt.
SPEC = f"""base: {REPO / 'configs' / 'da_mnist.yaml'}
axes:
  array.dataflow: [os, ws]
  array.size: [16, 8, 4]
  pe.variant: [exact, da]
objectives: [latency, energy, area]
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def tree_bytes(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def rows_in(path: Path) -> int:
    try:
        return max(0, path.read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0


def default_sigint():
    """A shell's background job starts with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sweep(spec, out, *extra, plots=False, **kw):
    return subprocess.Popen([sys.executable, "-m", "archsim", "sweep", str(spec), "--out",
                             str(out), *map(str, extra), *([] if plots else ["--no-plots"])],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint, **kw)


def wait_rows(proc, csv_path, at_least, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while rows_in(csv_path) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "sweep made no progress"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    """The reference: an uninterrupted serial sweep."""
    tmp = tmp_path_factory.mktemp("serial")
    (tmp / "spec.yaml").write_text(SPEC)
    proc = sweep(tmp / "spec.yaml", tmp / "out", "--workers", "0")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return tmp / "spec.yaml", tmp / "out"


def test_sigint_midway_then_rerun_gives_the_same_bytes(tmp_path, serial_run):
    spec, reference = serial_run
    out = tmp_path / "out"
    proc = sweep(spec, out, "--workers", "0")
    wait_rows(proc, out / "results.csv", 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    done = rows_in(out / "results.csv")
    assert proc.returncode == 130 and "interrupted" in err, err
    assert 2 <= done < 12 and not (out / "results.parquet").exists()   # really midway
    proc = sweep(spec, out, "--workers", "0")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"12 points, {done} already done" in err
    assert tree_bytes(out) == tree_bytes(reference)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_scheduler_two_workers_one_killed(tmp_path, serial_run):
    spec, reference = serial_run
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                     "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                     "--no-dashboard", "--death-timeout", "60"],
                                    env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        procs += workers
        out = tmp_path / "out"
        client = sweep(spec, out, "--scheduler", address)
        procs.append(client)
        wait_rows(client, out / "results.csv", 2)
        workers[0].kill()                        # SIGKILL: whatever it held is lost
        workers[0].wait(timeout=30)
        assert rows_in(out / "results.csv") < 12  # killed mid-sweep
        _, err = client.communicate(timeout=300)
        assert client.returncode == 0, err
        ids = [line.split(",")[0] for line in (out / "results.csv").read_text().splitlines()[1:]]
        assert ids == [str(i) for i in range(12)]   # every point exactly once, in order
        assert tree_bytes(out) == tree_bytes(reference)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_local_cluster_same_bytes_as_serial(tmp_path, serial_run, workers):
    """Plots included: every file of the directory is the same whatever the worker count."""
    spec, _ = serial_run
    outs = []
    for count in ("0", workers):
        outs.append(tmp_path / f"out{count}")
        proc = sweep(spec, outs[-1], "--workers", count, plots=True)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert len(list((outs[0] / "plots").glob("*.png"))) == 6
    assert tree_bytes(outs[0]) == tree_bytes(outs[1])
