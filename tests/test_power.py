"""Toggle energy against hand-enumerated streams and an independent per-node evaluation."""
import numpy as np
import pytest
from archsim_core.netlist import NetlistBuilder
from archsim_core.structures import Assignment, build, hierarchical, ripple_row
from archsim_core.variants import resolve_variant

from archsim.cost.library import load_library
from archsim.cost.power import fields, netlist_energy, netlist_toggles, operand_stream, signal_energies
from archsim.errors import DataError, SpecError
from netlist_reference import numpy_signals

LIB = load_library()


def _single_fa():
    nb = NetlistBuilder(2, 1, "fa")
    s, c = nb.cell("FA", nb.a(0), nb.a(1), nb.b(0), 0)
    return nb.build([s, c])


def _reference_toggles(net, a, b):
    """Independent oracle: evaluate every node on the whole stream with numpy bit arrays."""
    v = numpy_signals(net, a, b)
    return np.count_nonzero(v[:, 1:] != v[:, :-1], axis=1)


def test_single_full_adder_hand_enumerated():
    """(A,B,Cin) = 000 -> 111 -> 100: Sum 0,1,1 (1 toggle), Cout 0,1,0 (2 toggles)."""
    net = _single_fa()
    a = np.array([0b00, 0b11, 0b01], dtype=np.uint64)      # a0 = A, a1 = B
    b = np.array([0, 1, 0], dtype=np.uint64)               # b0 = Cin
    rep = netlist_energy(net, a, b, LIB)
    fa = LIB.cell("FA")
    expected = (1 * fa.toggle_energy("Sum") + 2 * fa.toggle_energy("Cout")) / 2
    assert rep.per_op_eu == pytest.approx(expected)
    assert rep.toggles_per_op == pytest.approx(1.5)


@pytest.mark.parametrize("structure", [
    ripple_row(8, 8), ripple_row(8, 8, Assignment("FA", "AMA2", 5)),
    hierarchical(8, 8, 4, ripple_row(4, 4, Assignment("AMA5")))])
def test_toggles_match_an_independent_evaluation(structure):
    net = build(structure)
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, 500).astype(np.uint64)
    b = rng.integers(0, 256, 500).astype(np.uint64)
    ref = _reference_toggles(net, a, b)
    got = netlist_toggles(net, a, b)
    driven = signal_energies(net, LIB) > 0
    assert np.array_equal(got[driven], ref[driven])
    energy = netlist_energy(net, a, b, LIB).per_op_eu
    assert energy == pytest.approx(float(ref[driven] @ signal_energies(net, LIB)[driven]) / 499)


def test_constant_stream_has_zero_toggles_and_energy():
    net = build(ripple_row(8, 8))
    a = np.full(100, 173, dtype=np.uint64)
    b = np.full(100, 91, dtype=np.uint64)
    assert netlist_toggles(net, a, b).sum() == 0
    assert netlist_energy(net, a, b, LIB).per_op_eu == 0.0


def test_streams_are_seeded_and_pairs_load(tmp_path):
    x1, y1 = operand_stream("gaussian", 64, 5)
    x2, y2 = operand_stream("gaussian", 64, 5)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    x, _ = operand_stream("uniform", 1000, 0)
    assert -1 <= x.min() and x.max() <= 1
    path = tmp_path / "pairs.npz"
    np.savez(path, x=np.arange(6, dtype=np.float32).reshape(2, 3), y=np.ones(6))
    a, b = operand_stream(f"pairs:{path}")
    assert a.tolist() == [0, 1, 2, 3, 4, 5] and b.tolist() == [1] * 6


def test_bad_streams_are_rejected(tmp_path):
    with pytest.raises(SpecError, match="poisson"):
        operand_stream("poisson")
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.ones(3))
    with pytest.raises(DataError, match="bad.npz"):
        operand_stream(f"pairs:{bad}")
    with pytest.raises(DataError, match="missing.npz"):
        operand_stream(f"pairs:{tmp_path / 'missing.npz'}")
    inf = tmp_path / "inf.npz"
    np.savez(inf, x=np.array([1.0, np.inf]), y=np.ones(2))
    with pytest.raises(DataError, match="inf"):
        operand_stream(f"pairs:{inf}")


def test_fields_match_the_ieee_layout():
    """Sign, biased exponent and hidden-bit significand of float32 values, read from numpy's
    own bit patterns; bf16 fields equal numpy's float32 rounded to nearest even on 16 bits."""
    x = np.array([1.0, -0.75, 3.4e38, 1e-40, 0.0, -2.5], dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    sign, exp, sig = fields(x, resolve_variant("exact"))
    assert np.array_equal(sign, bits >> 31) and np.array_equal(exp, (bits >> 23) & 0xFF)
    hidden = np.where(exp > 0, 1 << 23, 0).astype(np.uint64)
    assert np.array_equal(sig, (bits & 0x7FFFFF) | hidden)
    _, exp16, sig16 = fields(np.array([1.00390625, 1.01171875], np.float32), resolve_variant("da-bf16"))
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7 -> even (1.0); 1 + 3*2^-8 -> 1 + 2^-6
    assert exp16.tolist() == [127, 127] and sig16.tolist() == [0x80, 0x82]
