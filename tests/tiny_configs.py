"""A tiny run config (two layers on a 4x4 array) shared by the sweep and report tests."""

TINY_RUN = """
name: tiny
workload:
  inline:
    input: [3, 8, 8]
    layers:
      - {name: c1, type: conv, filters: 4, kernel: 3, padding: 1}
      - {name: f1, type: fc, out_features: 5}
array: {rows: 4, cols: 4, dataflow: os}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 8, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 8, dram_latency_cycles: 10}
clock: {mode: critical_path}
pe: {variants: [exact, da]}
"""
