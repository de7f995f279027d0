"""Faster onnxruntime inference of exported generators: tuned graphs saved beside the original.

`generator.onnx` is the contract (ARTIFACTS.md) and stays as exported. Beside it, for
onnxruntime only, `zoo.runtime` keeps:

- `generator.optimized.onnx` (`optimize`): stride-1 transposed convolutions rewritten as
  convolutions with the flipped kernel, the same function to float rounding: onnxruntime runs
  `Conv` through its blocked (NCHWc) CPU kernels, but `ConvTranspose` as a matrix product
  followed by col2im, at about two thirds of the speed (`scripts/bench_infer.py`). Then
  onnxruntime's basic graph optimisations (constant folding, batch-norm and Mul/Add folding into
  convolutions), saved so that sessions start without redoing them. Those are the
  provider-independent ones; sessions still apply the hardware-specific layout changes
  (ORT_ENABLE_ALL) when they load the file. Strided transposed convolutions are left as they
  are: their phase decomposition (`zoo.layers`) was slower in onnxruntime than its own kernel.
- `generator.fp16.onnx` (`float16_variant`): float16 weights and arithmetic for CUDA, with the
  float32 inputs and outputs of the contract.

Each derived file records the sha256 of the `generator.onnx` it was made from, and is made
again when that changes.
"""

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.export import sha256
from zoo.files import atomic_write

SOURCE_KEY = "ganzoo.source_sha256"
# generator.onnx -> generator.optimized.onnx, generator.fp16.onnx (any other.onnx alike)
OPTIMIZED_SUFFIX = ".optimized.onnx"
FLOAT16_SUFFIX = ".fp16.onnx"


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
    used = {name for node in model.graph.node for name in node.input}
    unused = [tensor for tensor in model.graph.initializer if tensor.name not in used]
    for tensor in unused:
        model.graph.initializer.remove(tensor)
    return rewritten


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
    """Writes the optimised model (see module) beside `onnx_path`; returns its path.

    Reuses a file already there that was made from the same source. `destination` overrides
    where it goes. Written to a temporary file and renamed into place.
    """
    return _derive(onnx_path, destination or variant_path(onnx_path, OPTIMIZED_SUFFIX), _optimized)


def float16_variant(onnx_path, destination=None):
    """Writes `generator.fp16.onnx` beside `onnx_path` (`generator.onnx`): float16 weights and arithmetic, float32
    inputs and outputs (for CUDA, whose tensor cores run float16; on CPU it is slower). Returns its path."""
    return _derive(onnx_path, destination or variant_path(onnx_path, FLOAT16_SUFFIX), _float16)


def variant_path(onnx_path, suffix):
    """Where the variant of `onnx_path` with `suffix` goes: beside it, named after it."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(onnx_path.stem + suffix)


def _derive(onnx_path, destination, make):
    """Writes `make(source model, destination folder)` to `destination`, stamped with the
    source's sha256, unless a file made from that same source is there already."""
    destination = Path(destination)
    source = sha256(onnx_path)
    if not is_derived_from(destination, source):
        model = onnx.load(str(onnx_path))
        derived = make(model, destination.parent)
        _record_source(derived, model, source)
        atomic_write(destination, lambda temporary: onnx.save(derived, temporary))
    return destination


def _optimized(model, folder):
    import onnxruntime

    rewrite_transposed_convolutions(model)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory(dir=folder, prefix=".optimize-") as staging:
        options.optimized_model_filepath = str(Path(staging) / "optimized.onnx")
        onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return onnx.load(options.optimized_model_filepath)


def _float16(model, folder):
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    half = OnnxModel(convert_float_to_float16(model, keep_io_types=True))
    half.topological_sort()  # the converter appends its input casts after their readers
    return half.model


def is_derived_from(path, source_sha256):
    """Whether `path` is a model this module made from the source with that sha256."""
    if not Path(path).is_file():
        return False
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # a damaged file is made again
        return False
    return {p.key: p.value for p in model.metadata_props}.get(SOURCE_KEY) == source_sha256


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
