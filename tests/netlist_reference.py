"""Independent netlist oracle for tests: every signal of a netlist over an operand stream,
evaluated with numpy truth-table look-ups (no code shared with the Cython evaluator)."""
import numpy as np


def numpy_signals(nl, a, b):
    """All signal values (n_signals x n, uint8) by table look-up over operand vectors."""
    a, b = np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)
    v = np.zeros((nl.n_signals, a.size), dtype=np.uint8)
    v[1] = 1
    for k, sig in enumerate(nl.a_bits):
        v[sig] = (a >> np.uint64(k)) & np.uint64(1)
    for k, sig in enumerate(nl.b_bits):
        v[sig] = (b >> np.uint64(k)) & np.uint64(1)
    for kind, i in nl.order:
        if kind == "and":
            g = nl.gates[i]
            v[g.out] = v[g.a] & v[g.b]
        elif kind == "gate":
            g = nl.logic[i]
            x = [v[s] for s in g.ins]
            v[g.out] = {"AND2": lambda: x[0] & x[1], "OR2": lambda: x[0] | x[1],
                        "XOR2": lambda: x[0] ^ x[1], "INV": lambda: 1 - x[0],
                        "BUF": lambda: x[0], "DFF": lambda: x[0],
                        "MUX2": lambda: np.where(x[2] == 1, x[1], x[0])}[g.kind]()
        else:
            c = nl.cells[i]
            ct = nl.cell_types[c.cell]
            idx = (v[c.a].astype(np.intp) << 2) | (v[c.b].astype(np.intp) << 1) | v[c.cin]
            v[c.sum] = np.array(ct.sum_table, dtype=np.uint8)[idx]
            v[c.cout] = np.array(ct.cout_table, dtype=np.uint8)[idx]
    return v
