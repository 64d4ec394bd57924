"""The shipped int8 run configs (issue #15) load as shipped (paths relative to each file) and
put FP32 exact and da beside the exact int8 PE and approximate 8x8 PEs, EvoApprox circuits
included in workloads/int8/configs; the int8 sweep spec plans FP32 and int8 points."""
from pathlib import Path

import pytest

from archsim.config import load_config

CONFIGS = ["configs/int8_da_mnist.yaml", "configs/int8_alexnet_cifar10.yaml",
           "workloads/int8/configs/evoapprox_da_mnist.yaml",
           "workloads/int8/configs/evoapprox_alexnet_cifar10.yaml"]


@pytest.mark.parametrize("path", CONFIGS)
def test_shipped_int8_config_sets_fp32_beside_int8(repo_root, shared_data, path):
    from archsim_core.int8 import is_int_variant

    config = load_config(repo_root / path)
    specs = [v.spec for v in config.variants]
    assert specs[:2] == ["exact", "da"] and "int8" in specs
    circuits = [s for s in specs if s.startswith(("int8:", "uint8:"))]
    if "evoapprox" in path:
        assert len(circuits) == 5
        for s in circuits:   # resolved to existing EvoApprox Verilog files
            circuit = Path(s.split(":", 1)[1]).resolve()
            assert circuit.is_file() and (shared_data / "evoapprox").resolve() in circuit.parents
    assert any(is_int_variant(s) and s != "int8" for s in specs)


def test_shipped_int8_sweep_spec_mixes_fp32_and_int8_points(repo_root, shared_data):
    from archsim.sweep.point import plan_points
    from archsim.sweep.spec import load_spec

    spec = load_spec(repo_root / "configs" / "sweep_int8_da_mnist.yaml")
    points = plan_points(spec)
    assert len(points) == 30 and spec.accuracy.quant.endswith("da_lenet.quant.json")
    # 3 arrays x 2 SRAM sizes, each simulated once at FP32 and once at int8 word sizes
    assert {p.precision for p in points} == {"fp", "int8"}
    assert len({p.group_key for p in points}) == 12
