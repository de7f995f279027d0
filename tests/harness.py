"""What every zoo model must do, checked the same way for each (used by the per-model tests)."""

import json

import keras
import numpy as np
import onnx
import onnxruntime

from zoo.export import export_generator, load_keras_model, sha256


def weights_of(network):
    return [np.array(w) for w in network.trainable_weights]


def check_trains(model, dataset, steps=4):
    """A few real training steps give finite losses and move both networks' weights."""
    generator_before, discriminator_before = weights_of(model.generator), weights_of(model.discriminator)
    if hasattr(dataset, "take"):  # tf.data
        history = model.fit(dataset.take(steps), epochs=1, verbose=0)
    else:  # a keras.utils.PyDataset or another iterable of batches
        history = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    for key in ("d_loss", "g_loss", "p_real", "p_fake"):
        assert np.isfinite(history.history[key][-1]), f"{key} is not finite: {history.history}"
    for name, before, network in (
        ("generator", generator_before, model.generator),
        ("discriminator", discriminator_before, model.discriminator),
    ):
        moved = max(float(np.max(np.abs(a - b))) for a, b in zip(before, weights_of(network)))
        assert moved > 1e-6, f"{name} weights did not move"
    return history


def check_config_round_trip(model):
    """`get_config` holds every constructor argument: a model made from it has the same config."""
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.generator.count_params() == model.generator.count_params()
    return clone


def check_save_load(model, path):
    """A trained model saved as .keras loads back (safe mode) with the same generator and optimizers."""
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    inputs = model.export_example(4, seed=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.export_call(inputs)), keras.ops.convert_to_numpy(model.export_call(inputs)), atol=1e-6)
    for name in ("d_optimizer", "g_optimizer"):
        assert int(getattr(loaded, name).iterations) == int(getattr(model, name).iterations)
    return loaded


def check_export(model, directory, batch_sizes=(1, 7, 300)):
    """The export writes the contract's files, and its ONNX runs at several batch sizes like Keras."""
    card = export_generator(model, directory)
    on_disk = json.loads((directory / "card.json").read_text())
    assert on_disk == card
    for relative, digest in card["files"].items():
        assert sha256(directory / relative) == digest
    proto = onnx.load(str(directory / "generator.onnx"))
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert json.loads(metadata["latent_dim"]) == model.latent_dim
    assert metadata["layout"] == "NHWC"
    session = onnxruntime.InferenceSession(str(directory / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(model.export_inputs())
    assert [o.name for o in session.get_outputs()] == ["image"]
    for batch_size in batch_sizes:
        inputs = model.export_example(batch_size, seed=batch_size)
        image = session.run(["image"], inputs)[0]
        assert image.shape == (batch_size, *model.image_shape)
        np.testing.assert_allclose(image, keras.ops.convert_to_numpy(model.export_call(inputs)), atol=1e-4)
    assert image.min() >= -1.0 and image.max() <= 1.0
    reloaded = load_keras_model(directory)  # Keras rebuilt from the card and saved_model/'s variables
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded.export_call(inputs)), keras.ops.convert_to_numpy(model.export_call(inputs)), atol=1e-6)
    exported_bytes = sum(np.asarray(w).nbytes for network in model.sampling_networks().values() for w in network.weights)
    variables_bytes = (directory / "saved_model" / "variables" / "variables.data-00000-of-00001").stat().st_size
    assert variables_bytes < 1.05 * exported_bytes + 4096, "the SavedModel stores weights twice"
    return card


def check_ema(model, dataset, decay):
    """One generator step moves `ema_generator` to d·before + (1 − d)·after, and sampling uses it.

    d is `decay` held to the warm-up (1 + t) / (10 + t) at the first step, t = 1.
    """
    decay = min(decay, 2 / 11)
    trainable = [w.trainable for w in model.generator.weights]
    averaged_before = [np.array(w) for w in model.ema_generator.weights]
    for copy, weight in zip(averaged_before, model.generator.weights):
        np.testing.assert_array_equal(copy, np.array(weight))  # starts as a copy
    model.fit(dataset.take(1), epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 1
    for is_trainable, before, after, averaged in zip(trainable, averaged_before, model.generator.weights, model.ema_generator.weights):
        expected = decay * before + (1 - decay) * np.array(after) if is_trainable else np.array(after)
        np.testing.assert_allclose(np.array(averaged), expected, rtol=1e-5, atol=1e-6)
    inputs = model.export_example(3, seed=0)
    network_inputs = model.conditioned(inputs["z"], inputs.get("label"))
    by_model = keras.ops.convert_to_numpy(model.export_call(inputs))
    np.testing.assert_allclose(by_model, keras.ops.convert_to_numpy(model.ema_generator(network_inputs, training=False)), atol=1e-6)
    assert np.max(np.abs(by_model - keras.ops.convert_to_numpy(model.generator(network_inputs, training=False)))) > 1e-6, "sampling ignores the moving average"
