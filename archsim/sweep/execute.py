"""Running a sweep's points: serially in this process, or on Dask (a local cluster or a
running scheduler). Either way a group's simulation and an assignment's accuracy are computed
once and shared by the points that need them; rows go to the store as points finish.
"""
from __future__ import annotations

from archsim.errors import ArchsimError
from archsim.sweep.point import (evaluate, pe_cost, pe_cost_key, result_constraints,
                                 simulate_group, top1_accuracy)
from archsim.sweep.spec import sha


class SchedulerError(ArchsimError):
    """No Dask scheduler answers at the given address (or Dask is missing)."""


def _bar(store, progress: bool):
    from tqdm import tqdm

    return tqdm(total=len(store.points), initial=len(store.done), unit="point",
                desc="sweep", disable=not progress, smoothing=0.1)


def run_serial(store, spec, progress: bool = False) -> None:
    """Every pending point in point order, in this process; shared work memoised."""
    todo = store.pending()
    remaining: dict[str, int] = {}
    for p in todo:
        remaining[p.group_key] = remaining.get(p.group_key, 0) + 1
    groups: dict = {}
    accuracy: dict = {}
    columns, constraints = tuple(spec.columns), result_constraints(spec)
    with _bar(store, progress) as bar:
        for p in todo:
            if p.group_key not in groups:
                groups[p.group_key] = simulate_group(p.group_doc_json, p.base_dir,
                                                     p.precision)
            top1 = None
            if p.accuracy_key is not None:
                if p.accuracy_key not in accuracy:
                    accuracy[p.accuracy_key] = top1_accuracy(spec.accuracy,
                                                             p.accuracy_assignment)
                top1 = accuracy[p.accuracy_key]
            store.append(evaluate(p, groups[p.group_key], top1, columns, constraints))
            remaining[p.group_key] -= 1
            if not remaining[p.group_key]:
                del groups[p.group_key]   # no later point needs this simulation
            bar.update()


def connect(scheduler: str | None, workers: int | None):
    """A dask.distributed Client: to `scheduler`, or to a new local cluster of `workers`
    single-threaded worker processes (all CPUs if None)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SchedulerError("Dask is not installed: pip install 'archsim[sweep]' "
                             "(or run serially with --workers 0)") from None
    import logging
    import os

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(f"--scheduler {scheduler}: no Dask scheduler answers "
                                 f"({' '.join(str(exc).split())[:160]})") from None
    try:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None, host="127.0.0.1",
                               silence_logs=logging.ERROR,  # its HTTP server on a free port:
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise SchedulerError(f"--workers {workers}: the local Dask cluster did not start "
                             f"({' '.join(str(exc).split())[:160]})") from None
    return Client(cluster)


def evaluate_group(points: list, top1: list, pes: dict, columns: tuple,
                   constraints: tuple) -> list:
    """Rows of points sharing one group: its simulation once, then each point priced. One
    Dask task per group: thousands of tiny per-point tasks would cost more in scheduling
    than the pricing itself."""
    group = simulate_group(points[0].group_doc_json, points[0].base_dir,
                           points[0].precision)
    return [evaluate(p, group, t, columns, constraints, pes) for p, t in zip(points, top1)]


def run_dask(store, spec, client, progress: bool = False) -> None:
    """Submit one task per accuracy assignment and one per group of pending points (which
    depends on the accuracies its points need); record rows as groups complete. Dask
    recomputes whatever a lost worker held, so every point arrives exactly once."""
    from distributed import as_completed

    columns, constraints = tuple(spec.columns), result_constraints(spec)
    groups: dict[str, list] = {}
    for p in store.pending():
        groups.setdefault(p.group_key, []).append(p)
    accuracy: dict = {}
    for p in store.pending():
        if p.accuracy_key is not None and p.accuracy_key not in accuracy:
            accuracy[p.accuracy_key] = client.submit(
                top1_accuracy, spec.accuracy, p.accuracy_assignment,
                key=f"top1-{p.accuracy_key}")
    pe_costs: dict = {}   # one task per (cost context, variant): not once per worker
    for points in groups.values():
        for p in points:
            for label, spec_json in p.variants:
                k = f"pe-{pe_cost_key(p)}-{sha(spec_json)}"
                if k not in pe_costs:
                    pe_costs[k] = client.submit(pe_cost, p.group_doc_json, p.base_dir,
                                                spec_json, key=k)
    futures = []
    for key, points in groups.items():
        pes = {label: pe_costs[f"pe-{pe_cost_key(p)}-{sha(s)}"]
               for p in points for label, s in p.variants}
        futures.append(client.submit(evaluate_group, points,
                                     [accuracy.get(p.accuracy_key) for p in points], pes,
                                     columns, constraints,
                                     key=f"group-{key}-{points[0].point_id}"))
    with _bar(store, progress) as bar:
        for future in as_completed(futures):
            rows = future.result()
            for row in rows:
                store.append(row)
            bar.update(len(rows))
            future.release()
