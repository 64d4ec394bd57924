"""Render a run or sweep directory as one self-contained HTML file.

Plots are the directory's PNGs (drawn from its data first if missing), embedded as base64
data URIs; tables come from the CSV/JSON files; the configuration is echoed. No external
resource is referenced, so the file opens anywhere. Same directory, same bytes.
"""
from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path

from archsim.errors import DataError

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}
td.s,th.s{text-align:left}img{max-width:100%;border:1px solid #ddd;margin:4px}
pre{background:#f6f6f6;padding:1em;font-size:12px;overflow:auto}
.scroll{max-height:480px;overflow:auto}"""


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    """A CSV written by archsim: header and rows with numbers and booleans parsed."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            return header, [dict(zip(header, map(_value, row))) for row in reader]
    except (OSError, StopIteration, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read table ({exc})") from None


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def table_html(header: list[str], rows: list[dict], limit: int | None = None) -> str:
    """An HTML table (numbers right-aligned, text left); at most `limit` rows."""
    shown = rows if limit is None else rows[:limit]
    out = ["<div class='scroll'><table><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in header]
    out.append("</tr>")
    for row in shown:
        out.append("<tr>")
        for h in header:
            v = row.get(h, "")
            cls = "" if isinstance(v, (int, float)) else " class='s'"
            out.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        out.append("</tr>")
    out.append("</table></div>")
    if limit is not None and len(rows) > limit:
        out.append(f"<p>{limit} of {len(rows)} rows shown; all are in the CSV.</p>")
    return "".join(out)


def image_html(path: Path) -> str:
    """A PNG as an <img> with a base64 data URI."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(path.name)}</figcaption></figure>")


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n"
            f"{body}</body></html>\n")


def _plots(directory: Path) -> str:
    pngs = sorted((directory / "plots").glob("*.png"),
                  key=lambda p: (not p.name.startswith("front"), p.name))
    return "".join(image_html(p) for p in pngs) or "<p>no plots</p>"


def run_report(directory: Path) -> str:
    """The report of an `archsim run` directory."""
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    if not (directory / "plots").is_dir():
        from archsim.plots import plot_run_dir
        plot_run_dir(directory)
    cols = ["variant", "cycles", "clock_mhz", "latency_s", "energy_j", "pe_energy_j", "edp_js",
            "utilisation", "mapping_efficiency", "edp_normalised"]
    rows = [{"variant": k, **v, "edp_normalised": v["normalised"]["edp"]}
            for k, v in summary["variants"].items()]
    sections = [("Variants", table_html(cols, rows))]
    header, layers = read_table(directory / "layers.csv")
    sections.append(("Layers (layers.csv)", table_html(header, layers)))
    sections.append(("Plots", _plots(directory)))
    sections.append(("Configuration (resolved)", "<pre>" + html.escape(
        json.dumps(summary["config"], indent=2, sort_keys=True)) + "</pre>"))
    return _page(f"archsim run: {summary['name']}", sections)


def sweep_report(directory: Path) -> str:
    """The report of an `archsim sweep` directory."""
    meta = json.loads((directory / "sweep.json").read_text(encoding="utf-8"))
    header, rows = read_table(directory / "results.csv")
    if len(rows) != meta["points"] or not (directory / "pareto.csv").is_file():
        raise DataError(f"{directory}/results.csv: {len(rows)} of {meta['points']} points: "
                        f"the sweep has not finished (run it again to complete it)")
    _, front = read_table(directory / "pareto.csv")
    if not (directory / "plots").is_dir():
        from archsim.sweep.plots import plot_sweep
        plot_sweep(directory, rows, front, meta["objectives"], list(meta["axes"]))
    feasible = sum(1 for r in rows if r["feasible"])
    intro = (f"<p>{len(rows)} points ({meta['sampling']} sampling), {feasible} feasible, "
             f"{len(front)} on the Pareto front of {', '.join(meta['objectives'])}.</p>")
    sections = [("Summary", intro),
                ("Pareto front (pareto.csv)", table_html(header, front)),
                ("Plots", _plots(directory)),
                ("All points (results.csv)", table_html(header, rows, limit=2000)),
                ("Sweep spec and base config", "<pre>" + html.escape(
                    json.dumps(meta, indent=2, sort_keys=True)) + "</pre>")]
    return _page(f"archsim sweep: {meta['base_config'].get('name', '')}", sections)


def render_report(directory: str | Path) -> str:
    """The HTML of a run directory (summary.json) or a sweep directory (sweep.json)."""
    directory = Path(directory)
    if (directory / "sweep.json").is_file():
        return sweep_report(directory)
    if (directory / "summary.json").is_file():
        return run_report(directory)
    raise DataError(f"{directory}: neither a run (summary.json) nor a sweep (sweep.json) "
                    f"directory")
