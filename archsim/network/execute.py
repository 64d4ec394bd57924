"""Functional inference of a network graph: numpy float32, or every Conv/Linear/MatMul product
through an archsim_core multiplier (`archsim.network.ops`), batched, with progress."""
from __future__ import annotations

from typing import Any

import numpy as np

from archsim.errors import ConfigError, DataError
from archsim.network.graph import Graph
from archsim.network.ops import run_node


def check_graph_input(graph: Graph, x: Any, source: str = "input") -> np.ndarray:
    """x as a C-contiguous float32 batch shaped like the graph's input (any batch size)."""
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    want = graph.input_shape[1:]
    if arr.ndim != len(graph.input_shape) or arr.shape[1:] != want:
        raise DataError(f"{source}: inputs of shape {arr.shape[1:]} do not fit {graph.source} "
                        f"(input {graph.input_name!r} takes (N, {', '.join(map(str, want))}))")
    return arr


def _last_uses(graph: Graph) -> dict[str, int]:
    last = {}
    for i, node in enumerate(graph.nodes):
        for t in node.inputs:
            last[t] = i
    return last


def run_batch(graph: Graph, x: np.ndarray, mult: Any = None) -> np.ndarray:
    """The graph's output for one float32 batch `x` (already checked)."""
    values = {graph.input_name: x}
    last = _last_uses(graph)
    for i, node in enumerate(graph.nodes):
        out = run_node(node, [values[t] for t in node.inputs], mult)
        values[node.output] = np.asarray(out, dtype=np.float32)
        for t in node.inputs:  # free what no later node reads
            if last.get(t) == i and t != graph.output_name:
                values.pop(t, None)
    return values[graph.output_name]


def forward_graph(graph: Graph, x: Any, multiplier: Any = None, batch_size: int = 64,
                  progress: bool = False) -> np.ndarray:
    """Outputs float32 [N, ...] of `graph` on inputs `x` in batches of `batch_size`.

    `multiplier`: None (numpy float32), a variant name / spec (archsim_core.get_multiplier)
    or a built Multiplier; `progress` shows a tqdm bar on stderr.
    """
    from archsim.nn.network import resolve_multiplier

    if not graph.has_weights:
        missing = [n.name for n in graph.nodes if not n.has_weights]
        raise DataError(f"{graph.source}: node {missing[0]!r} has no weights: the graph "
                        "describes shapes only and cannot run functionally")
    arr = check_graph_input(graph, x)
    mult = resolve_multiplier(multiplier)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    out = np.empty((arr.shape[0],) + graph.output_shape[1:], dtype=np.float32)
    starts = range(0, arr.shape[0], batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc=f"{graph.name} ({getattr(mult, 'name', 'float32')})",
                      unit="batch")
    for start in starts:
        out[start:start + batch_size] = run_batch(graph, arr[start:start + batch_size], mult)
    return out
