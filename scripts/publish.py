"""Publishes a trained run as `exports/<name>/` and refreshes the registry (`zoo/registry.json`).

    .venv/bin/python scripts/publish.py runs/publish/dcgan --name dcgan-fashion-mnist
    .venv/bin/python scripts/publish.py --registry-only      # rebuild zoo/registry.json from exports/

The artifact (ARTIFACTS.md): `generator.onnx` and `saved_model/` by `zoo.export.export_generator`
(parity-checked against Keras), `<network>.weights.h5` (the Keras weights of the
networks the export runs: the generator, and the text encoder of text-to-image models; the
model's config is in the card), and `card.json` with the run's training command, time and
hardware from its `training.json`, the quality measured by `zoo.metrics`, and the sha256 of
every file. Everything is written in a staging folder and renamed into place at the end.
"""

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Networks besides the generator that the exported graph runs (and `load_generator` must restore).
SAMPLING_NETWORKS = ("text_encoder",)


def publish(run_dir, name, exports_dir=ROOT / "exports", description=None, command=None, quality=True, card=None):
    """Exports `run_dir/model.keras` to `exports_dir/name`; returns the card.

    `quality`: True to measure it with `zoo.metrics.measure`, a dict to record as it is (a
    family's own evaluation, e.g. scripts/eval_t2i.py's), or None. `card`: more facts for
    card.json (classes, caption templates, ...).
    """
    from zoo.export import _move_into_place, export_generator
    from zoo.saving import load_model

    run_dir, exports_dir = Path(run_dir), Path(exports_dir)
    model = load_model(run_dir / "model.keras")
    training = json.loads((run_dir / "training.json").read_text())
    facts = {
        "description": description or f"{type(model).__name__} trained on {training.get('dataset', 'Fashion-MNIST')}",
        "dataset": training.get("dataset"),
        "training": training,
        "keras": keras_facts(model),
        "published_with": command,
        **(card or {}),
    }
    exports_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=exports_dir, prefix=f".{name}.publish-") as staging:
        artifact = Path(staging) / name
        published = export_generator(model, artifact, name=name, card=facts)
        published["quality"] = measure_quality(model) if quality is True else quality or None
        write_keras_weights(model, artifact, published)
        _move_into_place(artifact, exports_dir / name)
    return published


def add_keras_weights(run_dir, name, exports_dir=ROOT / "exports", command=None):
    """Adds the Keras weights of `run_dir/model.keras` to `exports_dir/name`, an artifact exported
    without them (e.g. by a family's own evaluation script), keeping its files and card facts.

    The run's model must give the artifact's images (ONNX and SavedModel within the export's
    parity tolerance), or `zoo.export.ExportError` is raised and nothing changes.
    """
    import numpy as np

    from zoo.export import _move_into_place, check_parity
    from zoo.saving import load_model

    folder = Path(exports_dir) / name
    model = load_model(Path(run_dir) / "model.keras")
    examples = model.export_example(5, seed=0)
    check_parity(folder, examples, np.asarray(model.export_call(examples)))
    card = json.loads((folder / "card.json").read_text())
    card["keras"] = keras_facts(model)
    card["keras_weights_added_with"] = command
    with tempfile.TemporaryDirectory(dir=exports_dir, prefix=f".{name}.publish-") as staging:
        artifact = Path(staging) / name
        shutil.copytree(folder, artifact)
        write_keras_weights(model, artifact, card)
        _move_into_place(artifact, folder)
    return card


def keras_facts(model):
    """The card's `keras`: how `zoo.load_generator` rebuilds the model and which weights it loads."""
    import keras

    return {
        "class": keras.saving.get_registered_name(type(model)),
        "module": type(model).__module__,
        "config": model.get_config(),
        "weights": {network: f"{network}.weights.h5" for network in sampling_networks(model)},
        "keras_version": keras.__version__,
    }


def write_keras_weights(model, artifact, card):
    """Saves the sampling networks' weights into `artifact`, then its card with every file's sha256."""
    from zoo.export import _artifact_files, sha256
    from zoo.files import atomic_write_text

    for network_name, network in sampling_networks(model).items():
        network.save_weights(artifact / f"{network_name}.weights.h5")
    card["files"] = {path: sha256(artifact / path) for path in _artifact_files(artifact)}
    atomic_write_text(artifact / "card.json", json.dumps(card, indent=2) + "\n")


def sampling_networks(model):
    """The networks the export runs, by name: the generator (its moving average when kept), and a
    text encoder when there is one. The discriminator is not published."""
    networks = {"generator": model.sampling_generator}
    networks.update({name: getattr(model, name) for name in SAMPLING_NETWORKS if hasattr(model, name)})
    return networks


def measure_quality(model):
    """The card's `quality`: `zoo.metrics.measure` on the exported generator, if that module exists."""
    try:
        from zoo import metrics
    except ImportError:
        return None
    started = time.perf_counter()
    quality = metrics.measure(model)
    print(f"Measured quality in {time.perf_counter() - started:.0f} s: {quality}")
    return quality


def write_registry(exports_dir=ROOT / "exports", path=None):
    """Rebuilds the registry from `exports_dir/*/card.json`, keeping its base URL."""
    from zoo import registry
    from zoo.files import atomic_write_text

    path = Path(path or registry.REGISTRY_PATH)
    base = registry.load_registry(path)["base_url"] if path.is_file() else registry.DEFAULT_BASE_URL
    data = registry.build_registry(exports_dir, base)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    return data


def models_table(data):
    """The README's table of published generators: quality, size and training of each."""
    lines = [
        "| name | family | FID ↓ (floor) | precision / recall | class acc. | files | trained |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in sorted(data["models"].items()):
        quality = entry.get("quality") or {}
        fid = f"{quality['fid']:.2f} ({quality['fid_floor']:.2f})" if "fid" in quality else "–" if quality else "not measured"
        pr = f"{quality['precision']:.3f} / {quality['recall']:.3f}" if "precision" in quality else "–"
        accuracy = f"{quality['class_accuracy']:.3f}" if "class_accuracy" in quality else "–"
        seen = (quality.get("value") or {}).get("seen")  # scripts/eval_t2i.py's attribute accuracies
        if seen:
            accuracy = f"{seen['class']:.3f} class, {seen['colour']:.3f} colour (seen captions)"
        training = entry.get("training") or {}
        trained = f"{training.get('epochs')} epochs, {training.get('seconds', 0) / 60:.0f} min on {describe_machine(training.get('machine'))}"
        size = f"{entry['size_bytes'] / 2**20:.1f} MiB"
        lines.append(f"| `{name}` | {entry['family']} | {fid} | {pr} | {accuracy} | {size} | {trained} |")
    total = sum(entry["size_bytes"] for entry in data["models"].values()) / 2**20
    lines.append("")
    count = len(data["models"])
    lines.append(f"{count} generator{'s' * (count != 1)}, {total:.1f} MiB in all (each: `generator.onnx`, `saved_model/`, Keras weights, `card.json`).")
    return "\n".join(lines)


def describe_machine(machine):
    if not machine:
        return "unrecorded hardware"
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    return f"{machine.get('cores')}-core {machine.get('cpu')} ({gpus})"


def update_readme(data, path=ROOT / "README.md", start="<!-- published:start -->", end="<!-- published:end -->"):
    """Replaces the README's text between the published-models markers with `models_table`."""
    from zoo.files import atomic_write_text

    text = Path(path).read_text()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    atomic_write_text(path, f"{head}{start}\n{models_table(data)}\n{end}{rest.split(end, 1)[1]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="a training run folder holding model.keras and training.json")
    parser.add_argument("--name", help="the published name, e.g. dcgan-fashion-mnist")
    parser.add_argument("--description", help="one line for the card and the model list")
    parser.add_argument("--exports", default=str(ROOT / "exports"), help="the exports folder (default: exports/)")
    parser.add_argument("--registry", help="registry file to write (default: zoo/registry.json)")
    parser.add_argument("--registry-only", action="store_true", help="only rebuild the registry from the exports folder")
    parser.add_argument("--no-quality", action="store_true", help="publish without measuring quality (card.json's quality: null)")
    parser.add_argument("--add-keras-weights", action="store_true", help="add the run's Keras weights to an existing exports/<name>/ made without them (checked for parity), keeping its card")
    parser.add_argument("--quality", help="a JSON file of quality measured by the family's own evaluation, recorded instead of zoo.metrics")
    args = parser.parse_args(argv)
    if not args.registry_only:
        if not (args.run_dir and args.name):
            parser.error("give a run folder and --name (or --registry-only)")
        started = time.perf_counter()
        command = shlex.join(["python", "scripts/publish.py", *(argv if argv is not None else sys.argv[1:])])
        quality = json.loads(Path(args.quality).read_text()) if args.quality else not args.no_quality
        if args.add_keras_weights:
            card = add_keras_weights(args.run_dir, args.name, args.exports, command)
        else:
            card = publish(args.run_dir, args.name, args.exports, args.description, command, quality=quality)
        print(f"Published {card['name']} to {Path(args.exports) / card['name']} in {time.perf_counter() - started:.0f} s.")
    data = write_registry(args.exports, args.registry)
    if not args.registry:  # the project's own registry: its README table follows it
        update_readme(data)
    print(f"Registry lists {len(data['models'])} generator(s): {', '.join(sorted(data['models'])) or 'none'}.")


if __name__ == "__main__":
    main()
