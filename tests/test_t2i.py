"""Text-to-image GANs: the compositional model and GAN-INT-CLS, trained, exported, caption to image."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from tests import harness
from zoo import captions, cli, lexicon, losses, runtime
from zoo.models import TextToImageGAN
from zoo.models.t2i import AffineModulation, AttentionMean, pretrain_text_encoder
from zoo.text import PromptWarning, Tokenizer
from zoo.training import train

ATTRIBUTES = {"class": 10, "colour": 8}


@pytest.fixture(scope="module")
def data(fashion_dir):
    return captions.colourised_fashion_mnist("train", limit=512, seed=0)


@pytest.fixture(scope="module")
def tokenizer(data):
    return Tokenizer.fit(data.captions, max_length=8)


@pytest.fixture(scope="module")
def batches(data, tokenizer):
    """Batches with attribute ids and composed captions, as `zoo train t2i` makes them."""
    return captions.matching_batches(data, tokenizer, batch_size=16, seed=0, attributes=True, compose=True)


@pytest.fixture(scope="module")
def plain_batches(data, tokenizer):
    return captions.matching_batches(data, tokenizer, batch_size=16, seed=0)


def small_t2i(tokenizer, **kwargs):
    options = {"latent_dim": 8, "embedding_dim": 16, "condition_dim": 8, "g_filters": 4, "d_filters": 4, "seed": 0, "attributes": ATTRIBUTES, **kwargs}
    return TextToImageGAN(tokenizer=tokenizer, **options)


def small_baseline(tokenizer, **kwargs):
    return TextToImageGAN.gan_int_cls(tokenizer=tokenizer, latent_dim=8, embedding_dim=16, condition_dim=8, g_filters=4, d_filters=4, seed=0, **kwargs)


def pretrain(gan, data, tokenizer, epochs=2):
    targets = {"class": (data.labels, 10), "colour": (data.colours, 8)}
    return pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), targets, epochs=epochs, batch_size=64)


@pytest.fixture(scope="module")
def trained(data, tokenizer, batches):
    """A tiny model with a pretrained, frozen text encoder, after a few real GAN steps."""
    keras.utils.set_random_seed(0)
    gan = small_t2i(tokenizer, ema_decay=0.9)
    pretrain(gan, data, tokenizer)
    gan.compile(jit_compile=False)
    gan.fit(batches, epochs=1, steps_per_epoch=3, verbose=0)
    return gan


@pytest.mark.backend
@pytest.mark.parametrize("variant", ["compositional", "gan_int_cls"])
def test_a_short_real_training_gives_finite_losses_and_leaves_the_text_encoder_frozen(data, tokenizer, batches, plain_batches, variant):
    gan = small_t2i(tokenizer) if variant == "compositional" else small_baseline(tokenizer)
    pretrain(gan, data, tokenizer, epochs=1)
    encoder_before = [np.array(w) for w in gan.text_encoder.weights]
    gan.compile(jit_compile=False)
    history = harness.check_trains(gan, batches if variant == "compositional" else plain_batches, steps=3)
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


def test_the_attention_mean_is_a_weighted_mean_of_the_words_that_ignores_padding():
    vectors = np.array([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]], np.float32)
    tokens = np.array([[4, 7, 0]])
    equal = AttentionMean()(vectors, np.zeros((1, 3, 1), np.float32), tokens)
    np.testing.assert_allclose(equal, [[0.5, 0.5]], atol=1e-6)  # padding (id 0) has no weight
    scores = np.array([[[0.0], [np.log(3.0)], [9.0]]], np.float32)
    np.testing.assert_allclose(AttentionMean()(vectors, scores, tokens), [[0.25, 0.75]], atol=1e-6)


def test_unknown_word_ids_weigh_little_after_pretraining(data, tokenizer):
    """Token id 1 (an unknown word, as v1 tokenizers feed it) embeds close to the caption without it."""
    gan = small_t2i(tokenizer)
    pretrain(gan, data, tokenizer, epochs=6)
    base, other = tokenizer(["a red dress"]), tokenizer(["a blue coat"])
    noisy = np.concatenate([[[1]], base[:, :-1]], axis=1)  # "<unk> red dress"
    embed = lambda ids: np.array(gan.text_encoder(ids))[0]  # noqa: E731
    assert np.linalg.norm(embed(noisy) - embed(base)) < 0.5 * np.linalg.norm(embed(other) - embed(base))


def test_affine_modulation_starts_as_the_identity_and_is_linear_in_the_text():
    layer = AffineModulation(3)
    x, e = np.random.default_rng(0).standard_normal((2, 4, 4, 3)).astype(np.float32), np.ones((2, 5), np.float32)
    np.testing.assert_allclose(layer(x, e), x, atol=1e-6)
    layer.scale.kernel.assign(np.random.default_rng(1).standard_normal((5, 3)))
    a, b = np.eye(5, dtype=np.float32)[[0, 0]], np.eye(5, dtype=np.float32)[[1, 1]]
    zero = np.zeros_like(a)
    combined = np.array(layer(x, a + b)) - np.array(layer(x, a)) - np.array(layer(x, b)) + np.array(layer(x, zero))
    np.testing.assert_allclose(combined, 0.0, atol=1e-5)


def test_the_projection_discriminator_judges_words_separately(trained):
    """Projection: D(x, e) = ψ(φ(x)) + (Ve)ᵀφ(x) is affine in e, so the text terms of two
    embeddings add: D(x, e₁ + e₂) = D(x, e₁) + D(x, e₂) − D(x, 0)."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 28, 28, 3)).astype(np.float32)
    e1, e2 = rng.standard_normal((2, 4, 16)).astype(np.float32)

    def logit(e):
        return np.array(trained.discriminator([images, e], training=False)[0], np.float64)

    np.testing.assert_allclose(logit(e1 + e2), logit(e1) + logit(e2) - logit(np.zeros_like(e1)), atol=1e-4)


def test_gan_int_cls_is_reeds_architecture(tokenizer):
    baseline = small_baseline(tokenizer)
    assert (baseline.text_pooling, baseline.modulation, baseline.projection, baseline.attributes) == ("conv", False, False, {})
    names = {layer.name for layer in baseline.discriminator.layers}
    assert "text_projection" not in names and not any(name.endswith("_logits") for name in names)
    assert not any(isinstance(layer, AffineModulation) for layer in baseline.generator.layers)
    assert any(isinstance(layer, AffineModulation) for layer in small_t2i(tokenizer).generator.layers)


def test_discriminator_loss_is_reeds_matching_aware_loss_plus_the_attribute_heads(trained, data, tokenizer):
    """L_D = BCE(real, right) + ½·BCE(real, wrong → fake) + ½·BCE(fake, right → fake) + CE(class) + CE(colour), computed apart."""
    images = keras.ops.convert_to_tensor(captions.fashion_data.to_unit_range(data.images[:8]))
    batch = {"images": images, "tokens": tokenizer(data.captions[:8]), "wrong_tokens": tokenizer(data.captions[8:16]), "class": data.labels[:8], "colour": data.colours[:8]}
    _, condition = trained.unpack_batch(batch)
    fakes = trained.generator([keras.random.normal((8, trained.latent_dim), seed=1), condition["text"]], training=True)
    loss, _ = trained.discriminator_objective(images, fakes, condition)

    def outputs(pixels, text):
        return [np.array(o, np.float64) for o in trained.discriminator([pixels, text], training=True)]

    def softplus(x):
        return np.logaddexp(0.0, x)

    def cross_entropy(logits, ids):
        logits = logits - logits.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(ids)), ids])

    real, mismatch, fake = outputs(images, condition["text"]), outputs(images, condition["wrong"]), outputs(fakes, condition["text"])
    expected = np.mean(softplus(-real[0])) + 0.5 * np.mean(softplus(mismatch[0])) + 0.5 * np.mean(softplus(fake[0]))
    expected += cross_entropy(real[1], data.labels[:8]) + cross_entropy(real[2], data.colours[:8])
    np.testing.assert_allclose(float(loss), expected, rtol=1e-4)


def test_the_mismatched_caption_term_drives_the_discriminator_update(tokenizer, batches):
    """Two identical models stepped on batches that differ only in their wrong captions report
    different discriminator losses: the training step uses the mismatched pairs."""
    batch = batches[0]
    other_wrong = dict(batch, wrong_tokens=np.roll(batch["wrong_tokens"], 3, axis=0))
    logs = []
    for data in (batch, other_wrong):
        keras.utils.set_random_seed(0)
        gan = small_t2i(tokenizer)
        gan.compile(jit_compile=False)
        logs.append({key: float(value) for key, value in gan.train_step(data).items()})
    assert logs[0]["d_loss"] != pytest.approx(logs[1]["d_loss"], abs=1e-6)
    assert logs[0]["p_real"] == pytest.approx(logs[1]["p_real"], abs=1e-6)  # the rest of the step is the same


def test_composed_captions_reach_the_generators_loss(tokenizer, batches):
    batch = batches[0]
    other = dict(batch, composed_class=(batch["composed_class"] + 1) % 10)
    g_losses = []
    for data in (batch, other):
        keras.utils.set_random_seed(0)
        gan = small_t2i(tokenizer)
        gan.compile(jit_compile=False)
        g_losses.append(float(gan.train_step(data)["g_loss"]))
    assert g_losses[0] != pytest.approx(g_losses[1], abs=1e-6)


def test_composed_captions_draw_every_pair_from_text_alone():
    texts, labels, colours = captions.composed_captions(4000, np.random.default_rng(0))
    assert len(set(zip(labels.tolist(), colours.tolist()))) == 80  # held-out pairs too: as text, never as images
    for text, label, colour in zip(texts[:50], labels, colours):
        assert captions.COLOUR_NAMES[colour] in text
        assert any(noun in text for noun in captions.CLASS_NOUNS[label])


def test_matching_batches_hold_no_image_of_a_held_out_pair(data, batches):
    for index in range(len(batches)):
        batch = batches[index]
        pairs = set(zip(batch["class"].tolist(), batch["colour"].tolist()))
        assert not pairs & captions.HELD_OUT_IDS
        assert batch["images"].shape == (16, 28, 28, 3) and batch["composed_tokens"].shape == (8, 8)


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


@pytest.mark.parametrize("options", [{"diversity_weight": 0.0, "interpolation": False}, {"loss_fn": "hinge"}, {"loss_fn": "least_squares"}, {"loss_fn": "minimax"}])
def test_without_interpolation_or_mode_seeking_and_with_each_loss_it_takes_it_trains_too(tokenizer, batches, options):
    loss_fn = options.pop("loss_fn", "non_saturating")
    gan = small_t2i(tokenizer, **options)
    gan.compile(loss_fn=loss_fn, jit_compile=False)
    harness.check_trains(gan, batches, steps=2)


def test_config_round_trips(tokenizer):
    clone = harness.check_config_round_trip(small_t2i(tokenizer, ema_decay=0.99, diversity_weight=0.5, projection=False))
    assert clone.tokenizer.spec() == tokenizer.spec() and clone.attributes == ATTRIBUTES
    harness.check_config_round_trip(small_baseline(tokenizer))


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
    assert [golden["caption"] for golden in spec["golden"]] == list(lexicon.GOLDEN_CAPTIONS)
    assert card["conditioning"]["discriminator"].startswith("projection")


def test_onnx_turns_a_caption_into_the_same_images_as_python(trained, exported):
    generator = runtime.load(exported[0])
    for prompt in ("a red dress", "Ankle boot, BLUE!", "the dress is green"):
        np.testing.assert_allclose(generator.generate(6, seed=3, prompt=prompt), trained.generate(6, seed=3, prompt=prompt), atol=1e-4)
    prompts = ["a red dress", "blue coat", "bag, white"]
    np.testing.assert_allclose(generator.generate(3, seed=4, prompt=prompts), trained.generate(3, seed=4, prompt=prompts), atol=1e-4)
    chunks = np.concatenate(list(generator.iter_batches(5, seed=3, batch_size=2, prompt="a red dress")))
    np.testing.assert_allclose(chunks, generator.generate(5, seed=3, prompt="a red dress"), atol=1e-6)


def test_the_baseline_exports_too(data, tokenizer, plain_batches, tmp_path):
    gan = small_baseline(tokenizer)
    pretrain(gan, data, tokenizer, epochs=1)
    gan.compile(jit_compile=False)
    gan.fit(plain_batches, epochs=1, steps_per_epoch=1, verbose=0)
    harness.check_export(gan, tmp_path / "baseline", batch_sizes=(1, 5))


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
def test_one_pass_updates_and_a_gradient_penalty_are_refused(tokenizer):
    for update in ("simultaneous", "reuse"):
        with pytest.raises(ValueError, match=f"update='alternating' only, got '{update}'"):
            small_t2i(tokenizer).compile(update=update)
    with pytest.raises(ValueError, match="gradient penalty"):
        small_t2i(tokenizer).compile(loss_fn="wgan_gp")


@pytest.mark.inputs
def test_batches_without_what_the_model_needs_are_refused_with_the_key_named(tokenizer, plain_batches):
    gan = small_t2i(tokenizer)
    gan.compile(jit_compile=False)
    with pytest.raises(ValueError, match="'class'"):
        gan.train_step(plain_batches[0])
    with pytest.raises(ValueError, match="wrong_tokens"):
        gan.train_step({"images": plain_batches[0]["images"], "tokens": plain_batches[0]["tokens"]})


@pytest.mark.inputs
@pytest.mark.parametrize("attributes, message", [({"tokens": 3}, "batch's own keys"), ({"class": 0}, "class"), (["class"], "dict")])
def test_bad_attribute_heads_are_refused(tokenizer, attributes, message):
    with pytest.raises(ValueError, match=message):
        small_t2i(tokenizer, attributes=attributes)


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
    harness.check_trains(gan, captions.matching_batches(data, tokenizer, batch_size=8), steps=2)
    assert gan.generate(2, seed=0, prompt="a red disc").shape == (2, 32, 32, 3)


@pytest.mark.inputs
@pytest.mark.parametrize("data", [{"images": "photos"}, {"source": "tfds"}])
def test_t2i_refuses_other_data_naming_what_it_trains_on_and_leaves_no_run_folder(tmp_path, data):
    with pytest.raises(ValueError, match="t2i trains on colourised, captioned Fashion-MNIST"):
        train("t2i", tmp_path / "run", epochs=1, **data)
    assert not (tmp_path / "run").exists()


@pytest.mark.faults
def test_cli_trains_t2i_and_resumes_after_a_stop_with_both_optimizers(tmp_path, fashion_dir, capsys):
    run = tmp_path / "run"
    command = ["train", "t2i", "--limit", "160", "--batch-size", "16", "--latent-dim", "8", "--no-jit", "--out", str(run), "--log-dir", str(tmp_path / "logs")]
    assert cli.main([*command, "--epochs", "1"]) == 0
    session = json.loads((run / "training.json").read_text())["sessions"][-1]
    assert session["family"] == "t2i" and "text_encoder_pretraining" in session and "held-out" in session["dataset"]
    steps = len(captions.colourised_fashion_mnist("train", limit=160)) // 16
    assert cli.main([*command, "--epochs", "2"]) == 0  # the same command, more epochs: resumes
    assert "Resuming from" in capsys.readouterr().out
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    model = keras.models.load_model(run / "model.keras", safe_mode=True)
    d_steps, g_steps = int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)
    assert d_steps == g_steps and d_steps >= 2 * steps  # both optimizers carried on from the first run
    assert not model.text_encoder.trainable
    assert any((tmp_path / "logs").rglob("*tfevents*"))
    assert Image.open(run / "samples" / "epoch_002.png").mode == "RGB"


def test_eval_reports_seen_held_out_pairs_and_phrasings_beside_the_ceiling(trained, exported, tmp_path, fashion_dir, capsys):
    from zoo import t2i_metrics

    judge = tmp_path / "judge.keras"
    t2i_metrics.train_judge(judge, epochs=1, limit=2000, verbose=0)
    out = tmp_path / "eval.json"
    assert cli.main(["eval", str(exported[0]), "--judge", str(judge), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held-out pairs" in printed and "real test images (the ceiling)" in printed and "blue dress" in printed
    results = json.loads(out.read_text())
    assert set(results) >= {"seen", "held_out_pairs", "held_out_per_pair", "held_out_phrasings", "real_test_images", "spread", "targets"}
    assert len(results["held_out_per_pair"]) == 8
    assert results["held_out_pairs"]["class_min"] == min(pair["class"] for pair in results["held_out_per_pair"].values())
    assert results["real_test_images"]["colour"] > 0.5  # the judge (one short epoch) sees colours on real images: chance is 1/8
    assert 0.0 < results["spread"]["ratio"] < 10
    onnx_results = results
    keras_results = t2i_metrics.evaluate(trained, keras.models.load_model(judge, safe_mode=True))
    assert keras_results["seen"] == pytest.approx(onnx_results["seen"], abs=0.01)  # the same samples, Keras or onnxruntime


def test_the_sample_sheet_has_one_labelled_row_per_prompt(exported, tmp_path):
    from zoo import t2i_metrics

    prompts = (("a red dress", "seen pair"), ("a blue dress", "held-out pair"), ("my coat is white", "held-out phrasing"))
    path = t2i_metrics.draw_sheet(runtime.load(exported[0]), tmp_path / "sheet.png", prompts, per_prompt=4, scale=2)
    sheet = np.asarray(Image.open(path).convert("RGB"))
    row = (28 + 2) * 2 + 2 * 2  # one tile with its border, scaled, and the grid's outer border
    assert sheet.shape[0] == 3 * row and sheet.shape[1] > 4 * 28 * 2
    labels = sheet[:, :200]
    assert all((labels[i * row : (i + 1) * row] < 128).any() for i in range(3))  # text in every row's label column
