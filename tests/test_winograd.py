"""Winograd's F(4, r) for small-map convolutions: the same values as onnxruntime's `Conv`."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from zoo import winograd
from zoo.onnx_tuning import _static_shapes


@pytest.mark.parametrize("r", [3, 5])
def test_the_transforms_compute_a_cross_correlation(r):
    transposed_a, g, transposed_b = winograd.transform_matrices(winograd.TILE, r)
    rng = np.random.default_rng(r)
    kernel, tile = rng.standard_normal(r), rng.standard_normal(winograd.TILE + r - 1)
    direct = [kernel @ tile[i : i + r] for i in range(winograd.TILE)]
    np.testing.assert_allclose(transposed_a @ ((g @ kernel) * (transposed_b @ tile)), direct, atol=1e-12)


def convolution_model(channels=32, filters=24, kernel=5, height=7, width=7, bias=True, nhwc=False, stride=1, group=1, constant_weights=True):
    """One ONNX Conv ("same" padding) with random weights; `nhwc`: its input transposed from NHWC, as tf2onnx writes it."""
    rng = np.random.default_rng(kernel + height)
    tensors = [numpy_helper.from_array((rng.standard_normal((filters, channels // group, kernel, kernel)) * 0.1).astype(np.float32), "w")]
    inputs = ["nchw", "w"]
    if bias:
        tensors.append(numpy_helper.from_array(rng.standard_normal(filters).astype(np.float32), "b"))
        inputs.append("b")
    nodes = [helper.make_node("Conv", inputs, ["y"], name="conv", pads=[kernel // 2] * 4, strides=[stride] * 2, group=group)]
    shape = [None, height, width, channels] if nhwc else [None, channels, height, width]
    if nhwc:
        nodes.insert(0, helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2]))
    else:
        nodes[0].input[0] = "x"
    graph_inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    if not constant_weights:
        graph_inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(tensors[0].dims)))
        tensors = tensors[1:]
    graph = helper.make_graph(nodes, "g", graph_inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, filters, height, width])], tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model, x):
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("height,width,bias,nhwc", [(7, 7, True, True), (7, 7, False, False), (4, 6, True, False), (8, 5, False, True)])
def test_a_small_map_convolution_becomes_winograds_with_the_same_values(height, width, bias, nhwc):
    model = convolution_model(height=height, width=width, bias=bias, nhwc=nhwc)
    shape = (height, width, 32) if nhwc else (32, height, width)
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, *shape)).astype(np.float32)
        expected = run(model, x)
        rewritten = onnx.ModelProto()
        rewritten.CopyFrom(model)
        assert winograd.rewrite_small_map_convolutions(rewritten, _static_shapes(rewritten)) == 1
        onnx.checker.check_model(rewritten, full_check=True)
        types = [node.op_type for node in rewritten.graph.node]
        assert "Conv" not in types and types.count("MatMul") == 5  # each transform an axis at a time, the products
        assert types.count("Transpose") == 2  # one in, one out (an NHWC input's transpose to NCHW is gone)
        direct, done = winograd.work_per_image(rewritten)
        tile_rows, tile_columns = -(-height // 4), -(-width // 4)
        transforms_in = 2 * 8 * tile_rows * height * width * 32 + 2 * 8 * tile_rows * 8 * tile_columns * width * 32  # rows, then columns
        transforms_out = 2 * 8 * tile_rows * 8 * tile_columns * width * 24 + 2 * height * 8 * tile_rows * width * 24  # columns, then rows
        products = 2 * 64 * tile_rows * tile_columns * 32 * 24
        assert direct == 2 * height * width * 32 * 24 * 25 and done == transforms_in + products + transforms_out
        actual = run(rewritten, x)
        assert actual.shape == expected.shape == (batch, 24, height, width)
        np.testing.assert_allclose(actual, expected, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
    "changes",
    [{"stride": 2}, {"kernel": 3}, {"height": 9, "width": 9}, {"group": 2}, {"channels": 8}, {"filters": 8}, {"constant_weights": False}],
    ids=["strided", "3x3", "large map", "grouped", "few inputs", "few outputs", "weights as input"],
)
def test_other_convolutions_are_left_as_they_are(changes):
    model = convolution_model(**changes)
    before = model.SerializeToString()
    assert winograd.rewrite_small_map_convolutions(model, _static_shapes(model)) == 0
    assert model.SerializeToString() == before and winograd.work_per_image(model) == (0, 0)
