"""Verilog import (Yosys) on small hand-written circuits, checked against numpy, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from archsim.cli import main
from archsim_core import get_multiplier
from archsim_core.evaluate import evaluate
from archsim_core.verilog import VerilogError, import_verilog

ADD4 = """
module add4(input [3:0] x, input [3:0] y, output [4:0] s);
  wire [3:0] c;
  assign s[0] = x[0] ^ y[0];
  assign c[0] = x[0] & y[0];
  genvar i;
  generate for (i = 1; i < 4; i = i + 1) begin : fa
    assign s[i] = x[i] ^ y[i] ^ c[i-1];
    assign c[i] = (x[i] & y[i]) | (c[i-1] & (x[i] ^ y[i]));
  end endgenerate
  assign s[4] = c[3];
endmodule
"""

# a 3x3 multiplier through a sub-module, FAX1/HAX1 standard cells, a constant and a concatenation
MUL2 = """
module pp(input a, input b, output y); assign y = a & b; endmodule
module mul2(input [1:0] A, input [1:0] B, output [3:0] O);
  wire p00, p01, p10, p11, c1;
  pp u0(A[0], B[0], p00); pp u1(A[0], B[1], p01); pp u2(A[1], B[0], p10); pp u3(A[1], B[1], p11);
  HAX1 h1(.A(p01), .B(p10), .YS(O[1]), .YC(c1));
  FAX1 f2(.A(p11), .B(c1), .C(1'b0), .YS(O[2]), .YC(O[3]));
  assign O[0] = p00;
endmodule
"""


def _write(tmp_path, text, name="c.v"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_CACHE_DIR", str(tmp_path / "cache"))


def _all_pairs(n_a, n_b):
    a = np.repeat(np.arange(1 << n_a, dtype=np.uint64), 1 << n_b)
    b = np.tile(np.arange(1 << n_b, dtype=np.uint64), 1 << n_a)
    return a, b


def test_assign_expressions_adder_matches_numpy(tmp_path):
    net = import_verilog(_write(tmp_path, ADD4))
    assert (net.n_a, net.n_b, net.n_outputs) == (4, 4, 5)
    a, b = _all_pairs(4, 4)
    assert np.array_equal(evaluate(net, a, b), a + b)
    # one to one, no optimisation: x[i] ^ y[i] is written twice per stage and stays twice
    assert net.cell_counts() == {"AND2": 1 + 2 * 3, "G_OR2": 3, "G_XOR2": 1 + 3 * 3}


def test_hierarchy_and_standard_cells(tmp_path):
    net = import_verilog(_write(tmp_path, MUL2))
    assert net.cell_counts() == {"AND2": 4, "FA": 1, "HA": 1}
    a, b = _all_pairs(2, 2)
    assert np.array_equal(evaluate(net, a, b), a * b)
    m = get_multiplier({"verilog": str(tmp_path / "c.v"), "signed": False})
    assert m.table.shape == (4, 4) and m.table.dtype == np.int64
    assert np.array_equal(m.table, np.outer(np.arange(4), np.arange(4)))


def test_behavioural_multiply_is_refused(tmp_path):
    # `*` is not gate level: archsim does not re-synthesise it
    path = _write(tmp_path, "module m(input signed [2:0] a, b, output signed [5:0] y);"
                            " assign y = a * b; endmodule")
    with pytest.raises(VerilogError, match=r"unsupported operator \$mul"):
        import_verilog(path)


def test_cache_reuses_parse_and_sees_edits(tmp_path):
    path = _write(tmp_path, ADD4)
    first = import_verilog(path)
    assert import_verilog(path) is first
    assert len(list((tmp_path / "cache" / "verilog").glob("*.json"))) == 1
    path.write_text(ADD4.replace("assign s[4] = c[3];", "assign s[4] = 1'b0;"))
    assert import_verilog(path) is not first
    a, b = _all_pairs(4, 4)
    assert np.array_equal(evaluate(import_verilog(path), a, b), (a + b) & np.uint64(15))


BAD = {
    "malformed": ("module m(input a, input b, output y);\n assign y = a &;\nendmodule\n",
                  r"c\.v:2: .*syntax error"),
    "sequential": ("module m(input clk, input [1:0] b, output reg y);\n"
                   " always @(posedge clk) y <= b[0];\nendmodule\n", r"c\.v:2: sequential logic"),
    "loop": ("module m(input a, input b, output y);\n wire p, q;\n assign p = q & a;\n"
             " assign q = p | b;\n assign y = q;\nendmodule\n", r"c\.v: .*combinational loop"),
    "undriven": ("module m(input a, input b, output y);\n wire w;\n assign y = w & a;\nendmodule\n",
                 r"c\.v: net w is used but never driven"),
    "multiply driven": ("module m(input a, input b, output y);\n assign y = a & b;\n"
                        " assign y = a | b;\nendmodule\n", r"c\.v:\d+: net y is multiply driven"),
    "unknown cell": ("module m(input a, input b, output y);\n FOO3X1 u(.A(a), .B(b), .Y(y));\n"
                     "endmodule\n", r"c\.v: .*FOO3X1"),
    "three inputs": ("module m(input a, input b, input c, output y);\n assign y = a & b & c;\n"
                     "endmodule\n", r"exactly two input ports"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_verilog_raises_one_line_naming_file(tmp_path, case):
    text, pattern = BAD[case]
    with pytest.raises(VerilogError, match=pattern) as info:
        import_verilog(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_port_width_must_fit_format(tmp_path):
    path = _write(tmp_path, ADD4)
    with pytest.raises(Exception, match=r"4 bits wide but the format needs 8-bit"):
        get_multiplier(f"int8:{path}")


@pytest.mark.parametrize("case", ["malformed", "loop", "unknown cell"])
def test_cli_bad_verilog_exit_2_one_line_no_output(tmp_path, capsys, case):
    path = _write(tmp_path, BAD[case][0])
    out = tmp_path / "out"
    assert main(["characterize", f"verilog:{path}", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert not out.exists()


def test_cli_width_mismatch_exit_2(tmp_path, capsys):
    path = _write(tmp_path, ADD4)
    assert main(["characterize", f"int8:{path}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "8-bit operands" in err and len(err.strip().splitlines()) == 1
