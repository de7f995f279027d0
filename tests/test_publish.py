"""scripts/publish.py: exporting a published generator again keeps its card's facts, or
measures its quality again when asked (`--reexport NAME --remeasure`); a mistyped folder, another
exports folder without --registry, a name that is not one folder name, a card named unlike its
folder, or an input that cannot be read is refused in one line before writing."""

import json
import shutil

import keras
import pytest

from tests.test_bench import ROOT, import_script
from zoo import registry
from zoo.export import export_generator, sha256
from zoo.models import DCGAN


def test_reexport_keeps_the_cards_quality_unless_asked_to_measure_it_again(tmp_path):
    publish = import_script("publish")
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    stale = {"fid": 999.0, "measured_with": "an older zoo.metrics, without density"}
    export_generator(gan, tmp_path / "tiny", card={"quality": stale, "training": {"epochs": 3}, "description": "a tiny DCGAN"})

    kept = publish.reexport("tiny", tmp_path, command="python scripts/publish.py --reexport tiny")
    assert kept["quality"] == stale and kept["training"] == {"epochs": 3} and kept["description"] == "a tiny DCGAN"
    described = publish.reexport("tiny", tmp_path, command="...", description="DCGAN, 8 filters, untrained")
    assert described["description"] == "DCGAN, 8 filters, untrained" and described["quality"] == stale

    card = publish.reexport("tiny", tmp_path, command="python scripts/publish.py --reexport tiny --remeasure", remeasure=True)
    assert card["training"] == {"epochs": 3} and card["reexported_with"].endswith("--remeasure")
    quality = card["quality"]
    assert quality["measured_with"] == "zoo.metrics.evaluate" and quality["how"]["n"] == 10_000
    assert quality["fid"] > 100 and quality["density"] < 0.5  # untrained: far from real images (density 1.00), and not the stale 999
    assert json.loads((tmp_path / "tiny" / "card.json").read_text()) == card
    for relative, digest in card["files"].items():
        assert sha256(tmp_path / "tiny" / relative) == digest


def test_remeasure_without_reexport_is_refused_by_name_and_writes_nothing(tmp_path, capsys):
    publish = import_script("publish")
    with pytest.raises(SystemExit) as raised:
        publish.main(["runs/some-run", "--name", "x", "--remeasure", "--exports", str(tmp_path), "--registry", str(tmp_path / "r.json")])
    assert raised.value.code == 2 and list(tmp_path.iterdir()) == []
    assert "--remeasure applies to --reexport NAME" in capsys.readouterr().err


def test_reexport_of_a_name_not_published_is_refused_by_name_and_writes_nothing(tmp_path, capsys):
    publish = import_script("publish")
    with pytest.raises(SystemExit) as raised:
        publish.main(["--reexport", "nosuch", "--exports", str(tmp_path), "--registry", str(tmp_path / "r.json")])
    assert raised.value.code == 2 and list(tmp_path.iterdir()) == []
    assert "--reexport nosuch: no published generator there" in capsys.readouterr().err


@pytest.mark.parametrize("make_folder", [False, True], ids=["missing", "empty"])
def test_registry_only_from_a_mistyped_exports_folder_is_refused_and_keeps_the_registry(tmp_path, capsys, make_folder):
    publish = import_script("publish")
    registry = tmp_path / "registry.json"
    registry.write_text('{"format_version": 1, "base_url": "https://example.org/exports", "models": {"kept": {}}, "assets": {}}')
    exports = tmp_path / "exprots"
    if make_folder:
        exports.mkdir()
    with pytest.raises(SystemExit) as raised:
        publish.main(["--registry-only", "--exports", str(exports), "--registry", str(registry)])
    assert raised.value.code == 2 and '"kept"' in registry.read_text()
    assert f"--exports {exports}" in capsys.readouterr().err


def test_a_card_whose_name_is_not_its_folders_is_refused_naming_both(tmp_path, capsys):
    publish = import_script("publish")
    exports = tmp_path / "exports"
    for folder in ("folder-a", "folder-b"):  # two artifacts whose cards both say "same"
        shutil.copytree(ROOT / "exports" / "gan-fashion-mnist", exports / folder)
        card = json.loads((exports / folder / "card.json").read_text())
        (exports / folder / "card.json").write_text(json.dumps({**card, "name": "same"}))
    with pytest.raises(ValueError, match="folder-a/card.json names 'same', but its folder is 'folder-a'"):
        registry.build_registry(exports)

    kept = tmp_path / "registry.json"
    kept.write_text('{"format_version": 1, "base_url": "https://example.org/exports", "models": {"kept": {}}, "assets": {}}')
    with pytest.raises(SystemExit) as raised:
        publish.main(["--registry-only", "--exports", str(exports), "--registry", str(kept)])
    assert raised.value.code == 2 and "names 'same', but its folder is 'folder-a'" in capsys.readouterr().err and '"kept"' in kept.read_text()


@pytest.mark.parametrize("name", ["../escaped", "a/b", ".hidden", "Upper Case", ""])
def test_a_name_that_is_not_one_folder_name_is_refused_before_any_work(tmp_path, capsys, name):
    publish = import_script("publish")
    exports = tmp_path / "exports"
    exports.mkdir()
    with pytest.raises(SystemExit) as raised:
        publish.main(["runs/no-such-run", "--name", name, "--no-quality", "--exports", str(exports), "--registry", str(tmp_path / "r.json")])
    assert raised.value.code == 2 and "is not a published name" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["exports"]


def run_folder(tmp_path, training='{"epochs": 1, "dataset": "Fashion-MNIST"}', model="plain"):
    """A training run's folder: model.keras (a plain Keras model, not a zoo GAN) and training.json."""
    run = tmp_path / "run"
    run.mkdir()
    if model == "plain":
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(run / "model.keras")
    if training is not None:
        (run / "training.json").write_text(training)
    return run


@pytest.mark.parametrize("case", ["no training.json", "training.json holds a list", "not a zoo GAN", "no quality file", "registry without base_url", "registry not JSON"])
def test_a_bad_input_is_refused_in_one_line_naming_the_file_before_any_work(tmp_path, capsys, case):
    publish = import_script("publish")
    exports, registry_file = tmp_path / "exports", tmp_path / "registry.json"
    exports.mkdir()
    run = run_folder(tmp_path, training={"no training.json": None, "training.json holds a list": "[1]"}.get(case, '{"epochs": 1}'))
    args = [str(run), "--name", "tiny", "--no-quality", "--exports", str(exports), "--registry", str(registry_file)]
    if case == "no quality file":
        args += ["--quality", str(tmp_path / "quality.json")]
    if case == "registry without base_url":
        registry_file.write_text('{"models": {}}')
    if case == "registry not JSON":
        registry_file.write_text("models: none\n")
    expected = {
        "no training.json": f"{run / 'training.json'} is missing",
        "training.json holds a list": f"{run / 'training.json'} holds a JSON list",
        "not a zoo GAN": f"{run / 'model.keras'} holds a Sequential, not a zoo GAN",
        "no quality file": f"{tmp_path / 'quality.json'} is missing",
        "registry without base_url": f"{registry_file} has no base_url",
        "registry not JSON": f"{registry_file} is not JSON",
    }[case]
    with pytest.raises(SystemExit) as raised:
        publish.main(args)
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "Traceback" not in err and expected in err.strip().splitlines()[-1], err
    assert list(exports.iterdir()) == []


def tiny_run_published_as(tmp_path):
    """publish.py's arguments that publish a run of a tiny DCGAN as "tiny" into tmp_path/exports
    (no quality measured), with the exports folder and the registry file they write."""
    run = run_folder(tmp_path, model=None)
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    gan.save(run / "model.keras")
    exports, registry_file = tmp_path / "exports", tmp_path / "registry.json"
    exports.mkdir()
    return [str(run), "--name", "tiny", "--no-quality", "--exports", str(exports), "--registry", str(registry_file)], exports, registry_file


def test_a_run_is_published_and_listed(tmp_path):
    publish = import_script("publish")
    args, exports, registry_file = tiny_run_published_as(tmp_path)
    publish.main(args)
    listed = json.loads(registry_file.read_text())["models"]
    assert list(listed) == ["tiny"] and listed["tiny"]["training"]["epochs"] == 1 and (exports / "tiny" / "generator.onnx").is_file()


def test_publishing_over_a_described_generator_without_a_description_is_refused_and_keeps_it(tmp_path, capsys):
    """A republish without --description would replace the card's own line ("Self-conditioned
    DCGAN ...") with the generic "DCGAN trained on ...": refused before any work, naming both."""
    publish = import_script("publish")
    args, exports, _ = tiny_run_published_as(tmp_path)
    publish.main(args + ["--description", "A tiny DCGAN told in its own words"])
    card = (exports / "tiny" / "card.json").read_bytes()
    with pytest.raises(SystemExit) as raised:
        publish.main(args)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert raised.value.code == 2 and "'A tiny DCGAN told in its own words'" in err and "'DCGAN trained on Fashion-MNIST'" in err, err
    assert "give --description" in err and (exports / "tiny" / "card.json").read_bytes() == card


def test_another_exports_folder_without_a_registry_is_refused_and_keeps_the_projects_registry_and_readme(tmp_path, capsys):
    """zoo/registry.json and the README's table list this checkout's exports/: rebuilt from another
    --exports they would list only its generators. Without --registry that is refused by name,
    before any work, with nothing written; with --registry it goes to that file."""
    publish = import_script("publish")
    project_files = {path: path.read_bytes() for path in (ROOT / "zoo" / "registry.json", ROOT / "README.md")}
    args, exports, registry_file = tiny_run_published_as(tmp_path)
    shutil.copytree(ROOT / "exports" / "gan-fashion-mnist", exports / "gan-fashion-mnist")
    without_registry = args[: args.index("--registry")]
    try:
        for argv in (without_registry, ["--registry-only", "--exports", str(exports)]):
            with pytest.raises(SystemExit) as raised:
                publish.main(argv)
            err = capsys.readouterr().err.strip().splitlines()[-1]
            assert raised.value.code == 2 and f"--exports {exports} is not this checkout's exports/: give --registry FILE" in err, err
            assert sorted(path.name for path in exports.iterdir()) == ["gan-fashion-mnist"] and not registry_file.exists()
            assert {path: path.read_bytes() for path in project_files} == project_files
    finally:  # should the refusal ever go, the checkout's own files are put back
        for path, data in project_files.items():
            if path.read_bytes() != data:
                path.write_bytes(data)

    publish.main(["--registry-only", "--exports", str(exports), "--registry", str(registry_file)])
    assert list(json.loads(registry_file.read_text())["models"]) == ["gan-fashion-mnist"]
    assert {path: path.read_bytes() for path in project_files} == project_files


def test_the_readme_table_says_when_a_card_recorded_no_training_time():
    """A card whose `training.seconds` is null (a run whose training.json recorded no time) is
    listed as such; the table crashed on it (None / 60) after the registry was written."""
    publisher = import_script("publish")
    data = registry.load_registry()
    name = sorted(data["models"])[0]
    entry = data["models"][name]
    recorded = publisher.models_table(data)
    entry["training"] = {**entry["training"], "seconds": None}
    table = publisher.models_table(data)
    row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
    assert f"{entry['training']['epochs']} epochs, time not recorded on " in row
    others = [line for line in table.splitlines() if line != row]
    assert others == [line for line in recorded.splitlines() if not line.startswith(f"| `{name}` |")]  # the other rows as they were
