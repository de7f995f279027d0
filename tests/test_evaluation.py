"""Scoring generators: the shipped classifier, `Evaluator` on Keras and ONNX generators, the FID
callback during `fit`, and `python -m zoo eval`."""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import cli, data, metrics
from zoo.callbacks import FIDMonitor
from zoo.classifier import DEFAULT_DIR, ClassifierFeatures, load_classifier
from zoo.export import export_generator
from zoo.models import DCGAN

N = 64


class RealImages:
    """A "generator" that returns real test images of the classes asked for: it should score at the floor."""

    conditional = True
    num_classes = 10
    latent_dim = 1

    def __init__(self):
        self.images, self.labels = data.load_arrays("test")

    def generate(self, n, seed=None, labels=None):
        rng = np.random.default_rng(1000 + seed)
        picks = [rng.choice(np.flatnonzero(self.labels == label)) for label in labels]
        return data.to_unit_range(self.images[picks])


@pytest.fixture(scope="module")
def evaluator(fashion_dir):
    return metrics.Evaluator(n=500)


@pytest.fixture(scope="module")
def tiny_dcgan():
    keras.utils.set_random_seed(0)
    return DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)


def test_shipped_classifier_is_small_checked_and_accurate():
    model, card = load_classifier()
    assert card["test_accuracy"] >= 0.88
    assert (DEFAULT_DIR / "classifier.keras").stat().st_size < 2_000_000
    features = ClassifierFeatures(model)(np.zeros((3, 28, 28, 1), np.float32))
    assert features.shape == (3, card["features"]["dim"])


def test_the_onnx_classifier_that_eval_runs_computes_the_keras_features():
    images = data.to_unit_range(data.load_arrays("test")[0][:300])
    onnx = ClassifierFeatures()  # classifier.onnx through onnxruntime: what `python -m zoo eval` runs
    assert onnx.name == "classifier-fashion-mnist" and onnx.card["files"].keys() == {"classifier.keras", "classifier.onnx"}
    keras_features, keras_logits = ClassifierFeatures(load_classifier()[0]).features_and_logits(images)
    onnx_features, onnx_logits = onnx.features_and_logits(images)
    np.testing.assert_allclose(onnx_features, keras_features, atol=1e-4)
    np.testing.assert_allclose(onnx_logits, keras_logits, atol=1e-4)


@pytest.mark.files
def test_a_tampered_onnx_classifier_is_refused(tmp_path):
    shutil.copytree(DEFAULT_DIR, tmp_path / "classifier")
    with open(tmp_path / "classifier" / "classifier.onnx", "r+b") as f:
        f.seek(-10, 2)
        f.write(b"0123456789")
    with pytest.raises(ValueError, match="classifier.onnx has sha256 .* the file was altered or is partial"):
        ClassifierFeatures(directory=tmp_path / "classifier")


@pytest.mark.files
def test_a_tampered_classifier_is_refused(tmp_path):
    shutil.copytree(DEFAULT_DIR, tmp_path / "classifier")
    with open(tmp_path / "classifier" / "classifier.keras", "r+b") as f:
        f.seek(-10, 2)
        f.write(b"0123456789")
    with pytest.raises(ValueError, match="has sha256 .* the file was altered or is partial"):
        load_classifier(tmp_path / "classifier")
    with pytest.raises(FileNotFoundError, match="No feature classifier in"):
        load_classifier(tmp_path / "missing")


def test_real_images_score_at_the_floor_and_are_classified(evaluator):
    results = evaluator.evaluate(RealImages(), name="real test images")
    assert evaluator.floor["fid"] > 0
    assert results["fid"] < 2 * evaluator.floor["fid"] + 1.0
    assert results["class_accuracy"] > 0.85
    assert results["precision"] > 0.6 and results["recall"] > 0.6


class Repeating:
    """A "generator" whose images are given: the degenerate generators below."""

    conditional = False
    latent_dim = 1

    def __init__(self, make):
        self.make = make

    def generate(self, n, seed=None):
        return np.asarray(self.make(n), np.float32)


def test_class_accuracy_asks_the_classifier_for_each_class_by_its_name(evaluator, tmp_path):
    from pathlib import Path

    from zoo import runtime

    published = Path(__file__).resolve().parent.parent / "exports" / "cgan-fashion-mnist"
    assert evaluator.evaluate(runtime.load(published))["class_accuracy"] > 0.8
    for classes, measured in ((list(reversed(data.CLASS_NAMES)), True), ([f"kind {i}" for i in range(10)], False)):
        folder = tmp_path / classes[0].replace("/", "-")
        shutil.copytree(published, folder)
        card = json.loads((folder / "card.json").read_text())
        (folder / "card.json").write_text(json.dumps({**card, "classes": classes}))
        results = evaluator.evaluate(runtime.load(folder))
        if measured:  # the same images under the reversed names: the classifier sees the wrong garment asked for
            assert results["class_accuracy"] < 0.3
        else:  # names the classifier does not know: no accuracy, and the report says why
            assert "class_accuracy" not in results and results["how"]["class_accuracy"].startswith("not measured")


@pytest.mark.inputs
def test_a_generator_of_other_images_is_refused_before_any_image_is_made(evaluator, real_batches):
    colour = DCGAN(latent_dim=8, image_shape=(32, 32, 3), g_filters=8, d_filters=8, seed=0)
    with pytest.raises(ValueError, match="This generator makes 32×32×3 images; zoo.metrics scores Fashion-MNIST generators, of 28×28×1"):
        evaluator.evaluate(colour)
    colour.compile()
    batches = tf.data.Dataset.from_tensor_slices(np.full((64, 32, 32, 3), -0.5, np.float32)).batch(32)
    monitor = FIDMonitor(every=1, n=N)
    with pytest.raises(ValueError, match="This generator makes 32×32×3 images"):  # before the first epoch trains
        colour.fit(batches, epochs=1, verbose=0, callbacks=[monitor])
    assert int(colour.g_optimizer.iterations) == 0


def test_broken_generators_score_at_the_bottom_and_real_images_at_the_top(fashion_dir):
    """At `eval`'s settings (10,000 images a set, Naeem et al.'s k = 5), constant images and noise
    score at the bottom on density, coverage, recall and FID, where k-NN precision is fooled (a
    real outlier's wide ball holds the all-black image: precision 1.000); real test images score
    at the top. A collapsed generator (one real image repeated) draws realistic images, so its
    fidelity stays high, and every diversity measure drops to the bottom.

    (At small n the real balls are wider and a constant image can sit in k of them: density is
    a count, reliable at the sample sizes it was designed for.)"""
    evaluator = metrics.Evaluator(n=10_000)
    real = {**evaluator.real_reference, "fid": evaluator.floor["fid"]}  # real test against real train
    test_images = data.to_unit_range(data.load_arrays("test")[0])
    rng = np.random.default_rng(0)
    broken = {
        "black": Repeating(lambda n: np.full((n, 28, 28, 1), -1.0)),
        "grey": Repeating(lambda n: np.zeros((n, 28, 28, 1))),
        "white": Repeating(lambda n: np.ones((n, 28, 28, 1))),
        "uniform noise": Repeating(lambda n: rng.uniform(-1, 1, (n, 28, 28, 1))),
        "collapsed": Repeating(lambda n: np.repeat(test_images[:1], n, axis=0)),
    }
    assert real["density"] > 0.95 and real["coverage"] > 0.95 and real["recall"] > 0.8 and real["fid"] < 1.0
    scores = {name: evaluator.evaluate(generator, name=name) for name, generator in broken.items()}
    assert scores["black"]["precision"] == 1.0  # the trap that density and coverage close
    for name, score in scores.items():
        assert score["coverage"] < 0.01 and score["recall"] < 0.01, score  # diversity: the bottom
        assert score["fid"] > 200 and score["kid"] > 1.0, score
        if name != "collapsed":  # fidelity: far below real images' 1.0, however precision is fooled
            assert score["density"] < 0.5 * real["density"], score


def test_an_untrained_generator_scores_far_from_the_floor_through_keras_and_onnx_alike(evaluator, tiny_dcgan, tmp_path):
    keras_results = evaluator.evaluate(tiny_dcgan)
    export_generator(tiny_dcgan, tmp_path / "tiny")
    onnx_results = evaluator.evaluate(tmp_path / "tiny")
    assert onnx_results["name"] == "tiny"
    assert keras_results["fid"] > 10 * evaluator.floor["fid"]
    # Its images are all nearly the same grey: none of the real variety is covered (recall 0),
    # while precision, which asks only whether samples fall inside the real manifold, need not be low.
    assert keras_results["recall"] < 0.05
    assert onnx_results["fid"] == pytest.approx(keras_results["fid"], rel=1e-3)
    assert "class_accuracy" not in keras_results


def test_any_feature_extractor_can_be_plugged_in(tiny_dcgan):
    pixels = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    by_model = metrics.evaluate(tiny_dcgan, n=N, extractor=pixels)
    by_callable = metrics.evaluate(tiny_dcgan, n=N, extractor=lambda images: images.reshape(len(images), -1))
    assert by_model["fid"] == pytest.approx(by_callable["fid"], rel=1e-5)
    assert by_model["fid_floor"] < by_model["fid"]


def test_inception_features_shape():
    extract = metrics.inception_features(weights=None, size=75)
    features = extract(np.zeros((3, 28, 28, 1), np.float32))
    assert features.shape == (3, 2048) and "InceptionV3" in extract.name


def test_fid_monitor_logs_to_history_and_tensorboard(tiny_dcgan, real_batches, tmp_path):
    tiny_dcgan.compile(jit_compile=False)
    monitor = FIDMonitor(every=1, n=N, log_dir=tmp_path / "logs", verbose=False)
    history = tiny_dcgan.fit(real_batches.take(2), epochs=2, callbacks=[monitor], verbose=0)
    assert len(history.history["fid"]) == 2 and all(np.isfinite(history.history["fid"]))
    assert all(0 <= value <= 1 for value in history.history["coverage"]) and all(value >= 0 for value in history.history["density"])
    assert [epoch for epoch, _ in monitor.history] == [1, 2]
    logged = {}
    for event_file in (tmp_path / "logs").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                logged[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert logged[("fid", 2)] == pytest.approx(history.history["fid"][1], rel=1e-6)
    assert logged[("coverage", 2)] == pytest.approx(history.history["coverage"][1], rel=1e-6)
    assert logged[("density", 1)] == pytest.approx(history.history["density"][0], rel=1e-6)
    assert logged[("fid_floor", 1)] == pytest.approx(monitor.evaluator.floor["fid"], rel=1e-6)


@pytest.mark.inputs
def test_fid_monitor_refuses_a_bad_period():
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        FIDMonitor(every=0)


def test_cli_eval_prints_a_table_and_writes_json(tiny_dcgan, tmp_path, capsys):
    export_generator(tiny_dcgan, tmp_path / "tiny")
    out = tmp_path / "eval.json"
    assert cli.main(["eval", str(tmp_path / "tiny"), "-n", str(N), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "FID floor" in printed and "tiny" in printed and "coverage" in printed and "Real test images score" in printed
    results = json.loads(out.read_text())
    assert results["how"]["n"] == N and results["fid"] > results["fid_floor"] > 0
    assert 0 <= results["coverage"] <= 1 and results["density"] >= 0 and results["how"]["real_test"]["coverage"] > 0.5


@pytest.mark.inputs
def test_cli_eval_replaces_only_its_own_earlier_report(tiny_dcgan, tmp_path, capsys):
    """A typo in -o loses nothing: a user's file or an artifact's card.json stays, refused before any work."""
    export_generator(tiny_dcgan, tmp_path / "tiny")
    card = (tmp_path / "tiny" / "card.json").read_text()
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    (tmp_path / "folder.json").mkdir()
    for output, message in (
        (notes, "eval writes JSON; give a file name ending in .json"),
        (tmp_path / "tiny" / "card.json", "card.json exists and is not an earlier eval report"),
        (tmp_path / "folder.json", "folder.json is a folder"),
        (notes / "report.json", "notes.md is a file, not a folder"),
    ):
        assert cli.main(["eval", str(tmp_path / "tiny"), "-n", str(N), "-o", str(output)]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and "Scoring" not in captured.out
    assert notes.read_text() == "mine" and (tmp_path / "tiny" / "card.json").read_text() == card
    assert cli.main(["eval", str(tmp_path / "tiny"), "-n", str(N), "--seed", "-1"]) == 2
    assert "`--seed` must be an integer in [0, " in capsys.readouterr().err
    report = tmp_path / "report.json"
    for seed in (0, 1):
        assert cli.main(["eval", str(tmp_path / "tiny"), "-n", str(N), "--seed", str(seed), "-o", str(report)]) == 0
    assert "(seed 1)" in json.loads(report.read_text())["how"]["real"]  # the earlier report was replaced


@pytest.mark.inputs
def test_cli_eval_refuses_a_users_file_at_its_default_report_name_before_scoring(fashion_dir, tmp_path, monkeypatch, capsys):
    """Without -o the report is eval-<name>.json here: a file of the user's by that name stays, and the
    refusal comes before the scoring, not after it (the scores were printed, then the report refused)."""
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "eval-gan-fashion-mnist.json"
    mine.write_text('{"mine": true}')
    assert cli.main(["eval", "gan-fashion-mnist", "-n", str(N)]) == 2
    captured = capsys.readouterr()
    assert "eval-gan-fashion-mnist.json exists and is not an earlier eval report" in captured.err and "FID floor" not in captured.out
    assert mine.read_text() == '{"mine": true}'


@pytest.mark.files
def test_cli_eval_precision_int8_scores_nothing_when_the_int8_variant_cannot_be_made(fashion_dir, tmp_path, monkeypatch, capsys):
    """The runtime falls back to the exported float32 graph with a warning; eval --precision int8 then
    wrote float32 scores as eval-<name>-float32.json and exited 0, as if the int8 file had been scored."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "derived").write_text("a file where the derived variants go")
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="could not make its int8 variant"):
        assert cli.main(["eval", "gan-fashion-mnist", "-n", str(N), "--precision", "int8"]) == 2
    captured = capsys.readouterr()
    assert "--precision int8: the int8 variant of " in captured.err and "nothing was scored" in captured.err
    assert "FID floor" not in captured.out and sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


@pytest.mark.inputs
@pytest.mark.parametrize("args, message", [(["missing-folder"], "No generator 'missing-folder': not an existing file or folder"), (["{tmp}", "-n", "0"], "`--num-images` must be a positive integer")])
def test_cli_eval_bad_input_exits_2(args, message, tmp_path, capsys):
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    assert cli.main(["eval", *args]) == 2
    assert message in capsys.readouterr().err
