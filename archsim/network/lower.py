"""What the simulator takes from a network graph: array layers (GEMMs) and every operator.

- Conv: one layer of `groups` GEMMs of M = N*E*F, K = R*S*C/groups, N = F/groups (a
  depthwise conv has groups = C: one GEMM per channel, K = R*S, N = F/C).
- Linear on [..., in]: M = product of the leading dimensions (batch x tokens), K = in, N = out.
- MatMul of two activations [..., M, K] x [..., K, N]: one GEMM per leading index (heads and
  batch) as groups of an activation x activation layer; the second operand is streamed in as
  the "filter" operand.
- Every other operator runs on the vector unit (`archsim.sim.vector`) or, for Reshape /
  Flatten / Identity, nowhere (the bytes do not move).
"""
from __future__ import annotations

import math

from archsim.errors import WorkloadError
from archsim.network.graph import Graph, Node
from archsim.network.ops import OPS
from archsim.workloads import Layer, LayerKind, Operator, Workload


def _conv_layer(graph: Graph, node: Node) -> Layer:
    n, c, h, w = graph.input_shapes(node)[0]
    a = node.attrs
    (r, s), (sh, sw), (dh, dw) = a["kernel"], a["stride"], a["dilation"]
    if sh != sw or dh != dw:
        raise WorkloadError(f"{graph.source}: node {node.name!r} (Conv): the simulator maps "
                            f"equal strides and dilations only, got stride {sh}x{sw}, "
                            f"dilation {dh}x{dw}")
    pads = tuple(a["pads"])
    symmetric = len(set(pads)) == 1
    return Layer(node.name, LayerKind.CONV, h, w, r, s, c, a["out_channels"], sh,
                 pads[0] if symmetric else 0, n, groups=a["groups"], dilation=dh,
                 pads=None if symmetric else pads)


def array_layer(graph: Graph, node: Node) -> Layer | None:
    """The array layer of a Conv / Linear / MatMul node (None for other operators)."""
    ins, out = graph.input_shapes(node), graph.shapes[node.output]
    if node.op == "Conv":
        return _conv_layer(graph, node)
    if node.op == "Linear":
        return Layer(node.name, LayerKind.FC, 1, 1, 1, 1, ins[0][-1], out[-1],
                     batch=math.prod(ins[0][:-1]))
    if node.op == "MatMul":
        lead = math.prod(out[:-2])
        return Layer(node.name, LayerKind.MATMUL, 1, 1, 1, 1, ins[0][-1] * lead, out[-1] * lead,
                     batch=out[-2], groups=lead)
    return None


def operator(graph: Graph, node: Node) -> Operator:
    """The node's report entry: unit, MACs, vector operations, elements in and out."""
    spec = OPS[node.op]
    ins, out = graph.input_shapes(node), graph.shapes[node.output]
    return Operator(node.name, node.op, spec.unit, spec.macs(node, ins, out),
                    spec.vector_ops(node, ins, out), sum(math.prod(s) for s in ins),
                    math.prod(out))


def graph_workload(graph: Graph) -> Workload:
    """The simulator's workload of `graph`: array layers in order, and every operator."""
    layers = [layer for node in graph.nodes if (layer := array_layer(graph, node)) is not None]
    if not layers:
        raise WorkloadError(f"{graph.source}: no Conv, Gemm or MatMul node for the array")
    return Workload(graph.name, tuple(layers), tuple(operator(graph, n) for n in graph.nodes))
