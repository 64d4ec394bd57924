"""The vector unit: where the non-GEMM operators of a network run (pooling, activations,
normalisation, softmax, elementwise adds, data movement).

`lanes` lanes each complete `ops_per_cycle` operations per cycle; an operator's operation
count comes from the operator table (`archsim.network.ops`: e.g. 1 per element for ReLU and
Add, 5 for Softmax, kernel taps per output for pooling, one move per element for Concat /
Transpose / Pad). Traffic follows the array's layer-by-layer model: an operator reads its
inputs from DRAM through the vector SRAM and writes its output back (reads and writes one
word per element each way). Compute and DRAM streaming overlap (double-buffered), so an
operator takes max(compute, DRAM transfer) cycles plus one DRAM latency for its first data.
Reshape, Flatten and Identity move no data and take no time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archsim.workloads import Operator


@dataclass(frozen=True)
class VectorConfig:
    """The vector unit: lanes x operations per lane per cycle."""
    lanes: int
    ops_per_cycle: int = 1


@dataclass(frozen=True)
class VectorResult:
    """Timing and traffic of one operator on the vector unit."""
    operator: Operator
    compute_cycles: int
    dram_cycles: int
    total_cycles: int
    sram_read_words: int
    sram_write_words: int
    dram_read_bytes: int
    dram_write_bytes: int


def time_operator(op: Operator, vector: VectorConfig, memory) -> VectorResult:
    """Cycles and traffic of a vector-unit operator (closed form, see the module notes)."""
    if op.unit != "vector":
        raise ValueError(f"operator {op.name!r} runs on the {op.unit} unit, not the vector unit")
    compute = math.ceil(op.vector_ops / (vector.lanes * vector.ops_per_cycle))
    read_b = op.input_elements * memory.word_bytes
    write_b = op.output_elements * memory.word_bytes
    dram = math.ceil((read_b + write_b) / memory.dram_bandwidth_bytes_per_cycle)
    total = max(compute, dram) + memory.dram_latency_cycles
    return VectorResult(op, compute, dram, total, op.input_elements, op.output_elements,
                        read_b, write_b)


def time_vector_ops(operators, vector: VectorConfig, memory) -> tuple[VectorResult, ...]:
    """Every vector-unit operator of a workload, in graph order."""
    return tuple(time_operator(op, vector, memory) for op in operators if op.unit == "vector")
