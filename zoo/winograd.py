"""Winograd's minimal filtering for the convolutions of small feature maps: the transforms, and
their rewrite of an ONNX graph (`zoo.onnx_tuning`'s `winograd` variant; `zoo.layers`'
implementation "winograd" computes the same form in Keras ops for training).

A generator's first convolution works on a small map with many channels (the TF tutorial's: 5×5,
7×7×256 -> 7×7×128, 78% of its FLOPs), where onnxruntime's blocked CPU kernels run at about 60%
of the machine's matrix-product rate (`scripts/bench_conv_forms.py`). Winograd's F(4×4, r×r)
(Lavin & Gray 2016, https://arxiv.org/abs/1509.09308) computes each 4×4 output tile from an
(r + 3)² transformed input tile with one multiplication per transformed point: for 5×5 kernels,
64 products per tile instead of 400, 4.8× fewer multiplications on a 7×7 map padded to 8×8.

The rewrite is written in plain ONNX so that every runtime runs it, as matrix products over the
whole batch: the input transform one axis at a time (tiling and Bᵀ along the rows, then along the
columns, the "same" padding folded in), the n² per-point products batched over the points, and the
output transform one axis at a time (Aᵀ, clipped to the map), with one transpose in and one out.
Each axis on its own is n·tiles × side where both at once were (n·tiles)² × side²: for the tutorial's
layer the transforms do 2.0 instead of 9.6 MFLOP per image, and the whole generator ran 1.03–1.16×
faster in calls of 64 rows (5 rounds, 2026-11-28, the 2-core Xeon) than with one product per transform. Measured on
one core of the 2-core Xeon (the TF tutorial generator, whole, with one product per transform):
2.0× faster than the optimised graph at batch 256, 1.3× at batch 2, but 0.96× at batch 1, where
reading the transformed weights (n² points × C × K: 2.6× the 5×5 kernel's bytes) and the extra
nodes outweigh the work saved: `zoo.runtime` runs this form from batch 2 only.

Transforms use the interpolation points 0, ±1, ±2, ±1/2 and ∞ (Toom-Cook), which keep float32
rounding small: on the tutorial's layer the outputs differ from the direct convolution by at most
7e-5 (values up to 7). `zoo.onnx_tuning` checks every rewritten graph against its source.
"""

import numpy as np
from onnx import helper, numpy_helper

from zoo import onnx_graph

TILE = 4  # outputs per tile side: F(4, r)
POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)  # finite interpolation points; ∞ is the last
KERNELS = (5,)  # kernel sides rewritten: 5×5 measured faster (3×3, on a 7×7 map with 64 outputs, was not)


def transform_matrices(m, r):
    """Winograd's F(m, r) for 1-D cross-correlation, y = A^T [(G g) ⊙ (B^T d)], as (A^T, G, B^T).

    Built by Toom-Cook from the n = m + r − 1 points (the first n − 1 of `POINTS`, then ∞):
    with V_k the n×k matrix evaluating a polynomial of k coefficients at the points (∞ reads the
    leading coefficient), linear convolution is V_n⁻¹[(V_m u) ⊙ (V_r g)], and cross-correlation
    is its transpose: A^T = V_mᵀ, G = V_r, B^T = V_n⁻ᵀ.
    """
    n = m + r - 1
    if n - 1 > len(POINTS):
        raise ValueError(f"F({m}, {r}) needs {n - 1} finite points; {len(POINTS)} are defined.")
    points = np.asarray(POINTS[: n - 1], np.float64)

    def vandermonde(columns):
        matrix = np.zeros((n, columns))
        matrix[:-1] = points[:, None] ** np.arange(columns)
        matrix[-1, -1] = 1.0
        return matrix

    return vandermonde(m).T, vandermonde(r), np.linalg.inv(vandermonde(n)).T


def axis_maps(size, r, m=TILE):
    """Along one axis of a map of `size` with "same" padding: the input map (n points × tiles
    rows, from the `size` pixels; the padding's zeros dropped) and the output map (`size` pixels
    from the n points × tiles columns; outputs past the map dropped). Row (column) i·tiles + t is
    point i of tile t."""
    transposed_a, _, transposed_b = transform_matrices(m, r)
    n, tiles, pad = m + r - 1, -(-size // m), r // 2
    into, out_of = np.zeros((n, tiles, size)), np.zeros((size, n, tiles))
    for tile in range(tiles):
        for tap in range(n):
            pixel = m * tile - pad + tap
            if 0 <= pixel < size:
                into[:, tile, pixel] = transposed_b[:, tap]
        for offset in range(m):
            if m * tile + offset < size:
                out_of[m * tile + offset, :, tile] = transposed_a[offset]
    return into.reshape(n * tiles, size), out_of.reshape(size, n * tiles)


def separable_transforms(height, width, r):
    """The transforms of a height × width map with "same" padding and r×r kernels, one axis at a
    time, as matrices (`axis_maps` of each axis): (rows_in: n·tiles_rows × height, columns_in:
    n·tiles_columns × width, columns_out: width × n·tiles_columns, rows_out: height × n·tiles_rows,
    g: n × r).

    A map laid out (height, width, rest) becomes, after `rows_in` over the rows and `columns_in`
    over the columns, (point row, tile row, point column, tile column, rest): for each pair of
    points, the tiles' rows lie in tile row blocks, which a batched product broadcasting the
    weights over the tile rows reads as they are. The kernel's transform is g K gᵀ per input and
    output channel."""
    rows_in, rows_out = axis_maps(height, r)
    columns_in, columns_out = axis_maps(width, r)
    return rows_in, columns_in, columns_out, rows_out, transform_matrices(TILE, r)[1]


def eligible(kernel_size, strides, padding, dilation, height, width, channels, filters, max_side=8, min_channels=16):
    """Whether a 2-D convolution is one this module computes: a square kernel of a side in
    `KERNELS`, stride and dilation 1, "same" padding, a map of at most `max_side` a side, and
    `min_channels` inputs and outputs or more (few channels: the transforms cost more than they save)."""
    return (
        kernel_size[0] == kernel_size[1] in KERNELS
        and tuple(strides) == (1, 1)
        and tuple(dilation) == (1, 1)
        and padding == "same"
        and None not in (height, width)
        and max(height, width) <= max_side
        and min(channels, filters) >= min_channels
    )


def rewritable(model, shapes, max_side=8, min_channels=16):
    """How many convolutions `rewrite_small_map_convolutions` would rewrite in `model`, without
    building their transforms."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    return sum(_plan(node, initializers, shapes, max_side, min_channels) is not None for node in model.graph.node)


def rewrite_small_map_convolutions(model, shapes, max_side=8, min_channels=16):
    """Rewrites each 2-D `Conv` of a small map as Winograd F(4, r) (see module). Only convolutions
    with constant weights that `eligible` accepts (a kernel side in `KERNELS`, stride, dilation
    and group 1, "same" padding, a static map of at most `max_side` a side, `min_channels` inputs
    and outputs or more). `shapes`: tensor name -> dimensions (None where unknown). Returns the
    number rewritten; `model` changes in place."""
    initializers, producers, readers = onnx_graph.index(model)
    nodes, rewritten, dropped = [], 0, set()
    for node in model.graph.node:
        plan = _plan(node, initializers, shapes, max_side, min_channels)
        if plan is None:
            nodes.append(node)
            continue
        weights, bias, (height, width) = plan
        producer = producers.get(node.input[0])
        nhwc = None
        if producer is not None and producer.op_type == "Transpose" and _perm(producer) == [0, 3, 1, 2] and readers[node.input[0]] == 1:
            nhwc = producer.input[0]  # the graph was NHWC before: read that, transpose only for the Conv
            dropped.add(id(producer))
        nodes += _winograd_nodes(node, model, weights, bias, height, width, nhwc)
        rewritten += 1
    del model.graph.node[:]
    model.graph.node.extend(node for node in nodes if id(node) not in dropped)
    return rewritten


def _perm(node):
    return next((list(helper.get_attribute_value(a)) for a in node.attribute if a.name == "perm"), None)


def _plan(node, initializers, shapes, max_side, min_channels):
    """(weights, bias or None, (height, width)) of a rewritable Conv node, else None."""
    if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in initializers:
        return None
    if len(node.input) > 2 and node.input[2] and node.input[2] not in initializers:
        return None
    weights = numpy_helper.to_array(initializers[node.input[1]])
    if weights.ndim != 4 or weights.shape[2] != weights.shape[3] or weights.shape[2] not in KERNELS:
        return None
    r = weights.shape[2]
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    same = list(attributes.get("pads", [0] * 4)) == [r // 2] * 4 and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    shape = shapes.get(node.input[0]) or []
    if attributes.get("group", 1) != 1 or not same or len(shape) != 4 or None in shape[1:]:
        return None
    strides, dilations = attributes.get("strides", [1, 1]), attributes.get("dilations", [1, 1])
    if not eligible((r, r), strides, "same", dilations, *shape[2:], *reversed(weights.shape[:2]), max_side, min_channels):
        return None
    bias = numpy_helper.to_array(initializers[node.input[2]]) if len(node.input) > 2 and node.input[2] else None
    return weights, bias, tuple(shape[2:])


def _winograd_nodes(node, model, weights, bias, height, width, nhwc):
    """The nodes that replace `node` (constants added to `model`'s initializers). `nhwc`: the
    NHWC tensor that `node`'s input was transposed from (read directly), or None (the NCHW input
    is transposed here)."""
    out_channels, in_channels, r, _ = weights.shape
    rows_in, columns_in, columns_out, rows_out, g = separable_transforms(height, width, r)
    n = g.shape[0]
    tile_rows = rows_in.shape[0] // n
    transformed = np.einsum("hk,wl,ockl->hwco", g, g, weights.astype(np.float64))[:, None]  # n, 1, n, C, K
    prefix = f"{node.name or node.output[0]}/winograd"
    constants = {
        "rows_in": rows_in, "columns_in": columns_in, "columns_out": columns_out, "rows_out": rows_out,
        "weights": transformed,
        "by_rows": np.array([height, -1], np.int64),
        "by_columns": np.array([rows_in.shape[0], width, -1], np.int64),
        "point_rows": np.array([n, tile_rows, n, -1, in_channels], np.int64),
        "point_pairs": np.array([rows_in.shape[0], columns_in.shape[0], -1], np.int64),
        "point_rows_out": np.array([rows_in.shape[0], -1], np.int64),
        "pixel_rows": np.array([height * width, -1, out_channels], np.int64),
        "as_map": np.array([-1, out_channels, height, width], np.int64),
    }
    if nhwc is None:
        constants["as_pixels"] = np.array([0, in_channels, height * width], np.int64)
    if bias is not None:
        constants["bias"] = bias.reshape(-1, 1, 1)
    for name, value in constants.items():
        value = value.astype(np.float32) if value.dtype == np.float64 else value
        model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), f"{prefix}/{name}"))
    c = lambda name: f"{prefix}/{name}"  # noqa: E731
    if nhwc is None:  # B, C, H, W -> HW, B, C
        nodes = [
            helper.make_node("Reshape", [node.input[0], c("as_pixels")], [c("pixels")]),
            helper.make_node("Transpose", [c("pixels")], [c("pixel_major")], perm=[2, 0, 1]),
        ]
    else:  # B, H, W, C -> H, W, B, C
        nodes = [helper.make_node("Transpose", [nhwc], [c("pixel_major")], perm=[1, 2, 0, 3])]
    mapped = c("mapped") if bias is not None else node.output[0]
    # Matrix products over the whole batch, one axis of the map at a time (i, j: points; a, b:
    # tiles; the 2-D transforms broadcast over the leading axis).
    nodes += [
        helper.make_node("Reshape", [c("pixel_major"), c("by_rows")], [c("rows")]),  # H, W·B·C
        helper.make_node("MatMul", [c("rows_in"), c("rows")], [c("row_points")]),  # (i, a), W·B·C
        helper.make_node("Reshape", [c("row_points"), c("by_columns")], [c("columns")]),  # (i, a), W, B·C
        helper.make_node("MatMul", [c("columns_in"), c("columns")], [c("points")]),  # (i, a), (j, b), B·C
        helper.make_node("Reshape", [c("points"), c("point_rows")], [c("point_blocks")]),  # i, a, j, (b, B), C
        helper.make_node("MatMul", [c("point_blocks"), c("weights")], [c("products")]),  # i, a, j, (b, B), K
        helper.make_node("Reshape", [c("products"), c("point_pairs")], [c("product_columns")]),  # (i, a), (j, b), B·K
        helper.make_node("MatMul", [c("columns_out"), c("product_columns")], [c("column_outputs")]),  # (i, a), W, B·K
        helper.make_node("Reshape", [c("column_outputs"), c("point_rows_out")], [c("row_points_out")]),  # (i, a), W·B·K
        helper.make_node("MatMul", [c("rows_out"), c("row_points_out")], [c("outputs")]),  # H, W·B·K
        helper.make_node("Reshape", [c("outputs"), c("pixel_rows")], [c("output_rows")]),  # HW, B, K
        helper.make_node("Transpose", [c("output_rows")], [c("channel_major")], perm=[1, 2, 0]),  # B, K, HW
        helper.make_node("Reshape", [c("channel_major"), c("as_map")], [mapped]),  # B, K, H, W
    ]
    if bias is not None:
        nodes.append(helper.make_node("Add", [mapped, c("bias")], [node.output[0]]))
    for new in nodes:
        new.name = new.output[0] if new.output[0].startswith(prefix) else f"{prefix}/out"
    direct, done = layer_work(height, width, in_channels, out_channels, r)
    products = next(new for new in nodes if new.output[0] == c("products"))
    products.doc_string = f"{WORK_NOTE} direct={direct} done={done}"
    return nodes


WORK_NOTE = "winograd FLOP per image:"


def layer_work(height, width, channels, filters, r):
    """FLOPs per image of an r×r "same" convolution of a height × width map: (direct, in
    Winograd's form: the input transform over rows then columns, the per-point products and the
    output transform over columns then rows, as `separable_transforms` lays them out)."""
    n = TILE + r - 1
    tile_rows, tile_columns = -(-height // TILE), -(-width // TILE)
    transforms = 2 * n * tile_rows * width * (height + n * tile_columns) * (channels + filters)
    return 2 * height * width * channels * filters * r * r, transforms + 2 * n * n * tile_rows * tile_columns * channels * filters


def work_per_image(model):
    """(FLOPs per image of the convolutions rewritten in `model` as direct convolutions, FLOPs
    per image their Winograd form does: transforms and products), from the notes the rewrite
    leaves on each layer's batched product. (0, 0) when none was rewritten."""
    direct = done = 0
    for node in model.graph.node:
        if node.doc_string.startswith(WORK_NOTE):
            fields = dict(item.split("=") for item in node.doc_string[len(WORK_NOTE):].split())
            direct, done = direct + int(fields["direct"]), done + int(fields["done"])
    return direct, done
