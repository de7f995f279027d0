"""The developer scripts refuse, before any work, the outputs they must not write: a figure
name that is not a PNG, or an existing file there that is not a picture; a classifier already
trained, unless asked to replace it, and then whole."""

import json

import pytest

from zoo.files import sha256

from tests.test_bench import ROOT, import_script

T2I = ROOT / "exports" / "t2i-fashion-mnist"


@pytest.mark.parametrize("name", ["notes2.md", "sheet.png", "folder.png"])
def test_eval_t2i_refuses_a_figure_that_would_replace_something_else(tmp_path, capsys, name):
    eval_t2i = import_script("eval_t2i")
    figure = tmp_path / name
    if name == "folder.png":
        figure.mkdir()
    else:
        figure.write_text("# notes\n")
    with pytest.raises(SystemExit) as raised:
        eval_t2i.main([str(T2I), "--no-eval", "--figure", str(figure)])
    assert raised.value.code == 2 and f"--figure {figure}" in capsys.readouterr().err
    assert figure.is_dir() if name == "folder.png" else figure.read_text() == "# notes\n"


def test_train_classifier_replaces_an_existing_classifier_only_when_asked(tmp_path, capsys, fashion_dir):
    train_classifier = import_script("train_classifier")
    folder = tmp_path / "classifier"
    first = train_classifier.train_classifier(folder, epochs=1, limit=64, data_dir=fashion_dir, verbose=0)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    with pytest.raises(FileExistsError, match="pass --overwrite"):
        train_classifier.train_classifier(folder, epochs=1, limit=64, data_dir=fashion_dir, verbose=0)
    with pytest.raises(SystemExit) as raised:
        train_classifier.main(["--out", str(folder), "--limit", "64", "--epochs", "1", "--data-dir", str(fashion_dir)])
    assert raised.value.code == 2 and f"{folder} holds a classifier" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before

    card = train_classifier.train_classifier(folder, epochs=1, limit=128, data_dir=fashion_dir, verbose=0, overwrite=True)
    assert card["dataset"].startswith("Fashion-MNIST train (128 images)") and first["dataset"].startswith("Fashion-MNIST train (64 images)")
    assert json.loads((folder / "classifier.json").read_text()) == card
    assert all(sha256(folder / name) == digest for name, digest in card["files"].items())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classifier"]  # no temporary folder left


def test_a_failed_staged_write_leaves_the_old_folder_whole(tmp_path):
    train_classifier = import_script("train_classifier")
    folder = tmp_path / "classifier"
    folder.mkdir()
    (folder / "classifier.json").write_text('{"test_accuracy": 0.914}')
    (folder / "README").write_text("kept\n")

    def write_half(staging):
        (staging / "classifier.json").write_text('{"test_accuracy": 0.136}')
        return json.loads((staging / "classifier.keras").read_text())  # never written: FileNotFoundError

    with pytest.raises(FileNotFoundError):
        train_classifier.write_folder_staged(folder, write_half)
    assert (folder / "classifier.json").read_text() == '{"test_accuracy": 0.914}' and sorted(path.name for path in tmp_path.iterdir()) == ["classifier"]

    train_classifier.write_folder_staged(folder, lambda staging: (staging / "classifier.json").write_text("{}"))
    assert (folder / "classifier.json").read_text() == "{}" and (folder / "README").read_text() == "kept\n"


def test_train_classifier_export_onnx_replaces_the_onnx_file_only_when_asked_and_with_its_card(tmp_path, capsys, fashion_dir):
    train_classifier = import_script("train_classifier")
    folder = tmp_path / "classifier"
    train_classifier.train_classifier(folder, epochs=1, limit=64, data_dir=fashion_dir, verbose=0)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    with pytest.raises(SystemExit) as raised:
        train_classifier.main(["--out", str(folder), "--export-onnx"])
    assert raised.value.code == 2 and f"{folder / 'classifier.onnx'} exists; pass --overwrite" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before

    (folder / "classifier.onnx").unlink()  # a folder with the Keras file alone takes its ONNX twin without --overwrite
    train_classifier.main(["--out", str(folder), "--export-onnx"])
    card = json.loads((folder / "classifier.json").read_text())
    assert card["files"]["classifier.onnx"] == sha256(folder / "classifier.onnx")
    assert (folder / "classifier.keras").read_bytes() == before["classifier.keras"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classifier"]  # no staging folder left

    (folder / "classifier.keras").write_bytes(before["classifier.keras"][:-10])  # altered: refused before anything is written
    with pytest.raises(ValueError, match="was altered or is partial"):
        train_classifier.main(["--out", str(folder), "--export-onnx", "--overwrite"])
    assert json.loads((folder / "classifier.json").read_text()) == card


def test_t2i_table_names_the_training_command_without_the_machines_run_folder():
    """docs/t2i.md quotes the published card's training command; the `--out` folder it ran in
    (a path on the training machine, outside this repository) is not part of the recipe."""
    t2i_ablation = import_script("t2i_ablation")
    card = json.loads((T2I / "card.json").read_text())
    previous = json.loads((ROOT / "docs" / "results" / "t2i_previous_model.json").read_text())
    table = t2i_ablation.published_table(card, previous)
    assert "Trained by `python -m zoo train t2i --epochs 3 --batch-size 64 --latent-dim 64 --ema-decay 0.999`;" in table
    assert "--out" not in table
