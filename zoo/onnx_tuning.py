"""Faster onnxruntime inference of exported generators: tuned graphs derived into the cache.

`generator.onnx` is the contract (docs/artifacts.md) and stays as exported. For onnxruntime only,
`zoo.runtime` runs a variant derived from it:

- `optimized` (`optimize`): stride-1 transposed convolutions rewritten as convolutions with
  the flipped kernel, the same function to float rounding: onnxruntime runs `Conv` through its
  blocked (NCHWc) CPU kernels, but `ConvTranspose` as a matrix product followed by col2im, at
  about two thirds of the speed (`scripts/bench_infer.py`). Then onnxruntime's basic graph
  optimisations (constant folding, batch-norm and Mul/Add folding into convolutions), saved so
  that sessions start without redoing them. Those are the provider-independent ones; sessions
  still apply the hardware-specific layout changes (ORT_ENABLE_ALL) when they load the file.
  Strided transposed convolutions are left as they are: their phase decomposition
  (`zoo.layers`) was slower in onnxruntime than its own kernel.
- `float16` (`float16_variant`): float16 weights and arithmetic for CUDA, with the float32
  inputs and outputs of the contract.

Trust: a derived file runs only on evidence that a file dropped beside an artifact cannot
forge. Variants are derived into the cache (`zoo.registry.cache_dir()/derived/<sha256 of the
source>/`), and each one's own sha256 is recorded there (`<variant>.json`) when this module
writes it; `derive` hands out a file only when its bytes match that record, and makes it again
otherwise. Files beside the artifact (`generator.optimized.onnx` of earlier versions, or
planted ones) are never read. A new variant is one entry of `VARIANTS`: a function from the
source model to the derived one.
"""

import hashlib
import json
import tempfile
import typing
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from zoo.files import atomic_write, atomic_write_json, sha256

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
    """The optimised model (see module) of `onnx_path`, derived into the cache; returns its path.

    Reuses a file made before from the same source whose bytes match its record. `destination`
    overrides where the file goes (its record still lives in the cache). Written to a temporary
    file and renamed into place.
    """
    return derive(onnx_path, "optimized", destination)


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
    to a temporary file and renamed into place, and recorded. Raises OSError when the cache
    cannot be written and `DerivationError` when the derived model does not match its source.
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
    model = onnx.load(str(onnx_path))
    derived = VARIANTS[variant].make(onnx.load(str(onnx_path)), folder)
    _record_source(derived, model, source)
    data = derived.SerializeToString()
    check_same_function(model, data, VARIANTS[variant].atol, f"the {variant} variant of {onnx_path}")
    atomic_write(destination, lambda temporary: Path(temporary).write_bytes(data))
    record = {"variant": variant, "source_sha256": source, "sha256": hashlib.sha256(data).hexdigest(), "made_by": __name__}
    atomic_write_json(folder / f"{variant}.json", record)
    return destination


def is_derived_from(path, source_sha256, variant=None):
    """Whether the file at `path` is a variant (`variant`, or any) that this module derived from
    the source with sha256 `source_sha256`: its bytes match the record written with it."""
    path = Path(path)
    if not path.is_file():
        return False
    records = [derived_dir(source_sha256) / f"{name}.json" for name in ([variant] if variant else VARIANTS)]
    recorded = set()
    for record in records:
        try:
            recorded.add(json.loads(record.read_text())["sha256"])
        except (OSError, ValueError, KeyError, TypeError):  # no record, or a damaged one: not trusted
            continue
    return bool(recorded) and sha256(path) in recorded


def check_same_function(source_model, derived_bytes, atol, what, rows=3):
    """Runs both models on the same random inputs; raises `DerivationError` when their outputs
    differ by more than `atol`. Float inputs are N(0, 1), integer inputs 1 (a valid class id and
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


class Variant(typing.NamedTuple):
    """How a variant is made: `make(source model, scratch folder)` returns the derived model,
    which must compute the source's function within `atol` (checked on random inputs)."""

    make: typing.Callable
    atol: float


VARIANTS = {
    "optimized": Variant(_optimized, 1e-4),
    "float16": Variant(_float16, 5e-2),
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
