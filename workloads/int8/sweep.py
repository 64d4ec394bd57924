"""Top-1 of a quantized network through every 8x8 multiplier: the EvoApprox 8x8 circuits
(signed natively, unsigned through the sign-magnitude wrapper) and archsim's own netlist
families, with the circuits' published PDK45 figures and archsim's MAC energy where a netlist
is available; writes a CSV and the accuracy/energy Pareto plot.

    python workloads/int8/sweep.py --architecture da-lenet --weights ../shared/data/da_lenet_official.npz \
        --dataset mnist --data-dir ../shared/data --quant workloads/int8/da_lenet.quant.json \
        --out workloads/int8/results/da_lenet [--limit N]

Rows: float32-numpy and int8 (exact) first, then every EvoApprox circuit (sorted by name, or
with --order interleaved signed and unsigned alternating), then archsim's own netlist
families. Columns of sweep.csv: variant, kind (fp32 / exact / evoapprox-signed /
evoapprox-unsigned / netlist), images, correct, top1, published_pwr_mw,
published_area_um2, published_mae_pct, published_wce_pct (from the circuit's own header
comments). Accuracy and energy are separate steps: archsim's MAC energies come only from the
costs.csv of workloads/int8/price.py (--costs), merged into table.md and pareto.png, so a
re-priced MAC model needs only price.py and --plot-only, never a re-run of the networks.

Each row is appended to sweep.csv as soon as its network run ends; a re-run with the same --out
and image count resumes after the rows already there (so a long sweep can be stopped and
continued; the rows are always in the order above).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

COLUMNS = ["variant", "kind", "images", "correct", "top1", "published_pwr_mw",
           "published_area_um2", "published_mae_pct", "published_wce_pct"]
ENERGY = ["mac_energy_pj", "mult_energy_pj"]
NETLIST_FAMILY = ["uint8-exact", "uint8-da"] + [f"uint8-lsb-{c}-{k}" for c in ("AMA5", "AMA1")
                                                for k in (2, 4, 6, 8, 10, 12)]
_FIELDS = {"published_pwr_mw": r"PDK45_PWR\s*=\s*([\d.eE+-]+)",
           "published_area_um2": r"PDK45_AREA\s*=\s*([\d.eE+-]+)",
           "published_mae_pct": r"MAE%\s*=\s*([\d.eE+-]+)",
           "published_wce_pct": r"WCE%\s*=\s*([\d.eE+-]+)"}


def evoapprox_circuits(data_dir: Path) -> list[tuple[str, Path, dict]]:
    """(variant name, file, published figures) of every distinct 8x8 EvoApprox circuit."""
    root = data_dir / "evoapprox" / "multiplers"
    seen: dict[str, tuple[str, Path, dict]] = {}
    for kind, prefix in (("8x8_signed", "int8"), ("8x8_unsigned", "uint8")):
        for v in sorted((root / kind).glob("*/*.v")):
            if v.stem.endswith("_pdk45") or v.stem in seen:
                continue
            text = v.read_text(errors="replace")[:3000]
            figures = {}
            for key, pattern in _FIELDS.items():
                m = re.search(pattern, text)
                figures[key] = float(m.group(1)) if m else ""
            seen[v.stem] = (f"{prefix}:{v}", v, figures)
    return sorted(seen.values(), key=lambda t: t[1].stem)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--architecture")
    ap.add_argument("--weights")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--data-dir")
    ap.add_argument("--quant")
    ap.add_argument("--evoapprox-dir", default=None,
                    help="directory holding evoapprox/ (default: --data-dir)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--order", choices=("name", "interleaved"), default="name",
                    help="EvoApprox circuits by file name, or signed and unsigned alternating "
                         "(each by name): a sweep stopped early then covers both families")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", default=None, metavar="A:B",
                    help="only rows A..B-1 of the full order (a slice, to split a sweep over "
                         "processes; concatenating the slices' sweep.csv rows in order gives "
                         "the whole sweep's)")
    ap.add_argument("--costs", default=None,
                    help="costs.csv of workloads/int8/price.py: its MAC energies replace the CSV's")
    ap.add_argument("--plot-only", action="store_true",
                    help="redraw from OUT/sweep.csv (+ --costs) without running any network")
    args = ap.parse_args(argv)
    if args.plot_only:
        finish(Path(args.out), args.costs, args.dataset)
        return 0
    for name in ("architecture", "weights", "data_dir", "quant"):
        if getattr(args, name) is None:
            ap.error(f"--{name.replace('_', '-')} is required unless --plot-only")

    import numpy as np
    from tqdm import tqdm

    from archsim.nn.architectures import load_network
    from archsim.nn.datasets import load_split
    from archsim.nn.network import labels_of
    from archsim.nn.quant import load_quant, quantize_network, variant_logits

    data_dir = Path(args.data_dir)
    net = load_network(args.weights, args.architecture)
    qnet = quantize_network(net, load_quant(args.quant, net))
    test = load_split(args.dataset, data_dir, "test")
    if args.limit:
        test = test.take(min(args.limit, len(test.y)))
    jobs = [("float32-numpy", "fp32", {}), ("int8", "exact", {})]
    circuits = [(name, "evoapprox-" + ("signed" if name.startswith("int8:") else "unsigned"), fig)
                for name, _, fig in evoapprox_circuits(Path(args.evoapprox_dir or data_dir))]
    jobs += interleaved(circuits) if args.order == "interleaved" else circuits
    jobs += [(name, "netlist", {}) for name in NETLIST_FAMILY]
    start = 0
    if args.jobs:
        start, stop = (int(v) if v else None for v in args.jobs.split(":"))
        jobs = jobs[start:stop]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = _resume(out / "sweep.csv", len(test.y), [short_name(n) for n, _, _ in jobs])
    todo = jobs[len(done):]
    with (out / "sweep.csv").open("a", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if not done:
            w.writerow(COLUMNS)
        for name, kind, figures in tqdm(todo, desc=f"{net.name} top-1", unit="multiplier"):
            labels = labels_of(variant_logits(net, test.x, name, qnet, batch_size=500))
            correct = int(np.count_nonzero(labels == test.y))
            row = {"variant": short_name(name), "kind": kind, "images": len(test.y),
                   "correct": correct, "top1": correct / len(test.y), **dict.fromkeys(_FIELDS, ""),
                   **figures}
            w.writerow([repr(row[c]) if isinstance(row[c], float) else row[c] for c in COLUMNS])
            fh.flush()
            tqdm.write(f"{row['variant']:>28}: top-1 {row['top1']:.4f}")
    if start in (None, 0):    # a later slice has no FP32 row to draw against: concatenate first
        finish(out, args.costs, args.dataset)
    return 0


def interleaved(circuits: list) -> list:
    """Signed and unsigned circuits alternating, each family in its given order."""
    signed = [c for c in circuits if c[1] == "evoapprox-signed"]
    unsigned = [c for c in circuits if c[1] != "evoapprox-signed"]
    out = []
    for i in range(max(len(signed), len(unsigned))):
        out += signed[i:i + 1] + unsigned[i:i + 1]
    return out


def short_name(variant: str) -> str:
    """The row name: a circuit's file name, an archsim variant's own name."""
    return variant.split("/")[-1] if ":" in variant else variant


def _resume(path: Path, images: int, order: list[str]) -> list[str]:
    """Variants already in PATH (a sweep.csv this script wrote); they must be a prefix of ORDER
    run on the same number of images, else the file is refused rather than mixed."""
    if not path.is_file():
        return []
    rows = list(csv.DictReader(path.open()))
    names = [r["variant"] for r in rows]
    if names != order[:len(names)] or any(int(r["images"]) != images for r in rows):
        raise SystemExit(f"{path}: rows do not match this sweep (variants in order, {images} "
                         "images); remove it or choose another --out")
    return names


def finish(out: Path, costs: str | None, dataset: str) -> None:
    """Merge costs into sweep.csv's rows, write table.md and pareto.png."""
    rows = []
    for r in csv.DictReader((out / "sweep.csv").open()):
        for key in COLUMNS[2:]:
            if r[key] != "":
                r[key] = float(r[key])
        r.update(dict.fromkeys(ENERGY, ""))
        rows.append(r)
    if costs:
        by_name = {c["variant"]: c for c in csv.DictReader(open(costs))}
        for r in rows:
            c = by_name.get(r["variant"])
            if c and c["mac_energy_pj"] != "":
                r["mac_energy_pj"] = float(c["mac_energy_pj"])
                r["mult_energy_pj"] = float(c["mult_energy_pj"])
    lines = ["| variant | kind | top-1 (%) | published power (mW) | published area (um2) | "
             "published MAE (%) | archsim MAC energy (pJ) |", "|---|---|---:|---:|---:|---:|---:|"]
    fmt = lambda v, f: "" if v == "" else format(v, f)  # noqa: E731
    for r in rows:
        lines.append(f"| {r['variant']} | {r['kind']} | {100 * r['top1']:.2f} | "
                     f"{fmt(r['published_pwr_mw'], '.4g')} | {fmt(r['published_area_um2'], '.4g')} | "
                     f"{fmt(r['published_mae_pct'], '.3g')} | {fmt(r['mac_energy_pj'], '.4f')} |")
    kinds = [r["kind"] for r in rows]
    lines += ["", f"Rows: {len(rows)} on {int(rows[0]['images'])} test images each; "
              + ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds))]
    evo = [r for r in rows if r["kind"].startswith("evoapprox") and r["mult_energy_pj"] != ""
           and r["published_pwr_mw"] != ""]
    if len(evo) >= 10:   # a rank correlation over a handful of circuits means little
        from scipy.stats import spearmanr
        rho = spearmanr([r["published_pwr_mw"] for r in evo], [r["mult_energy_pj"] for r in evo])
        lines += ["", f"Spearman rank correlation, EvoApprox published PDK45 power vs archsim's "
                  f"multiplier energy (netlist toggles), {len(evo)} circuits: "
                  f"{rho.statistic:.3f} (p = {rho.pvalue:.2g})"]
    for key, what in (("mac_energy_pj", "archsim MAC energy (pJ)"),
                      ("published_pwr_mw", "published power (mW)")):
        pts = [r for r in rows if r[key] != "" and r["kind"] != "fp32"]
        front = [pts[i] for i in pareto([(float(r[key]), r["top1"]) for r in pts])]
        lines += ["", f"Pareto front, top-1 against {what}: " + ", ".join(
            f"{r['variant']} ({r[key]:.4g}, {100 * r['top1']:.1f} %)" for r in front)]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    images = int(rows[0]["images"])
    plot(rows, out / "pareto.png", f"{out.name}: {dataset}, {images} test images")
    print(f"wrote {out / 'sweep.csv'}, {out / 'table.md'} and {out / 'pareto.png'}")


def pareto(points):
    """Indices of the points not dominated in (lower cost, higher top-1)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -1.0
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def plot(rows, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    fp = next(r["top1"] for r in rows if r["kind"] == "fp32")
    panels = [("published_pwr_mw", "EvoApprox circuits: published PDK45 power (mW)",
               [r for r in rows if r["kind"].startswith("evoapprox") or r["kind"] == "exact"]),
              ("mac_energy_pj", "archsim int8 MAC energy (pJ: 8x8 netlist + int32 adder)", rows)]
    for ax, (key, label, sel) in zip(axes, panels):
        sel = [r for r in sel if r[key] != "" and r["kind"] != "fp32"]
        for kind, marker in (("evoapprox-signed", "o"), ("evoapprox-unsigned", "s"),
                             ("netlist", "^"), ("exact", "*")):
            pts = [r for r in sel if r["kind"] == kind]
            if pts:
                ax.scatter([r[key] for r in pts], [100 * r["top1"] for r in pts], marker=marker,
                           label=kind, s=60 if kind == "exact" else 25)
        pts = [(float(r[key]), r["top1"]) for r in sel]
        front = [pts[i] for i in pareto(pts)]
        if front:
            ax.step([p[0] for p in front], [100 * p[1] for p in front], where="post",
                    color="k", lw=1, label="Pareto front")
        ax.axhline(100 * fp, color="grey", ls="--", lw=1, label="FP32")
        ax.set_xlabel(label)
        ax.set_ylabel("top-1 (%)")
        ax.set_ylim(max(0, 100 * min([r["top1"] for r in sel] + [fp]) - 5), 100)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
