"""Spilled partial sums are read back only after they were written.

WS/IS with an ofmap tile larger than half the ofmap SRAM spill every row fold's partial sums
to DRAM and read them back in the next row fold's prefetch. The prefetch used to issue that
read before the previous fold's drain had written the words (fold 1 read at cycles 104-308
while fold 0 wrote them at 308-408 in the reproduction below)."""
import random

import pytest

import archsim.sim.accelerator as accelerator
from archsim.config import ArrayConfig, MemoryConfig
from archsim.sim.accelerator import simulate_layer
from archsim.sim.memory import DramChannel
from archsim.sim.plan import Dataflow
from archsim.workloads import Layer, LayerKind


class RecordingDram(DramChannel):
    """DramChannel that logs (kind, bytes, start, end) of each channel occupancy."""
    log: list = []

    def read(self, nbytes):
        start = None

        def occupy():
            nonlocal start
            with self._port.request() as request:
                yield request
                start = self.env.now
                yield self.env.timeout(-(-nbytes // self.memory.dram_bandwidth_bytes_per_cycle))
        yield from occupy()
        RecordingDram.log.append(("read", nbytes, start, self.env.now))
        yield self.env.timeout(self.memory.dram_latency_cycles)
        self.read_bytes += nbytes

    def write(self, nbytes):
        with self._port.request() as request:
            yield request
            start = self.env.now
            yield self.env.timeout(-(-nbytes // self.memory.dram_bandwidth_bytes_per_cycle))
        RecordingDram.log.append(("write", nbytes, start, self.env.now))
        self.write_bytes += nbytes


@pytest.fixture
def recording(monkeypatch):
    RecordingDram.log = []
    monkeypatch.setattr(accelerator, "DramChannel", RecordingDram)
    return RecordingDram.log


def gemm_layer(m, k, n):
    return Layer("g", LayerKind.CONV, m, 1, 1, 1, k, n)


def test_issue_reproduction_hand_derived_timeline(recording):
    # WS, M=100, K=8, N=4 on 4x4, 4-byte words, ofmap SRAM 0.5 KiB (half = 64 words), DRAM
    # 16 B/cycle, no latency. Sr=K=8 -> 2 row folds, Sc=N=4 -> 1 col fold, T=M=100:
    # 2*4 + 4 + 100 - 2 = 110 cycles per fold. Ofmap tile 100x4 = 400 words > 64: spill.
    #   fold 0 inputs: ifmap 100x4 + filter 4x4 = 416 words = 1664 B -> t=0..104
    #   fold 0 compute t=104..214; fold 1 inputs (another 416 words) t=104..208
    #   fold 0 drain: 400 words = 1600 B, t=214..314 (channel free since 208)
    #   fold 1 psum read-back: only after that write, 1600 B, t=314..414
    #   fold 1 compute t=414..524 (stall 414 - 214 = 200); drain t=524..624
    mem = MemoryConfig(64, 64, 0.5, 4, 16, 0)
    r = simulate_layer(gemm_layer(100, 8, 4), ArrayConfig(4, 4, Dataflow.WS), mem)
    assert recording == [("read", 1664, 0, 104), ("read", 1664, 104, 208),
                         ("write", 1600, 214, 314), ("read", 1600, 314, 414),
                         ("write", 1600, 524, 624)]
    assert (r.fill_cycles, r.compute_cycles, r.stall_cycles, r.drain_cycles) == (104, 220, 200, 100)
    assert r.total_cycles == 624


@pytest.mark.parametrize("dataflow", [Dataflow.WS, Dataflow.IS])
def test_random_spilling_layers_never_read_before_write(dataflow, recording):
    """Property over random spilling WS/IS layers: each read-back of fold f starts no earlier
    than the end of fold f-1's drain write. Reads come only from the sequential prefetch
    (inputs, then read-back, per fold) and writes only from the FIFO drain, so the k-th
    logged read / write is matched to its fold from the traffic plan alone."""
    from archsim.sim.memory import fold_traffic
    from archsim.sim.plan import plan_layer

    rng = random.Random(17)
    checked = 0
    while checked < 30:
        m, k, n = rng.randint(1, 40), rng.randint(3, 30), rng.randint(1, 12)
        rows, cols = rng.randint(1, 6), rng.randint(1, 6)
        mem = MemoryConfig(rng.choice([0.25, 4, 64]), rng.choice([0.25, 4, 64]),
                           rng.choice([0.0625, 0.125, 0.25]), rng.choice([1, 2, 4]),
                           rng.choice([0.5, 1, 3, 16, 1e9]), rng.choice([0, 7, 50]))
        layer = gemm_layer(m, k, n)
        traffic = list(fold_traffic(plan_layer(layer, rows, cols, dataflow), mem))
        if not any(t.psum_in_words for t in traffic):
            continue
        recording.clear()
        simulate_layer(layer, ArrayConfig(rows, cols, dataflow), mem)
        reads = iter(e for e in recording if e[0] == "read")
        writes = iter(e for e in recording if e[0] == "write")
        write_end, psum_read = {}, {}
        for f, t in enumerate(traffic):
            if t.ifmap_words + t.filter_words:
                assert next(reads)[1] == (t.ifmap_words + t.filter_words) * mem.word_bytes
            if t.psum_in_words:
                psum_read[f] = next(reads)
                assert psum_read[f][1] == t.psum_in_words * mem.word_bytes
        for f, t in enumerate(traffic):
            if t.ofmap_words:
                write_end[f] = next(writes)[3]
        for f, read in psum_read.items():
            assert read[2] >= write_end[f - 1], (m, k, n, rows, cols, mem, f)
        checked += 1


def test_spilled_read_waits_for_write_with_latency(recording):
    # Same layer, DRAM latency 30: the read-back still starts only when the write has ended.
    mem = MemoryConfig(64, 64, 0.5, 4, 16, 30)
    simulate_layer(gemm_layer(100, 8, 4), ArrayConfig(4, 4, Dataflow.WS), mem)
    first_write = next(e for e in recording if e[0] == "write")
    psum_read = [e for e in recording if e[0] == "read"][2]
    assert psum_read[1] == 1600 and psum_read[2] >= first_write[3]
