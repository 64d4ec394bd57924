"""ONNX import: every model runs through the `exact` multiplier within float32 tolerance of
onnxruntime (the oracle); an imported network through `da` equals the built-in path bit for
bit; bad files fail with one line naming the file and node."""
from pathlib import Path

import numpy as np
import pytest
import torch  # extra "onnx" (installed in CI): no skip guard

from archsim.errors import WorkloadError
from archsim.network.builtin import graph_from_network
from archsim.network.execute import forward_graph
from archsim.network.onnx import load_onnx
from archsim.nn.architectures import load_network
from archsim.nn.network import forward
from onnx_models import (depthwise_separable, encoder_layer, export, onnxruntime_outputs,
                         residual_block, torch_sequential)

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = {"lenet5": REPO / "workloads" / "lenet5_mnist" / "lenet5_mnist.npz",
           "alexnet-cifar10": REPO / "workloads" / "alexnet_cifar10" / "alexnet_cifar10.npz"}


def _close_to_ort(ours, ref):
    """float32 tolerance: a few ulps of the output scale (sums reassociate)."""
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(ref).max()))


@pytest.fixture(scope="module")
def builtin_onnx(tmp_path_factory):
    """Our LeNet-5 and CIFAR-10 AlexNet (trained weights) exported from torch."""
    out = {}
    for name, path in WEIGHTS.items():
        net = load_network(path, name)
        example = torch.zeros((1,) + net.input_shape)
        onnx_path = tmp_path_factory.mktemp("onnx") / f"{name}.onnx"
        out[name] = (net, export(torch_sequential(net), example, onnx_path))
    return out


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_builtin_networks_exact_match_onnxruntime(builtin_onnx, name):
    net, path = builtin_onnx[name]
    x = np.random.default_rng(0).random((6,) + net.input_shape, dtype=np.float32)
    graph = load_onnx(path, batch=4)
    assert graph.input_shape == (4,) + net.input_shape
    assert [n.op for n in graph.nodes if n.op in ("Conv", "Linear")] == [
        "Conv" if hasattr(layer, "stride") else "Linear"
        for layer in net.layers if hasattr(layer, "weight")]
    # batches of 4 and 2: the symbolic batch and the Reshape follow the running batch
    _close_to_ort(forward_graph(graph, x, "exact", batch_size=4), onnxruntime_outputs(path, x))


def test_imported_network_through_da_is_bit_identical_to_builtin(builtin_onnx):
    net, path = builtin_onnx["lenet5"]
    x = np.random.default_rng(1).random((5,) + net.input_shape, dtype=np.float32)
    builtin = forward(net, x, "da", batch_size=5)
    imported = forward_graph(load_onnx(path), x, "da", batch_size=5)
    from_network = forward_graph(graph_from_network(net), x, "da", batch_size=5)
    assert np.isfinite(builtin).all()
    assert builtin.tobytes() == imported.tobytes() == from_network.tobytes()
    # and the approximation really acts: da differs from exact on these images
    assert not np.array_equal(builtin, forward(net, x, "exact", batch_size=5))


@pytest.mark.parametrize("make,shape,ops", [
    (residual_block, (2, 8, 10, 10), {"Conv", "Add", "Relu", "GlobalAveragePool"}),
    (depthwise_separable, (3, 6, 16, 16),
     {"Conv", "Clip", "Tanh", "Pad", "MaxPool", "AveragePool", "Sigmoid", "Mul", "Concat"}),
    (encoder_layer, (2, 5, 16), {"MatMul", "Linear", "Softmax", "LayerNormalization", "Erf"}),
])
def test_blocks_exact_match_onnxruntime(tmp_path, make, shape, ops):
    torch.manual_seed(0)
    path = export(make(), torch.zeros(shape), tmp_path / "m.onnx", dynamic_batch=False)
    graph = load_onnx(path)
    assert ops <= {n.op for n in graph.nodes}
    x = np.random.default_rng(2).standard_normal(shape, dtype=np.float32)
    ref = onnxruntime_outputs(path, x)
    _close_to_ort(forward_graph(graph, x), ref)
    _close_to_ort(forward_graph(graph, x, "exact"), ref)


def test_depthwise_conv_is_grouped_with_dilation(tmp_path):
    torch.manual_seed(0)
    path = export(depthwise_separable(), torch.zeros(1, 6, 16, 16), tmp_path / "m.onnx")
    convs = {n.name: n for n in load_onnx(path).nodes if n.op == "Conv"}
    dw1 = next(n for n in convs.values() if n.attrs["dilation"] == (2, 2))
    assert dw1.attrs["groups"] == 6 and dw1.weights["weight"].shape == (6, 1, 3, 3)
    # its BatchNorm was folded in: the conv had no bias, now it has one
    assert "bias" in dw1.weights


def _onnx_model(nodes, inits, in_shape, out_shape, opset=17, name="x"):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "handmade", [helper.make_tensor_value_info(name, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_handmade_conv_bn_asymmetric_pads_and_unfolded_bn(tmp_path):
    """Conv with asymmetric pads and dilation, BN folded into it, a BN after Add kept as its
    own operator, Gemm with transB and alpha/beta, Softmax: against onnxruntime."""
    import onnx
    from onnx import helper

    rng = np.random.default_rng(3)
    bn = lambda c: {"s": rng.uniform(0.5, 1.5, c), "b": rng.uniform(-1, 1, c),  # noqa: E731
                    "m": rng.uniform(-1, 1, c), "v": rng.uniform(0.5, 2, c)}
    b1, b2 = bn(4), bn(4)
    inits = {"w": rng.standard_normal((4, 3, 3, 2)), "w2": rng.standard_normal((4, 3, 2, 1)),
             **{f"b1{k}": v for k, v in b1.items()}, **{f"b2{k}": v for k, v in b2.items()},
             "gw": rng.standard_normal((5, 4 * 8 * 7)), "gb": rng.standard_normal(5)}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], "conv", pads=[1, 0, 2, 1],
                         dilations=[2, 1], strides=[1, 2]),
        helper.make_node("BatchNormalization", ["c", "b1s", "b1b", "b1m", "b1v"], ["bn"], "bn1",
                         epsilon=1e-3),
        helper.make_node("Conv", ["x", "w2"], ["c2"], "shortcut", strides=[1, 2]),
        helper.make_node("Add", ["bn", "c2"], ["a"], "add"),
        helper.make_node("BatchNormalization", ["a", "b2s", "b2b", "b2m", "b2v"], ["bn2"], "bn2"),
        helper.make_node("Flatten", ["bn2"], ["f"], "flat"),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["g"], "fc", transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["g"], ["y"], "softmax"),
    ]
    path = tmp_path / "h.onnx"
    onnx.save(_onnx_model(nodes, inits, [2, 3, 9, 13], [2, 5]), str(path))
    graph = load_onnx(path)
    assert [n.op for n in graph.nodes] == ["Conv", "Conv", "Add", "BatchNormalization",
                                          "Flatten", "Linear", "Softmax"]
    x = rng.standard_normal((2, 3, 9, 13)).astype(np.float32)
    _close_to_ort(forward_graph(graph, x, "exact"), onnxruntime_outputs(path, x))


# ---- bad input: one line naming the file and the node ------------------------------------
def test_truncated_and_non_onnx_files(tmp_path, builtin_onnx):
    data = builtin_onnx["lenet5"][1].read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[:len(data) // 2])
    (tmp_path / "text.onnx").write_text("name: not a model\n")
    for name in ("cut.onnx", "text.onnx"):
        with pytest.raises(WorkloadError, match=rf"{name}: not a readable ONNX model"):
            load_onnx(tmp_path / name)


def test_unsupported_operators_are_all_listed(tmp_path):
    import onnx
    from onnx import helper

    nodes = [helper.make_node("Relu", ["x"], ["a"], "fine"),
             helper.make_node("LRN", ["a"], ["b"], "norm1", size=3),
             helper.make_node("Hardmax", ["b"], ["y"], "pick")]
    path = tmp_path / "u.onnx"
    onnx.save(_onnx_model(nodes, {}, [1, 3, 4, 4], [1, 3, 4, 4]), str(path))
    with pytest.raises(WorkloadError) as err:
        load_onnx(path)
    assert str(err.value) == f"{path}: unsupported operator(s): norm1 (LRN), pick (Hardmax)"


def test_unsupported_opset(tmp_path):
    import onnx
    from onnx import helper

    model = _onnx_model([helper.make_node("Relu", ["x"], ["y"], "r")], {}, [1, 4], [1, 4],
                        opset=6)
    onnx.save(model, str(tmp_path / "old.onnx"))
    with pytest.raises(WorkloadError, match=r"old.onnx: opset_import: unsupported opset 6"):
        load_onnx(tmp_path / "old.onnx")


def test_symbolic_shape_needs_input_shape(tmp_path):
    import onnx
    from onnx import helper

    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["y"], "gap")]
    onnx.save(_onnx_model(nodes, {}, ["N", 3, "H", "W"], ["N", 3, 1, 1]), str(tmp_path / "s.onnx"))
    with pytest.raises(WorkloadError, match=r"s.onnx: input 'x': dimension 2 is symbolic \(H\)"):
        load_onnx(tmp_path / "s.onnx")
    graph = load_onnx(tmp_path / "s.onnx", batch=3, input_shape=(3, 7, 5))
    assert graph.input_shape == (3, 3, 7, 5) and graph.output_shape == (3, 3, 1, 1)


def test_weights_of_the_wrong_shape_name_the_node(tmp_path):
    import onnx
    from onnx import helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], "conv1")]
    onnx.save(_onnx_model(nodes, {"w": np.zeros((4, 5, 3, 3))}, [1, 3, 8, 8], [1, 4, 6, 6]),
              str(tmp_path / "w.onnx"))
    with pytest.raises(WorkloadError, match=r"w.onnx: node 'conv1' \(Conv\): input has 3 "
                                            r"channels, the weights expect 5"):
        load_onnx(tmp_path / "w.onnx")


def test_shape_not_inferable_names_the_node(tmp_path):
    import onnx
    from onnx import helper

    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], "reshape")]
    model = _onnx_model(nodes, {}, [2, 6], [3, 4])
    model.graph.input.append(onnx.helper.make_tensor_value_info("s", onnx.TensorProto.INT64, [2]))
    onnx.save(model, str(tmp_path / "r.onnx"))
    with pytest.raises(WorkloadError, match=r"graph inputs: exactly one input tensor"):
        load_onnx(tmp_path / "r.onnx")
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"], "reshape")]
    model = _onnx_model(nodes, {"s": [5, -1]}, [2, 6], [3, 4])
    model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(np.array([5, -1]), "s"))
    onnx.save(model, str(tmp_path / "r2.onnx"))
    with pytest.raises(WorkloadError, match=r"r2.onnx: node 'reshape' \(Reshape\): cannot "
                                            r"reshape \(2, 6\) to \(5, -1\)"):
        load_onnx(tmp_path / "r2.onnx")
