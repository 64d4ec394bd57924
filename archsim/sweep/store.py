"""The results directory of a sweep: streamed, resumable, and final tables in point order.

    DIR/sweep.json        the spec and base config echoed, the spec hash, the columns
    DIR/results.csv       one row per finished point, appended (and flushed) as points
                          finish; rewritten in point order when the sweep completes
    DIR/results.parquet   the same table (pyarrow), written when the sweep completes
    DIR/pareto.csv        the feasible points on the Pareto front of the objectives
    DIR/plots/            objective scatter plots with the front, per-axis effects

A rerun of the same spec reads results.csv back and skips every point whose row is there
(matched by point id and the hash of its resolved config); a torn last line is dropped. A
directory of another spec, or one archsim did not write, is refused before anything is
touched. The final files depend only on the spec: same bytes whatever the worker count or
how often the sweep was interrupted.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from archsim.errors import ArchsimError, ConfigError
from archsim.results import _cell, dumps_json, write_csv
from archsim.sweep.spec import SweepSpec

FLOAT_COLUMNS = ("clock_mhz", "latency_s", "energy_j", "pe_energy_j", "edp_js", "area_um2",
                 "top1")
SCHEMA = "archsim-sweep/1"


def spec_echo(spec: SweepSpec, n_points: int) -> dict:
    """sweep.json's payload (no machine-specific paths)."""
    import json

    return {"kind": SCHEMA, "spec_hash": spec.spec_hash,
            "base_config": json.loads(spec.base_doc_json),
            "axes": {a.key: [json.loads(v) if a.key == "pe.layers" else v for v in a.values]
                     for a in spec.axes}, "sampling": spec.sampling,
            "samples": spec.samples, "seed": spec.seed, "max_points": spec.max_points,
            "constraints": [{"key": c.key, "min": c.minimum, "max": c.maximum,
                             "in": None if c.allowed is None else list(c.allowed),
                             "where": dict(c.where)} for c in spec.constraints],
            "objectives": list(spec.objectives),
            "accuracy": None if spec.accuracy is None else {
                "dataset": spec.accuracy.dataset, "architecture": spec.accuracy.architecture,
                "weights": Path(spec.accuracy.weights).name, "images": spec.accuracy.images,
                "quant": spec.accuracy.quant and Path(spec.accuracy.quant).name},
            "columns": spec.columns, "points": n_points}


def _parse(column: str, text: str, planned):
    if column in ("point_id", "cycles", "dram_read_bytes", "dram_write_bytes"):
        return int(text)
    if column in FLOAT_COLUMNS:
        return float(text)
    if column == "feasible":
        if text not in ("True", "False"):
            raise ValueError(text)
        return text == "True"
    if column == "config_hash":
        return text
    if str(_cell(planned)) != text:  # an axis cell must be what the plan says
        raise ValueError(text)
    return planned


class SweepStore:
    """Reads and writes one sweep's results directory (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike, spec: SweepSpec, points: list):
        self.dir, self.spec, self.points = Path(directory), spec, points
        self.columns = spec.columns
        self.by_id = {p.point_id: p for p in points}
        self.done: dict[int, dict] = {}
        self._fh = None

    @property
    def csv_path(self) -> Path:
        return self.dir / "results.csv"

    def check(self) -> None:
        """Refuse a foreign directory; read back finished rows. Writes nothing."""
        import json

        if not self.dir.exists():
            return
        meta = self.dir / "sweep.json"
        if not self.dir.is_dir():
            raise ConfigError(f"{self.dir}: --out: exists and is not a directory")
        if not meta.is_file():
            if any(self.dir.iterdir()):
                raise ConfigError(f"{self.dir}: --out: not empty and not a sweep directory "
                                  f"(no sweep.json); not touching it")
            return
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{meta}: unreadable ({exc}); not touching {self.dir}") from None
        if old.get("spec_hash") != self.spec.spec_hash:
            raise ConfigError(f"{meta}: spec_hash: {self.dir} holds results of another sweep "
                              f"spec ({old.get('spec_hash')}), not of {self.spec.source} "
                              f"({self.spec.spec_hash}); choose another --out")
        if self.csv_path.is_file():
            self._read_back()

    def _read_back(self) -> None:
        with self.csv_path.open(newline="", encoding="utf-8") as fh:
            text = fh.read()
        # every complete line ends with a newline; a torn last one (a killed write) is dropped
        rows = list(csv.reader(text.split("\n")[:-1]))
        if not rows or rows[0] != self.columns:
            raise ConfigError(f"{self.csv_path}: header does not match the spec's columns")
        for cells in rows[1:]:
            if len(cells) != len(self.columns):
                continue
            try:
                point = self.by_id.get(int(cells[0]))
                if point is None:
                    continue
                planned = dict(point.cells)
                row = {c: _parse(c, t, planned.get(c)) for c, t in zip(self.columns, cells)}
            except ValueError:
                continue
            if row["config_hash"] == point.config_hash:
                self.done[point.point_id] = row

    def start(self) -> None:
        """Create the directory, write sweep.json, rewrite results.csv with the valid rows."""
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_text(self.dir / "sweep.json", dumps_json(spec_echo(self.spec, len(self.points))))
        rows = [self.done[k] for k in sorted(self.done)]
        tmp = self.dir / ".results.csv.tmp"
        write_csv(tmp, rows, self.columns)
        os.replace(tmp, self.csv_path)
        self._fh = self.csv_path.open("a", newline="", encoding="utf-8")

    def pending(self) -> list:
        """Points not yet in the table, in point order."""
        return [p for p in self.points if p.point_id not in self.done]

    def append(self, row: dict) -> None:
        """Record a finished point: one CSV line, flushed (survives a kill of this process)."""
        if row["point_id"] in self.done:
            return
        self.done[row["point_id"]] = row
        writer = csv.writer(self._fh, lineterminator="\n")
        writer.writerow([_cell(row[c]) for c in self.columns])
        self._fh.flush()

    def close(self) -> None:
        """Close the streaming file (rows stay as written)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def rows(self) -> list[dict]:
        """Finished rows in point order."""
        return [self.done[k] for k in sorted(self.done)]

    def finish(self, plots: bool = True) -> None:
        """All points done: final CSV and Parquet in point order, the front, the plots."""
        from archsim.sweep.pareto import pareto_rows

        self.close()
        missing = [p.point_id for p in self.points if p.point_id not in self.done]
        if missing:
            raise ArchsimError(f"{self.dir}: {len(missing)} points missing after the sweep")
        rows = self.rows()
        tmp = self.dir / ".results.csv.tmp"
        write_csv(tmp, rows, self.columns)
        os.replace(tmp, self.csv_path)
        write_parquet(self.dir / "results.parquet", rows, self.columns)
        front = pareto_rows(rows, self.spec.objectives)
        write_csv(self.dir / "pareto.csv", front, self.columns)
        if plots:
            from archsim.sweep.plots import plot_sweep
            plot_sweep(self.dir, rows, front, list(self.spec.objectives),
                       [a.key for a in self.spec.axes])


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _arrow_type(values: list):
    import pyarrow as pa

    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def write_parquet(path: Path, rows: list[dict], columns: list[str]) -> Path:
    """The table as Parquet (typed columns; mixed-type axes as strings); atomic."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ArchsimError("results.parquet needs pyarrow: pip install 'archsim[sweep]'") from None
    arrays = {}
    for c in columns:
        values = [r[c] for r in rows]
        kind = _arrow_type(values)
        if kind == pa.string():
            values = [str(_cell(v)) for v in values]
        elif kind == pa.float64():
            values = [float(v) for v in values]
        arrays[c] = pa.array(values, type=kind)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(arrays), tmp)
    os.replace(tmp, path)
    return path
