"""Tuned onnxruntime variants of an exported generator, derived into the cache and trusted only on its record."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import keras
import numpy as np
import onnx
import pytest

from zoo import onnx_tuning, registry, runtime, winograd
from zoo.export import export_generator, sha256
from zoo.files import writer_mark
from zoo.models.tutorial import TutorialDCGAN


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """The TF tutorial's generator: a stride-1 transposed convolution and two strided ones."""
    keras.utils.set_random_seed(0)
    model = TutorialDCGAN(seed=0)
    directory = tmp_path_factory.mktemp("exports") / "tutorial"
    export_generator(model, directory)
    return model, directory


def op_types(path):
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def test_the_optimized_model_computes_the_exported_function_with_convolutions(artifact):
    model, directory = artifact
    generator = runtime.load(directory)  # derives the optimised variant into the cache on first use
    source = sha256(directory / "generator.onnx")
    optimized = onnx_tuning.derived_dir(source) / "optimized.onnx"
    assert generator.model_path == optimized and str(optimized).startswith(str(registry.cache_dir()))
    assert not (directory / "generator.optimized.onnx").exists()  # nothing is written into the artifact
    assert op_types(directory / "generator.onnx").count("ConvTranspose") == 3
    # The stride-1 one is one convolution, the strided one with 64 filters four (one per phase),
    # interleaved by a placement product (no DepthToSpace); the last (1 filter) stays; batch
    # norm's scales are folded into the weights.
    assert op_types(optimized).count("ConvTranspose") == 1 and op_types(optimized).count("Conv") == 1 + 4
    assert "DepthToSpace" not in op_types(optimized) and op_types(optimized).count("MatMul") == 2 and "Mul" not in op_types(optimized)
    z = model.export_example(9, seed=3)["z"]
    exported = runtime.load(directory, optimized=False)
    assert exported.model_path == directory / "generator.onnx"
    np.testing.assert_allclose(generator(z), exported(z), atol=1e-5)
    np.testing.assert_allclose(generator(z), keras.ops.convert_to_numpy(model.export_call({"z": z})), atol=1e-4)
    metadata = {p.key: p.value for p in onnx.load(str(optimized)).metadata_props}
    assert metadata[onnx_tuning.SOURCE_KEY] == source
    assert metadata["latent_dim"] == "100"  # the card's facts stay with the file
    assert onnx_tuning.is_derived_from(optimized, source, "optimized")


def test_the_optimized_model_is_made_once_and_again_when_the_source_changes(artifact, tmp_path):
    _, directory = artifact
    source = tmp_path / "tiny.onnx"
    source.write_bytes((directory / "generator.onnx").read_bytes())
    made = onnx_tuning.optimize(source)
    assert made == onnx_tuning.derived_dir(sha256(source)) / "optimized.onnx"  # keyed by the source's sha256
    stamp = made.stat().st_mtime_ns
    assert onnx_tuning.optimize(source) == made and made.stat().st_mtime_ns == stamp  # reused
    exported = onnx.load(str(source))
    exported.metadata_props.add(key="note", value="re-exported")
    onnx.save(exported, str(source))
    again = onnx_tuning.optimize(source)
    assert again != made and onnx_tuning.is_derived_from(again, sha256(source))
    assert not onnx_tuning.is_derived_from(made, sha256(source))  # made from the old source: not this one's
    assert {p.key: p.value for p in onnx.load(str(again)).metadata_props}["note"] == "re-exported"
    assert [p.name for p in again.parent.iterdir() if p.name.startswith(".")] == []  # no temporary files left
    chosen = onnx_tuning.optimize(source, destination=tmp_path / "elsewhere.onnx")  # a chosen place, recorded all the same
    assert chosen.read_bytes() == again.read_bytes() and onnx_tuning.is_derived_from(chosen, sha256(source), "optimized")


def forged_variant(source_path, path):
    """A model that is not the source's function (its weights zeroed) claiming, in its metadata, to derive from it."""
    model = onnx.load(str(source_path))
    for tensor in model.graph.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT:
            tensor.CopyFrom(onnx.numpy_helper.from_array(np.zeros_like(onnx.numpy_helper.to_array(tensor)), tensor.name))
    model.metadata_props.add(key=onnx_tuning.SOURCE_KEY, value=sha256(source_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.mark.files
@pytest.mark.parametrize("variant", sorted(onnx_tuning.VARIANTS))
def test_a_planted_variant_beside_or_in_the_cache_never_runs(artifact, tmp_path, variant):
    """A derived file is trusted only when its bytes match the record this module wrote with it:
    a file dropped into the artifact folder (the names earlier versions used) or over the cached
    variant, with the source's sha256 forged into its metadata, is never run."""
    model, directory = artifact
    folder = tmp_path / "artifact"
    shutil.copytree(directory, folder)
    source = folder / "generator.onnx"
    for name in ("generator.optimized.onnx", "generator.fp16.onnx", "generator.int8.onnx"):
        forged_variant(source, folder / name)
    precision = {"optimized": {}, "winograd": {}, "float16": {"precision": "float16"}}.get(variant, {"precision": variant})
    z = model.export_example(4, seed=1)["z"]  # four rows: the Winograd variant runs from two

    def variant_run(generator):
        images = generator(z)
        return images, generator.large_batch_path if variant == "winograd" else generator.model_path

    _, made = variant_run(runtime.load(folder, **precision))
    assert made.parent == onnx_tuning.derived_dir(sha256(source))
    forged_variant(source, made)  # the cached file replaced behind the module's back
    images, path = variant_run(runtime.load(folder, **precision))
    assert path == made and not np.all(onnx.numpy_helper.to_array(onnx.load(str(made)).graph.initializer[0]) == 0)
    expected = keras.ops.convert_to_numpy(model.export_call({"z": z}))
    np.testing.assert_allclose(images, expected, atol=onnx_tuning.VARIANTS[variant].atol)
    assert np.abs(expected).max() > 1e-3  # the forged files would have given zeros (tanh(0))


def optimized_copy(artifact, tmp_path):
    """(a copy of the artifact's generator.onnx in `tmp_path`, its optimized variant derived into the cache)."""
    source = tmp_path / "generator.onnx"
    source.write_bytes((artifact[1] / "generator.onnx").read_bytes())
    return source, onnx_tuning.optimize(source)


@pytest.mark.files
def test_a_damaged_optimized_file_is_made_again(artifact, tmp_path):
    _, made = optimized_copy(artifact, tmp_path)
    whole = made.read_bytes()
    made.write_bytes(whole[: len(whole) // 2])
    generator = runtime.load(tmp_path)
    assert made.read_bytes() == whole
    assert generator(np.zeros((1, 100), np.float32)).shape == (1, 28, 28, 1)


# A derivation killed with SIGKILL midway: its int8 scratch folder made, the optimised file half written.
KILLED_MIDWAY = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from zoo.files import atomic_write, temporary_folder

    folder = Path(sys.argv[1])
    scratch = temporary_folder(folder, "int8")
    def write(temporary):
        Path(temporary).write_bytes(b"half a model")
        time.sleep(600)
    atomic_write(folder / "optimized.onnx", write)
""")


@pytest.mark.faults
def test_what_a_derivation_killed_midway_left_is_removed_by_the_next_and_a_running_ones_is_kept(artifact, tmp_path):
    _, directory = artifact
    exported = onnx.load(str(directory / "generator.onnx"))
    exported.metadata_props.add(key="note", value="a source of this test's own")
    source = tmp_path / "generator.onnx"
    onnx.save(exported, str(source))
    folder = onnx_tuning.derived_dir(sha256(source))
    folder.mkdir(parents=True)
    killed = subprocess.Popen([sys.executable, "-c", KILLED_MIDWAY, str(folder)])
    deadline = time.monotonic() + 120
    while not list(folder.glob(f".optimized.onnx.{writer_mark(killed.pid)}.*.optimized.onnx")):
        assert killed.poll() is None and time.monotonic() < deadline, "the write never started"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = sorted(path.name for path in folder.iterdir())
    assert [name.split(".")[1:3] for name in left] == [["int8", writer_mark(killed.pid)], ["optimized", "onnx"]]  # named by their writer
    (folder / f".optimized.onnx.{2**64}.a1b2c3d4.optimized.onnx").write_bytes(b"")  # a pid beyond any the system gives
    running = subprocess.Popen(["sleep", "60"])  # a derivation still at work: its files are kept
    try:
        at_work = [f".optimized.onnx.{writer_mark(running.pid)}.k3x9_a2b.optimized.onnx", f".int8.{writer_mark(running.pid)}.q8r2m0zz.int8"]
        (folder / at_work[0]).write_bytes(b"being written")
        (folder / at_work[1]).mkdir()
        (folder / ".notes").write_text("not a temporary file")
        made = onnx_tuning.optimize(source)
        assert made == folder / "optimized.onnx" and onnx_tuning.is_derived_from(made, sha256(source), "optimized")
        assert sorted(path.name for path in folder.iterdir() if path.name.startswith(".")) == sorted([*at_work, ".notes"])
    finally:
        running.kill()
        running.wait()


@pytest.mark.files
def test_a_variant_that_cannot_be_written_leaves_the_exported_file_to_run(artifact, tmp_path, monkeypatch):
    _, directory = artifact
    (tmp_path / "generator.onnx").write_bytes((directory / "generator.onnx").read_bytes())
    (tmp_path / "cache").write_text("a file where the cache folder should be")  # the variant cannot be written
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="as exported"):
        generator = runtime.load(tmp_path)
    assert generator.model_path == tmp_path / "generator.onnx"
    assert generator(np.zeros((1, 100), np.float32)).shape == (1, 28, 28, 1)


def test_large_cpu_batches_run_the_winograd_variant_with_the_same_images(artifact):
    """From `WINOGRAD_MIN_BATCH` rows a second session runs the tuned graph with the tutorial's
    5×5 convolution on its 7×7 map in Winograd's form; single images keep the first session."""
    model, directory = artifact
    generator = runtime.load(directory)
    single = model.export_example(1, seed=5)["z"]
    np.testing.assert_allclose(generator(single), keras.ops.convert_to_numpy(model.export_call({"z": single})), atol=1e-4)
    assert generator.session_for(1) is generator.session and generator.large_batch_path is None  # not made for one image
    z = model.export_example(runtime.WINOGRAD_MIN_BATCH + 7, seed=5)["z"]
    images = generator(z)
    assert generator.session_for(len(z)) is not generator.session
    made = generator.large_batch_path
    assert made == onnx_tuning.derived_dir(sha256(directory / "generator.onnx")) / "winograd.onnx"
    work = winograd.work_per_image(onnx.load(str(made)))
    assert work == winograd.layer_work(7, 7, 256, 128, 5) and winograd.work_per_image(onnx.load(str(generator.model_path))) == (0, 0)
    assert "Conv" in op_types(generator.model_path) and op_types(made).count("Conv") == 4  # only the phases stay Conv
    np.testing.assert_allclose(images, keras.ops.convert_to_numpy(model.export_call({"z": z})), atol=1e-4)
    np.testing.assert_allclose(images[:1], generator(z[:1]), atol=1e-5)  # the two sessions agree
    assert "2 images or more" in generator.describe()
    for other in (runtime.load(directory, optimized=False), runtime.load(directory, precision="int8")):
        other(z)
        assert other.session_for(len(z)) is other.session and other.large_batch_path is None


def test_a_generator_with_no_small_map_convolution_keeps_one_session(tmp_path):
    keras.utils.set_random_seed(0)
    from zoo.models.dcgan import DCGAN

    model = DCGAN(seed=0)  # 4×4 strided transposed convolutions only
    export_generator(model, tmp_path / "dcgan")
    generator = runtime.load(tmp_path / "dcgan")
    z = model.export_example(8, seed=0)["z"]
    np.testing.assert_allclose(generator(z), keras.ops.convert_to_numpy(model.export_call({"z": z})), atol=1e-4)
    assert generator.session_for(8) is generator.session and generator.large_batch_path is None
    assert not (onnx_tuning.derived_dir(sha256(tmp_path / "dcgan" / "generator.onnx")) / "winograd.onnx").exists()  # nothing made in vain


def test_the_float16_variant_keeps_float32_inputs_and_outputs(artifact):
    model, directory = artifact
    generator = runtime.load(directory, precision="float16")
    assert generator.model_path == onnx_tuning.derived_dir(sha256(directory / "generator.onnx")) / "float16.onnx"
    half = onnx.load(str(generator.model_path))
    assert [v.type.tensor_type.elem_type for v in [*half.graph.input, *half.graph.output]] == [onnx.TensorProto.FLOAT] * 2
    kernels = [t for t in half.graph.initializer if len(t.dims) == 4]
    assert kernels and all(t.data_type == onnx.TensorProto.FLOAT16 for t in kernels)
    z = model.export_example(4, seed=1)["z"]
    images = generator(z)
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, runtime.load(directory)(z), atol=2e-2)  # float16 rounding
    with pytest.raises(ValueError, match="precision"):
        runtime.load(directory, precision="int4")


def test_io_binding_gives_the_same_images(artifact):
    _, directory = artifact
    bound = runtime.load(directory, io_binding=True)
    plain = runtime.load(directory)
    assert bound.io_binding and not plain.io_binding  # CPU: bound only when asked
    z = np.random.default_rng(0).standard_normal((3, 100)).astype(np.float32)
    np.testing.assert_array_equal(bound(z), plain(z))


def test_session_options_and_the_cuda_provider_options():
    options = onnx_tuning.session_options(threads=1, spinning=False, level="extended")
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    name, settings = onnx_tuning.cuda_provider()
    assert name == "CUDAExecutionProvider" and settings["cudnn_conv_algo_search"] == "EXHAUSTIVE"


def transposed_convolution_model(channels, filters, kernel, stride, pads, output_padding, side, bias):
    """One ONNX ConvTranspose with random weights, input (1, channels, side, side)."""
    rng = np.random.default_rng(kernel * 10 + stride)
    tensors = [onnx.numpy_helper.from_array(rng.standard_normal((channels, filters, kernel, kernel)).astype(np.float32), "w")]
    inputs = ["x", "w"]
    if bias:
        tensors.append(onnx.numpy_helper.from_array(rng.standard_normal(filters).astype(np.float32), "b"))
        inputs.append("b")
    node = onnx.helper.make_node("ConvTranspose", inputs, ["y"], name="up", strides=[stride, stride], pads=pads, output_padding=[output_padding] * 2)
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, channels, side, side])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, filters, None, None])], tensors,
    )
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)


# (kernel, stride, pads, output padding, side): "same" 4×4 and 5×5 (the zoo's and the tutorial's),
# "valid", uneven pads, output padding and a stride of 3.
PHASE_CASES = [(4, 2, [1, 1, 1, 1], 0, 7), (5, 2, [1, 1, 2, 2], 0, 7), (5, 2, [2, 2, 2, 2], 1, 6), (3, 2, [0, 0, 0, 0], 1, 5), (4, 3, [1, 1, 0, 0], 0, 4), (2, 2, [0, 0, 0, 0], 0, 3)]


@pytest.mark.parametrize("kernel,stride,pads,output_padding,side", PHASE_CASES)
def test_strided_transposed_convolutions_become_phase_convolutions_with_the_same_values(kernel, stride, pads, output_padding, side):
    import onnxruntime

    model = transposed_convolution_model(3, 16, kernel, stride, pads, output_padding, side, bias=kernel % 2 == 1)
    x = np.random.default_rng(0).standard_normal((2, 3, side, side)).astype(np.float32)
    expected = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert onnx_tuning.rewrite_strided_transposed_convolutions(model) == 1
    onnx.checker.check_model(model, full_check=True)
    assert op_types_of(model) == ["Conv"] * stride**2 + ["Concat", "DepthToSpace"]
    actual = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(actual, expected, atol=1e-4)
    few = transposed_convolution_model(3, 4, kernel, stride, pads, output_padding, side, bias=False)
    assert onnx_tuning.rewrite_strided_transposed_convolutions(few, min_filters=16) == 0  # few filters: left as it is
    # The interleave as rows placed by a 0/1 matrix: exactly the same values.
    model.graph.ClearField("value_info")
    assert onnx_tuning.rewrite_interleaves(model, onnx_tuning._static_shapes(model)) == 1
    onnx.checker.check_model(model, full_check=True)
    assert op_types_of(model) == ["Conv"] * stride**2 + ["Concat", "MatMul", "Reshape"]
    placed = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(placed, actual)


def op_types_of(model):
    return [node.op_type for node in model.graph.node]


def test_the_int8_variant_runs_only_when_asked_and_keeps_the_images_and_the_card(artifact):
    """precision="int8": onnxruntime's static QDQ quantization calibrated on the generator's own
    inputs (int8 weights, float32 inputs and outputs), images within INT8_TOLERANCE of float32."""
    model, directory = artifact
    source = sha256(directory / "generator.onnx")
    assert runtime.load(directory).precision == "float32"  # never chosen unless asked
    generator = runtime.load(directory, precision="int8")
    assert generator.precision == "int8" and generator.model_path == onnx_tuning.derived_dir(source) / "int8.onnx"
    assert "int8.onnx" in generator.describe()
    quantized = onnx.load(str(generator.model_path))
    assert [v.type.tensor_type.elem_type for v in [*quantized.graph.input, *quantized.graph.output]] == [onnx.TensorProto.FLOAT] * 2
    assert {"QuantizeLinear", "DequantizeLinear"} <= set(op_types_of(quantized)) and "ConvTranspose" in op_types_of(quantized)
    kernels = [t for t in quantized.graph.initializer if len(t.dims) == 4]
    assert sum(t.data_type == onnx.TensorProto.INT8 for t in kernels) == 1 + 4  # the stride-1 and the four phase kernels
    metadata = {p.key: p.value for p in quantized.metadata_props}
    assert metadata[onnx_tuning.SOURCE_KEY] == source and metadata["latent_dim"] == "100"
    assert generator.card == runtime.load(directory).card and generator.latent_dim == 100 and generator.image_shape == (28, 28, 1)
    z = model.export_example(64, seed=5)["z"]
    images, exact = generator(z), keras.ops.convert_to_numpy(model.export_call({"z": z}))
    assert images.dtype == np.float32 and images.shape == exact.shape
    anywhere, on_average = onnx_tuning.INT8_TOLERANCE
    assert np.abs(images - exact).max() <= anywhere and np.abs(images - exact).mean() <= on_average
    assert np.abs(images - exact).mean() <= 0.002  # measured 0.0004 on this generator
    assert not np.array_equal(images, runtime.load(directory)(z))  # it is another computation
    record = json.loads((onnx_tuning.derived_dir(source) / "int8.json").read_text())
    assert record["variant"] == "int8" and record["sha256"] == sha256(generator.model_path)


def test_calibration_draws_the_generators_own_inputs(tmp_path):
    """Noise from N(0, 1); class ids over the rows of the embedding table the label indexes."""
    import zoo

    keras.utils.set_random_seed(0)
    cgan = zoo.ConditionalGAN(latent_dim=8, g_filters=8, d_filters=8)
    export_generator(cgan, tmp_path / "cgan")
    exported = onnx.load(str(tmp_path / "cgan" / "generator.onnx"))
    assert onnx_tuning.id_range(exported, "label") == 10
    batches = onnx_tuning.calibration_inputs(exported, rows=300, batch_size=128)
    assert [len(b["z"]) for b in batches] == [128, 128, 44]
    labels = np.concatenate([b["label"] for b in batches])
    assert set(labels.tolist()) == set(range(10)) and labels.dtype == np.int64
    z = np.concatenate([b["z"] for b in batches])
    assert z.dtype == np.float32 and abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.1
    quantized = runtime.load(tmp_path / "cgan", precision="int8")
    assert quantized.precision == "int8"
    same = runtime.load(tmp_path / "cgan")
    z, label = np.random.default_rng(1).standard_normal((20, 8)).astype(np.float32), np.arange(20) % 10
    assert np.abs(quantized(z, label=label) - same(z, label=label)).mean() <= onnx_tuning.INT8_TOLERANCE[1]


def test_a_variant_made_by_an_earlier_recipe_is_made_again(artifact, tmp_path):
    source, made = optimized_copy(artifact, tmp_path)
    record_path = made.with_suffix(".json")
    record = json.loads(record_path.read_text())
    record["recipe"] = onnx_tuning.VARIANTS["optimized"].recipe - 1
    record_path.write_text(json.dumps(record))
    assert not onnx_tuning.is_derived_from(made, sha256(source), "optimized")
    stamp = made.stat().st_mtime_ns
    assert onnx_tuning.optimize(source) == made and made.stat().st_mtime_ns != stamp
    assert json.loads(record_path.read_text())["recipe"] == onnx_tuning.VARIANTS["optimized"].recipe


@pytest.mark.files
def test_a_record_that_is_not_a_file_is_not_trusted_and_the_variant_is_made_again(artifact, tmp_path):
    # A named pipe in the record's place would block a plain read for ever (no writer comes):
    # it is refused unread, so the variant counts as not derived, and is made again.
    source, made = optimized_copy(artifact, tmp_path)
    record_path = made.with_suffix(".json")
    record_path.unlink()
    os.mkfifo(record_path)
    answers = []
    reader = threading.Thread(target=lambda: answers.append(onnx_tuning.is_derived_from(made, sha256(source), "optimized")), daemon=True)
    reader.start()
    reader.join(60)
    assert answers == [False]
    assert onnx_tuning.optimize(source) == made and onnx_tuning.is_derived_from(made, sha256(source), "optimized")
    assert json.loads(record_path.read_text())["recipe"] == onnx_tuning.VARIANTS["optimized"].recipe


def test_making_the_int8_variant_keeps_the_quantizers_chatter_off_the_terminal(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))  # made here, not found made
    capfd.readouterr()
    generator = runtime.load(registry.fetch("gan-fashion-mnist"), precision="int8")
    assert generator.precision == "int8"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
