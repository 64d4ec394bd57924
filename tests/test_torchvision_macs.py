"""torchvision's ImageNet models exported to ONNX (definitions only, random weights): archsim's
MAC count of the imported graph equals the figure torchvision publishes for the model.

The published figure is `<Model>_Weights.IMAGENET1K_V1.meta["_ops"]`, the "GFLOPS" column of
torchvision's model table (https://pytorch.org/vision/stable/models.html), which torchvision
counts as multiply-accumulates of one 224x224 image, in units of 1e9 rounded to 3 decimals.
"""
import pytest

from archsim.network.lower import graph_workload
from archsim.network.onnx import load_onnx
from onnx_models import export, torchvision_models

CASES = [("resnet18", "ResNet18_Weights"), ("mobilenet_v2", "MobileNet_V2_Weights"),
         pytest.param("resnet50", "ResNet50_Weights", marks=pytest.mark.slow),
         pytest.param("vgg16", "VGG16_Weights", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name,weights", CASES)
def test_macs_equal_torchvision_published_figure(tmp_path, name, weights):
    import torch

    models = torchvision_models()
    published = getattr(models, weights).IMAGENET1K_V1.meta["_ops"]
    path = export(getattr(models, name)(), torch.zeros(1, 3, 224, 224), tmp_path / "m.onnx")
    graph = load_onnx(path)
    assert graph.input_shape == (1, 3, 224, 224) and graph.output_shape == (1, 1000)
    workload = graph_workload(graph)
    assert workload.macs == graph.macs
    assert round(workload.macs / 1e9, 3) == published
    if name == "mobilenet_v2":  # 17 depthwise convs, one GEMM per channel each
        depthwise = [l for l in workload.layers if l.groups > 1]
        assert len(depthwise) == 17 and all(l.groups == l.channels for l in depthwise)
