"""Faster onnxruntime inference of exported generators: tuned graphs derived into the cache.

`generator.onnx` is the contract (docs/artifacts.md) and stays as exported. For onnxruntime only,
`zoo.runtime` runs a variant derived from it:

- `optimized` (`optimize`): transposed convolutions rewritten as convolutions, the same
  function to float rounding: onnxruntime runs `Conv` through its blocked (NCHWc) CPU kernels,
  but `ConvTranspose` as a matrix product followed by col2im, at about half the speed
  (`scripts/bench_infer.py`). A stride-1 one becomes one convolution with the flipped kernel;
  a strided one (16 filters or more) one convolution per output phase, interleaved by
  `DepthToSpace` (`rewrite_strided_transposed_convolutions`; the phase form of `zoo.layers`
  with gathers and stacks was slower than onnxruntime's own kernel, this one is faster). Then
  onnxruntime's basic graph optimisations (constant folding, batch-norm and Mul/Add folding into
  convolutions), and the per-channel scales onnxruntime leaves behind a matrix product or a
  transposed convolution folded into its weights (`fold_channel_scales`), and the phases'
  `DepthToSpace` replaced by rows placed with a 0/1 matrix product (`rewrite_interleaves`:
  exact, 2.5× faster on the CPU), saved so that sessions start without redoing them. Those are
  the provider-independent ones; sessions still apply the hardware-specific layout changes (ORT_ENABLE_ALL) when they load the file.
- `winograd`: the optimised model with its convolutions of small maps (5×5 kernels on maps of
  8×8 or less) in Winograd's form (`zoo.winograd`), which `zoo.runtime` runs for CPU batches of
  two or more (slower than `optimized` for single images).
- `float16` (`float16_variant`): float16 weights and arithmetic for CUDA, with the float32
  inputs and outputs of the contract.
- `int8` (`int8_variant`): onnxruntime's static QDQ quantization (`quantize_static`: uint8
  activations, int8 weights per output channel) calibrated on the generator's own inputs, with
  float32 inputs and outputs, made from the optimised graph (onnxruntime has no int8 transposed
  convolution: the phase convolutions are what make the generator's main layers int8). The
  convolutions and matrix products run in int8, through the CPU's int8 dot-product instructions
  where it has them (VNNI, AMX); the rest stays float32 (see `QUANTIZED_OPS`).

Trust: a derived file runs only on evidence that a file dropped beside an artifact cannot
forge. Variants are derived into the cache (`zoo.registry.cache_dir()/derived/<sha256 of the
source>/`), and each one's own sha256 is recorded there (`<variant>.json`) when this module
writes it; `derive` hands out a file only when its bytes match that record, and makes it again
otherwise. Files beside the artifact (`generator.optimized.onnx` of earlier versions, or
planted ones) are never read. A new variant is one entry of `VARIANTS`: a function from the
source model to the derived one.
"""

import contextlib
import hashlib
import io
import json
import logging
import typing
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo import onnx_graph
from zoo.files import atomic_write, atomic_write_json, check_regular_file, remove_stale_temporaries, sha256, temporary_folder

# Written into each derived file's metadata to say where it came from (information, not trust:
# anyone can write it; trust comes from the record in the cache, see `derive`).
SOURCE_KEY = "ganzoo.source_sha256"


def rewrite_transposed_convolutions(model):
    """Replaces every stride-1 `ConvTranspose` with constant weights by the equivalent `Conv`.

    A stride-1 transposed convolution with pads (b, e) is a convolution with the kernel flipped
    in both spatial axes, input and output channels swapped, and pads (k − 1 − b, k − 1 − e).
    Returns the number of nodes rewritten; `model` is changed in place.
    """
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    rewritten = 0
    for index, node in enumerate(model.graph.node):
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type != "ConvTranspose" or node.input[1] not in initializers or not _plain_stride_1(attributes):
            continue
        weights = numpy_helper.to_array(initializers[node.input[1]])  # (in, out / group, kh, kw)
        kernel_shape = weights.shape[2:]
        pads = attributes.get("pads", [0] * 2 * len(kernel_shape))
        conv_pads = [k - 1 - p for k, p in zip(kernel_shape * 2, pads)]
        if min(conv_pads) < 0:
            continue
        flipped = np.ascontiguousarray(np.flip(weights, axis=tuple(range(2, weights.ndim))).swapaxes(0, 1))
        name = f"{node.input[1]}/as_conv"
        model.graph.initializer.append(numpy_helper.from_array(flipped, name))
        conv = helper.make_node("Conv", [node.input[0], name, *node.input[2:]], list(node.output), name=f"{node.name}/as_conv", pads=conv_pads)
        model.graph.node.remove(node)
        model.graph.node.insert(index, conv)
        rewritten += 1
    _drop_unused_initializers(model)
    return rewritten


def rewrite_strided_transposed_convolutions(model, min_filters=16):
    """Replaces each strided 2-D `ConvTranspose` by one stride-1 `Conv` per output phase,
    concatenated and interleaved by `DepthToSpace` (Shi et al. 2016, as `zoo.layers` computes it).

    Output row r = s·m + p of a stride-s transposed convolution reads input rows m + j through
    kernel taps a = p + b − s·j (b: the pad before), so phase p is a plain convolution of the
    input with those taps, in reverse order: the same products and sums, no zeros multiplied.
    Only layers with constant weights, a static input size, `min_filters` outputs or more (a
    layer with few outputs, such as an image's last, runs faster as it is) and an output a
    multiple of the stride are rewritten. Returns the number rewritten; `model` changes in place.
    """
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    shapes = _static_shapes(model)
    nodes, rewritten = [], 0
    for node in model.graph.node:
        plan = _phase_plan(node, initializers, shapes, min_filters)
        if plan is None:
            nodes.append(node)
            continue
        weights, stride, row_plans, col_plans = plan
        phases = []
        for row, (row_taps, top, bottom) in enumerate(row_plans):
            for col, (col_taps, left, right) in enumerate(col_plans):
                name = f"{node.name}/phase{row}{col}"
                kernel = weights[:, :, row_taps][:, :, :, col_taps].transpose(1, 0, 2, 3)  # (out, in, kh, kw)
                model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(kernel), f"{name}/kernel"))
                inputs = [node.input[0], f"{name}/kernel", *node.input[2:3]]
                nodes.append(helper.make_node("Conv", inputs, [name], name=name, pads=[top, left, bottom, right]))
                phases.append(name)
        nodes.append(helper.make_node("Concat", phases, [f"{node.name}/phases"], name=f"{node.name}/phases", axis=1))
        nodes.append(helper.make_node("DepthToSpace", [f"{node.name}/phases"], list(node.output), name=f"{node.name}/interleave", blocksize=stride, mode="DCR"))
        rewritten += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _drop_unused_initializers(model)
    return rewritten


INTERLEAVE = "/rows/interleave"  # the name ending of `rewrite_interleaves`' placement products


def rewrite_interleaves(model, shapes, max_row=64):
    """Replaces each `Concat` (channels) + `DepthToSpace` (DCR) that interleaves output phases by
    a `Concat` along the rows, one `MatMul` by a 0/1 matrix that puts each phase's pixel in its
    place, and a `Reshape`: the same values, exactly (each output is one input times 1). On the
    CPU onnxruntime's `DepthToSpace` moves one pixel at a time; the product moves rows (the
    published DCGAN's 256-image interleave: 3.6 ms against 9.1). Only where the phases' shape is
    static and a concatenated row (stride² × width) holds at most `max_row` pixels (the matrix
    is that squared). Returns the number rewritten; `model` changes in place."""
    _, producers, uses = onnx_graph.index(model)
    nodes, rewritten, dropped = [], 0, set()
    for node in model.graph.node:
        concat = producers.get(node.input[0]) if node.op_type == "DepthToSpace" else None
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        mode = attributes.get("mode", b"DCR")
        shape = shapes.get(concat.input[0]) if concat is not None else None
        stride = attributes.get("blocksize")
        if (
            concat is None or concat.op_type != "Concat" or uses.get(node.input[0]) != 1 or mode not in (b"DCR", "DCR")
            or {a.name: helper.get_attribute_value(a) for a in concat.attribute}.get("axis") != 1
            or not shape or len(shape) != 4 or None in shape[1:] or len(concat.input) != stride * stride
            or any(shapes.get(name) != shape for name in concat.input) or stride * stride * shape[3] > max_row
        ):
            nodes.append(node)
            continue
        _, channels, height, width = shape
        placement = np.zeros((stride * stride * width, stride * stride * width), np.float32)
        for row in range(stride):
            for col in range(stride):
                for x in range(width):
                    placement[(row * stride + col) * width + x, row * stride * width + stride * x + col] = 1.0
        prefix = f"{node.name or node.output[0]}/rows"
        model.graph.initializer.extend([
            numpy_helper.from_array(placement, f"{prefix}/placement"),
            numpy_helper.from_array(np.array([0, channels, height * stride, width * stride], np.int64), f"{prefix}/shape"),
        ])
        dropped.add(id(concat))
        nodes += [
            helper.make_node("Concat", list(concat.input), [f"{prefix}/phases"], name=f"{prefix}/phases", axis=3),  # B, C, H, s²W
            helper.make_node("MatMul", [f"{prefix}/phases", f"{prefix}/placement"], [f"{prefix}/placed"], name=f"{node.name or node.output[0]}{INTERLEAVE}"),
            helper.make_node("Reshape", [f"{prefix}/placed", f"{prefix}/shape"], list(node.output), name=f"{prefix}/reshape"),
        ]
        rewritten += 1
    del model.graph.node[:]
    model.graph.node.extend(node for node in nodes if id(node) not in dropped)
    return rewritten


def _static_shapes(model):
    """Tensor name -> its dimensions (None where unknown), from ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    return {v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim] for v in values}


def _phase_plan(node, initializers, shapes, min_filters):
    """`(weights, stride, row phases, column phases)` of a rewritable ConvTranspose node, else None.
    A phase is (its taps in convolution order, pad before, pad after)."""
    if node.op_type != "ConvTranspose" or node.input[1] not in initializers:
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    weights = numpy_helper.to_array(initializers[node.input[1]])  # (in, out, kh, kw)
    strides = list(attributes.get("strides", [1, 1]))
    if (
        weights.ndim != 4 or weights.shape[1] < min_filters or len(set(strides)) != 1 or strides[0] < 2
        or attributes.get("group", 1) != 1 or any(d != 1 for d in attributes.get("dilations", [1, 1]))
        or "output_shape" in attributes or attributes.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
    ):
        return None
    stride = strides[0]
    input_shape = shapes.get(node.input[0])
    if not input_shape or len(input_shape) != 4 or None in input_shape[2:]:
        return None
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    output_padding = list(attributes.get("output_padding", [0, 0]))
    plans = []
    for axis in (0, 1):
        size, kernel = input_shape[2 + axis], weights.shape[2 + axis]
        output = (size - 1) * stride + kernel - pads[axis] - pads[axis + 2] + output_padding[axis]
        plan = _axis_phases(size, kernel, stride, pads[axis], output)
        if plan is None:
            return None
        plans.append(plan)
    return weights, stride, *plans


def _axis_phases(size, kernel, stride, pad_before, output):
    """Per output phase along one axis: (taps, pad before, pad after), or None when the output
    is not `stride` equal phases or a phase would need a crop instead of a pad."""
    if output % stride:
        return None
    rows = output // stride
    phases = []
    for phase in range(stride):
        offsets = [j for j in range(-kernel, kernel + 1) if 0 <= phase + pad_before - stride * j < kernel]
        if not offsets or offsets[0] > 0:
            return None
        taps = [phase + pad_before - stride * j for j in offsets]
        phases.append((taps, -offsets[0], max(0, rows - 1 + offsets[-1] - (size - 1))))
    return phases


def fold_channel_scales(model):
    """Folds constant per-channel `Mul` and `Add` nodes (batch norm at inference) into the
    weights of the `MatMul`, `ConvTranspose` or phase convolutions
    (`rewrite_strided_transposed_convolutions`) before them, where onnxruntime's own fusions do
    not reach: (x·W)·c + b = x·(W·c) + b.

    Each fold removes a pass over the activations and, in the int8 variant, a quantized
    multiply or add with its own rounding. Returns the number of nodes folded; `model`
    changes in place.
    """
    folded = 0
    while True:
        initializers, producers, uses = onnx_graph.index(model)
        outputs = {value.name for value in model.graph.output}
        for node in model.graph.node:
            if _fold_into_producer(model, node, initializers, producers, uses, outputs):
                model.graph.node.remove(node)
                folded += 1
                break
        else:
            break
    _drop_unused_initializers(model)
    return folded


def _fold_into_producer(model, node, initializers, producers, uses, outputs):
    """Folds `node` (a Mul or Add by a per-channel constant) into the node that makes its other
    input; returns whether it did (the caller removes `node`)."""
    if node.op_type not in ("Mul", "Add") or len(node.input) != 2:
        return False
    constants = [name for name in node.input if name in initializers]
    if len(constants) != 1:
        return False
    (constant,) = constants
    (source,) = [name for name in node.input if name != constant]
    producer = producers.get(source)
    if producer is None or uses.get(source) != 1 or source in outputs:
        return False
    values = numpy_helper.to_array(initializers[constant]).astype(np.float32)
    if producer.op_type == "MatMul" and node.op_type == "Mul" and producer.input[1] in initializers:
        weights = numpy_helper.to_array(initializers[producer.input[1]])
        if weights.ndim != 2 or values.shape[-1:] != weights.shape[1:] or values.size != weights.shape[1]:
            return False
        _replace_initializer(model, producer, 1, weights * values.reshape(1, -1), "scaled")
    elif producer.op_type in ("DepthToSpace", "Conv", "ConvTranspose"):
        convolutions = _phase_convolutions(producer, producers, uses, initializers) if producer.op_type == "DepthToSpace" else [producer]
        if convolutions is None or any(c.input[1] not in initializers for c in convolutions):
            return False
        axis = 1 if producer.op_type == "ConvTranspose" else 0  # the output channels of the kernel
        filters = numpy_helper.to_array(initializers[convolutions[0].input[1]]).shape[axis]
        if values.size != filters or values.ndim < 3 or values.shape[-3] != filters:
            return False
        values = values.reshape(filters)
        for convolution in convolutions:
            _fold_into_convolution(model, convolution, initializers, node.op_type, values, axis)
    else:
        return False
    producer.output[0] = node.output[0]
    return True


def _fold_into_convolution(model, convolution, initializers, op_type, values, axis):
    """Multiplies (op_type "Mul") or shifts ("Add") the outputs of a Conv or ConvTranspose by
    per-channel `values`, through its kernel (output channels on `axis`) and bias."""
    kernel = numpy_helper.to_array(initializers[convolution.input[1]])
    bias = numpy_helper.to_array(initializers[convolution.input[2]]) if len(convolution.input) > 2 else np.zeros(len(values), kernel.dtype)
    if op_type == "Mul":
        shape = [1] * kernel.ndim
        shape[axis] = -1
        _replace_initializer(model, convolution, 1, (kernel * values.reshape(shape)).astype(kernel.dtype), "scaled")
        bias = bias * values
    else:
        bias = bias + values
    if len(convolution.input) > 2:
        _replace_initializer(model, convolution, 2, bias.astype(kernel.dtype), "shifted")
    else:
        name = f"{convolution.name}/bias"
        model.graph.initializer.append(numpy_helper.from_array(bias.astype(kernel.dtype), name))
        convolution.input.append(name)


def _phase_convolutions(depth_to_space, producers, uses, initializers):
    """The Conv nodes (constant weights, used once) that a DepthToSpace interleaves through one
    Concat, or None."""
    concat = producers.get(depth_to_space.input[0])
    if concat is None or concat.op_type != "Concat" or uses.get(depth_to_space.input[0]) != 1:
        return None
    convolutions = [producers.get(name) for name in concat.input]
    if not all(c is not None and c.op_type == "Conv" and c.input[1] in initializers and uses.get(c.output[0]) == 1 for c in convolutions):
        return None
    return convolutions


def _replace_initializer(model, node, index, values, suffix):
    """Points input `index` of `node` at a new initializer holding `values` (the old one may be shared)."""
    name = f"{node.input[index]}/{suffix}"
    while any(tensor.name == name for tensor in model.graph.initializer):
        name += "_"
    model.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(values), name))
    node.input[index] = name


def _drop_unused_initializers(model):
    used = {name for node in model.graph.node for name in node.input}
    for tensor in [tensor for tensor in model.graph.initializer if tensor.name not in used]:
        model.graph.initializer.remove(tensor)


def _plain_stride_1(attributes):
    return (
        all(s == 1 for s in attributes.get("strides", [1]))
        and all(d == 1 for d in attributes.get("dilations", [1]))
        and attributes.get("group", 1) == 1
        and not any(attributes.get("output_padding", []))
        and "output_shape" not in attributes
        and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    )


def optimize(onnx_path, destination=None):
    """The optimised model (see module) of `onnx_path`, derived into the cache; returns its path.

    Reuses a file made before from the same source whose bytes match its record. `destination`
    overrides where the file goes (its record still lives in the cache). Written to a temporary
    file and renamed into place.
    """
    return derive(onnx_path, "optimized", destination)


def int8_variant(onnx_path, destination=None):
    """The int8 variant of `onnx_path` (see module): float32 inputs and outputs, int8 arithmetic
    calibrated on the generator's own inputs. Returns its path."""
    return derive(onnx_path, "int8", destination)


def float16_variant(onnx_path, destination=None):
    """The float16 variant of `onnx_path`: float16 weights and arithmetic, float32 inputs and
    outputs (for CUDA, whose tensor cores run float16; on CPU it is slower). Returns its path."""
    return derive(onnx_path, "float16", destination)


class DerivationError(ValueError):
    """A derived model that does not compute its source's function within the variant's tolerance."""


def derived_dir(source_sha256):
    """The cache folder of the variants derived from the source with that sha256."""
    from zoo.registry import cache_dir

    return cache_dir() / "derived" / source_sha256


def derive(onnx_path, variant, destination=None):
    """The path of `variant` (a key of `VARIANTS`) of the model at `onnx_path`.

    A file is handed out only when its sha256 equals the one recorded in the cache when this
    module wrote it, for a source with `onnx_path`'s sha256; otherwise it is derived again,
    checked against the source's outputs on random inputs (`VARIANTS[variant].atol`), written
    to a temporary file and renamed into place, and recorded; what derivations killed midway
    left there is deleted first (`zoo.files.remove_stale_temporaries`). Raises OSError when the
    cache cannot be written and `DerivationError` when the derived model does not match its source.
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; the variants are {sorted(VARIANTS)}.")
    source = sha256(onnx_path)
    folder = derived_dir(source)
    destination = Path(destination) if destination else folder / f"{variant}.onnx"
    if is_derived_from(destination, source, variant):
        return destination
    folder.mkdir(parents=True, exist_ok=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    for written in {folder, destination.parent}:  # what a derivation killed midway left there
        remove_stale_temporaries(written)
    model = onnx.load(str(onnx_path))
    derived = VARIANTS[variant].make(onnx.load(str(onnx_path)), folder)
    _record_source(derived, model, source)
    data = derived.SerializeToString()
    check_same_function(model, data, VARIANTS[variant].atol, f"the {variant} variant of {onnx_path}", mean_atol=VARIANTS[variant].mean_atol)
    atomic_write(destination, lambda temporary: Path(temporary).write_bytes(data))
    record = {
        "variant": variant, "recipe": VARIANTS[variant].recipe, "source_sha256": source,
        "sha256": hashlib.sha256(data).hexdigest(), "made_by": __name__,
    }
    atomic_write_json(folder / f"{variant}.json", record)
    return destination


def is_derived_from(path, source_sha256, variant=None):
    """Whether the file at `path` is a variant (`variant`, or any) that this module derived from
    the source with sha256 `source_sha256` by the variant's current recipe: its bytes match the
    record written with it (a file made by an earlier recipe is made again)."""
    path = Path(path)
    if not path.is_file():
        return False
    recorded = set()
    for name in [variant] if variant else VARIANTS:
        try:  # a named pipe in the record's place would block a plain read for ever: refused unread
            record = json.loads(check_regular_file(derived_dir(source_sha256) / f"{name}.json").read_text())
            if record.get("recipe", 1) == VARIANTS[name].recipe:
                recorded.add(record["sha256"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # no record, or a damaged one: not trusted
            continue
    return bool(recorded) and sha256(path) in recorded


def check_same_function(source_model, derived_bytes, atol, what, rows=3, mean_atol=None):
    """Runs both models on the same random inputs; raises `DerivationError` when their outputs
    differ by more than `atol` anywhere, or by more than `mean_atol` on average. Float inputs are N(0, 1), integer inputs 1 (a valid class id and
    token id for any generator: two classes at least, 1 is the unknown word)."""
    import onnxruntime

    cpu = ["CPUExecutionProvider"]
    source = onnxruntime.InferenceSession(source_model.SerializeToString(), providers=cpu)
    derived = onnxruntime.InferenceSession(derived_bytes, providers=cpu)
    rng = np.random.default_rng(0)
    feeds = {}
    for value in source.get_inputs():
        shape = [rows if not isinstance(d, int) else d for d in value.shape]
        feeds[value.name] = rng.standard_normal(shape).astype(np.float32) if "float" in value.type else np.ones(shape, np.int64)
    expected, actual = source.run(None, feeds), derived.run(None, feeds)
    for e, a in zip(expected, actual):
        difference = float(np.max(np.abs(np.asarray(e, np.float32) - np.asarray(a, np.float32)))) if e.shape == a.shape else np.inf
        if not difference <= atol:
            raise DerivationError(f"{what} differs from its source by up to {difference:.3g} (allowed {atol:g}); it is not used.")
        mean = float(np.mean(np.abs(np.asarray(e, np.float32) - np.asarray(a, np.float32))))
        if mean_atol is not None and not mean <= mean_atol:
            raise DerivationError(f"{what} differs from its source by {mean:.3g} on average (allowed {mean_atol:g}); it is not used.")


def _optimized(model, folder):
    import onnxruntime

    rewrite_transposed_convolutions(model)
    rewrite_strided_transposed_convolutions(model)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with temporary_folder(folder, "optimize") as staging:
        options.optimized_model_filepath = str(Path(staging) / "optimized.onnx")
        onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(options.optimized_model_filepath)
    fold_channel_scales(optimized)
    rewrite_interleaves(optimized, _static_shapes(optimized))
    return optimized


def _winograd(model, folder):
    """The optimised model with its small-map convolutions in Winograd's form (`zoo.winograd`);
    the optimised model itself where none qualifies."""
    from zoo.winograd import rewrite_small_map_convolutions

    model = _optimized(model, folder)
    if rewrite_small_map_convolutions(model, _static_shapes(model)):
        _drop_unused_initializers(model)
    return model


def winograd_candidates(model_path):
    """How many convolutions of the model at `model_path` (an optimised variant) the Winograd
    variant would rewrite: zero means that variant would only repeat it."""
    from zoo.winograd import rewritable

    model = onnx.load(str(model_path))
    return rewritable(model, _static_shapes(model))


def _float16(model, folder):
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    half = OnnxModel(convert_float_to_float16(model, keep_io_types=True))
    half.topological_sort()  # the converter appends its input casts after their readers
    return half.model


# How far an int8 variant's images may be from its source's, in pixel units of the [-1, 1]
# range, on random inputs: (anywhere, on average). 8-bit inputs to each quantized layer are
# steps of about 1/256 of its range, compounded over the layers. Measured mean (max) on 512
# images: TF tutorial generator 0.0004 (0.004), dcgan-fashion-mnist 0.007 (0.36),
# cgan-fashion-mnist 0.006 (0.32), gan-fashion-mnist (an MLP) 0.020 (0.50).
# `python -m zoo eval --precision int8` gives the effect on FID.
INT8_TOLERANCE = (0.75, 0.03)
CALIBRATION_ROWS = 1024  # generator inputs the int8 ranges are calibrated on
QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]


def calibration_inputs(model, rows=CALIBRATION_ROWS, batch_size=128, seed=0):
    """Batches of the generator's own inputs: noise from N(0, 1) for float inputs (the latent
    distribution it was trained on), and for integer inputs (class ids, token ids) ids drawn
    uniformly from the rows of the embedding table they index."""
    rng = np.random.default_rng(seed)
    batches = []
    for start in range(0, rows, batch_size):
        feeds = {}
        for value in model.graph.input:
            shape = [min(batch_size, rows - start)] + [d.dim_value or 1 for d in value.type.tensor_type.shape.dim[1:]]
            if value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
                feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
            else:
                dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
                feeds[value.name] = rng.integers(0, id_range(model, value.name), shape).astype(dtype)
        batches.append(feeds)
    return batches


def id_range(model, name, depth=8):
    """How many ids the integer input `name` takes: the rows of the first constant table that a
    `Gather` indexes with it (through casts and index arithmetic), else 2."""
    tables = {tensor.name: tensor.dims[0] for tensor in model.graph.initializer if tensor.dims}
    reached = {name}
    for _ in range(depth):
        for node in model.graph.node:
            if node.op_type == "Gather" and node.input[1] in reached and node.input[0] in tables:
                return int(tables[node.input[0]])
        reached |= {out for node in model.graph.node if reached & set(node.input) for out in node.output}
    return 2


def output_layers(model):
    """The names of the layers of `QUANTIZED_OPS` with no layer with weights between them and
    the graph's output: the ones that write the pixels (none when there is a single layer)."""
    weighted = [node for node in model.graph.node if node.op_type in QUANTIZED_OPS + ["ConvTranspose"]]
    if len(weighted) < 2:
        return []
    readers = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    last, frontier = [], [node for node in weighted if node.op_type in QUANTIZED_OPS]
    for node in frontier:  # does a weighted layer lie downstream?
        seen, stack, downstream = set(), list(node.output), False
        while stack and not downstream:
            for reader in readers.get(stack.pop(), []):
                if id(reader) in seen:
                    continue
                seen.add(id(reader))
                downstream = reader.op_type in QUANTIZED_OPS + ["ConvTranspose"]
                stack.extend(reader.output)
        if not downstream:
            last.append(node.name)
    return last


def _int8(model, folder):
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    from zoo.hardware import int8_dot_product

    model = _optimized(model, folder)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(calibration_inputs(model))

        def get_next(self):
            return next(self.batches, None)

    with temporary_folder(folder, "int8") as staging:
        source, quantized = Path(staging) / "float32.onnx", Path(staging) / "int8.onnx"
        onnx.save(model, str(source))  # quantize_static rewrites a ModelProto it is given
        with quantizer_quiet():
            quantize_static(
                source, quantized, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                # The layers that hold the work, but not the last (it writes the pixels): on
                # gan-fashion-mnist (an MLP) that cut the error from a mean of 0.020 to 0.012 (also
                # keeping the first, which reads the noise, in float32: 0.011, but a float32 first
                # layer doubled the tutorial generator's batch-1 latency, reading 4× the weight
                # bytes). The activations between layers stay float32:
                # quantizing them too (batch-norm shifts, concatenations, interleaves) multiplied the
                # error on dcgan-fashion-mnist by 5 (mean 0.007 -> 0.033) for little speed.
                op_types_to_quantize=QUANTIZED_OPS,
                # and the interleaves' placement products (`rewrite_interleaves`: exact in float32).
                nodes_to_exclude=output_layers(model) + [node.name for node in model.graph.node if node.name.endswith(INTERLEAVE)],
                # Ranges from the 0.001 and 99.999 percentiles of the calibration activations, not
                # their extremes: finer steps for nearly all values.
                calibrate_method=CalibrationMethod.Percentile,
                # Without VNNI, x86's uint8 × int8 instruction (VPMADDUBSW) can saturate: onnxruntime
                # advises 7-bit weights there.
                reduce_range=not int8_dot_product(),
            )
        return onnx.load(str(quantized))


@contextlib.contextmanager
def quantizer_quiet():
    """Keeps onnxruntime's quantizer off the terminal: its advice to pre-process (logged as a
    warning) and its calibration progress (printed). What it decides is in the variant's checks."""
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)


class Variant(typing.NamedTuple):
    """How a variant is made: `make(source model, scratch folder)` returns the derived model,
    which must compute the source's function within `atol` everywhere and within `mean_atol`
    on average (checked on random inputs). `recipe` counts changes to `make`: files made by
    an earlier recipe are made again."""

    make: typing.Callable
    atol: float
    mean_atol: float = None
    recipe: int = 1


VARIANTS = {
    "optimized": Variant(_optimized, 1e-4, recipe=3),  # 2: strided transposed convolutions as phases, scales folded; 3: interleave by MatMul
    "winograd": Variant(_winograd, 1e-4, recipe=4),  # 2: whole-batch transforms, work noted on each layer; 3: interleave by MatMul; 4: transforms one axis at a time
    "float16": Variant(_float16, 5e-2),
    "int8": Variant(_int8, *INT8_TOLERANCE, recipe=2),  # 2: interleave by MatMul, kept float32
}


def session_options(threads=None, spinning=True, level="all"):
    """`onnxruntime.SessionOptions` for a generator.

    threads: intra-op threads (default: onnxruntime's, one per physical core).
    spinning: idle threads spin for the next call (lowest latency on an idle machine; turn it
        off on cores shared with other work, where spinning steals their time).
    level: graph optimisation, "basic", "extended" or "all" (default: all, incl. NCHWc layouts).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    levels = {"basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
    options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, levels[level])
    return options


def cuda_provider():
    """The CUDA provider with its options for generators: cuDNN searches every convolution
    algorithm once per shape (EXHAUSTIVE) and keeps the fastest."""
    return ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "EXHAUSTIVE", "do_copy_in_default_stream": "1"})


def _record_source(model, source_model, source_sha256):
    """Carries the source's metadata over (onnxruntime's optimised output drops it) and adds its sha256."""
    kept = {p.key: p.value for p in source_model.metadata_props}
    kept[SOURCE_KEY] = source_sha256
    del model.metadata_props[:]
    for key, value in kept.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
