"""`python -m zoo`: train, export and sample from the shell."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from zoo.cli import main


def test_help_explains_every_command():
    result = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True, check=True)
    for command in ("train", "export", "sample", "demo"):
        assert command in result.stdout
    train_help = subprocess.run([sys.executable, "-m", "zoo", "train", "--help"], capture_output=True, text=True, check=True)
    assert "--epochs" in train_help.stdout and "resume" in train_help.stdout


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
    assert "No exported generator" in capsys.readouterr().err
    (tmp_path / "model.h5").write_bytes(b"not a model")
    assert main(["export", str(tmp_path / "model.h5"), str(tmp_path / "out")]) == 2
    assert ".keras" in capsys.readouterr().err


def test_train_gan_with_chosen_generator_widths(tmp_path, fashion_dir):
    from zoo.saving import load_model

    run = tmp_path / "gan"
    assert main(["train", "gan", "--g-units", "32,64", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--out", str(run)]) == 0
    gan = load_model(run / "model.keras")
    assert gan.g_units == (32, 64) and [layer.units for layer in gan.generator.layers if hasattr(layer, "units")] == [32, 64, 784]


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


@pytest.mark.inputs
@pytest.mark.parametrize("option, value, name", [("-n", "0", "--num-images"), ("--scale", "-2", "--scale")])
def test_counts_on_the_command_line_are_whole_numbers_from_one(option, value, name, capsys):
    assert main(["sample", "dcgan-fashion-mnist", option, value]) == 2
    assert f"`{name}` must be a positive integer, got {value}." in capsys.readouterr().err
