"""Helpers for the EvoApproxLib tests: the catalogue, printed header figures, and the C models
compiled with gcc into small programs that print every output (the independent oracle)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from archsim.cost.validate import load_catalogue

_SIG = re.compile(r"^\s*((?:u?int\d+_t))\s+(\w+)\s*\(([^)]*)\)", re.M)
_PARAM = re.compile(r"(?:const\s+)?(u?int\d+_t)\s+(\w+)")

__all__ = ["load_catalogue", "header_figures", "c_model_outputs", "printed_tolerance"]


def header_figures(vfile: Path) -> dict[str, str]:
    """The '// KEY = VALUE' lines of a circuit's header (MAE, WCE, MSE, ...), as printed."""
    out = {}
    for line in vfile.read_text().splitlines()[:40]:
        m = re.match(r"^// ([A-Z0-9_%]+) = ([-0-9.e+]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def printed_tolerance(text: str) -> float:
    """Half a unit in the last printed place of a number such as '0.039', '17', '15608.397e3'."""
    mant, _, exp = text.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 0.5 * 10.0 ** (-decimals + (int(exp) if exp else 0))


def c_model_outputs(cfile: Path, a_raw: np.ndarray, b_raw: np.ndarray, out_bits: int,
                    workdir: Path) -> np.ndarray:
    """Outputs (raw bit patterns masked to out_bits, uint64) of the circuit's C model on the given
    raw operand pairs; parameters are matched to the Verilog ports by name (A/a first operand),
    signed C parameter types get the sign-extended operand."""
    text = cfile.read_text()
    m = _SIG.search(text)
    assert m, f"no function signature in {cfile}"
    ret, fname, params = m.groups()
    plist = _PARAM.findall(params)
    assert len(plist) == 2, (cfile, params)
    args = []
    for ctype, pname in plist:
        src = "a" if pname.lower() == "a" else "b"
        assert pname.lower() in ("a", "b"), (cfile, pname)
        args.append(f"({ctype})(({'int64_t' if not ctype.startswith('u') else 'uint64_t'})"
                    f"{src}_in[i])")
    prog = workdir / f"{fname}_main.c"
    prog.write_text(f'''#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "{cfile}"
int main(void) {{
  size_t n; if (fread(&n, sizeof n, 1, stdin) != 1) return 1;
  int64_t *a_in = malloc(n * 8), *b_in = malloc(n * 8); uint64_t *out = malloc(n * 8);
  if (fread(a_in, 8, n, stdin) != n || fread(b_in, 8, n, stdin) != n) return 1;
  for (size_t i = 0; i < n; i++) out[i] = (uint64_t)({ret})({fname}({", ".join(args)}));
  fwrite(out, 8, n, stdout); return 0;
}}
''')
    exe = workdir / f"{fname}_main"
    subprocess.run(["gcc", "-O1", "-w", "-o", str(exe), str(prog)], check=True)
    payload = np.array([a_raw.size], np.uint64).tobytes() + a_raw.astype(np.int64).tobytes() \
        + b_raw.astype(np.int64).tobytes()
    res = subprocess.run([str(exe)], input=payload, capture_output=True, check=True)
    out = np.frombuffer(res.stdout, dtype=np.uint64)
    return out & np.uint64((1 << out_bits) - 1)
