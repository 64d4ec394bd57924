"""Config loader: every error with its dotted path and the file; resolved, frozen, picklable."""
import pickle

import pytest

from archsim.config import ClockMode, load_config
from archsim.errors import ConfigError
from archsim.sim.plan import Dataflow

GOOD = """
name: t
workload:
  inline:
    input: [1, 8, 8]
    layers:
      - {name: c, type: conv, filters: 4, kernel: 3, padding: 1}
      - {name: f, type: fc, out_features: 3}
array: {rows: 4, cols: 4, dataflow: ws}
memory: {ifmap_sram_kib: 8, filter_sram_kib: 8, ofmap_sram_kib: 4, word_bytes: 4,
         dram_bandwidth_bytes_per_cycle: 8, dram_latency_cycles: 10}
clock: {mode: fixed, clock_mhz: 250}
pe: {variants: [exact]}
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_configs_load(repo_root):
    for name in ("da_mnist", "da_mnist_functional", "lenet5", "alexnet", "alexnet_cifar10"):
        config = load_config(repo_root / "configs" / f"{name}.yaml")
        assert config.workload.layers and config.variants


def test_good_config_resolves(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.array.dataflow is Dataflow.WS and config.clock.mode is ClockMode.FIXED
    assert config.clock.clock_mhz == 250.0
    assert [l.name for l in config.workload.layers] == ["c", "f"]
    assert config.workload.layers[1].channels == 4 * 8 * 8
    assert pickle.loads(pickle.dumps(config)) == config


def test_batch_overrides_the_workload(tmp_path):
    config = load_config(write(tmp_path, GOOD + "batch: 3\n"))
    assert {l.batch for l in config.workload.layers} == {3}


def test_every_error_reported_with_path_and_file(tmp_path):
    bad = (GOOD.replace("cols: 4", "colz: 4").replace("word_bytes: 4", "word_bytes: 0")
           .replace("mode: fixed, clock_mhz: 250", "mode: turbo")
           .replace("variants: [exact]", "variants: [exact, no-such-variant]"))
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    for fragment in ("array.colz: unknown key", "array.cols: missing",
                     "memory.word_bytes: must be an integer >= 1 and <= 16, got 0",
                     "clock.mode: must be one of fixed, critical_path, got 'turbo'",
                     "pe.variants[1]: unknown variant 'no-such-variant'"):
        assert fragment in msg


@pytest.mark.parametrize("mutate,fragment", [
    (lambda s: s + "extra: 1\n", "extra: unknown key"),
    (lambda s: s.replace("pe: {variants: [exact]}\n", ""), "pe: missing"),
    (lambda s: s.replace("dram_latency_cycles: 10", "dram_latency_cycles: -1"),
     "memory.dram_latency_cycles: must be an integer >= 0"),
    (lambda s: s.replace("ofmap_sram_kib: 4", "ofmap_sram_kib: 0"),
     "memory.ofmap_sram_kib: must be a finite number > 0"),
    (lambda s: s.replace("clock_mhz: 250", "clock_mhz: '250'"),
     "clock.clock_mhz: must be a finite number >= 0.001 and <= 1e+06, got '250'"),
    (lambda s: s.replace("mode: fixed, clock_mhz: 250", "mode: critical_path, clock_mhz: 9"),
     "clock.clock_mhz: not allowed with mode critical_path"),
    (lambda s: s.replace("kernel: 3, padding: 1", "kernel: 11"),
     "layers[0].kernel: 11x11 exceeds the padded input 8x8"),
    (lambda s: s.replace("variants: [exact]", "variants: [exact, exact]"),
     "pe.variants: duplicate variant 'exact'"),
    (lambda s: s + "energy: {ert: nowhere.yaml}\n", "energy.ert:"),
    (lambda s: s.replace("dataflow: ws", "dataflow: [ws]"), "array.dataflow: must be one of"),
])
def test_single_errors(tmp_path, mutate, fragment):
    with pytest.raises(ConfigError, match=None) as exc:
        load_config(write(tmp_path, mutate(GOOD)))
    assert fragment in str(exc.value)


def test_malformed_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_config(write(tmp_path, "array: {rows: 4\n"))
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="top level: must be a mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_workload_path_relative_to_config(tmp_path):
    (tmp_path / "net.csv").write_text(
        "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,"
        "Num Filter,Strides,\nConv1,9,9,3,3,2,4,2,\n")
    text = GOOD.replace(GOOD[GOOD.index("workload:"):GOOD.index("array:")],
                        "workload: {path: net.csv}\n")
    config = load_config(write(tmp_path, text))
    assert config.workload.layers[0].ofmap_h == 4  # ceil((9 - 3 + 2)/2)


def test_scalesim_depthwise_rule_applies_to_csv_workloads(tmp_path):
    (tmp_path / "net.csv").write_text(
        "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,"
        "Num Filter,Strides,\nConv1,9,9,3,3,2,4,1,\nConvDP2,7,7,3,3,3,1,1,\n")
    text = GOOD.replace(GOOD[GOOD.index("workload:"):GOOD.index("array:")],
                        "workload: {path: net.csv}\n")
    layers = load_config(write(tmp_path, text)).workload.layers
    # SCALE-Sim runs a "DP" layer as one single-channel layer per input channel
    assert [(l.name, l.channels) for l in layers] == [
        ("Conv1", 2), ("ConvDP2Channel_0", 1), ("ConvDP2Channel_1", 1), ("ConvDP2Channel_2", 1)]
