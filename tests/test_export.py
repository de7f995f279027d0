"""Export of a generator to generator.onnx + saved_model/ + card.json, with parity."""

import json

import numpy as np
import pytest

from tests import harness
from zoo.export import ExportError, export_generator, load_keras_model
from zoo.models import DCGAN


@pytest.fixture(scope="module")
def trained_dcgan(real_batches):
    gan = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    gan.fit(real_batches.take(3), epochs=1, verbose=0)
    return gan


def test_export_matches_keras_at_batch_1_7_and_300(trained_dcgan, tmp_path):
    card = harness.check_export(trained_dcgan, tmp_path / "dcgan")
    assert card["family"] == "dcgan" and card["latent_dim"] == 16
    assert card["image_shape"] == [28, 28, 1] and card["output_range"] == [-1.0, 1.0]
    assert set(card["files"]) >= {"generator.onnx", "saved_model/saved_model.pb"}
    assert card["parity"]["atol"] == 1e-4


def test_saved_model_serves_the_same_images(trained_dcgan, tmp_path):
    import tensorflow as tf

    export_generator(trained_dcgan, tmp_path / "dcgan")
    serve = tf.saved_model.load(str(tmp_path / "dcgan" / "saved_model")).signatures["serving_default"]
    z = trained_dcgan.export_example(9, seed=4)["z"]
    np.testing.assert_allclose(serve(z=tf.constant(z))["image"].numpy(), trained_dcgan.generate(z=z), atol=1e-5)


class DriftingDCGAN(DCGAN):
    """A generator whose exported graph disagrees with what Keras computes eagerly."""

    def export_call(self, inputs):
        images = super().export_call(inputs)
        return images + 0.5 if isinstance(inputs["z"], np.ndarray) else images


@pytest.mark.files
def test_a_parity_failure_raises_and_leaves_the_previous_artifact_whole(trained_dcgan, tmp_path):
    target = tmp_path / "dcgan"
    good = export_generator(trained_dcgan, target)
    drifting = DriftingDCGAN(latent_dim=16, g_filters=8, d_filters=8)
    with pytest.raises(ExportError, match="differs from Keras"):
        export_generator(drifting, target)
    assert json.loads((target / "card.json").read_text()) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dcgan"]  # no half-written staging folder


def test_refuses_to_replace_an_artifact_unless_asked(trained_dcgan, tmp_path):
    export_generator(trained_dcgan, tmp_path / "dcgan")
    with pytest.raises(FileExistsError):
        export_generator(trained_dcgan, tmp_path / "dcgan", overwrite=False)


@pytest.mark.files
def test_reloading_refuses_cards_that_name_classes_outside_the_zoo_or_carry_no_keras_weights(trained_dcgan, tmp_path):
    card = export_generator(trained_dcgan, tmp_path / "dcgan")
    for change, message in (
        ({"keras": {**card["keras"], "module": "os"}}, "outside the zoo"),
        ({"keras": {**card["keras"], "class": "zoo>NoSuchGAN"}}, "unknown model class"),
        ({"format_version": 1}, "no Keras weights"),
    ):
        (tmp_path / "dcgan" / "card.json").write_text(json.dumps({**card, **change}))
        with pytest.raises(ValueError, match=message):
            load_keras_model(tmp_path / "dcgan")
