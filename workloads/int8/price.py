"""archsim's int8 MAC cost of every integer variant listed in a sweep.csv (workloads/int8/sweep.py):
multiplier netlist + int32 adder netlist, archsim.int8_mac. EvoApprox circuits are priced from
the netlist of issue #11's Verilog importer, so this needs that importer installed; circuits it
cannot price are listed with an empty cost and the reason.

    python workloads/int8/price.py --sweep workloads/int8/results/da_lenet_mnist/sweep.csv \
        --data-dir ../shared/data --out workloads/int8/results/costs.csv
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "workloads" / "int8"))

COLUMNS = ["variant", "mult_energy_pj", "add_energy_pj", "mac_energy_pj", "mult_delay_ns",
           "mac_delay_ns", "mult_area_um2", "transistors", "note"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from tqdm import tqdm

    from archsim.errors import ArchsimError
    from archsim.int8_mac import int8_pe_cost
    from sweep import evoapprox_circuits

    files = {Path(p).name: name for name, p, _ in evoapprox_circuits(Path(args.data_dir))}
    names = [r["variant"] for r in csv.DictReader(open(args.sweep)) if r["kind"] != "fp32"]
    rows = []
    for short in tqdm(names, desc="pricing", unit="circuit"):
        row = dict.fromkeys(COLUMNS, "")
        row["variant"] = short
        try:
            pe = int8_pe_cost(files.get(short, short))
        except ArchsimError as exc:
            row["note"] = str(exc)
        else:
            row.update(mult_energy_pj=pe.mult_energy_pj, add_energy_pj=pe.add_energy_pj,
                       mac_energy_pj=pe.mult_energy_pj + pe.add_energy_pj,
                       mult_delay_ns=pe.mult_delay_ns, mac_delay_ns=pe.mac_delay_ns,
                       mult_area_um2=pe.mult_area_um2, transistors=pe.transistors)
        rows.append(row)
    with open(args.out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([repr(r[c]) if isinstance(r[c], float) else r[c] for c in COLUMNS])
    print(f"wrote {args.out}: {sum(1 for r in rows if r['mac_energy_pj'] != '')} of {len(rows)} priced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
