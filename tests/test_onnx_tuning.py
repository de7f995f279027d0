"""Tuned onnxruntime variants of an exported generator, derived into the cache and trusted only on its record."""

import shutil

import keras
import numpy as np
import onnx
import pytest

from zoo import onnx_tuning, registry, runtime
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
    generator = runtime.load(directory)  # derives the optimised variant into the cache on first use
    source = sha256(directory / "generator.onnx")
    optimized = onnx_tuning.derived_dir(source) / "optimized.onnx"
    assert generator.model_path == optimized and str(optimized).startswith(str(registry.cache_dir()))
    assert not (directory / "generator.optimized.onnx").exists()  # nothing is written into the artifact
    assert op_types(directory / "generator.onnx").count("ConvTranspose") == 3
    assert op_types(optimized).count("ConvTranspose") == 2 and "Conv" in op_types(optimized)  # the stride-1 one
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
    precision = {"optimized": {}, "float16": {"precision": "float16"}}.get(variant, {"precision": variant})
    made = runtime.load(folder, **precision).model_path
    assert made.parent == onnx_tuning.derived_dir(sha256(source))
    forged_variant(source, made)  # the cached file replaced behind the module's back
    generator = runtime.load(folder, **precision)
    assert generator.model_path == made and not np.all(onnx.numpy_helper.to_array(onnx.load(str(made)).graph.initializer[0]) == 0)
    z = model.export_example(4, seed=1)["z"]
    expected = keras.ops.convert_to_numpy(model.export_call({"z": z}))
    np.testing.assert_allclose(generator(z), expected, atol=onnx_tuning.VARIANTS[variant].atol)
    assert np.abs(expected).max() > 1e-3  # the forged files would have given zeros (tanh(0))


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
def test_a_variant_that_cannot_be_written_leaves_the_exported_file_to_run(artifact, tmp_path, monkeypatch):
    _, directory = artifact
    (tmp_path / "generator.onnx").write_bytes((directory / "generator.onnx").read_bytes())
    (tmp_path / "cache").write_text("a file where the cache folder should be")  # the variant cannot be written
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="as exported"):
        generator = runtime.load(tmp_path)
    assert generator.model_path == tmp_path / "generator.onnx"
    assert generator(np.zeros((1, 100), np.float32)).shape == (1, 28, 28, 1)


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
