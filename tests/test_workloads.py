"""Workload readers: shapes against hand-derived sizes, SCALE-Sim conventions, bad input."""
import pytest

from archsim.errors import WorkloadError
from archsim.workloads import Layer, LayerKind, load_workload, read_scalesim_topology


def test_da_mnist_layers_match_the_data_readme(repo_root):
    wl = load_workload(repo_root / "workloads" / "da_mnist.yaml")
    # conv1 (32,1,3,3) pad 1 on 28x28; pool 2; conv2 (64,32,3,3) pad 1 on 14x14; pool 2;
    # linear1 (200, 3136); linear2 (10, 200)  -- /work/shared/data/README.md
    got = [(l.kind, l.gemm_m, l.gemm_k, l.gemm_n) for l in wl.layers]
    assert got == [(LayerKind.CONV, 28 * 28, 9, 32), (LayerKind.CONV, 14 * 14, 32 * 9, 64),
                   (LayerKind.FC, 1, 3136, 200), (LayerKind.FC, 1, 200, 10)]


def test_alexnet_cifar10_is_the_fixed_architecture(repo_root):
    wl = load_workload(repo_root / "workloads" / "alexnet_cifar10.yaml")
    shapes = [(l.channels, l.ifmap_h, l.filter_h, l.padding, l.num_filters) for l in wl.layers]
    assert shapes == [(3, 32, 5, 2, 32), (32, 16, 5, 2, 64), (64, 8, 3, 1, 96),
                      (96, 8, 3, 1, 96), (96, 8, 3, 1, 64), (1024, 1, 1, 0, 256),
                      (256, 1, 1, 0, 128), (128, 1, 1, 0, 10)]


@pytest.mark.parametrize("name,macs", [
    # LeNet-5: 28*28*25*6 + 10*10*150*16 + 400*120 + 120*84 + 84*10
    ("lenet5", 117600 + 240000 + 48000 + 10080 + 840),
    # VGG-11 conv1: 224*224 outputs x 27 x 64 (first layer only checked through total below)
])
def test_total_macs_hand_counted(repo_root, name, macs):
    assert load_workload(repo_root / "workloads" / f"{name}.yaml").macs == macs


def test_padding_stride_and_batch():
    layer = Layer("l", LayerKind.CONV, 7, 9, 3, 3, 2, 4, stride=2, padding=1, batch=3)
    assert (layer.ofmap_h, layer.ofmap_w) == (4, 5)  # floor((7+2-3)/2)+1, floor((9+2-3)/2)+1
    assert (layer.gemm_m, layer.gemm_k, layer.gemm_n) == (3 * 20, 18, 4)


def test_scalesim_csv_conventions(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                    "Channels, Num Filter, Strides,\n"
                    "Conv1,224,224,11,11,3,96,4,\n"
                    "CB2a_1,56,56,1,1,64,64,1,\n")
    wl = read_scalesim_topology(path)
    # SCALE-Sim: E = ceil((H - R + s)/s) = ceil(217/4) = 55 (floor rule gives 54)
    assert wl.layers[0].ofmap_h == 55 and wl.layers[0].padding == 0
    assert (wl.layers[1].gemm_m, wl.layers[1].gemm_k) == (56 * 56, 64)
    assert wl.name == "net"


SCALESIM_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,")


def test_scalesim_csv_rows_as_scalesim_reads_them(tmp_path):
    # rows in the style of SCALE-Sim's shipped mobilnet_paper.csv / mobilnet_4k.csv: a blank
    # line, a depthwise row ending in a note without a trailing comma (SCALE-Sim drops every
    # row's last field), a tab-indented row
    path = tmp_path / "mobile.csv"
    path.write_text(SCALESIM_HEADER + "\n\nConv1, 224, 224, 3, 3, 3, 32, 2,\n"
                    "Conv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw\n\tConv15_0,14,14,1,1,512,512,1,\n")
    wl = read_scalesim_topology(path)
    # the same values SCALE-Sim 3.0.0's topologies.load_arrays gives for this file
    assert [(ly.name, ly.ifmap_h, ly.filter_h, ly.channels, ly.num_filters, ly.stride)
            for ly in wl.layers] == [("Conv1", 224, 3, 3, 32, 2), ("Conv2_dw", 112, 3, 1, 1, 1),
                                    ("Conv15_0", 14, 1, 512, 512, 1)]


def test_scalesim_csv_sparsity_column_ignored(tmp_path):
    # SCALE-Sim's topologies/sparsity/conv.csv layout: an N:M column after the stride
    path = tmp_path / "sparse.csv"
    path.write_text(SCALESIM_HEADER + " Sparsity,\nCONV_1,     5,            5,           3,"
                    "             3,            2,        6,          1,       2:4,\n")
    (layer,) = read_scalesim_topology(path).layers  # SCALE-Sim: CONV_1 5 5 3 3 2 6 1 (2:4)
    assert (layer.gemm_m, layer.gemm_k, layer.gemm_n) == (3 * 3, 3 * 3 * 2, 6)


def test_scalesim_csv_extra_field_with_trailing_comma_is_an_error(tmp_path):
    # with the trailing comma SCALE-Sim would parse the extra field as a number and fail
    path = tmp_path / "extra.csv"
    path.write_text(SCALESIM_HEADER + "\nL1,5,5,3,3,1,1,1,#note,\n")
    with pytest.raises(WorkloadError, match=r"extra\.csv: row 2: 9 fields, header has 8"):
        read_scalesim_topology(path)


@pytest.mark.parametrize("row,expect", [
    ("L1,5,5,7,3,1,1,1,", "row 2: layer 'L1': filter_h: filter 7 exceeds"),
    ("L1,5,5,3,3,1,1,", "row 2: field stride is missing"),
    ("L1,5,5,3,0,1,1,1,", "row 2: field filter_w: must be positive"),
    ("L1,5,x,3,3,1,1,1,", "row 2: field ifmap_w: not an integer"),
])
def test_scalesim_bad_rows_name_file_row_field(tmp_path, row, expect):
    path = tmp_path / "bad.csv"
    path.write_text("Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,"
                    f"Channels,Num Filter,Strides,\n{row}\n")
    with pytest.raises(WorkloadError) as exc:
        read_scalesim_topology(path)
    assert str(path) in str(exc.value) and expect in str(exc.value)


@pytest.mark.parametrize("body,expect", [
    ("input: [1, 4, 4]\nlayers:\n  - {type: conv, filters: 2, kernel: 5}\n",
     "layers[0].kernel: 5x5 exceeds the padded input 4x4"),
    ("input: [1, 4, 4]\nlayers:\n  - {type: conv, filters: 0, kernel: 3}\n",
     "layers[0].filters: must be an integer >= 1"),
    ("input: [1, 4, 4]\nlayers:\n  - {type: conv, filterz: 2, kernel: 3}\n",
     "layers[0].filterz: unknown key"),
    ("input: [1, 4, 4]\nbatch: -1\nlayers:\n  - {type: fc, out_features: 2}\n",
     "batch: must be an integer >= 1"),
    ("input: [1, 4]\nlayers: []\n", "input: must be [channels, height, width]"),
    ("input: [1, 4, 4\n", "malformed YAML: line 2, column 1"),
    ("input: [1, 4, 4]\nlayers:\n  - {type: [conv], filters: 2, kernel: 3}\n",
     "layers[0].type: must be one of conv, pool, fc"),
    ("input: [1, 4, 4]\nlayers:\n  - {name: a, type: fc, out_features: 2}\n"
     "  - {name: a, type: fc, out_features: 2}\n", "layers[1].name: duplicate layer name 'a'"),
    ("input: [1, 4, 4]\n3: x\nlayers:\n  - {type: fc, out_features: 2}\n", "3: unknown key"),
])
def test_yaml_bad_input_names_file_and_field(tmp_path, body, expect):
    path = tmp_path / "w.yaml"
    path.write_text(body)
    with pytest.raises(WorkloadError) as exc:
        load_workload(path)
    assert str(path) in str(exc.value) and expect in str(exc.value)


def test_yaml_fc_flattens_chw(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("input: [3, 8, 8]\nbatch: 2\nlayers:\n"
                    "  - {type: conv, filters: 4, kernel: 3, padding: 1, stride: 2}\n"
                    "  - {type: pool, kernel: 2}\n  - {type: fc, out_features: 5}\n")
    conv, fc = load_workload(path).layers
    assert (conv.ofmap_h, conv.gemm_m) == (4, 2 * 16)  # floor((8+2-3)/2)+1 = 4
    assert (fc.gemm_m, fc.gemm_k, fc.gemm_n) == (2, 4 * 2 * 2, 5)
