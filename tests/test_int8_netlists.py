"""The int8 PE's multiplier netlists (archsim_core.intarray, archsim_core.int8.pe_netlist): the
Baugh-Wooley array and the sign-magnitude wrapper composed around unsigned circuits, checked
exhaustively against independent oracles (numpy integer products; the EvoApprox circuits' C
models compiled with gcc), against the product tables the kernels use (the fast path), and through
Icarus on their exported Verilog; their costs against hand-counted cells."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from archsim_core.evaluate import evaluate
from archsim_core.int8 import exact_signed_table, int_variant, pe_netlist
from archsim_core.intarray import baugh_wooley_netlist, sign_magnitude_netlist, signed_values
from archsim_core.netlist import CONST0

UNSIGNED = "evoapprox/multiplers/8x8_unsigned/pareto_pwr_ep"
EVO = ("mul8u_1JFF", "mul8u_GS2", "mul8u_L40", "mul8u_E9R")   # E9R: the constant-0 circuit


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "cache"))


def _pairs(n: int = 8):
    """Every (a, b) raw n-bit pattern pair, a major."""
    g = np.arange(1 << (2 * n), dtype=np.uint64)
    return g >> np.uint64(n), g & np.uint64((1 << n) - 1)


def _int8_values():
    """Rows/columns of a 256 x 256 table: the int8 value of each raw pattern, via numpy's own
    int8 reinterpretation (independent of archsim's sign handling)."""
    return np.arange(256, dtype=np.uint8).view(np.int8)


def _c_table(stem: str, shared_data, tmp_path) -> np.ndarray:
    """The unsigned 256 x 256 table of an EvoApprox circuit from its C model (gcc)."""
    from evoapprox_data import c_model_outputs

    out = c_model_outputs(shared_data / UNSIGNED / f"{stem}.c", None, None, 16, tmp_path,
                          exhaustive=(8, 8))
    return out.astype(np.int64).reshape(256, 256)


def _wrapped_oracle(unsigned_table) -> np.ndarray:
    """(-1)^(sa^sb) * U[|a|, |b|] written out with Python integers (|-128| = 128)."""
    u = np.asarray(unsigned_table)
    v = [int(x) for x in _int8_values()]
    return np.array([[(-1 if (x < 0) != (y < 0) else 1) * int(u[abs(x), abs(y)]) for y in v]
                     for x in v], dtype=np.int64)


# ------------------------------------------------------------------ Baugh-Wooley


def test_baugh_wooley_8x8_equals_numpy_int16_products_on_all_pairs():
    a, b = _pairs(8)
    net = baugh_wooley_netlist(8)
    assert (net.n_a, net.n_b, net.n_outputs) == (8, 8, 16)
    got = evaluate(net, a, b).astype(np.uint16).view(np.int16)   # 16-bit two's complement
    x = a.astype(np.uint8).view(np.int8).astype(np.int16)
    y = b.astype(np.uint8).view(np.int8).astype(np.int16)
    want = x * y                                                   # numpy int16 (no overflow:
    np.testing.assert_array_equal(got, want)                       # |product| <= 2^14)
    assert got[(a == 0x80) & (b == 0x80)][0] == 16384              # -128 * -128


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7])
def test_baugh_wooley_is_generic_in_width(n):
    a, b = _pairs(n)
    got = signed_values(evaluate(baugh_wooley_netlist(n), a, b), 2 * n)
    sa, sb = (np.where(v >= 1 << (n - 1), v.astype(np.int64) - (1 << n), v.astype(np.int64))
              for v in (a, b))
    np.testing.assert_array_equal(got, sa * sb)


@pytest.mark.parametrize("n", [3, 4, 8, 12])
def test_baugh_wooley_cell_counts_by_hand(n):
    # n^2 partial-product ANDs; the unsigned ripple-row array's n(n-1) cells minus the one with
    # an input tied to 1 (folded to XOR2 + OR2); n-1 half-adder positions (each row's first
    # cell); 2(n-1) NAND inverters + 1 on the top product bit
    net = baugh_wooley_netlist(n)
    assert len(net.gates) == n * n
    assert len(net.cells) == n * (n - 1) - 1
    assert sum(c.cin == CONST0 for c in net.cells) == n - 1
    kinds = sorted(g.kind for g in net.logic)
    assert kinds == sorted(["INV"] * (2 * (n - 1) + 1) + ["XOR2", "OR2"])


def test_int8_variant_netlist_is_baugh_wooley_and_the_table_is_bit_identical():
    m = int_variant("int8")
    assert m.netlist is baugh_wooley_netlist(8) and pe_netlist("int8") is m.netlist
    a, b = _pairs(8)
    table = signed_values(evaluate(m.netlist, a, b), 16).reshape(256, 256)
    np.testing.assert_array_equal(table, m.table)          # the kernels' fast path
    np.testing.assert_array_equal(m.table, exact_signed_table())
    # the kernel's elementwise multiply over every pair, and a matmul against per-element sums
    x, y = a.astype(np.uint8).view(np.int8), b.astype(np.uint8).view(np.int8)
    np.testing.assert_array_equal(m.multiply(x, y), table.ravel())
    rng = np.random.default_rng(1)
    xm = rng.integers(-128, 128, (5, 300), dtype=np.int8)
    wm = rng.integers(-128, 128, (300, 4), dtype=np.int8)
    pa = np.broadcast_to(xm.view(np.uint8)[:, None, :], (5, 4, 300)).ravel()   # [m, n, k]
    pb = np.broadcast_to(wm.T.view(np.uint8)[None, :, :], (5, 4, 300)).ravel()
    net_prod = signed_values(evaluate(m.netlist, pa.astype(np.uint64), pb.astype(np.uint64)), 16)
    want = net_prod.reshape(5, 4, 300).sum(axis=2)
    np.testing.assert_array_equal(m.matmul(xm, wm), want)


# ------------------------------------------------------------------ sign-magnitude wrapper


@pytest.mark.parametrize("name", ["uint8-exact", "uint8-da", "uint8-lsb-AMA5-6"])
def test_wrapper_around_archsim_arrays_equals_the_wrapped_table(name):
    m = int_variant(name)
    net = pe_netlist(name)
    assert net.n_outputs == m.netlist.n_outputs + 1
    a, b = _pairs(8)
    got = signed_values(evaluate(net, a, b), net.n_outputs).reshape(256, 256)
    np.testing.assert_array_equal(got, m.table)                 # the fast path
    u = evaluate(m.netlist, *_pairs(8)).astype(np.int64).reshape(256, 256)
    np.testing.assert_array_equal(got, _wrapped_oracle(u))      # written-out wrapper function
    if name == "uint8-exact":                                   # = int8 on every pair, -128 too
        np.testing.assert_array_equal(got, exact_signed_table())


@pytest.mark.parametrize("stem", EVO)
def test_wrapper_around_evoapprox_circuits_equals_their_c_models(stem, shared_data, tmp_path):
    src = shared_data / UNSIGNED / f"{stem}.v"
    name = f"uint8:{src}"
    net = pe_netlist(name)
    a, b = _pairs(8)
    got = signed_values(evaluate(net, a, b), net.n_outputs).reshape(256, 256)
    np.testing.assert_array_equal(got, int_variant(name).table)        # the fast path
    np.testing.assert_array_equal(got, _wrapped_oracle(_c_table(stem, shared_data, tmp_path)))


def test_minus_128_enters_the_unsigned_circuit_as_128(shared_data, tmp_path):
    """The wrapper function (sign_magnitude_table) reads |-128| as 128, the 8-bit pattern 0x80,
    which the unsigned circuit takes as is: no clipping to 127. The netlist's input negators
    produce the same 0x80, so the row/column of -128 is -/+ U[128, |b|]."""
    src = shared_data / UNSIGNED / "mul8u_GS2.v"
    u = _c_table("mul8u_GS2", shared_data, tmp_path)
    net = pe_netlist(f"uint8:{src}")
    b = np.arange(256, dtype=np.uint64)
    vb = b.astype(np.uint8).view(np.int8).astype(np.int64)
    row = signed_values(evaluate(net, np.full(256, 0x80, np.uint64), b), net.n_outputs)
    want = np.where(vb < 0, 1, -1) * u[128, np.abs(vb)]
    np.testing.assert_array_equal(row, want)
    assert row[0x80] == u[128, 128] and row[1] == -u[128, 1]
    assert not np.array_equal(u[128], u[127])      # so clipping to 127 would show


def test_wrapper_gate_counts_by_hand():
    # around the 8x8 exact array (16-bit product): per operand, the conditional negator over
    # 8 bits is 7 XOR2 + 7 AND2 + a Sklansky prefix-OR over 7 bits (levels 1, 2, 4: 3 + 3 + 3
    # OR2); the product's over 17 bits (top bit a constant 0) is 15 XOR2 + 16 AND2 + a prefix
    # OR over 16 bits (4 levels x 8 OR2); plus the sign XOR2
    core = int_variant("uint8-exact").netlist
    net = sign_magnitude_netlist(core)
    counts = net.cell_counts()
    base = core.cell_counts()
    assert counts["OR2"] == 2 * 9 + 32
    assert counts["XOR2"] == 2 * 7 + 15 + 1
    assert counts["AND2"] - base["AND2"] == 2 * 7 + 16
    assert counts["FA"] == base["FA"] and len(net.gates) == len(core.gates) == 64


# ------------------------------------------------------------------ Icarus on exported Verilog


def _icarus_exhaustive(variant, unit, n_out, tmp_path):
    """Icarus Verilog on the file `archsim verilog VARIANT --unit UNIT` writes, every pair."""
    from archsim.cli import main
    from test_verilog_export import icarus_outputs

    out = tmp_path / "export.v"
    assert main(["verilog", variant, "--unit", unit, "--module", "dut_top", "--out", str(out)]) == 0
    a, b = _pairs(8)
    return icarus_outputs(out.read_text(), "dut_top", 8, 8, n_out, a, b, tmp_path)


def test_icarus_simulates_the_exported_baugh_wooley_as_int16_products(tmp_path):
    a, b = _pairs(8)
    sim = _icarus_exhaustive("int8", "significand", 16, tmp_path).astype(np.uint16).view(np.int16)
    x = a.astype(np.uint8).view(np.int8).astype(np.int16)
    y = b.astype(np.uint8).view(np.int8).astype(np.int16)
    np.testing.assert_array_equal(sim, x * y)


@pytest.mark.parametrize("which", ["uint8-exact", "mul8u_L40"])
def test_icarus_simulates_the_exported_wrapper(which, tmp_path, shared_data):
    if which.startswith("mul8u"):
        variant = f"uint8:{shared_data / UNSIGNED / which}.v"
        u = _c_table(which, shared_data, tmp_path)
    else:
        variant = which
        u = evaluate(int_variant(which).netlist, *_pairs(8)).astype(np.int64).reshape(256, 256)
    n_out = pe_netlist(variant).n_outputs
    sim = signed_values(_icarus_exhaustive(variant, "int8-pe", n_out, tmp_path), n_out)
    np.testing.assert_array_equal(sim.reshape(256, 256), _wrapped_oracle(u))


def test_export_int8_pe_needs_an_int8_variant(tmp_path, capsys):
    from archsim.cli import main

    assert main(["verilog", "exact", "--unit", "int8-pe", "--out", str(tmp_path / "x.v")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "int8-pe" in err and not (tmp_path / "x.v").exists()


# ------------------------------------------------------------------ costs from the netlists


def _lib(repo_root):
    return yaml.safe_load((repo_root / "archsim" / "data" / "cell_library_default.yaml")
                          .read_text())


def test_int8_pe_multiplier_area_is_the_hand_counted_baugh_wooley(repo_root):
    from archsim.int8_mac import int8_pe_cost

    lib = _lib(repo_root)
    cells = {**lib["cells"], **lib["gates"]}
    count = {"AND2": 64, "FA": 48, "HA": 7, "INV": 15, "XOR2": 1, "OR2": 1}
    pe = int8_pe_cost("int8")
    assert pe.mult_area_um2 == pytest.approx(sum(n * cells[c]["area_um2"]
                                                 for c, n in count.items()), rel=1e-12)
    assert pe.transistors == sum(n * cells[c]["transistors"] for c, n in count.items())
    # uint8-exact: the unsigned array (64 AND2, 49 FA, 7 HA) + the wrapper (see above)
    count = {"AND2": 64 + 30, "FA": 49, "HA": 7, "XOR2": 30, "OR2": 50}
    u8 = int8_pe_cost("uint8-exact")
    assert u8.mult_area_um2 == pytest.approx(sum(n * cells[c]["area_um2"]
                                                 for c, n in count.items()), rel=1e-12)
    assert u8.transistors == sum(n * cells[c]["transistors"] for c, n in count.items())


def test_a_constant_zero_circuit_costs_no_switching_energy(shared_data):
    from archsim.int8_mac import int8_pe_cost

    pe = int8_pe_cost(f"uint8:{shared_data / UNSIGNED / 'mul8u_E9R.v'}")
    # its products are all 0: the wrapper folds away with it, nothing toggles (the old
    # activity-0.5 wrapper estimate charged energy here), and the accumulator never moves
    assert pe.mult_area_um2 == 0 and pe.mult_energy_pj == 0 and pe.mult_delay_ns == 0
    assert pe.adder_energy_pj == 0


@pytest.mark.slow
def test_wrapper_around_every_unsigned_evoapprox_8x8_circuit(shared_data, tmp_path):
    files = {p.stem: p for p in sorted((shared_data / "evoapprox/multiplers/8x8_unsigned")
                                       .glob("*/mul8u_*.v")) if not p.stem.endswith("_pdk45")}
    assert len(files) >= 20
    a, b = _pairs(8)
    for stem, src in sorted(files.items()):
        from evoapprox_data import c_model_outputs

        u = c_model_outputs(src.with_suffix(".c"), None, None, 16, tmp_path, exhaustive=(8, 8))
        net = pe_netlist(f"uint8:{src}")
        got = signed_values(evaluate(net, a, b), net.n_outputs).reshape(256, 256)
        np.testing.assert_array_equal(got, _wrapped_oracle(u.astype(np.int64).reshape(256, 256)),
                                      err_msg=stem)
        np.testing.assert_array_equal(got, int_variant(f"uint8:{src}").table, err_msg=stem)
