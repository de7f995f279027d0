"""ConditionalGAN: labels to both networks, classes by name or id, export with a `label` input."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
from PIL import Image

from tests import harness
from zoo import data
from zoo.batches import ArrayBatches
from zoo.cli import main
from zoo.latent import sample_latent
from zoo.models import ConditionalGAN


def small_cgan(**kwargs):
    return ConditionalGAN(latent_dim=16, g_filters=8, d_filters=8, embedding_dim=8, seed=0, **kwargs)


@pytest.fixture(scope="module")
def trained_cgan(labelled_batches):
    cgan = small_cgan()
    cgan.compile()
    cgan.fit(labelled_batches.take(3), epochs=1, verbose=0)
    return cgan


@pytest.mark.parametrize("projection, spectral_norm", [(False, False), (True, False), (True, True), (False, True)])
def test_a_few_real_training_steps_move_weights_with_finite_losses(labelled_batches, projection, spectral_norm):
    cgan = small_cgan(projection=projection, spectral_norm=spectral_norm)
    cgan.compile(loss_fn="hinge" if spectral_norm else "non_saturating")
    kinds = {type(layer).__name__ for layer in cgan.discriminator.layers}
    assert ("SpectralNormalization" in kinds) == spectral_norm and ("BatchNormalization" in kinds) != spectral_norm
    history = harness.check_trains(cgan, labelled_batches)
    assert set(history.history) == {"d_loss", "g_loss", "p_real", "p_fake"}


def test_the_projection_discriminator_projects_the_label_onto_the_features():
    cgan = small_cgan(projection=True)
    kinds = [type(layer).__name__ for layer in cgan.discriminator.layers]
    assert "Dot" in kinds and "Concatenate" not in kinds
    images = cgan.generate(4, seed=0, labels=0)
    scores = [np.asarray(cgan.discriminator([images, np.full(4, label)])) for label in (0, 1)]
    assert np.max(np.abs(scores[0] - scores[1])) > 0  # the score depends on the label


@pytest.mark.backend
def test_the_moving_average_takes_labels_like_the_generator(labelled_batches):
    cgan = small_cgan(ema_decay=0.9)
    cgan.compile()
    harness.check_ema(cgan, labelled_batches, decay=0.9)


@pytest.mark.inputs
@pytest.mark.backend
def test_unlabelled_batches_are_refused_with_a_hint(real_batches):
    cgan = small_cgan()
    cgan.compile()
    with pytest.raises(ValueError, match="with_labels=True"):
        cgan.fit(real_batches.take(1), epochs=1, verbose=0)


def test_class_names_and_ids_name_the_same_images(trained_cgan):
    by_name = trained_cgan.generate(labels=["dress", "Sandal", "ankle boot"], seed=0)
    by_id = trained_cgan.generate(labels=[3, 5, 9], seed=0)
    by_text = trained_cgan.generate(labels="dress,5,Ankle Boot", seed=0)
    assert by_name.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(by_name, by_id)
    np.testing.assert_array_equal(by_name, by_text)


def test_one_label_fills_n_images_and_the_label_changes_the_image(trained_cgan):
    z = sample_latent(4, 16, seed=1)
    bags = trained_cgan.generate(4, seed=1, labels="bag")
    np.testing.assert_array_equal(bags, trained_cgan.generate(z=z, labels=[8, 8, 8, 8]))
    trousers = trained_cgan.generate(z=z, labels="trouser")
    assert np.max(np.abs(bags - trousers)) > 1e-4  # small in a barely trained model, but there


def test_without_labels_the_classes_come_in_turn(trained_cgan):
    z = sample_latent(12, 16, seed=2)
    np.testing.assert_array_equal(trained_cgan.generate(z=z), trained_cgan.generate(z=z, labels=list(range(10)) + [0, 1]))


@pytest.mark.inputs
@pytest.mark.parametrize(
    "labels, message",
    [
        ("dres", r"Unknown class 'dres'; the classes are: 0 t-shirt/top, 1 trouser, .* 9 ankle boot"),
        (10, r"Class id 10 is out of range; the classes are: 0 t-shirt/top"),
        ([-1], r"Class id -1 is out of range"),
        ([2.5], r"class id or name, got 2.5"),
        ([True], r"class id or name, got True"),
        ([], r"No labels given"),
        ("--3", r"Unknown class '--3'; the classes are: 0 t-shirt/top"),
        ("²", r"Unknown class '²'; the classes are: 0 t-shirt/top"),
        ("٣", r"Unknown class '٣'; the classes are"),  # Arabic-Indic 3: Python's int() reads it, the apps do not
    ],
)
def test_an_unknown_class_is_refused_with_the_list_of_classes(trained_cgan, labels, message):
    with pytest.raises(ValueError, match=message):
        trained_cgan.generate(4, labels=labels)


def test_export_has_inputs_z_and_int64_label_and_the_card_lists_the_classes(trained_cgan, tmp_path):
    card = harness.check_export(trained_cgan, tmp_path / "cgan")
    assert card["classes"] == list(data.CLASS_NAMES)
    assert card["inputs"]["label"] == {"shape": ["batch"], "dtype": "int64", "range": [0, 9]}  # the valid class ids
    session = onnxruntime.InferenceSession(str(tmp_path / "cgan" / "generator.onnx"), providers=["CPUExecutionProvider"])
    label_input = session.get_inputs()[1]
    assert (label_input.name, label_input.type, len(label_input.shape)) == ("label", "tensor(int64)", 1)
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "cgan" / "generator.onnx")).metadata_props}
    assert json.loads(metadata["classes"])[3] == "dress"
    z = sample_latent(2, 16, seed=0)
    dresses = session.run(["image"], {"z": z, "label": np.array([3, 3], np.int64)})[0]
    np.testing.assert_allclose(dresses, trained_cgan.generate(z=z, labels="dress"), atol=1e-4)


def test_saves_and_loads_with_its_class_names(trained_cgan, tmp_path):
    loaded = harness.check_save_load(trained_cgan, tmp_path / "cgan.keras")
    assert loaded.class_names == trained_cgan.class_names
    np.testing.assert_array_equal(loaded.generate(2, seed=0, labels="coat"), trained_cgan.generate(2, seed=0, labels="coat"))


def test_config_round_trips_with_custom_classes():
    clone = harness.check_config_round_trip(
        ConditionalGAN(latent_dim=8, image_shape=(32, 32, 3), class_names=["cat", "dog", "bird"], g_filters=4, d_filters=4, projection=True, ema_decay=0.9)
    )
    assert clone.generate(labels=["bird", "cat"], seed=0).shape == (2, 32, 32, 3)
    numbered = ConditionalGAN(latent_dim=8, num_classes=3, g_filters=4, d_filters=4)
    assert numbered.class_names == ("0", "1", "2") and numbered.generate(labels="2", seed=0).shape == (1, 28, 28, 1)


@pytest.mark.inputs
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"class_names": ["a"]}, "at least two"),
        ({"class_names": "ab"}, "class_names"),
        ({"class_names": ["a", "A"]}, "differ"),
        ({"class_names": ["a", ""]}, "non-empty"),
        ({"class_names": ["a,b", "c"]}, "cannot hold commas .* got \\['a,b'\\]"),  # labels="a,b" asks for a and b
        ({"class_names": [" a", "c"]}, "start or end with spaces"),
        ({"class_names": ["a", "b"], "num_classes": 3}, "num_classes"),
        ({"num_classes": 0}, "num_classes"),
        ({"image_shape": (28, 32, 1)}, "square"),
        ({"embedding_dim": 0}, "embedding_dim"),
    ],
)
def test_bad_constructor_values_are_refused_with_the_argument_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConditionalGAN(**kwargs)


def test_command_line_trains_cgan_and_samples_a_class_by_name(tmp_path, fashion_dir, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # `train cgan` writes runs/cgan/, `sample cgan` reads it
    assert main(["train", "cgan", "--epochs", "1", "--limit", "128", "--batch-size", "64", "--latent-dim", "8", "--no-jit", "--loss", "hinge"]) == 0
    record = json.loads((tmp_path / "runs" / "cgan" / "training.json").read_text())
    assert record["family"] == "cgan" and record["loss"] == "hinge"

    assert main(["sample", "cgan", "--label", "dress", "-n", "16", "--scale", "1", "-o", "keras.png"]) == 0
    assert Image.open("keras.png").size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    assert main(["export", "runs/cgan/model.keras", "artifact"]) == 0
    assert main(["sample", "artifact", "--label", "3", "-n", "16", "--scale", "1", "-o", "onnx.png"]) == 0
    difference = np.abs(np.asarray(Image.open("keras.png"), int) - np.asarray(Image.open("onnx.png"), int))
    assert difference.max() <= 1  # same seed and class, same images through Keras and onnxruntime
    capsys.readouterr()

    assert main(["sample", "artifact", "--label", "dres", "-n", "4", "-o", "bad.png"]) == 2
    assert "Unknown class 'dres'; the classes are: 0 t-shirt/top" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.inputs
@pytest.mark.backend
def test_more_labels_than_images_and_ids_out_of_range_are_refused(trained_cgan):
    with pytest.raises(ValueError, match="3 labels for 2 images"):
        trained_cgan.generate(2, labels=[1, 2, 3], seed=0)
    z = sample_latent(2, trained_cgan.latent_dim, 0)
    for label in (-1, 10, 2**40):  # Keras casts the label to int32: 2**40 became class 0
        with pytest.raises(ValueError, match=f"`label` holds class ids outside \\[0, 9\\]: {label}"):
            trained_cgan.generate_from({"z": z, "label": np.array([label, 0], np.int64)})
    assert trained_cgan.input_ranges() == {"label": (0, 9)}


@pytest.mark.inputs
@pytest.mark.backend
@pytest.mark.parametrize("change, message", [
    (lambda images, labels: ((images + 1) * 127.5, labels), "values from 0 to 255 \\(0..255 pixels\\)"),
    (lambda images, labels: (np.rint((images + 1) * 127.5).astype(np.uint8), labels), "values from 0 to 255"),
    (lambda images, labels: (np.repeat(images, 3, axis=-1), labels), "\\(28, 28, 3\\) per image \\(3 channels; the model has 1\\)"),
    (lambda images, labels: (images[:, :27], labels), "\\(27, 28, 1\\) per image"),
    (lambda images, labels: (images, labels + 10), "`labels` holds class ids outside \\[0, 9\\]"),
])
def test_training_data_of_the_wrong_shape_channels_range_or_classes_is_refused_before_training(labelled_batches, change, message):
    images, labels = next(iter(labelled_batches))
    images, labels = change(np.asarray(images), np.asarray(labels))
    gan = small_cgan()
    gan.compile()
    with pytest.raises(ValueError, match=message):
        gan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    import tensorflow as tf

    with pytest.raises(ValueError, match=message):  # and as a tf.data pipeline
        gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(16), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):  # and as the PyDataset JAX trains from without TensorFlow
        gan.fit(ArrayBatches((images, labels), 16), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 0
