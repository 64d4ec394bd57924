"""The one network description (`Graph`), its importers and its consumers.

- `graph`: Graph / Node with inferred shapes; `ops`: the operator table;
- `shapes`: the output-size formula and im2col every module uses;
- `onnx`: ONNX import (optional extra `onnx`); `builtin`: our YAML workloads and the trained
  networks as graphs; `lower`: the simulator's per-layer GEMM work and vector operations;
- `execute`: functional inference through any multiplier variant.
"""
from archsim.network.graph import Graph, Node

__all__ = ["Graph", "Node"]
