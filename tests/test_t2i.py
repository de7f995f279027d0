"""Text-to-image GAN (GAN-INT-CLS): training, the matching-aware loss, export, caption to image."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from tests import harness
from zoo import captions, cli, losses, runtime
from zoo.models import TextToImageGAN
from zoo.models.t2i import pretrain_text_encoder
from zoo.text import PromptWarning, Tokenizer


@pytest.fixture(scope="module")
def data(fashion_dir):
    return captions.colourised_fashion_mnist("train", limit=512, seed=0)


@pytest.fixture(scope="module")
def tokenizer(data):
    return Tokenizer.fit(data.captions, max_length=8)


@pytest.fixture(scope="module")
def batches(data, tokenizer):
    return captions.matching_dataset(data, tokenizer, batch_size=16, seed=0)


def small_t2i(tokenizer, **kwargs):
    return TextToImageGAN(
        tokenizer.vocabulary, tokenizer.max_length, latent_dim=8, embedding_dim=16, condition_dim=8, g_filters=4, d_filters=4, seed=0, **kwargs
    )


@pytest.fixture(scope="module")
def trained(data, tokenizer, batches):
    """A tiny model with a pretrained, frozen text encoder, after a few real GAN steps."""
    keras.utils.set_random_seed(0)
    gan = small_t2i(tokenizer)
    targets = {"class": (data.labels, 10), "colour": (data.colours, 8)}
    pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), targets, epochs=2, batch_size=64)
    gan.compile(jit_compile=False)
    gan.fit(batches.take(3), epochs=1, verbose=0)
    return gan


def test_a_short_real_training_gives_finite_losses_and_leaves_the_text_encoder_frozen(data, tokenizer, batches):
    gan = small_t2i(tokenizer)
    pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), {"class": (data.labels, 10)}, epochs=1)
    encoder_before = [np.array(w) for w in gan.text_encoder.weights]
    gan.compile(jit_compile=False)
    history = harness.check_trains(gan, batches, steps=4)
    assert set(history.history) == {"d_loss", "g_loss", "p_real", "p_fake", "p_mismatch"}
    assert np.isfinite(history.history["p_mismatch"][-1])
    for before, after in zip(encoder_before, gan.text_encoder.weights):
        np.testing.assert_array_equal(before, np.array(after))


def test_pretraining_teaches_the_text_encoder_what_captions_describe(data, tokenizer):
    encoder = small_t2i(tokenizer).text_encoder
    history = pretrain_text_encoder(encoder, tokenizer(data.captions), {"colour": (data.colours, 8)}, epochs=8, batch_size=32)
    assert history.history["accuracy"][-1] > 0.9
    assert not encoder.trainable
    bag_of_words = pretrain_text_encoder(small_t2i(tokenizer).text_encoder, tokenizer(data.captions), {}, epochs=1)
    assert np.isfinite(bag_of_words.history["loss"][-1])  # data without attributes: a bag-of-words target


def test_discriminator_loss_is_reeds_matching_aware_loss(trained, data, tokenizer):
    """L_D = BCE(real, right) + ½·BCE(real, wrong → fake) + ½·BCE(fake, right → fake), computed apart."""
    images = keras.ops.convert_to_tensor(captions.fashion_data.to_unit_range(data.images[:8]))
    right = trained.text_encoder(tokenizer(data.captions[:8]))
    wrong = trained.text_encoder(tokenizer(data.captions[8:16]))
    z = keras.random.normal((8, trained.latent_dim), seed=1)
    loss, _ = trained.discriminator_loss(images, right, wrong, z)

    def logits(pixels, text):
        return np.array(trained.discriminator([pixels, text], training=True), np.float64)

    def softplus(x):
        return np.logaddexp(0.0, x)

    fakes = trained.generator([z, right], training=True)
    expected = np.mean(softplus(-logits(images, right))) + 0.5 * np.mean(softplus(logits(images, wrong))) + 0.5 * np.mean(softplus(logits(fakes, right)))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-4)


def test_the_mismatched_caption_term_drives_the_discriminator_update(tokenizer, batches):
    """Two identical models stepped on batches that differ only in their wrong captions report
    different discriminator losses: the training step uses the mismatched pairs."""
    batch = next(iter(batches))
    other_wrong = dict(batch, wrong_tokens=np.roll(batch["wrong_tokens"].numpy(), 3, axis=0))
    logs = []
    for data in (batch, other_wrong):
        keras.utils.set_random_seed(0)
        gan = small_t2i(tokenizer)
        gan.compile(jit_compile=False)
        logs.append({key: float(value) for key, value in gan.train_step(data).items()})
    assert logs[0]["d_loss"] != pytest.approx(logs[1]["d_loss"], abs=1e-6)
    assert logs[0]["p_real"] == pytest.approx(logs[1]["p_real"], abs=1e-6)  # the rest of the step is the same


def test_matching_aware_loss_weighs_mismatched_and_generated_pairs_by_half_in_any_loss():
    real, mismatch, fake = np.array([[2.0], [1.0]]), np.array([[0.5], [-1.0]]), np.array([[-2.0], [3.0]])
    loss = losses.get("least_squares")
    from zoo.models.t2i import matching_aware_discriminator_loss

    combined = float(matching_aware_discriminator_loss(loss, real, mismatch, fake))
    expected = 0.5 * np.mean((real - 1.0) ** 2) + 0.5 * (0.5 * np.mean(mismatch**2) + 0.5 * np.mean(fake**2))
    assert combined == pytest.approx(expected)


def test_mode_seeking_penalty_is_large_when_two_noises_give_one_image():
    from zoo.models.t2i import mode_seeking_penalty

    z, other_z = np.zeros((2, 4), np.float32), np.full((2, 4), 2.0, np.float32)
    images = np.zeros((2, 3, 3, 1), np.float32)
    assert float(mode_seeking_penalty(images, images + 0.5, z, other_z)) == pytest.approx(1.0 / (0.25 + 1e-5))
    assert float(mode_seeking_penalty(images, images, z, other_z)) == pytest.approx(1e5)


def test_paper_loss_alone_trains_too(tokenizer, batches):
    gan = small_t2i(tokenizer, diversity_weight=0.0)
    gan.compile(jit_compile=False)
    harness.check_trains(gan, batches, steps=2)


def test_config_round_trips(tokenizer):
    clone = harness.check_config_round_trip(small_t2i(tokenizer, ema_decay=0.99, diversity_weight=0.5))
    assert clone.tokenizer.vocabulary == tokenizer.vocabulary


def test_trained_model_saves_and_loads_with_its_tokenizer(trained, tmp_path):
    loaded = harness.check_save_load(trained, tmp_path / "t2i.keras")
    np.testing.assert_array_equal(loaded.generate(3, seed=2, prompt="a red dress"), trained.generate(3, seed=2, prompt="a red dress"))


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    directory = tmp_path_factory.mktemp("exports") / "t2i-fashion-mnist"
    card = harness.check_export(trained, directory)
    return directory, card


def test_export_takes_z_and_int64_tokens_and_ships_the_tokenizer(trained, exported):
    directory, card = exported
    assert card["inputs"] == {
        "z": {"shape": ["batch", trained.latent_dim], "dtype": "float32"},
        "tokens": {"shape": ["batch", trained.tokenizer.max_length], "dtype": "int64", "range": [0, trained.tokenizer.vocabulary_size - 1]},
    }
    spec = json.loads((directory / "card.json").read_text())["tokenizer"]
    assert Tokenizer.from_spec(spec).vocabulary == trained.tokenizer.vocabulary  # golden ids checked too
    assert {golden["caption"] for golden in spec["golden"]} >= {"a red dress", "a zebra-striped hat"}


def test_onnx_turns_a_caption_into_the_same_images_as_python(trained, exported):
    generator = runtime.load(exported[0])
    for prompt in ("a red dress", "Ankle boot, BLUE!", "the dress is green"):
        np.testing.assert_allclose(generator.generate(6, seed=3, prompt=prompt), trained.generate(6, seed=3, prompt=prompt), atol=1e-4)
    prompts = ["a red dress", "blue coat", "bag, white"]
    np.testing.assert_allclose(generator.generate(3, seed=4, prompt=prompts), trained.generate(3, seed=4, prompt=prompts), atol=1e-4)
    chunks = np.concatenate(list(generator.iter_batches(5, seed=3, batch_size=2, prompt="a red dress")))
    np.testing.assert_allclose(chunks, generator.generate(5, seed=3, prompt="a red dress"), atol=1e-6)


@pytest.mark.inputs
def test_unknown_words_are_dropped_with_a_warning_naming_them(trained, exported):
    generator = runtime.load(exported[0])
    with pytest.warns(PromptWarning, match="unknown words ignored: zebra, hat"):
        images = generator.generate(2, seed=0, prompt="a zebra hat in red")
    tokens = trained.tokenizer("a zebra hat in red")[0]
    assert list(tokens[:2]) == [trained.tokenizer.ids["red"], 0]  # fillers and unknown words are not fed
    np.testing.assert_allclose(images, trained.generate(2, seed=0, prompt="a zebra hat in red"), atol=1e-4)


def test_the_caption_changes_the_image(trained):
    red, blue = trained.generate(4, seed=0, prompt="a red dress"), trained.generate(4, seed=0, prompt="a blue coat")
    assert float(np.max(np.abs(red - blue))) > 1e-3


@pytest.mark.inputs
@pytest.mark.parametrize(
    "prompt, message",
    [(None, "needs a prompt"), ("", "holds no words"), ("!!!", "holds no words"), ("red " * 20 + "dress", "at most 8"), ("show me something", "names no garment or colour"), (["a red dress"] * 2, "2 prompts for 3")],
)
def test_bad_prompts_get_clear_errors_in_python_and_onnx(trained, exported, prompt, message):
    with pytest.raises(ValueError, match=message):
        trained.generate(3, seed=0, prompt=prompt)
    with pytest.raises(ValueError, match=message):
        runtime.load(exported[0]).generate(3, seed=0, prompt=prompt)


def test_cli_samples_a_prompt_from_the_t2i_artifact(exported, tmp_path, monkeypatch):
    directory, _ = exported
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "t2i-fashion-mnist").symlink_to(directory, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sample", "t2i", "--prompt", "a red dress", "-n", "16", "-o", "red.png", "--scale", "1"]) == 0
    picture = Image.open(tmp_path / "red.png")
    assert picture.mode == "RGB" and picture.size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)  # 4×4 tiles, 2-pixel borders


@pytest.mark.inputs
def test_cli_refuses_a_missing_or_empty_prompt_for_t2i_and_a_prompt_for_others(exported, tmp_path, capsys):
    directory, _ = exported
    assert cli.main(["sample", str(directory), "-o", str(tmp_path / "x.png")]) == 2
    assert "needs a prompt" in capsys.readouterr().err
    assert cli.main(["sample", str(directory), "--prompt", "", "-o", str(tmp_path / "x.png")]) == 2
    assert "holds no words" in capsys.readouterr().err


@pytest.mark.inputs
def test_cli_prints_how_a_prompt_was_read_and_refuses_one_without_garment_or_colour(exported, tmp_path, capsys):
    directory, _ = exported
    assert cli.main(["sample", str(directory), "--prompt", "Red dreses with zebra stripes", "-n", "2", "-o", str(tmp_path / "x.png")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == ["Read 'Red dreses with zebra stripes' as 'red dress' (typos dreses→dress; unknown words ignored: zebra, stripes)."]
    assert cli.main(["sample", str(directory), "--prompt", "show me something nice", "-o", str(tmp_path / "y.png")]) == 2
    assert "names no garment or colour this model knows (unknown words: nice)" in capsys.readouterr().err
    assert not (tmp_path / "y.png").exists()


@pytest.mark.inputs
def test_simultaneous_updates_are_refused(tokenizer):
    with pytest.raises(ValueError, match="alternating"):
        small_t2i(tokenizer).compile(update="simultaneous")


@pytest.mark.inputs
def test_a_vocabulary_without_padding_and_unknown_words_is_refused():
    with pytest.raises(ValueError, match="must start"):
        TextToImageGAN(["red", "dress"], 4)


@pytest.mark.inputs
@pytest.mark.parametrize("kwargs, message", [({"diversity_weight": -1}, "diversity_weight"), ({"image_shape": (28, 32, 3)}, "square"), ({"embedding_dim": 0}, "embedding_dim")])
def test_absurd_constructor_values_are_refused_with_the_argument_named(tokenizer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TextToImageGAN(tokenizer.vocabulary, tokenizer.max_length, **kwargs)


SHIPPED = __import__("pathlib").Path(__file__).resolve().parent.parent / "exports" / "t2i-fashion-mnist"


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="exports/t2i-fashion-mnist is not in this checkout")
@pytest.mark.parametrize("prompt, channel", [("a red dress", 0), ("green trousers", 1), ("a blue coat", 2)])
def test_the_shipped_artifact_draws_the_colour_it_is_asked_for(prompt, channel):
    """onnxruntime alone, the files of exports/t2i-fashion-mnist: the garment's pixels lean to the named colour."""
    images = runtime.load(SHIPPED).generate(16, seed=0, prompt=prompt)
    pixels = images.reshape(-1, 3)
    garment = pixels[pixels.max(axis=1) > 0.0]  # brighter than mid-grey: the garment, not the black ground
    means = garment.mean(axis=0)
    assert np.argmax(means) == channel, means


def test_your_own_captioned_folder_trains_at_32_pixels(tmp_path):
    """Bring-your-own data: a folder with captions.jsonl, no attributes, 32×32 images."""
    folder = tmp_path / "mine"
    folder.mkdir()
    rows = []
    for index, (colour, shape) in enumerate([("red", "square"), ("blue", "square"), ("green", "disc"), ("white", "disc")] * 4):
        Image.new("RGB", (40, 40), colour).save(folder / f"{index}.png")
        rows.append({"image": f"{index}.png", "caption": f"a {colour} {shape}"})
    (folder / "captions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    data = captions.load_captioned_folder(folder, image_size=32)
    tokenizer = Tokenizer.fit(data.captions, max_length=6)
    gan = TextToImageGAN(tokenizer.vocabulary, tokenizer.max_length, latent_dim=8, image_shape=(32, 32, 3), embedding_dim=16, condition_dim=8, g_filters=4, d_filters=4, seed=0)
    pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), {}, epochs=1)  # no attributes: bag of words
    gan.compile(jit_compile=False)
    harness.check_trains(gan, captions.matching_dataset(data, tokenizer, batch_size=8), steps=2)
    assert gan.generate(2, seed=0, prompt="a red disc").shape == (2, 32, 32, 3)
