"""A fuzzer of the command line: random (often malformed) run configs, workloads, SCALE-Sim
topologies and INI files, variant specs, operand files and output paths.

Every case must end in exactly one of two ways:
- exit 0 with complete output (every file the command promises, parseable, with the marker);
- exit 2 with one stderr line `archsim CMD: error: ...`, no traceback, and no output.
In both, no file outside the output directory is created, changed or removed.

The default run is small and derandomised (the same 40 cases per command every run;
`ARCHSIM_FUZZ_EXAMPLES=N` changes that); the long run is
`ARCHSIM_FUZZ_LONG=N pytest -m slow -s tests/test_cli_fuzz.py` (400 per command by default)
and prints how the cases ended.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim import cli
from archsim.outdir import MARKER

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("ARCHSIM_FUZZ_EXAMPLES", 40))        # per command, default run
LONG_EXAMPLES = int(os.environ.get("ARCHSIM_FUZZ_LONG", 400))      # per command, slow run
STATS: dict[str, dict[int, int]] = {}

# ---------------------------------------------------------------- value strategies

WEIRD = st.sampled_from([None, True, "", "x", "1e3", "5e2", ".inf", [], {}, [1, 2], {"a": 1},
                         -1, 0, 1.5, float("inf"), float("-inf"), float("nan"), 10**30,
                         1e-300, 2**63])


BAD = [False]  # whether the case being drawn is a malformed one (set per case)


def small_int(lo=1, hi=12):
    """An integer in lo..hi; in a malformed case, sometimes a weird or huge value."""
    good = st.integers(lo, hi)
    if not BAD[0]:
        return good
    return st.one_of(good, good, good, good, WEIRD, st.sampled_from([10**9, 0, -5]))


def number(lo=0.25, hi=128.0):
    """A float in lo..hi; in a malformed case, sometimes a weird value."""
    good = st.one_of(st.floats(lo, hi), st.integers(max(1, int(lo)), int(hi)))
    return st.one_of(good, good, good, good, WEIRD) if BAD[0] else good


def maybe(good, bad):
    """`good`, or in a malformed case sometimes `bad`."""
    return st.one_of(good, good, good, bad) if BAD[0] else good


NAMES = st.sampled_from(["fz", "a b", "..", ".", "/", "/tmp", "../../escape", "~", "x/y",
                         ".hidden", "ünï", "a" * 300, "-rf"])  # all valid: sanitised
GOOD_VARIANTS = ["exact", "da", "da-flat", "lsb-AMA5-8", "exact-truncate", "da-bf16"]
VARIANTS = st.sampled_from(GOOD_VARIANTS + ["lsb-AMA5-99", "nope", ""])


@st.composite
def layer(draw, index):
    kind = draw(maybe(st.sampled_from(["conv", "fc", "pool", "conv"]), st.just("bogus")))
    out = {"name": draw(maybe(st.just(f"l{index}"), st.sampled_from(["", 5, "dup"]))),
           "type": kind}
    if kind in ("conv", "bogus"):
        out.update(filters=draw(small_int(1, 8)), kernel=draw(small_int(1, 4)))
        if draw(st.booleans()):
            out["stride"] = draw(small_int(1, 3))
        if draw(st.booleans()):
            out["padding"] = draw(small_int(0, 2))
    elif kind == "pool":
        out.update(kernel=draw(small_int(1, 3)))
    else:
        out["out_features"] = draw(small_int(1, 16))
    if BAD[0] and draw(st.integers(0, 9)) == 0:
        out[draw(st.sampled_from(["weird", "kernal", "name"]))] = draw(WEIRD)
    return out


@st.composite
def workload(draw):
    n = draw(st.integers(1, 3))
    doc = {"input": draw(maybe(st.lists(st.integers(4, 12), min_size=3, max_size=3),
                               st.one_of(WEIRD, st.just([1, 10**9, 10**9])))),
        "layers": [draw(layer(i)) for i in range(n)]}
    if draw(st.booleans()):
        doc["batch"] = draw(small_int(1, 4))
    if draw(st.booleans()):
        doc["name"] = draw(NAMES)
    return doc


@st.composite
def run_config(draw):
    BAD[0] = draw(st.booleans())
    doc = {
        "name": draw(st.one_of(NAMES, st.just("fz"))),
        "workload": {"inline": draw(workload())},
        "array": {"rows": draw(small_int(1, 8)), "cols": draw(small_int(1, 8)),
                  "dataflow": draw(maybe(st.sampled_from(["os", "ws", "is"]),
                                         st.sampled_from(["xs", 3])))},
        "memory": {"ifmap_sram_kib": draw(number()), "filter_sram_kib": draw(number()),
                   "ofmap_sram_kib": draw(number(0.0625, 64.0)),
                   "word_bytes": draw(maybe(st.sampled_from([1, 2, 4]), WEIRD)),
                   "dram_bandwidth_bytes_per_cycle": draw(number(0.5, 64.0)),
                   "dram_latency_cycles": draw(small_int(0, 100))},
        "clock": draw(maybe(st.one_of(
            st.fixed_dictionaries({"mode": st.just("fixed"), "clock_mhz": number(1.0, 1000.0)}),
            st.just({"mode": "critical_path"})), st.fixed_dictionaries({"mode": WEIRD}))),
        "pe": {"variants": draw(maybe(st.lists(st.sampled_from(GOOD_VARIANTS), min_size=1,
                                               max_size=2, unique=True),
                                      st.one_of(st.lists(VARIANTS, min_size=1, max_size=2),
                                                WEIRD)))},
    }
    for _ in range(draw(st.integers(0, 2)) if BAD[0] else 0):  # delete or corrupt a key
        section = draw(st.sampled_from(sorted(doc)))
        if isinstance(doc[section], dict) and doc[section] and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(doc[section])))
            if draw(st.booleans()):
                del doc[section][key]
            else:
                doc[section][key] = draw(WEIRD)
        elif draw(st.booleans()):
            del doc[section]
    if draw(st.integers(0, 5)) == 0:
        doc["functional"] = {"samples": draw(small_int(1, 2))}
    return doc


def yaml_text(draw, doc) -> bytes:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    mode = draw(st.integers(0, 9)) if BAD[0] else 9
    if mode == 0:  # duplicate a key
        text += text.splitlines()[0] + "\n"
    elif mode == 1:  # truncate
        text = text[: draw(st.integers(0, len(text)))]
    elif mode == 2:  # syntax error
        text = text.replace(":", ": [", 1)
    elif mode == 3:
        return text.encode() + b"\n# \xff\xfe\n"
    return text.encode()


# ---------------------------------------------------------------- the sandbox and the oracle

GOOD_OUT = ["new", "nested", "empty", "archsim", "default"]
BAD_OUT = ["user", "file", "below_file", "symlink", "dot"]


def out_kind(data) -> str:
    return data.draw(maybe(st.sampled_from(GOOD_OUT), st.sampled_from(BAD_OUT)))


def _snapshot(root: Path, skip: Path | None) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = here / name
            if skip is not None and p == skip:
                continue
            if p.is_symlink():
                out[str(p)] = ("link", os.readlink(p))
            elif p.is_file():
                out[str(p)] = ("file", p.read_bytes())
            else:
                out[str(p)] = ("dir",)
    return out


def _prepare_out(kind: str, box: Path) -> tuple[list[str], Path | None]:
    """Create the output situation; returns (argv pieces, the target directory)."""
    (box / "afile").write_text("user file")
    if kind == "new":
        return [str(box / "out")], box / "out"
    if kind == "nested":
        return [str(box / "a" / "b" / "out")], box / "a" / "b" / "out"
    if kind == "empty":
        (box / "out").mkdir()
        return [str(box / "out")], box / "out"
    if kind == "archsim":
        (box / "out").mkdir()
        (box / "out" / MARKER).write_text("x")
        (box / "out" / "old.csv").write_text("old")
        return [str(box / "out")], box / "out"
    if kind == "user":
        (box / "out").mkdir()
        (box / "out" / "thesis.tex").write_text("precious")
        return [str(box / "out")], box / "out"
    if kind == "file":
        return [str(box / "afile")], None
    if kind == "below_file":
        return [str(box / "afile" / "out")], None
    if kind == "symlink":
        (box / "real").mkdir()
        os.symlink(box / "real", box / "out")
        return [str(box / "out")], None
    if kind == "dot":
        return ["."], None
    return [], None  # default: runs/<name> in the working directory (the box)


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str, str | None]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    crash = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException:  # noqa: BLE001 - any escape is a defect
                crash = traceback.format_exc()
                code = -1
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue(), crash


def _check(command: str, argv, box: Path, target: Path | None, before: dict, result,
           complete) -> None:
    code, out, err, crash = result
    assert crash is None, f"{argv}\n{crash}"
    assert code in (0, 2), (argv, code, err)
    STATS.setdefault(command, {0: 0, 2: 0})[code] += 1
    lines = [line for line in err.splitlines() if not line.startswith("archsim: ")
             and ": note: " not in line]
    assert "Traceback" not in err, (argv, err)
    written = None
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith(f"archsim {command}: error: "), (argv, err)
    else:
        assert lines == [] or command == "scalesim" and all("note" in x for x in lines), err
        last = out.strip().splitlines()[-1]
        assert last.startswith("wrote "), (argv, out)
        written = Path(last[len("wrote "):])
        written = written if written.is_absolute() else box / written
        assert (written / MARKER).is_file(), argv
        complete(written)
        assert box in written.parents, (argv, written)  # never outside the sandbox
    # nothing outside the output directory changed; on failure, nothing at all
    after = _snapshot(box, written)
    expected = {k: v for k, v in before.items()
                if written is None or not (Path(k) == written or written in Path(k).parents)}
    if written is not None:  # the output's missing parents are created (mkdir -p)
        for parent in written.parents:
            if box in parent.parents and str(parent) not in expected:
                expected[str(parent)] = ("dir",)
    assert after == expected, (argv, set(after) ^ set(expected))
    leftovers = [p for p in box.rglob(".*tmp-*")] + [p for p in box.rglob(".*.old-*")]
    assert leftovers == [], leftovers


def _complete_run(directory: Path) -> None:
    summary = json.loads((directory / "summary.json").read_text())
    rows = list(csv.DictReader((directory / "layers.csv").open()))
    layers = len(summary["config"]["workload"]["layers"])
    assert len(rows) == layers * len(summary["variants"]) and rows
    assert list(csv.DictReader((directory / "energy_breakdown.csv").open()))
    for v in summary["variants"].values():
        assert v["cycles"] > 0 and 0 < v["energy_j"] < float("inf")


def _complete_scalesim(directory: Path) -> None:
    for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        lines = (directory / name).read_text().splitlines()
        assert len(lines) >= 2 and "nan" not in (directory / name).read_text().lower()


def _complete_characterize(directory: Path) -> None:
    data = json.loads((directory / "metrics.json").read_text())
    rows = list(csv.DictReader((directory / "metrics.csv").open()))
    assert len(rows) == len(data["results"]) == len(data["config"]["variants"])


def fuzz(body, examples: int):
    """A derandomised hypothesis test of `body(data)` with `examples` cases."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))(given(data=st.data())(body))


# ---------------------------------------------------------------- the fuzzers

def case_run(data):
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp)
        doc = data.draw(run_config())
        if data.draw(st.integers(0, 3)) == 0 and isinstance(doc.get("workload"), dict) \
                and "inline" in doc["workload"]:
            (box / "w.yaml").write_bytes(yaml_text(data.draw, doc["workload"]["inline"]))
            doc["workload"] = {"path": "w.yaml"}
        (box / "c.yaml").write_bytes(yaml_text(data.draw, doc))
        kind = out_kind(data)
        out, target = _prepare_out(kind, box)
        argv = ["run", str(box / "c.yaml")] + (["--out", *out] if out else [])
        if data.draw(st.integers(0, 4)):
            argv.append("--no-plots")
        before = _snapshot(box, None)
        _check("run", argv, box, target, before, _run(argv, box), _complete_run)


TOPO_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,")


@st.composite
def topology(draw):
    rows = [TOPO_HEADER if not BAD[0] or draw(st.integers(0, 9)) else "name, a, b,"]
    for i in range(draw(st.integers(1, 3) if not BAD[0] else st.integers(0, 3))):
        cells = [draw(maybe(st.sampled_from([f"c{i}", f"c{i}DP"]), st.sampled_from(["", "x,y"])))]
        for lo, hi in ((6, 16), (6, 16), (1, 4), (1, 4), (1, 4), (1, 8), (1, 3)):
            cells.append(str(draw(maybe(st.integers(lo, hi), st.sampled_from(
                ["0", "-1", "x", "1e3", "", "1000000000"])))))
        rows.append(", ".join(cells) + ("," if not BAD[0] or draw(st.integers(0, 5)) else ""))
    return "\n".join(rows) + "\n"


def _pick(draw, good: list, bad: list):
    return draw(maybe(st.sampled_from(good), st.sampled_from(bad)))


@st.composite
def scalesim_ini(draw):
    values = {"run_name": _pick(draw, ["fz", "x y", "run.1"], ["..", "a/b", ""]),
              "ArrayHeight": _pick(draw, ["4", "8", "2"], ["0", "-2", "x", "1000000000"]),
              "ArrayWidth": _pick(draw, ["4", "8", "3"], ["1.5", ""]),
              "IfmapSramSzkB": _pick(draw, ["1", "64"], ["0", "inf"]),
              "FilterSramSzkB": _pick(draw, ["1", "64"], ["nan"]),
              "OfmapSramSzkB": _pick(draw, ["1", "64"], ["-1"]),
              "Dataflow": _pick(draw, ["os", "ws", "is"], ["xs", ""])}
    lines = ["[general]", f"run_name = {values['run_name']}", "[architecture_presets]"]
    lines += [f"{k} = {v}" for k, v in values.items() if k != "run_name"]
    if BAD[0] and draw(st.integers(0, 5)) == 0:
        lines.append(draw(st.sampled_from(["Bogus = 1", "[nosection]", "ArrayHeight = 4",
                                           "garbage line"])))
    lines += ["[run_presets]", "InterfaceBandwidth = CALC"]
    return "\n".join(lines) + "\n"


def case_scalesim(data):
    BAD[0] = data.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp)
        (box / "s.cfg").write_text(data.draw(scalesim_ini()))
        gemm = data.draw(st.integers(0, 4)) == 0
        topo = data.draw(topology())
        if gemm:
            topo = "Layer, M, N, K,\n" + "\n".join(
                f"g{i}, {data.draw(small_int(1, 16))}, {data.draw(small_int(1, 16))}, "
                f"{data.draw(small_int(1, 16))}," for i in range(data.draw(st.integers(0, 2))))
        (box / "t.csv").write_text(topo)
        kind = out_kind(data)
        out, target = _prepare_out(kind, box)
        argv = ["scalesim", "-c", str(box / "s.cfg"), "-t", str(box / "t.csv")]
        argv += (["-i", "gemm"] if gemm else []) + (["-p", *out] if out else [])
        before = _snapshot(box, None)
        # reports go to OUT/<run_name>: the target directory is that subdirectory
        _check("scalesim", argv, box, None, before, _run(argv, box), _complete_scalesim)


@st.composite
def variant_spec(draw):
    spec = {}
    if draw(st.booleans()):
        spec["structure"] = {
            "kind": draw(st.sampled_from(["ripple", "braun", "hier", "ripple-row", "wallace",
                                          5])),
            **({"k": draw(small_int(2, 12))} if draw(st.booleans()) else {}),
            **({"leaf": draw(st.sampled_from([{}, {"kind": "ripple", "cells": "AMA5"},
                                              [1], {"kind": "hier"}]))}
               if draw(st.booleans()) else {}),
            **({"cells": draw(st.sampled_from(["AMA1", "AMA5", "NOPE", [1, 2], 3]))}
               if draw(st.booleans()) else {}),
            **({"assign": {"lsb_cell": draw(st.sampled_from(["AMA5", 5, None])),
                           "lsb_columns": draw(small_int(0, 60))}}
               if draw(st.integers(0, 3)) == 0 else {})}
    if draw(st.integers(0, 3)) == 0:
        spec["cells"] = draw(st.sampled_from([[1, 2], {"X": [1]}, {"X": {"sum": [0] * 8,
                                                                          "cout": [1] * 8}}]))
    for key in ("format", "rounding", "base"):
        if draw(st.integers(0, 4)) == 0:
            spec[key] = draw(st.sampled_from(["fp32", "bf16", "fp16", "rne", "truncate",
                                              "exact", "da", {"exp_bits": 5, "man_bits": 6},
                                              {"exp_bits": 99}, 7, None]))
    return spec


def case_characterize(data):
    import numpy as np

    BAD[0] = data.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        box = Path(tmp)
        variants = data.draw(maybe(st.lists(st.sampled_from(GOOD_VARIANTS), max_size=2),
                                   st.lists(VARIANTS, max_size=2)))
        if data.draw(st.integers(0, 3)) == 0:
            (box / "v.yaml").write_bytes(yaml_text(data.draw, data.draw(variant_spec())))
            variants.append(str(box / "v.yaml"))
        if not variants:
            variants = ["exact"]
        dist = data.draw(maybe(st.sampled_from(["uniform", "small", "gaussian", "pairs"]),
                               st.just("bogus")))
        if dist == "pairs":
            kind = data.draw(maybe(st.just("good"), st.sampled_from(["text", "npy", "inf",
                                                                     "mismatch"])))
            path = box / "p.npz"
            if kind == "text":
                path.write_text("1,2\n")
            elif kind == "npy":
                with path.open("wb") as fh:
                    np.save(fh, np.ones(4, np.float32))
            else:
                x = np.linspace(-3, 3, 40, dtype=np.float32)
                y = x[::-1].copy() if kind != "mismatch" else x[:3].copy()
                if kind == "inf":
                    x[0] = np.inf
                with path.open("wb") as fh:
                    np.savez(fh, x=x, y=y)
            dist = f"pairs:{path}"
        kind = out_kind(data)
        out, target = _prepare_out(kind, box)
        argv = ["characterize", *variants, "--dist", dist,
                "--n", str(data.draw(maybe(st.sampled_from([1, 10, 50]),
                                           st.sampled_from([0, -3, 10**12]))))]
        argv += ["--out", *out] if out else []
        before = _snapshot(box, None)
        _check("characterize", argv, box, target, before, _run(argv, box),
               _complete_characterize)


test_fuzz_run = fuzz(case_run, EXAMPLES)
test_fuzz_scalesim = fuzz(case_scalesim, EXAMPLES)
test_fuzz_characterize = fuzz(case_characterize, EXAMPLES)


@pytest.mark.slow
def test_fuzz_long_run(capsys):
    """The long run: LONG_EXAMPLES cases per command (ARCHSIM_FUZZ_LONG), different ones from
    the default run's; prints how many cases ended in each exit code (run with -s)."""
    STATS.clear()
    for body in (case_run, case_scalesim, case_characterize):
        fuzz(body, LONG_EXAMPLES)()
    with capsys.disabled():
        print("\nfuzz cases per command (exit code: count):", json.dumps(STATS, sort_keys=True))
    assert all(sum(v.values()) >= LONG_EXAMPLES for v in STATS.values())
