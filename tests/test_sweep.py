"""`archsim sweep`: sampling against independent enumerations, rows against `archsim run`,
per-layer mixes against hand sums of layers.csv, Pareto fronts against brute force, resume,
and bad input (one line naming file and field, exit 2, nothing touched)."""
import csv
import itertools
import json
import math

import numpy as np
import pytest

from archsim import cli
from tiny_configs import TINY_RUN

BASE = TINY_RUN


def run(argv):
    return cli.main([str(a) for a in argv])


def write(tmp_path, spec: str, base: str = BASE):
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "spec.yaml").write_text("base: base.yaml\n" + spec)
    return tmp_path / "spec.yaml"


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def tree_bytes(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_grid_is_the_full_product_in_order(tmp_path):
    from archsim.sweep.point import plan_points
    from archsim.sweep.spec import load_spec

    spec = load_spec(write(tmp_path, "axes:\n  array.size: [2, 4, 8]\n"
                                     "  array.dataflow: [os, ws]\n  pe.variant: [exact, da, "
                                     "{family: lsb-AMA5-k, k: [8, 12]}]\n"))
    cells = [tuple(c for _, c in p.cells) for p in plan_points(spec)]
    assert cells == list(itertools.product([2, 4, 8], ["os", "ws"],
                                           ["exact", "da", "lsb-AMA5-8", "lsb-AMA5-12"]))
    assert [p.point_id for p in plan_points(spec)] == list(range(24))
    # 3 sizes x 2 dataflows = 6 simulations shared by the 24 points
    assert len({p.group_key for p in plan_points(spec)}) == 6


def test_zip_random_lhs(tmp_path):
    from archsim.sweep.sampling import sample_indices
    from archsim.sweep.spec import load_spec

    zipped = load_spec(write(tmp_path, "sampling: zip\naxes:\n  array.rows: [2, 8]\n"
                                       "  array.cols: [8, 2]\n"))
    # the base's two variants form an implicit third axis of the same length
    assert sample_indices(zipped) == [(0, 0, 0), (1, 1, 1)]
    axes = "axes:\n  array.rows: [1, 2, 3, 4, 5, 6, 7, 8]\n  array.cols: [1, 2, 3, 4, 5, 6, 7, 8]\n"
    rnd = load_spec(write(tmp_path, "sampling: random\nsamples: 20\nseed: 3\n" + axes))
    picks = sample_indices(rnd)
    assert len(set(picks)) == 20 and picks == sample_indices(rnd)       # distinct, seeded
    assert all(0 <= i < 8 and 0 <= j < 8 for i, j, _ in picks)
    other = load_spec(write(tmp_path, "sampling: random\nsamples: 20\nseed: 4\n" + axes))
    assert sample_indices(other) != picks
    lhs = load_spec(write(tmp_path, "sampling: lhs\nsamples: 8\nseed: 1\n" + axes))
    pts = sample_indices(lhs)
    # Latin property: with as many samples as values, every value appears once per axis
    assert sorted(p[0] for p in pts) == list(range(8))
    assert sorted(p[1] for p in pts) == list(range(8))


def test_zip_of_unequal_lengths_is_refused(tmp_path, capsys):
    spec = write(tmp_path, "sampling: zip\naxes:\n  array.rows: [2, 4, 8]\n  array.cols: [8, 4]\n"
                           "  pe.variant: [exact, da, da-flat]\n")
    assert run(["sweep", spec, "--out", tmp_path / "out", "--workers", "0"]) == 2
    assert "axes: zip sampling needs lists of equal length" in capsys.readouterr().err


def test_rows_equal_archsim_run(tmp_path):
    """Every sweep row equals the figures `archsim run` reports for that design."""
    spec = write(tmp_path, "axes:\n  array.size: [2, 4]\n  array.dataflow: [os, is]\n"
                           "  memory.sram_kib: [4, 16]\n"
                           "objectives: [latency, energy, area]\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0", "--no-plots"]) == 0
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert len(rows) == 2 * 2 * 2 * 2
    from archsim.cost.pe import pe_cost
    for size, flow, kib in itertools.product((2, 4), ("os", "is"), (4, 16)):
        base = BASE.replace("rows: 4, cols: 4, dataflow: os", f"rows: {size}, cols: {size}, "
                            f"dataflow: {flow}").replace("_kib: 8", f"_kib: {kib}")
        (tmp_path / "one.yaml").write_text(base)
        out = tmp_path / f"run-{size}-{flow}-{kib}"
        assert run(["run", tmp_path / "one.yaml", "--out", out, "--no-plots"]) == 0
        summary = json.loads((out / "summary.json").read_text())
        for variant in ("exact", "da"):
            row = next(r for r in rows if (r["array.size"], r["array.dataflow"],
                                           r["memory.sram_kib"], r["pe.variant"])
                       == (str(size), flow, str(kib), variant))
            want = summary["variants"][variant]
            assert int(row["cycles"]) == want["cycles"]
            for key in ("clock_mhz", "latency_s", "energy_j", "edp_js"):
                assert float(row[key]) == want[key], key
            # summed layer by layer here, component by component in summary.json
            assert float(row["pe_energy_j"]) == pytest.approx(want["pe_energy_j"], rel=1e-12)
            assert float(row["area_um2"]) == pytest.approx(
                size * size * (pe_cost(variant).mult_area_um2 + pe_cost(variant).adder_area_um2
                               + pe_cost(variant).register_area_um2))


def test_per_layer_mix_is_the_sum_of_layer_energies(tmp_path):
    """A per-layer assignment costs each layer with its variant (layers.csv of a 2-variant
    run); it runs at the slower clock; its PEs hold both multipliers."""
    spec = write(tmp_path, "axes:\n  pe.layers: {layers: [c1, f1], variants: [exact, da]}\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0", "--no-plots"]) == 0
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert len(rows) == 4
    assert run(["run", tmp_path / "base.yaml", "--out", tmp_path / "r", "--no-plots"]) == 0
    layers = {(r["variant"], r["layer"]): r for r in read_rows(tmp_path / "r" / "layers.csv")}
    clock = {v: float(layers[(v, "c1")]["clock_mhz"]) for v in ("exact", "da")}
    cycles = sum(int(layers[("exact", n)]["total_cycles"]) for n in ("c1", "f1"))
    from archsim.cost.pe import pe_cost
    for row in rows:
        assign = json.loads(row["pe.layers"])
        energy_j = sum(float(layers[(assign[n], n)]["energy_pj"]) for n in ("c1", "f1")) * 1e-12
        mhz = min(clock[v] for v in assign.values())
        assert float(row["energy_j"]) == pytest.approx(energy_j, rel=1e-12)
        assert float(row["clock_mhz"]) == mhz
        assert float(row["latency_s"]) == pytest.approx(cycles / (mhz * 1e6), rel=1e-12)
        areas = sorted(pe_cost(v).mult_area_um2 for v in set(assign.values()))
        if len(areas) == 2:  # mixed: both multipliers in every PE
            single = next(r for r in rows if set(json.loads(r["pe.layers"]).values()) == {"da"})
            assert float(row["area_um2"]) - float(single["area_um2"]) == pytest.approx(
                16 * areas[1])


def test_pareto_front_equals_brute_force():
    from archsim.sweep.pareto import pareto_rows

    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(1, 60))
        data = rng.integers(0, 6, size=(n, 3)).astype(float)  # ties on purpose
        rows = [{"point_id": i, "energy_j": a, "latency_s": b, "top1": c, "feasible": i % 7 != 3}
                for i, (a, b, c) in enumerate(data)]
        got = [r["point_id"] for r in pareto_rows(rows, ("energy_j", "latency_s", "top1"))]
        ok = [i for i in range(n) if rows[i]["feasible"]]
        want = [i for i in ok if not any(
            data[j, 0] <= data[i, 0] and data[j, 1] <= data[i, 1] and data[j, 2] >= data[i, 2]
            and (data[j, 0] < data[i, 0] or data[j, 1] < data[i, 1] or data[j, 2] > data[i, 2])
            for j in ok)]
        assert got == want


def test_result_constraints_mark_feasibility_and_axis_constraints_drop_points(tmp_path):
    spec = write(tmp_path, "axes:\n  array.size: [2, 4, 8]\n"
                           "constraints:\n  - {key: array.size, min: 4}\n"
                           "  - {key: area_um2, max: 2.0e+6}\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0", "--no-plots"]) == 0
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert {r["array.size"] for r in rows} == {"4", "8"}
    assert [r["point_id"] for r in rows] == ["2", "3", "4", "5"]   # ids of the full grid
    for r in rows:
        assert r["feasible"] == str(float(r["area_um2"]) <= 2.0e6)
    front = read_rows(tmp_path / "sw" / "pareto.csv")
    assert front and all(r["feasible"] == "True" for r in front)


def test_resume_skips_done_points_and_drops_a_torn_line(tmp_path):
    spec = write(tmp_path, "axes:\n  array.size: [2, 3, 4]\n  array.dataflow: [os, ws]\n")
    full, part = tmp_path / "full", tmp_path / "part"
    assert run(["sweep", spec, "--out", full, "--workers", "0"]) == 0
    assert run(["sweep", spec, "--out", part, "--workers", "0"]) == 0
    # simulate an interruption: keep the header and 5 rows (completion order), tear a 6th
    lines = (part / "results.csv").read_text().splitlines(keepends=True)
    (part / "results.csv").write_text("".join([lines[0]] + lines[3:8][::-1]) + lines[9][:17])
    for name in ("results.parquet", "pareto.csv"):
        (part / name).unlink()
    from archsim.sweep import point
    calls = []
    original = point.simulate_group
    import archsim.sweep.execute as execute
    execute.simulate_group = lambda *a: calls.append(a) or original(*a)
    try:
        assert run(["sweep", spec, "--out", part, "--workers", "0"]) == 0
    finally:
        execute.simulate_group = original
    # rows 2-6 kept: points 0, 1, 7, 8, 9, 10, 11 missing, in groups (0,1) (6,7) (8,9) (10,11)
    assert len(calls) == 4
    assert tree_bytes(part) == tree_bytes(full)


BAD = [
    ("axes:\n  array.rowz: [2]\n", "axes.array.rowz"),
    ("axes:\n  array.rows: [2, four]\n", "axes.array.rows[1]"),
    ("axes:\n  array.rows: []\n", "axes.array.rows: empty"),
    ("axes:\n  pe.variant: [exact, nonsense]\n", "axes.pe.variant[1]"),
    ("axes:\n  pe.layers: [{c1: da, c9: da}]\n", "axes.pe.layers[0]: no layer 'c9'"),
    # 1000 x 1000 x 1000 x 2 variants = 2e9 points, refused before any value is validated
    ("axes:\n  array.rows: {r}\n  array.cols: {r}\n  memory.sram_kib: {r}\n"
     .format(r=list(range(1, 1001))), "max_points: the grid has 2000000000 points"),
    ("axes:\n  array.rows: [2]\nsampling: sobol\n", "sampling"),
    ("axes:\n  array.rows: [2]\nsampling: random\n", "samples"),
    ("axes:\n  array.rows: [2]\nobjectives: [speed]\n", "objectives[0]"),
    ("axes:\n  array.rows: [2]\nobjectives: [top1]\n", "accuracy"),
    ("axes:\n  array.rows: [2]\nconstraints: [{key: power, max: 1}]\n", "constraints[0].key"),
    ("axes:\n  array.rows: [2]\nbudget: 3\n", "budget: unknown key"),
]


@pytest.mark.parametrize("spec_text, field", BAD)
def test_bad_spec_one_line_exit_2_no_output(tmp_path, capsys, spec_text, field):
    spec = write(tmp_path, spec_text)
    assert run(["sweep", spec, "--out", tmp_path / "out", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(spec) in err and field in err, err
    assert not (tmp_path / "out").exists()


def test_results_dir_of_another_spec_is_refused_untouched(tmp_path, capsys):
    spec = write(tmp_path, "axes:\n  array.size: [2, 4]\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0"]) == 0
    before = tree_bytes(tmp_path / "sw")
    spec.write_text(spec.read_text().replace("[2, 4]", "[2, 8]"))
    capsys.readouterr()
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep.json: spec_hash" in err
    assert tree_bytes(tmp_path / "sw") == before
    # a directory archsim did not write is not touched either
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert run(["sweep", spec, "--out", tmp_path / "mine", "--workers", "0"]) == 2
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_scheduler_that_does_not_answer(tmp_path, capsys):
    import socket

    spec = write(tmp_path, "axes:\n  array.size: [2, 4]\n")
    with socket.socket() as s:   # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--scheduler",
                f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--scheduler tcp://127.0.0.1:{port}" in err
    assert not (tmp_path / "sw").exists()


def test_parquet_holds_the_csv_table(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    spec = write(tmp_path, "axes:\n  array.size: [2, 4]\n  memory.sram_kib: [4, 8.5]\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0", "--no-plots"]) == 0
    table = pq.read_table(tmp_path / "sw" / "results.parquet").to_pylist()
    rows = read_rows(tmp_path / "sw" / "results.csv")
    assert len(table) == len(rows) == 8
    for t, r in zip(table, rows):
        assert list(t) == list(r)
        assert t["memory.sram_kib"] in (4.0, 8.5) and isinstance(t["cycles"], int)
        for k in r:   # floats exactly (a mixed 4 / 8.5 axis is a float column), rest as text
            assert (float(r[k]) == t[k]) if isinstance(t[k], float) else str(t[k]) == r[k]
    assert math.isclose(sum(t["energy_j"] for t in table),
                        sum(float(r["energy_j"]) for r in rows))


def test_accuracy_sweep_per_layer(tmp_path, shared_data, repo_root):
    """top1 of each per-layer assignment equals an independent evaluation: uniform
    assignments through archsim.nn's forward, mixed ones layer by layer through the
    multipliers' own conv2d/matmul; one accuracy run per assignment, shared by points."""
    from archsim_core import get_multiplier

    from archsim.nn.architectures import load_network
    from archsim.nn.mnist import load_mnist
    from archsim.nn.network import Conv2d, Linear, apply_layer, predict_labels

    weights = shared_data / "da_lenet_official.npz"
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""base: {repo_root / 'configs' / 'da_mnist.yaml'}
axes:
  array.size: [8, 16]
  pe.layers: {{layers: [conv1, linear2], variants: [exact, da]}}
objectives: [energy, top1]
accuracy: {{dataset: mnist, architecture: da-lenet, images: 40, weights: {weights},
           data_dir: {shared_data}}}
""")
    import archsim.sweep.execute as execute
    calls = []
    original = execute.top1_accuracy
    execute.top1_accuracy = lambda *a: calls.append(a) or original(*a)
    try:
        assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0"]) == 0
    finally:
        execute.top1_accuracy = original
    assert len(calls) == 4                      # 8 points, 4 assignments
    rows = read_rows(tmp_path / "sw" / "results.csv")
    net = load_network(weights, "da-lenet")
    test = load_mnist(shared_data, "test")
    x, y = test.x[:40], test.y[:40]
    for row in rows:
        assign = json.loads(row["pe.layers"])
        variants = {"conv1": assign["conv1"], "conv2": "exact", "linear1": "exact",
                    "linear2": assign["linear2"]}
        if set(variants.values()) == {"exact"}:
            labels = predict_labels(net, x, "exact")
        else:
            h = x
            for layer in net.layers:
                if isinstance(layer, Conv2d):
                    m = get_multiplier(variants[layer.name])
                    h = m.conv2d(h, layer.weight, layer.bias, stride=layer.stride,
                                 padding=layer.padding)
                elif isinstance(layer, Linear):
                    m = get_multiplier(variants[layer.name])
                    h = m.matmul(h, np.ascontiguousarray(layer.weight.T), layer.bias)
                else:
                    h = apply_layer(layer, h)
            labels = np.asarray(h).argmax(axis=1)
        assert float(row["top1"]) == np.mean(labels == y)
    assert (tmp_path / "sw" / "plots" / "front_energy_j_top1.png").is_file()
    front = read_rows(tmp_path / "sw" / "pareto.csv")
    best = max(float(r["top1"]) for r in rows)
    assert any(float(r["top1"]) == best for r in front)   # the most accurate point is on it


def test_a_point_too_large_to_simulate_is_refused_before_running(tmp_path, capsys):
    spec = write(tmp_path, "axes:\n  array.size: [4, 1]\n  batch: [1, 100000]\n")
    assert run(["sweep", spec, "--out", tmp_path / "sw", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    # the first point over the bound: 4x4 array, batch 100000 (6.4e6 x 27 x 4 GEMM, 1.6e6 folds)
    assert err.count("\n") == 1 and "point 2 (array.size=4, batch=100000" in err
    assert "1.6e+06 folds on a 4x4 array" in err, err
    assert not (tmp_path / "sw").exists()
