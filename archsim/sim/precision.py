"""Word sizes per tensor: which bytes an operand, a partial sum and an output occupy.

An FP PE keeps every tensor in `memory.word_bytes` (4 for FP32). An int8 PE (integer variants:
int8, int8:PATH.v, uint8:...) reads 1-byte ifmap and filter words, accumulates 4-byte (int32)
partial sums, and writes 1-byte (requantised) outputs to DRAM. The ofmap SRAM holds
accumulator words: its capacity and its access energy are counted in psum words; spilled
partial sums go to DRAM and come back as psum words; finished outputs leave as ofmap words.

The sizes ride on the MemoryConfig (`ifmap_word_bytes`, ... ; None = `word_bytes`), so the
simulator's memory model needs no other input; `word_bytes_of` reads them with that default
(any object with a `word_bytes` works).
"""
from __future__ import annotations

import dataclasses

TENSORS = ("ifmap", "filter", "psum", "ofmap")
INT8_WORDS = {"ifmap": 1, "filter": 1, "psum": 4, "ofmap": 1}
SRAM_TENSOR = {"ifmap_sram": "ifmap", "filter_sram": "filter", "ofmap_sram": "psum"}


def word_bytes_of(memory, tensor: str) -> int:
    """Bytes of one `tensor` word (ifmap, filter, psum, ofmap) under `memory`."""
    value = getattr(memory, f"{tensor}_word_bytes", None)
    return memory.word_bytes if value is None else value


def memory_for_variant(memory, spec):
    """The MemoryConfig a variant's PE sees: int8 word sizes for integer variants, else as is."""
    from archsim_core.int8 import is_int_variant

    if is_int_variant(spec):
        return dataclasses.replace(memory, **{f"{t}_word_bytes": b for t, b in INT8_WORDS.items()})
    return memory
