"""How `zoo train` runs on this machine (`zoo.speed`): chosen, recorded, overridable; mixed precision."""

import json

import keras
import numpy as np
import onnx
import pytest

import zoo
from zoo import hardware, layers, runtime, speed
from zoo.export import export_generator
from zoo.training import default_precision, train

TINY = {"latent_dim": 8, "g_filters": 8, "d_filters": 8}


def build_tiny_dcgan(path):
    """A tiny DCGAN compiled for `path` (a `zoo.speed.TrainingPath`): what `speed.choose` builds per candidate."""
    gan = zoo.DCGAN(**TINY, seed=0)
    gan.compile(jit_compile=path.jit_compile)
    return gan


def tiny_train(out, **options):
    settings = {"epochs": 1, "batch_size": 32, "limit": 64, "model_kwargs": TINY, "verbose": 0, **options}
    return train("dcgan", out, **settings)


def test_the_cpu_flags_are_read_and_named():
    flags = hardware.cpu_flags()
    described = hardware.describe()
    assert described["cores"] >= 1 and described["cpu"]
    assert ("AVX-512" in described["flags"]) == ("avx512f" in flags)
    assert hardware.native_bfloat16() == bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    assert hardware.machine_kind(described).startswith(described["cpu"])
    if not speed.gpu_compute_capabilities():
        assert speed.auto_precision() == ("mixed_bfloat16" if hardware.native_bfloat16() else "float32")


def test_the_chosen_path_is_recorded_and_flags_override_it(tmp_path):
    """Short runs decide by the CPU's flags; given choices are kept; training.json says which and how."""
    tiny_train(tmp_path / "ruled", jit_compile=False)
    path = json.loads((tmp_path / "ruled" / "training.json").read_text())["path"]
    assert path["convolutions"] == speed.rule_path("float32").convolutions and path["jit_compile"] is False
    # precision "auto" (the default), unmeasured on a CPU: float32 (bfloat16 only where measured faster)
    assert path["precision"] == "float32" and path["precision_asked"] == "auto" and path["chosen_by"].startswith("rule (CPU flags")
    other = "phases" if path["convolutions"] == "keras" else "keras"
    tiny_train(tmp_path / "given", jit_compile=False, convolutions=other, precision="float32")
    record = json.loads((tmp_path / "given" / "training.json").read_text())
    assert record["path"] == {"convolutions": other, "jit_compile": False, "precision": "float32", "chosen_by": "given"}
    assert record["sessions"][-1]["path"] == record["path"]
    assert layers.get_implementation() == "phases"  # the choice does not outlive the run
    with pytest.raises(ValueError, match="precision"):
        tiny_train(tmp_path / "bad", precision="bfloat8")


def test_a_calibration_measures_each_candidate_once_per_machine_and_is_cached(tmp_path, real_batches):
    messages = []
    facts = {"family": "dcgan", "model": TINY, "test": str(tmp_path)}
    chosen, how = speed.choose(build_tiny_dcgan, real_batches, 32, facts, jit_compile=False, calibrate=True, log=messages.append)
    assert how["chosen_by"].startswith("calibration 2") and len(messages) == 1
    measured = {c["convolutions"]: c["images_per_second"] for c in how["candidates"]}
    assert set(measured) == {"phases", "keras"} and all(rate > 0 for rate in measured.values())
    assert chosen.convolutions == max(measured, key=measured.get) and chosen.jit_compile is False
    again, how_again = speed.choose(build_tiny_dcgan, real_batches, 32, facts, jit_compile=False, calibrate=True, log=messages.append)
    assert again == chosen and how_again["chosen_by"].startswith("calibration (cached)") and len(messages) == 1
    cached = json.loads(open(how["calibration"]).read())
    assert cached["machine"] == hardware.describe() and cached["candidates"] == how["candidates"]
    cached["candidates"][0]["images_per_second"] = None  # a damaged record is measured again
    with open(how["calibration"], "w") as file:
        json.dump(cached, file)
    speed.choose(build_tiny_dcgan, real_batches, 32, facts, jit_compile=False, calibrate=True, log=messages.append)
    assert len(messages) == 2
    gan = zoo.GAN(latent_dim=8, g_units=(16,), d_units=(16,))  # no zoo.layers convolutions: nothing to calibrate
    assert not speed.uses_zoo_convolutions(gan)
    assert speed.choose(lambda path: gan, real_batches, 32, {}, jit_compile=True, calibrate=True)[1] == {"chosen_by": "given"}


@pytest.mark.backend
def test_a_calibration_measures_array_batches_as_jax_trains_on(tmp_path, monkeypatch):
    """On JAX (the GPU machine) `zoo train` hands `fit` a `zoo.batches.ArrayBatches`, not a
    tf.data pipeline: a long run there calibrates over its first batches too (it once called
    tf.data's `cache()` on them and stopped)."""
    from zoo import data
    from zoo.batches import ArrayBatches

    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    images, _ = data.load_arrays("train")
    batches = ArrayBatches(data.to_unit_range(images[:320]), 32, seed=0)

    facts = {"family": "dcgan", "model": TINY, "test": str(tmp_path)}
    compiled = keras.backend.backend() != "tensorflow"  # JAX's step is compiled; TensorFlow's need not be (quicker here)
    chosen, how = speed.choose(build_tiny_dcgan, batches, 32, facts, convolutions="auto", jit_compile=compiled, precision="float32",
                               calibrate=True, log=lambda message: None)
    assert how["chosen_by"].startswith("calibration 2")
    measured = {c["convolutions"]: c["images_per_second"] for c in how["candidates"]}
    assert {"phases", "keras"} <= set(measured) and all(rate > 0 for rate in measured.values())
    assert chosen.convolutions == max(measured, key=measured.get)
    first = speed._first_batches(batches, 4)
    assert len(first) == 4 and np.array_equal(first[3], batches[3])  # the same first batches, every turn


def test_auto_precision_measures_bfloat16_beside_float32_where_the_hardware_has_it(tmp_path, real_batches):
    """precision="auto" (`zoo train dcgan`'s default): float32, and where bfloat16 is native also
    bfloat16, measured side by side; on a CPU bfloat16 only without XLA (which computes it in
    float32 there). Families whose bfloat16 quality is not measured default to float32."""
    assert default_precision("dcgan") == "auto" and {default_precision(f) for f in ("gan", "cgan", "t2i")} == {"float32"}

    facts = {"family": "dcgan", "model": TINY, "test": str(tmp_path)}
    chosen, how = speed.choose(build_tiny_dcgan, real_batches, 32, facts, convolutions="keras", precision="auto", calibrate=True, log=lambda message: None)
    measured = {(c["precision"], c["jit_compile"]): c["images_per_second"] for c in how["candidates"]}
    native = speed.auto_precision() == "mixed_bfloat16"
    assert set(measured) == {("float32", False), ("float32", True)} | ({("mixed_bfloat16", False)} if native else set())
    assert (chosen.precision, chosen.jit_compile) == max(measured, key=measured.get) and how["precision_asked"] == "auto"
    assert speed.precision_options("auto") == (["float32", "mixed_bfloat16"] if native else ["float32"])
    assert speed.precision_options("mixed_float16") == ["mixed_float16"]


def test_a_mixed_bfloat16_model_trains_with_float32_outputs_and_exports_float32_onnx(tmp_path, real_batches):
    keras.utils.set_random_seed(0)
    with speed.dtype_policy("mixed_bfloat16"):
        gan = zoo.DCGAN(**TINY, seed=0)
    assert keras.config.dtype_policy().name == "float32"  # restored after the block
    assert gan.generator.layers[1].dtype_policy.compute_dtype == "bfloat16"
    gan.compile(jit_compile=False)
    history = gan.fit(real_batches.take(3), epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    assert keras.ops.convert_to_numpy(gan.generator(z)).dtype == np.float32  # the image layer computes in float32
    assert keras.ops.convert_to_numpy(gan.discriminator(gan.generator(z))).dtype == np.float32  # logits: losses in float32
    card = export_generator(gan, tmp_path / "mixed")  # parity-checked against the float32 copy it exports
    assert card["precision"] == {"trained": "mixed_bfloat16", "exported": "float32"}
    assert card["keras"]["config"]["dtype"] in ("float32", {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None})
    exported = onnx.load(str(tmp_path / "mixed" / "generator.onnx"))
    types = {t.data_type for t in exported.graph.initializer} | {v.type.tensor_type.elem_type for v in exported.graph.output}
    assert onnx.TensorProto.BFLOAT16 not in types and onnx.TensorProto.FLOAT16 not in types
    onnx_images = runtime.load(tmp_path / "mixed", optimized=False)(z)
    mixed_images = keras.ops.convert_to_numpy(gan.generate(z=z))
    np.testing.assert_allclose(onnx_images, mixed_images, atol=0.1)  # bfloat16 rounding in training's policy only
    assert np.abs(onnx_images - mixed_images).max() > 0  # the export did not run in bfloat16


def test_train_records_the_precision_and_a_mixed_float16_model_scales_its_losses(tmp_path):
    tiny_train(tmp_path / "run", jit_compile=False, precision="mixed_bfloat16")
    record = json.loads((tmp_path / "run" / "training.json").read_text())
    assert record["path"]["precision"] == "mixed_bfloat16" and record["sessions"][-1]["status"] == "finished"
    assert all(np.isfinite(value) for value in record["final_logs"].values())
    with speed.dtype_policy("mixed_float16"):
        gan = zoo.DCGAN(**TINY)
    gan.compile()
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer) and isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    plain = zoo.DCGAN(**TINY)
    plain.compile()
    assert not isinstance(plain.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_a_model_with_a_small_map_convolution_is_calibrated_with_winograd_too(tmp_path, real_batches):
    """The TF tutorial's generator has a 5×5 stride-1 transposed convolution on its 7×7 map:
    calibration measures implementation "winograd" beside the other two; a model without one
    (the zoo's DCGAN) is not offered it. Winograd's step is the same step: equal weights after
    two steps, to float rounding."""
    from zoo.models.tutorial import TutorialDCGAN, make_discriminator_model, make_generator_model

    def build(path):
        keras.utils.set_random_seed(0)
        model = TutorialDCGAN(make_generator_model(convolutions=layers), make_discriminator_model(convolutions=layers), seed=0)
        model.compile_like_tutorial(jit_compile=path.jit_compile)
        return model

    found = speed.winograd_layers(build(speed.TrainingPath("phases", False, "float32")))
    assert [(type(layer).__name__, tuple(layer.kernel_size), layer.filters) for layer in found] == [("Conv2DTranspose", (5, 5), 128)]
    assert speed.winograd_layers(zoo.DCGAN(**TINY)) == []
    facts = {"model": "tf-tutorial-dcgan", "test": str(tmp_path)}
    _, how = speed.choose(build, real_batches, 32, facts, jit_compile=False, calibrate=True, log=lambda message: None)
    assert [c["convolutions"] for c in how["candidates"]] == ["phases", "keras", "winograd"]
    assert all(c["images_per_second"] > 0 for c in how["candidates"])

    steps = {}
    for implementation in ("keras", "winograd"):
        with speed.applied(speed.TrainingPath(implementation, False, "float32")):
            model = build(speed.TrainingPath(implementation, False, "float32"))
            before = model.generator.get_weights()
            model.fit(real_batches.take(2), epochs=1, verbose=0)
        steps[implementation] = [after - start for after, start in zip(model.generator.get_weights(), before)]
    for ours, theirs in zip(steps["winograd"], steps["keras"]):  # Adam's steps: rounding moves near-zero gradients' a little
        assert np.linalg.norm(ours - theirs) <= 0.02 * np.linalg.norm(theirs) + 1e-7
