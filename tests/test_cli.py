"""`python -m zoo`: train, export and sample from the shell."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.cli import main


def test_help_explains_every_command():
    result = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True, check=True)
    for command in ("list", "train", "export", "sample", "demo", "eval"):
        assert command in result.stdout
    train_help = subprocess.run([sys.executable, "-m", "zoo", "train", "--help"], capture_output=True, text=True, check=True)
    assert "--epochs" in train_help.stdout and "resume" in train_help.stdout


@pytest.mark.inputs
def test_a_misspelt_keras_backend_is_named_not_taken_for_a_missing_package(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jaxx"}
    result = subprocess.run([sys.executable, "-m", "zoo", "train", "dcgan", "--out", str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "KERAS_BACKEND (or ~/.keras/keras.json) names 'jaxx', which is not a Keras backend" in result.stderr and "pip install" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_train_export_sample_round_trip(tmp_path, fashion_dir, capsys):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--epochs", "1", "--limit", "128", "--batch-size", "64", "--latent-dim", "8", "--out", str(run)]) == 0
    assert (run / "model.keras").is_file() and (run / "samples" / "epoch_001.png").is_file()
    record = json.loads((run / "training.json").read_text())
    assert record["epochs"] == 1 and record["images_per_second"] > 0
    assert record["command"].startswith("python -m zoo")

    assert main(["export", str(run / "model.keras"), str(tmp_path / "artifact")]) == 0
    card = json.loads((tmp_path / "artifact" / "card.json").read_text())
    assert card["latent_dim"] == 8 and card["training"]["batch_size"] == 64

    grid = tmp_path / "grid.png"
    assert main(["sample", str(tmp_path / "artifact"), "-n", "16", "--scale", "1", "-o", str(grid)]) == 0
    assert Image.open(grid).size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    keras_grid = tmp_path / "keras.png"
    assert main(["sample", str(run / "model.keras"), "-n", "16", "--scale", "1", "-o", str(keras_grid)]) == 0
    difference = np.abs(np.asarray(Image.open(grid), int) - np.asarray(Image.open(keras_grid), int))
    assert difference.max() <= 1  # same seed, same images, whichever engine ran them
    assert "onnxruntime" in capsys.readouterr().out


@pytest.mark.inputs
def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    assert main(["train", "dcgan", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert "dataset-fashion-mnist" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "missing"), "-n", "4"]) == 2
    assert "not an existing file or folder" in capsys.readouterr().err
    (tmp_path / "model.h5").write_bytes(b"not a model")
    assert main(["export", str(tmp_path / "model.h5"), str(tmp_path / "out")]) == 2
    assert ".keras" in capsys.readouterr().err


def test_train_gan_with_chosen_generator_widths(tmp_path, fashion_dir):
    from zoo.saving import load_model

    run = tmp_path / "gan"
    assert main(["train", "gan", "--g-units", "32,64", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--out", str(run)]) == 0
    gan = load_model(run / "model.keras")
    assert gan.g_units == (32, 64) and [layer.units for layer in gan.generator.layers if hasattr(layer, "units")] == [32, 64, 784]


def test_a_recipe_is_a_command_line_and_a_time_limit_stops_training(tmp_path, fashion_dir):
    from zoo.saving import load_model

    run = tmp_path / "recipe"
    flags = ["--spectral-norm", "--loss", "hinge", "--d-lr", "4e-4", "--g-lr", "1e-4", "--beta-1", "0", "--d-filters", "8", "--g-filters", "4"]
    common = ["--epochs", "3", "--limit", "256", "--batch-size", "32", "--latent-dim", "8", "--no-jit", "--out", str(run)]
    assert main(["train", "dcgan", *flags, *common, "--time-limit", "0.0001", "--time-limit-clock", "cpu", "--fid-every", "1"]) == 0
    record = json.loads((run / "training.json").read_text())
    session = record["sessions"][-1]
    assert session["time_limit"] == "stopped after 0.0001 cpu min, in epoch 1"
    (scores,) = session["scores"]  # --fid-every 1: the scores of the epoch the limit ended
    assert scores["epoch"] == 1 and scores["fid"] > 0 and 0 <= scores["coverage"] <= 1 and scores["density"] >= 0
    assert record["images"] == 32 and record["epochs"] == 1  # one step, then the limit
    assert 0 < record["cpu_seconds"] and record["machine"]["cores_used"] >= 1
    assert session["optimizer"] == {"d_learning_rate": 4e-4, "g_learning_rate": 1e-4, "beta_1": 0.0}
    model = load_model(run / "model.keras")
    assert model.spectral_norm and model.d_filters == 8 and model.g_filters == 4 and model.loss_fn.name == "hinge"
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-4) and float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(model.g_optimizer.beta_1) == 0.0
    # The same command without the limit resumes the run and trains the epochs left.
    assert main(["train", "dcgan", *flags, *common]) == 0
    assert json.loads((run / "training.json").read_text())["epochs"] == 3
    # Other optimizer settings are another training: refused.
    other = [flag if flag != "1e-4" else "2e-4" for flag in flags]
    assert main(["train", "dcgan", *other, *common[:1], "4", *common[2:]]) == 2



@pytest.mark.inputs
def test_fid_every_is_refused_where_the_fashion_mnist_classifier_cannot_score(tmp_path, capsys):
    for family, extra in (("t2i", []), ("dcgan", ["--images", str(tmp_path)])):
        assert main(["train", family, "--fid-every", "1", "--epochs", "1", "--out", str(tmp_path / family), *extra]) == 2
        assert "applies to Fashion-MNIST training only" in capsys.readouterr().err
        assert not (tmp_path / family).exists()  # refused before anything was written

@pytest.mark.inputs
@pytest.mark.parametrize(
    "args, message",
    [
        (["dcgan", "--projection"], "--projection applies to cgan, not to dcgan"),
        (["gan", "--g-filters", "32"], "--g-filters applies to dcgan and cgan, not to gan"),
        (["dcgan", "--d-units", "64"], "--d-units applies to gan, not to dcgan"),
        (["cgan", "--clusters", "10"], "--clusters applies to dcgan, not to cgan"),
        (["dcgan", "--cluster-embedding-dim", "8"], "--cluster-embedding-dim sizes the embedding of --clusters; give --clusters too"),
        (["dcgan", "--clusters", "1"], "`clusters` must be"),
        (["dcgan", "--d-lr", "0"], "`d_learning_rate` must be a number in (0, 1)"),
        (["dcgan", "--beta-1", "1.5"], "`beta_1` must be a number in [0, 1)"),
        (["dcgan", "--time-limit", "-1"], "--time-limit must be a positive number of minutes"),
    ],
)
def test_recipe_options_are_checked(args, message, tmp_path, capsys):
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.inputs
def test_generator_widths_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "gan", "--g-units", "256,wide"])
    assert exit_info.value.code == 2 and "256,wide" in capsys.readouterr().err
    assert main(["train", "dcgan", "--g-units", "64", "--out", str(tmp_path / "run")]) == 2
    assert "--g-units" in capsys.readouterr().err


@pytest.mark.inputs
def test_an_unknown_model_is_refused_by_argparse():
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "stylegan9"])
    assert exit_info.value.code == 2


def test_the_command_line_offers_the_packages_models_losses_and_updates():
    from zoo import cli, losses
    from zoo.models import MODELS, base

    assert (cli.FAMILIES, cli.LOSSES, cli.UPDATES) == (tuple(sorted(MODELS)), tuple(sorted(losses.LOSSES)), base.UPDATES)
    assert set(cli.RUN_NAMES) >= set(MODELS)  # `sample <family>` knows every family
    from zoo import layers, speed

    assert (cli.PRECISIONS, cli.CONVOLUTIONS) == (speed.PRECISIONS, layers.IMPLEMENTATIONS)


@pytest.mark.inputs
@pytest.mark.parametrize("option, value, name", [("-n", "0", "--num-images"), ("--scale", "-2", "--scale")])
def test_counts_on_the_command_line_are_whole_numbers_from_one(option, value, name, capsys):
    assert main(["sample", "dcgan-fashion-mnist", option, value]) == 2
    assert f"`{name}` must be a positive integer, got {value}." in capsys.readouterr().err


# Runs `python -m zoo ARGS` and reports which heavy frameworks the process imported, at exit.
PROBE = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('IMPORTED=' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'tf2onnx'))), file=sys.stderr))\n"
    "sys.argv = ['zoo', *sys.argv[1:]]\n"
    "runpy.run_module('zoo', run_name='__main__')\n"
)


def run_probed(args, cwd):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    imported = [line.split("=", 1)[1] for line in result.stderr.splitlines() if line.startswith("IMPORTED=")]
    assert imported, result.stderr
    return result, imported[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["sample", "--help"],
        ["list"],
        ["sample", "dcgan-fashion-mnist", "-n", "8", "-o", "dcgan.png"],
        ["sample", "cgan-fashion-mnist", "--label", "dress", "-n", "4", "-o", "cgan.png"],
        ["sample", "t2i-fashion-mnist", "--prompt", "a red dress", "-n", "4", "-o", "t2i.png"],
        ["eval", "cgan-fashion-mnist", "-n", "50", "-o", "eval.json"],
    ],
)
def test_onnxruntime_commands_never_import_tensorflow_or_keras(args, tmp_path, fashion_dir):
    result, imported = run_probed(args, cwd=tmp_path)  # outside the checkout: names resolve from anywhere
    assert result.returncode == 0, result.stderr
    assert imported == "", f"{args} imported {imported}"
    if args[0] == "eval":
        assert json.loads((tmp_path / "eval.json").read_text())["class_accuracy"] > 0.5  # the cGAN draws the classes asked for


def test_tensorflow_log_lines_are_silenced_unless_verbose(tmp_path):
    from zoo.models import DCGAN

    DCGAN(latent_dim=8, g_filters=8, d_filters=8).save(tmp_path / "tiny.keras")
    quiet, imported = run_probed(["sample", "tiny.keras", "-n", "4", "-o", "quiet.png"], cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "tensorflow" in imported  # a .keras file does need Keras
    noise = [line for line in quiet.stderr.splitlines() if re.match(r"[IWEF]\d{4} |WARNING: All log messages|.*(oneDNN|cuda|absl)", line)]
    assert noise == [], noise
    assert "Wrote 4 samples" in quiet.stdout and "Keras" in quiet.stdout
    verbose, _ = run_probed(["sample", "tiny.keras", "-n", "4", "-o", "verbose.png", "--verbose"], cwd=tmp_path)
    assert verbose.returncode == 0 and len(verbose.stderr) > len(quiet.stderr)


def test_names_work_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "cgan", "--label", "sandal", "-n", "4", "-o", "cgan.png"]) == 0  # no runs/cgan: the published one
    assert "published cgan-fashion-mnist" in capsys.readouterr().out
    assert main(["sample", "no-such-model"]) == 2
    error = capsys.readouterr().err
    assert "dcgan-fashion-mnist" in error and "python -m zoo list" in error


DCGAN_EXPORT = Path(__file__).resolve().parent.parent / "exports" / "dcgan-fashion-mnist"


@pytest.mark.inputs
@pytest.mark.parametrize("options, message", [
    (["-n", "1000000000"], "1,000,000,000 images at scale 2 would need .*estimate: [0-9.,]+ TiB"),
    (["-n", "64", "--scale", "100000"], "64 images at scale 100000 would need a grid of 24,200,000 × 24,200,000 pixels"),
])
def test_sample_counts_and_scales_that_cannot_fit_are_refused_at_once_with_the_estimate(tmp_path, capsys, options, message):
    import time

    started = time.monotonic()
    assert main(["sample", str(DCGAN_EXPORT), *options, "-o", str(tmp_path / "grid.png")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert time.monotonic() - started < 60 and not (tmp_path / "grid.png").exists()


@pytest.mark.inputs
def test_the_output_is_written_in_the_format_its_extension_names(tmp_path, capsys):
    for name, magic in (("grid.jpg", b"\xff\xd8\xff"), ("grid.png", b"\x89PNG"), ("grid.webp", b"RIFF")):
        assert main(["sample", str(DCGAN_EXPORT), "-n", "4", "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes()[:len(magic)] == magic
        assert Image.open(tmp_path / name).size == (2 * (2 * 28 + 3 * 2),) * 2
    assert main(["sample", str(DCGAN_EXPORT), "-n", "4", "-o", str(tmp_path / "grid.xyz")]) == 2
    assert "Cannot tell which picture format to write to" in capsys.readouterr().err and not (tmp_path / "grid.xyz").exists()


@pytest.mark.inputs
def test_sample_and_export_refuse_what_they_cannot_use_before_any_work(tmp_path, capsys):
    (tmp_path / "folder.png").mkdir()
    assert main(["sample", str(DCGAN_EXPORT), "-n", "4", "-o", str(tmp_path / "folder.png")]) == 2
    assert "folder.png is a folder" in capsys.readouterr().err
    classifier = DCGAN_EXPORT.parent / "classifier-fashion-mnist" / "classifier.keras"  # a valid .keras file, not a GAN
    assert main(["sample", str(classifier), "-n", "4", "-o", str(tmp_path / "c.png")]) == 2
    assert "holds a Functional, not a zoo GAN" in capsys.readouterr().err
    assert main(["export", str(classifier), str(tmp_path / "artifact")]) == 2
    assert "holds a Functional, not a zoo GAN" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.png"]
    Image.new("L", (4, 4)).save(tmp_path / "dresses.png")  # a picture, not a generator
    assert main(["sample", str(tmp_path / "dresses.png"), "-n", "4", "-o", str(tmp_path / "d.png")]) == 2
    assert f"{tmp_path / 'dresses.png'} is not a generator: give an artifact folder, a .onnx or .keras file" in capsys.readouterr().err


@pytest.mark.inputs
@pytest.mark.parametrize("option, value, message", [
    ("--seed", "-1", "`--seed` must be an integer in [0, 18446744073709551615], got -1."),
    ("--truncation", "0", "`--truncation` must be a number in [0.1, inf), got 0.0."),
])
def test_sample_names_a_bad_seed_or_truncation_by_its_option_before_opening_the_generator(tmp_path, capsys, option, value, message):
    assert main(["sample", str(tmp_path / "no-such-generator.onnx"), option, value, "-o", str(tmp_path / "s.png")]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"  # not the missing generator: nothing was opened
    assert list(tmp_path.iterdir()) == []


@pytest.mark.inputs
def test_demo_refuses_a_folder_of_the_users_where_its_export_goes_before_training(tmp_path, capsys):
    (tmp_path / "demo" / "export").mkdir(parents=True)
    (tmp_path / "demo" / "export" / "mine.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path / "demo"), "--limit", "64"]) == 2
    assert "export is not an artifact folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["export"]  # nothing trained, nothing written


@pytest.mark.inputs
def test_a_second_prompt_is_refused_not_silently_dropped(tmp_path, capsys):
    t2i = DCGAN_EXPORT.parent / "t2i-fashion-mnist"
    with pytest.raises(SystemExit) as exited:
        main(["sample", str(t2i), "--prompt", "a red dress", "--prompt", "a blue shirt", "-o", str(tmp_path / "x.png")])
    assert exited.value.code == 2 and "--prompt is given more than once" in capsys.readouterr().err
    assert main(["sample", str(t2i), "--prompt", "a red dress", "-n", "2", "-o", str(tmp_path / "x.png")]) == 0


@pytest.mark.inputs
@pytest.mark.parametrize("prompt, reading", [
    ("a red dress and a blue shirt", "as 'red dress blue shirt' (several garments: dress, shirt; several colours: red, blue — the model draws one garment in one colour per image)"),
    ("a dress that is not red", "as 'dress red' (negation ignored: not — the model cannot leave anything out)"),
    ("a café coat", "as 'coat' (letters outside a-z not read: café)"),
    ("2 shirts", "as 'shirt' (numbers ignored: 2 — the number of images is set separately)"),
])
def test_sample_tells_on_stderr_what_a_prompt_asks_that_the_model_cannot_draw(tmp_path, capsys, prompt, reading):
    t2i = DCGAN_EXPORT.parent / "t2i-fashion-mnist"  # the published card: its class_nouns and colours name the garments and colours
    assert main(["sample", str(t2i), "--prompt", prompt, "-n", "2", "-o", str(tmp_path / "x.png")]) == 0
    assert f"Read {prompt!r} {reading}.\n" in capsys.readouterr().err


@pytest.mark.inputs
def test_a_prompt_may_start_with_a_dash_the_argument_after_prompt_being_the_caption_as_in_node(tmp_path, capsys):
    t2i = DCGAN_EXPORT.parent / "t2i-fashion-mnist"
    sample = ["sample", str(t2i), "-n", "2", "--seed", "3", "--scale", "1"]
    assert main([*sample, "--prompt", "-red", "-o", str(tmp_path / "dash.png")]) == 0  # argparse alone: "expected one argument"
    assert main([*sample, "--prompt", "red", "-o", str(tmp_path / "red.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "dash.png")), np.asarray(Image.open(tmp_path / "red.png")))  # "-red" reads as "red"
    capsys.readouterr()
    assert main([*sample, "--prompt", "--seed", "-o", str(tmp_path / "x.png")]) == 2  # the caption "--seed", not a missing value
    assert "error: Caption '--seed' names no garment or colour" in capsys.readouterr().err
    for args, message in [(["--prompt", "--seed", "3"], "unrecognized arguments: 3"), (["--prompt"], "argument --prompt: expected one argument")]:
        with pytest.raises(SystemExit) as exited:
            main([*sample, "-o", str(tmp_path / "x.png"), *args])
        assert exited.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.inputs
@pytest.mark.skipif(sys.getfilesystemencoding() != "utf-8", reason="the locale's encoding is not UTF-8: Python decodes argv with it, not as UTF-8")
def test_a_prompt_s_bytes_that_are_not_utf_8_read_as_replacement_characters_as_in_node(tmp_path, capsys):
    """Python keeps the argv bytes its locale does not decode as lone surrogates: the note quoted
    'red \\udcff dress' where the Node app's quotes 'red \ufffd dress' (tests/test_apps.py runs both).
    The prompt is decoded as Node decodes argv now, one U+FFFD for each ill-formed sequence."""
    from zoo.cli import decoded_argument

    t2i = DCGAN_EXPORT.parent / "t2i-fashion-mnist"
    assert decoded_argument(os.fsdecode(b"\xe2\x82 \xed\xa0\x80 caf\xc3\xa9")) == "\ufffd \ufffd\ufffd\ufffd café"  # a cut sequence is one, a surrogate's bytes three
    assert decoded_argument("red \ud800") == "red \ud800"  # not from bytes (main's own argv): left as it is
    assert main(["sample", str(t2i), "--prompt", os.fsdecode(b"red \xff dress"), "-n", "1", "-o", str(tmp_path / "x.png")]) == 0
    assert "Read 'red \ufffd dress' as 'red dress' (replacement characters not read: 1 × \ufffd — bytes that were not UTF-8).\n" in capsys.readouterr().err
    assert main(["sample", str(t2i), "--prompt", os.fsdecode(b"\xff\xfe"), "-n", "1", "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.endswith(
        "error: Caption '\ufffd\ufffd' holds no words (letters a-z): describe the image, e.g. 'a red dress'. "
        "Characters outside a-z not read: '\ufffd' U+FFFD REPLACEMENT CHARACTER (bytes that were not UTF-8).\n"
    )


def test_only_prompt_values_before_a_bare_double_dash_are_joined_to_their_option():
    from zoo.cli import join_free_text_values

    assert join_free_text_values(["sample", "t2i", "--prompt", "-red", "-o", "x.png"]) == ["sample", "t2i", "--prompt=-red", "-o", "x.png"]
    assert join_free_text_values(["--prompt", "red", "--prompt"]) == ["--prompt", "red", "--prompt"]  # left to argparse as they are
    assert join_free_text_values(["--", "--prompt", "-red"]) == ["--", "--prompt", "-red"]


def tiny_generator(path, scale):
    """A bare generator.onnx drawing z (4 values) as a 2×2 grey image times `scale`."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Reshape", ["z", "shape"], ["flat"]), helper.make_node("Mul", ["flat", "scale"], ["image"])],
        "tiny", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 2, 2, 1])],
        [helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 2, 2, 1]), helper.make_tensor("scale", TensorProto.FLOAT, [], [scale])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


@pytest.mark.inputs
def test_a_generator_that_draws_nan_is_refused_not_written_as_a_black_picture(tmp_path, capsys):
    assert main(["sample", str(tiny_generator(tmp_path / "fine.onnx", 0.5)), "-n", "3", "-o", str(tmp_path / "fine.png")]) == 0
    broken = tiny_generator(tmp_path / "broken.onnx", float("nan"))
    assert main(["sample", str(broken), "-n", "3", "-o", str(tmp_path / "broken.png")]) == 2
    assert f"{broken} produced 12 values that are NaN or infinite, in 3 of its 3 images" in capsys.readouterr().err
    assert not (tmp_path / "broken.png").exists() and (tmp_path / "fine.png").is_file()


@pytest.mark.inputs
def test_eval_refuses_options_that_do_not_apply_to_the_generator_before_any_work(tmp_path, capsys):
    t2i = DCGAN_EXPORT.parent / "t2i-fashion-mnist"
    for options, message in ((["-n", "500"], "-n applies to FID scoring; a text-to-image generator is scored on its captions"),
                             (["--precision", "int8", "--features", "inception"], "--features and --precision apply to FID scoring")):
        assert main(["eval", str(t2i), *options, "-o", str(tmp_path / "t2i.json")]) == 2
        assert message in capsys.readouterr().err
    assert main(["eval", str(DCGAN_EXPORT), "--judge", str(tmp_path / "judge.keras"), "-o", str(tmp_path / "dcgan.json")]) == 2
    assert f"--judge applies to text-to-image generators; {DCGAN_EXPORT} is scored by FID" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.inputs
def test_save_grid_refuses_pixels_it_would_draw_wrong(tmp_path):
    from zoo.images import save_grid

    with pytest.raises(ValueError, match="Expected images in \\[-1, 1\\] as floats, got uint8; map 0..255 pixels with zoo.data.to_unit_range"):
        save_grid(np.full((2, 4, 4, 1), 200, np.uint8), tmp_path / "white.png")
    with pytest.raises(ValueError, match="The images produced 16 values that are NaN or infinite, in 1 of its 2 images"):
        save_grid(np.stack([np.zeros((4, 4, 1)), np.full((4, 4, 1), np.nan)]).astype(np.float32), tmp_path / "black.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.inputs
def test_save_grid_refuses_channels_first_images_naming_the_transpose(tmp_path):
    """NCHW images, as PyTorch orders them, reached PIL as "Cannot handle this data type: (1, 1, 28), |u1"."""
    from zoo.images import save_grid

    images = np.zeros((2, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match=r"Expected NHWC images, channels last \(1 to 4\), got shape \(2, 1, 28, 28\); .*transpose\(0, 2, 3, 1\)"):
        save_grid(images, tmp_path / "grid.png")
    assert not (tmp_path / "grid.png").exists()
    assert save_grid(images.transpose(0, 2, 3, 1), tmp_path / "grid.png").is_file()


def test_demo_trains_exports_and_samples_in_one_command(fashion_dir, tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--limit", "128", "--epochs", "1", "--data-dir", str(fashion_dir)]) == 0
    said = capsys.readouterr().out
    assert "trained 1 epoch at " in said and f"exported to {tmp_path / 'demo' / 'export'}" in said
    from zoo.images import save_grid

    grid = np.asarray(Image.open(tmp_path / "demo" / "samples.png"))
    assert grid.shape == np.asarray(Image.open(save_grid(np.zeros((64, 28, 28, 1)), tmp_path / "blank.png", scale=3))).shape  # 64 images, scale 3
    assert grid.std() > 10  # garments drawn, not a blank grid
