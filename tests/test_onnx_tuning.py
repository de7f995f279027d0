"""Tuned onnxruntime variants of an exported generator, saved beside `generator.onnx`."""

import keras
import numpy as np
import onnx
import pytest

from zoo import onnx_tuning, runtime
from zoo.export import export_generator, sha256
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
    generator = runtime.load(directory)  # makes generator.optimized.onnx on first use
    optimized = directory / "generator.optimized.onnx"
    assert generator.model_path == optimized
    assert op_types(directory / "generator.onnx").count("ConvTranspose") == 3
    assert op_types(optimized).count("ConvTranspose") == 2 and "Conv" in op_types(optimized)  # the stride-1 one
    z = model.export_example(9, seed=3)["z"]
    exported = runtime.load(directory, optimized=False)
    assert exported.model_path == directory / "generator.onnx"
    np.testing.assert_allclose(generator(z), exported(z), atol=1e-5)
    np.testing.assert_allclose(generator(z), keras.ops.convert_to_numpy(model.export_call({"z": z})), atol=1e-4)
    metadata = {p.key: p.value for p in onnx.load(str(optimized)).metadata_props}
    assert metadata[onnx_tuning.SOURCE_KEY] == sha256(directory / "generator.onnx")
    assert metadata["latent_dim"] == "100"  # the card's facts stay with the file


def test_the_optimized_model_is_made_once_and_again_when_the_source_changes(artifact, tmp_path):
    _, directory = artifact
    source = tmp_path / "tiny.onnx"
    source.write_bytes((directory / "generator.onnx").read_bytes())
    made = onnx_tuning.optimize(source)
    assert made == tmp_path / "tiny.optimized.onnx"  # named after its source, beside it
    stamp = made.stat().st_mtime_ns
    assert onnx_tuning.optimize(source) == made and made.stat().st_mtime_ns == stamp  # reused
    exported = onnx.load(str(source))
    exported.metadata_props.add(key="note", value="re-exported")
    onnx.save(exported, str(source))
    onnx_tuning.optimize(source)
    assert onnx_tuning.is_derived_from(made, sha256(source))
    assert {p.key: p.value for p in onnx.load(str(made)).metadata_props}["note"] == "re-exported"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary files left


@pytest.mark.files
def test_a_damaged_optimized_file_is_made_again(artifact, tmp_path):
    _, directory = artifact
    source = tmp_path / "generator.onnx"
    source.write_bytes((directory / "generator.onnx").read_bytes())
    made = onnx_tuning.optimize(source)
    whole = made.read_bytes()
    made.write_bytes(whole[: len(whole) // 2])
    generator = runtime.load(tmp_path)
    assert made.read_bytes() == whole
    assert generator(np.zeros((1, 100), np.float32)).shape == (1, 28, 28, 1)


@pytest.mark.files
def test_a_variant_that_cannot_be_written_leaves_the_exported_file_to_run(artifact, tmp_path):
    _, directory = artifact
    (tmp_path / "generator.onnx").write_bytes((directory / "generator.onnx").read_bytes())
    (tmp_path / "generator.optimized.onnx").mkdir()  # in the way: the rename into place fails
    with pytest.warns(UserWarning, match="as exported"):
        generator = runtime.load(tmp_path)
    assert generator.model_path == tmp_path / "generator.onnx"
    assert generator(np.zeros((1, 100), np.float32)).shape == (1, 28, 28, 1)


def test_the_float16_variant_keeps_float32_inputs_and_outputs(artifact):
    model, directory = artifact
    generator = runtime.load(directory, precision="float16")
    assert generator.model_path == directory / "generator.fp16.onnx"
    half = onnx.load(str(generator.model_path))
    assert [v.type.tensor_type.elem_type for v in [*half.graph.input, *half.graph.output]] == [onnx.TensorProto.FLOAT] * 2
    kernels = [t for t in half.graph.initializer if len(t.dims) == 4]
    assert kernels and all(t.data_type == onnx.TensorProto.FLOAT16 for t in kernels)
    z = model.export_example(4, seed=1)["z"]
    images = generator(z)
    assert images.dtype == np.float32
    np.testing.assert_allclose(images, runtime.load(directory)(z), atol=2e-2)  # float16 rounding
    with pytest.raises(ValueError, match="precision"):
        runtime.load(directory, precision="int8")


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
