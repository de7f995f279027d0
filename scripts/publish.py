"""Publishes a trained run as `exports/<name>/` and refreshes the registry (`zoo/registry.json`).

    .venv/bin/python scripts/publish.py runs/publish/dcgan --name dcgan-fashion-mnist
    .venv/bin/python scripts/publish.py --reexport dcgan-fashion-mnist  # again, from its own weights, with today's exporter
    .venv/bin/python scripts/publish.py --reexport gan-fashion-mnist --remeasure  # ... and its quality measured again
    .venv/bin/python scripts/publish.py --registry-only      # rebuild zoo/registry.json from exports/
    .venv/bin/python scripts/publish.py runs/mine --name mine --exports ~/my-exports --registry ~/my-registry.json

The artifact (docs/artifacts.md) is written by `zoo.export.export_generator`: `generator.onnx` and
`saved_model/` (parity-checked against Keras; the SavedModel's variables are also the Keras
weights, which `zoo.load_generator` reads back), and `card.json` with the run's training
command, time and hardware from its `training.json`, the quality measured by `zoo.metrics`, and
the sha256 of every file. Everything is written in a staging folder and renamed into place.
"""

import argparse
import json
import re
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A published name is one folder of exports/ and one path segment of a download URL: lowercase
# letters, digits, '-', '_' and '.', starting with a letter or digit (so never '..' or hidden).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def published_name(text):
    """`text` as a published name (`NAME_PATTERN`); argparse's error otherwise, before any work."""
    if not NAME_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a published name: one folder name of lowercase letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (e.g. dcgan-fashion-mnist)"
        )
    return text


def read_json_object(path, what):
    """The JSON object in `path`, `what` saying what the file should be; a one-line ValueError
    naming the file and the problem (missing, a folder, not JSON, not an object) otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not {what}.")
    if not path.is_file():
        raise ValueError(f"{path} is missing ({what}).")
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not JSON text ({what}).") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({what}): {error.msg} at line {error.lineno}.") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}, not the object {what} is.")
    return data


def read_run(run_dir):
    """`(model, training)` of a training run folder: its zoo GAN (`zoo.saving.load_gan`) and the
    part of its training.json that trained it (`zoo.training.model_record`); a one-line
    ValueError naming the file and the problem otherwise."""
    from zoo.saving import load_gan
    from zoo.training import model_record

    run_dir = Path(run_dir)
    training = read_json_object(run_dir / "training.json", "the run's training record, which `python -m zoo train` writes")
    try:
        model = load_gan(run_dir / "model.keras")
    except (OSError, ValueError) as error:
        raise ValueError(str(error).strip().splitlines()[0]) from None
    return model, model_record(training, run_dir / "model.keras")


def check_registry_file(path):
    """Raises a one-line ValueError when the registry file `path` exists but is not a registry
    (not a JSON object, or no `base_url`, which the rebuilt registry keeps)."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        data = read_json_object(path, "a registry (zoo/registry.json's format)")
        if not isinstance(data.get("base_url"), str):
            raise ValueError(f"{path} has no base_url: not a registry (zoo/registry.json's format); nothing was written.")


def publish(run_dir, name, exports_dir=ROOT / "exports", description=None, command=None, quality=True, card=None, model=None, training=None):
    """Exports `run_dir/model.keras` to `exports_dir/name`; returns the card.

    `quality`: True to measure it with `zoo.metrics.measure`, a dict to record as it is (a
    family's own evaluation), or None; a text-to-image model is measured by `zoo.t2i_metrics`. `card`: more facts for
    card.json (classes, caption templates, ...). `model` and `training`: the run's, when already
    read (`read_run`).
    """
    from zoo.export import export_generator

    if model is None or training is None:
        model, training = read_run(run_dir)
    if model.family == "t2i":  # what the captions can say: classes, their nouns, colours, templates, held-out pairs
        from zoo import captions

        card = {**captions.card_facts(), **(card or {})}
    facts = {
        "description": description or generic_description(model, training),
        "dataset": training.get("dataset"),
        "training": training,
        "published_with": command,
        **(card or {}),
        "quality": measure_quality(model) if quality is True else quality or None,
    }
    return export_generator(model, Path(exports_dir) / name, name=name, card=facts, overwrite=True)  # publishing replaces


def generic_description(model, training):
    """The card's one line when `--description` gives none: "DCGAN trained on <dataset>"."""
    return f"{type(model).__name__} trained on {training.get('dataset', 'Fashion-MNIST')}"


def check_description_kept(exports_dir, name, model, training):
    """ValueError when publishing over `exports_dir/name` without `--description` would replace
    a card's own description (one a person wrote) with `generic_description`'s line."""
    card_path = Path(exports_dir) / name / "card.json"
    if not card_path.is_file():
        return
    try:
        old = json.loads(card_path.read_text()).get("description")
    except (ValueError, AttributeError):  # not a card this script can read: export_generator judges the folder
        return
    new = generic_description(model, training)
    if isinstance(old, str) and old and old != new:
        raise ValueError(f"{card_path} describes the generator as {old!r}; publishing over it without --description would "
                         f"write {new!r} instead: give --description (what this run is; the old line may no longer be true).")


# Facts that `export_generator` writes anew; a re-export keeps every other fact of the card.
EXPORT_FACTS = ("inputs", "outputs", "keras", "format_version", "parity", "files")


def reexport(name, exports_dir=ROOT / "exports", command=None, model=None, remeasure=False, description=None):
    """Exports the published `name` again from its own Keras weights with the current exporter.

    For changes of the artifact format: `model` is the artifact's Keras model (default: read
    back from the artifact), the card's facts (training, quality, ...) are kept (with
    `remeasure`, its quality is measured again, e.g. after `zoo.metrics` gained measures; with
    `description`, the card's one line is replaced), and
    the new files must give the old `generator.onnx`'s images (within the export's parity
    tolerance), or `zoo.export.ExportError` is raised and the artifact stays as it was.
    """
    import numpy as np

    from zoo.export import check_parity, export_generator, load_keras_model

    folder = Path(exports_dir) / name
    old_card = json.loads((folder / "card.json").read_text())
    model = model or load_keras_model(folder)
    examples = model.export_example(16, seed=0)
    check_parity(folder, examples, np.asarray(model.export_call(examples)))  # the published files' images, or ExportError
    facts = {key: value for key, value in old_card.items() if key not in EXPORT_FACTS and key != "name"}
    facts["reexported_with"] = command
    if description:
        facts["description"] = description
    if remeasure:
        facts["quality"] = measure_quality(model)
    return export_generator(model, folder, name=name, card=facts, overwrite=True)


def measure_quality(model):
    """The card's `quality`: `zoo.metrics.measure` on the exported generator; for a text-to-image
    model, `zoo.t2i_metrics` (caption fidelity under the attribute judge)."""
    if model.family == "t2i":
        from zoo import t2i_metrics

        results = t2i_metrics.evaluate(model, t2i_metrics.load_judge())
        print(t2i_metrics.format_table(results))
        return t2i_metrics.card_quality(results)
    from zoo import metrics

    started = time.perf_counter()
    quality = metrics.measure(model)
    print(f"Measured quality in {time.perf_counter() - started:.0f} s: {quality}")
    return quality


def write_registry(exports_dir=ROOT / "exports", path=None):
    """Rebuilds the registry from `exports_dir/*/card.json`, keeping its base URL."""
    from zoo import registry
    from zoo.files import atomic_write_json

    path = Path(path or registry.REGISTRY_PATH)
    check_registry_file(path)
    base = registry.load_registry(path)["base_url"] if path.is_file() else registry.DEFAULT_BASE_URL
    data = registry.build_registry(exports_dir, base)
    atomic_write_json(path, data)
    return data


def models_table(data):
    """The README's table of published generators: quality, size and training of each."""
    lines = [
        "| name | family | FID ↓ (floor) | precision / recall | density / coverage | class acc. | files | trained |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in sorted(data["models"].items()):
        quality = entry.get("quality") or {}
        fid = f"{quality['fid']:.2f} ({quality['fid_floor']:.2f})" if "fid" in quality else "–" if quality else "not measured"
        pr = f"{quality['precision']:.3f} / {quality['recall']:.3f}" if "precision" in quality else "–"
        dc = f"{quality['density']:.3f} / {quality['coverage']:.3f}" if "density" in quality else "–"
        accuracy = f"{quality['class_accuracy']:.3f}" if "class_accuracy" in quality else "–"
        seen = (quality.get("value") or {}).get("seen")  # zoo.t2i_metrics's attribute accuracies
        if seen:
            accuracy = f"{seen['class']:.3f} class, {seen['colour']:.3f} colour (seen captions)"
            held_out = quality["value"].get("held_out_pairs")
            if held_out:
                accuracy += f"; {held_out['class']:.3f} / {held_out['colour']:.3f} (held-out pairs)"
        training = entry.get("training") or {}
        seconds = training.get("seconds")  # null in the card of a run whose training.json recorded no time
        minutes = f"{seconds / 60:.0f} min" if isinstance(seconds, (int, float)) else "time not recorded"
        trained = f"{training.get('epochs')} epochs, {minutes} on {describe_machine(training.get('machine'))}"
        size = f"{entry['size_bytes'] / 2**20:.1f} MiB"
        lines.append(f"| `{name}` | {entry['family']} | {fid} | {pr} | {dc} | {accuracy} | {size} | {trained} |")
    total = sum(entry["size_bytes"] for entry in data["models"].values()) / 2**20
    lines.append("")
    count = len(data["models"])
    lines.append(f"{count} generator{'s' * (count != 1)}, {total:.1f} MiB in all (each: `generator.onnx`, `saved_model/` whose variables are also the Keras weights, `card.json`).")
    return "\n".join(lines)


def describe_machine(machine):
    if not machine:
        return "unrecorded hardware"
    gpus = ", ".join(machine.get("gpus") or []) or "no GPU"
    used = machine.get("cores_used")
    pinned = f", {used} core{'s' * (used != 1)} used" if used and used != machine.get("cores") else ""
    return f"{machine.get('cores')}-core {machine.get('cpu')} ({gpus}{pinned})"


def update_readme(data, path=ROOT / "README.md", start="<!-- published:start -->", end="<!-- published:end -->"):
    """Replaces the README's text between the published-models markers with `models_table`."""
    from zoo.files import atomic_write_text

    text = Path(path).read_text()
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    atomic_write_text(path, f"{head}{start}\n{models_table(data)}\n{end}{rest.split(end, 1)[1]}")


def exports_problem(exports_dir, registry_only):
    """Why `exports_dir` cannot be the exports folder, or None.

    The registry (and with the project's registry, the README's table) is rebuilt from what the
    folder holds, so a mistyped folder would silently publish nothing: it must exist, and for
    `--registry-only` hold at least one published artifact (`*/card.json` or `*/classifier.json`).
    """
    folder = Path(exports_dir)
    if not folder.is_dir():
        return f"--exports {folder}: {'not a folder' if folder.exists() else 'no such folder'}; nothing was written."
    if registry_only and not any(folder.glob("*/card.json")) and not any(folder.glob("*/classifier.json")):
        return f"--exports {folder} holds no published artifact (no */card.json or */classifier.json); nothing was written."
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="a training run folder holding model.keras and training.json")
    parser.add_argument("--name", type=published_name, help="the published name, e.g. dcgan-fashion-mnist (the folder of --exports it goes to)")
    parser.add_argument("--description", help="one line for the card and the model list (with --reexport: replaces the card's)")
    parser.add_argument("--exports", default=str(ROOT / "exports"), help="the exports folder (default: exports/)")
    parser.add_argument("--registry", help="registry file to write (default: zoo/registry.json, which lists exports/; needed with another --exports)")
    parser.add_argument("--registry-only", action="store_true", help="only rebuild the registry from the exports folder")
    parser.add_argument("--no-quality", action="store_true", help="publish without measuring quality (card.json's quality: null)")
    parser.add_argument("--reexport", metavar="NAME", type=published_name, help="export the published NAME again from its own weights with the current exporter, keeping its card's facts")
    parser.add_argument("--remeasure", action="store_true", help="with --reexport: measure the quality again instead of keeping the card's")
    parser.add_argument("--quality", help="a JSON file of quality measured by the family's own evaluation, recorded instead of zoo.metrics")
    args = parser.parse_args(argv)
    if args.remeasure and not args.reexport:
        parser.error("--remeasure applies to --reexport NAME (a new publish always measures quality, unless --no-quality)")
    problem = exports_problem(args.exports, args.registry_only)
    if problem:
        parser.error(problem)
    if args.registry is None and Path(args.exports).resolve() != (ROOT / "exports").resolve():
        parser.error(f"--exports {args.exports} is not this checkout's exports/: give --registry FILE, the registry to rebuild from it "
                     "(zoo/registry.json and the README's table list exports/, and would list only its generators); nothing was written.")
    if args.reexport and not (Path(args.exports) / args.reexport / "card.json").is_file():
        parser.error(f"--reexport {args.reexport}: no published generator there ({Path(args.exports) / args.reexport / 'card.json'} is missing)")
    if not args.registry_only and not (args.reexport or (args.run_dir and args.name)):
        parser.error("give a run folder and --name (or --reexport NAME, or --registry-only)")
    try:  # every input read before any work: a mistake ends in one line naming the file
        from zoo import registry

        check_registry_file(args.registry or registry.REGISTRY_PATH)
        if not args.registry_only and not args.reexport:
            quality = read_json_object(args.quality, "the --quality measurements") if args.quality else not args.no_quality
            model, training = read_run(args.run_dir)
            if args.description is None:
                check_description_kept(args.exports, args.name, model, training)
    except ValueError as error:
        parser.error(str(error))
    if not args.registry_only:
        started = time.perf_counter()
        command = shlex.join(["python", "scripts/publish.py", *(argv if argv is not None else sys.argv[1:])])
        if args.reexport:
            card = reexport(args.reexport, args.exports, command, remeasure=args.remeasure, description=args.description)
        else:
            card = publish(args.run_dir, args.name, args.exports, args.description, command, quality=quality, model=model, training=training)
        print(f"Published {card['name']} to {Path(args.exports) / card['name']} in {time.perf_counter() - started:.0f} s.")
    try:
        data = write_registry(args.exports, args.registry)
    except ValueError as error:  # e.g. a card whose name is not its folder's (zoo.registry.build_registry)
        parser.error(f"the registry was not written: {error}")
    if not args.registry:  # the project's own registry: its README table follows it
        update_readme(data)
    print(f"Registry lists {len(data['models'])} generator(s): {', '.join(sorted(data['models'])) or 'none'}.")


if __name__ == "__main__":
    main()
