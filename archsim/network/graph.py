"""The one network description: a small graph of operator nodes with inferred shapes.

Every network archsim knows (our YAML workloads, the built-in trained networks, ONNX files)
becomes a `Graph`: one input tensor (batch first), nodes in topological order, one output.
A node names its input tensors and its one output tensor; its attributes are plain data and
its weights (conv/linear filters, folded batch norms, constant operands) are optional, so a
graph describes a network's shape and work with or without trained parameters. Shapes are
inferred when the graph is built, so a graph that exists is consistent.

The simulator takes per-layer GEMM work from it (`archsim.network.lower`), functional
inference runs it through any multiplier (`archsim.network.execute`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from archsim.errors import WorkloadError


@dataclass(frozen=True, eq=False)
class Node:
    """One operator: `op` (ONNX operator names, plus Linear = x W^T + b on the last axis),
    input tensor names, one output tensor name, attributes, optional weights."""

    name: str
    op: str
    inputs: tuple[str, ...]
    output: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    weights: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        frozen = {}
        for key, value in self.weights.items():
            arr = np.array(value, dtype=np.float32 if np.asarray(value).dtype.kind == "f"
                           else np.asarray(value).dtype, copy=True, order="C")
            arr.setflags(write=False)
            frozen[key] = arr
        object.__setattr__(self, "weights", MappingProxyType(frozen))

    @property
    def has_weights(self) -> bool:
        """True when every parameter the operator needs is present."""
        from archsim.network.ops import OPS
        return all(k in self.weights for k in OPS[self.op].required_weights(self))


@dataclass(frozen=True, eq=False)
class Graph:
    """A network: name, input tensor (name, shape with the batch first), nodes, output."""

    name: str
    input_name: str
    input_shape: tuple[int, ...]
    nodes: tuple[Node, ...]
    output_name: str
    source: str = "<graph>"

    def __post_init__(self) -> None:
        from archsim.network.ops import OPS

        object.__setattr__(self, "input_shape", tuple(int(v) for v in self.input_shape))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        shapes = {self.input_name: self.input_shape}
        for node in self.nodes:
            if node.op not in OPS:
                raise WorkloadError(f"{self.source}: node {node.name!r}: unsupported operator "
                                    f"{node.op}")
            missing = [t for t in node.inputs if t not in shapes]
            if missing:
                raise WorkloadError(f"{self.source}: node {node.name!r}: input {missing[0]!r} "
                                    "is not produced before it")
            if node.output in shapes:
                raise WorkloadError(f"{self.source}: node {node.name!r}: output "
                                    f"{node.output!r} is written twice")
            try:
                shape = OPS[node.op].infer(node, [shapes[t] for t in node.inputs])
            except WorkloadError as exc:
                raise WorkloadError(f"{self.source}: node {node.name!r} ({node.op}): {exc}"
                                    ) from None
            if any(v < 1 for v in shape):
                raise WorkloadError(f"{self.source}: node {node.name!r} ({node.op}): empty "
                                    f"output shape {shape}")
            shapes[node.output] = tuple(int(v) for v in shape)
        if self.output_name not in shapes:
            raise WorkloadError(f"{self.source}: output {self.output_name!r} is never produced")
        object.__setattr__(self, "shapes", MappingProxyType(shapes))

    @property
    def batch(self) -> int:
        """The batch size the shapes were inferred for."""
        return self.input_shape[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the output tensor (batch first)."""
        return self.shapes[self.output_name]  # type: ignore[attr-defined]

    def input_shapes(self, node: Node) -> list[tuple[int, ...]]:
        """Shapes of a node's inputs."""
        return [self.shapes[t] for t in node.inputs]  # type: ignore[attr-defined]

    @property
    def has_weights(self) -> bool:
        """True when every node has its parameters (the graph can run functionally)."""
        return all(node.has_weights for node in self.nodes)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the whole batch on the array (conv, linear, matmul)."""
        from archsim.network.ops import OPS
        return sum(OPS[n.op].macs(n, self.input_shapes(n), self.shapes[n.output])
                   for n in self.nodes)
