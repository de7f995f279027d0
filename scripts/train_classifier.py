"""Trains the Fashion-MNIST classifier that `zoo.metrics` takes its features from.

    .venv/bin/python scripts/train_classifier.py            # 5 epochs on the 60,000 train images
    .venv/bin/python scripts/train_classifier.py --export-onnx --overwrite   # only rewrite classifier.onnx
    .venv/bin/python scripts/publish.py --registry-only     # then: the registry lists the new files

Writes `exports/classifier-fashion-mnist/classifier.keras`, `classifier.onnx` (the same network
for onnxruntime, which `python -m zoo eval` runs) and `classifier.json` (architecture facts,
test accuracy on the 10,000 test images, training time and machine, sha256 of both files).
An existing classifier there is replaced only with `--overwrite`, and then whole: the three
files are written into a temporary folder beside it, which takes its place once all are written.
"""

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras

from zoo import data
from zoo.bench import machine_description
from zoo.classifier import CARD_FILE, DEFAULT_DIR, FEATURES_LAYER, MODEL_FILE, ONNX_FILE, build_classifier, export_onnx, read_card
from zoo.files import atomic_write, atomic_write_json, current_umask, sha256

CLASSIFIER_FILES = (MODEL_FILE, ONNX_FILE, CARD_FILE)


def check_replaceable(out_dir, overwrite):
    """Raises, before any training, when `out_dir` cannot take a new classifier: it is a file, or
    it holds a classifier (the one `zoo.metrics` measures with, whose sha256 the registry lists)
    and `overwrite` is not given."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} is a file, not a folder for the classifier.")
    present = [name for name in CLASSIFIER_FILES if (out_dir / name).exists()]
    if present and not overwrite:
        raise FileExistsError(f"{out_dir} holds a classifier ({', '.join(present)}); pass --overwrite (overwrite=True) to replace it.")


def write_folder_staged(out_dir, write):
    """Calls `write(staging)` on a new temporary folder beside `out_dir`, then puts it in place of
    `out_dir`; returns what `write` returns.

    Other files already in `out_dir` are copied over before the swap. If anything fails, the
    temporary folder is deleted and `out_dir` is left as it was: a reader never sees a new model
    beside an old card.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.new-"))
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    try:
        os.chmod(staging, 0o777 & ~current_umask())
        result = write(staging)
        for item in sorted(out_dir.iterdir()) if out_dir.is_dir() else ():
            if not (staging / item.name).exists():
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, staging / item.name)
        if out_dir.exists():
            os.rename(out_dir, old)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return result


def train_classifier(out_dir=DEFAULT_DIR, epochs=5, batch_size=128, limit=None, data_dir=None, seed=0, verbose=2, command=None, overwrite=False):
    """Trains the classifier on Fashion-MNIST train, measures it on test, writes it to `out_dir`.

    Returns the card (a dict) that is written beside the model as `classifier.json`. A classifier
    already in `out_dir` is refused before training (FileExistsError) unless `overwrite`, and is
    then replaced whole (`write_folder_staged`).
    """
    check_replaceable(out_dir, overwrite)
    keras.utils.set_random_seed(seed)
    train_images, train_labels = data.load_arrays("train", data_dir)
    test_images, test_labels = data.load_arrays("test", data_dir)
    if limit is not None:
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    model.fit(data.to_unit_range(train_images), train_labels, batch_size=batch_size, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(data.to_unit_range(test_images), test_labels, batch_size=512, verbose=0)
    shipped = build_classifier()  # the same network without the optimizer's state: a third of the size
    shipped.set_weights(model.get_weights())
    facts = {"train_images": len(train_images), "test_accuracy": test_accuracy, "seconds": seconds}
    return write_folder_staged(out_dir, lambda folder: write_classifier(folder, shipped, model, facts, epochs, batch_size, command))


def write_classifier(out_dir, shipped, model, facts, epochs, batch_size, command):
    """Writes `shipped` (classifier.keras and classifier.onnx) and its card into `out_dir`; returns the card."""
    out_dir = Path(out_dir)
    path = atomic_write(out_dir / MODEL_FILE, shipped.save)  # the temporary name ends in .keras too
    onnx_path = export_onnx(shipped, out_dir / ONNX_FILE)
    card = {
        "name": "classifier-fashion-mnist",
        "kind": "feature classifier for FID, KID, precision/recall and class accuracy (not a generator)",
        "dataset": f"Fashion-MNIST train ({facts['train_images']} images); accuracy on the 10,000 test images",
        "input": {"shape": [28, 28, 1], "range": [-1.0, 1.0], "layout": "NHWC"},
        "features": {"layer": FEATURES_LAYER, "dim": int(model.get_layer(FEATURES_LAYER).units)},
        "classes": list(data.CLASS_NAMES),
        "test_accuracy": round(float(facts["test_accuracy"]), 4),
        "parameters": int(model.count_params()),
        "training": {
            "command": command,
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": "Adam(1e-3)",
            "seconds": round(facts["seconds"], 1),
            "machine": machine_description(),
        },
        "files": {MODEL_FILE: sha256(path), ONNX_FILE: sha256(onnx_path)},
    }
    atomic_write_json(out_dir / CARD_FILE, card)
    return card


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_DIR), help="folder to write (default: exports/classifier-fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--export-onnx", action="store_true", help="do not train: write classifier.onnx from the checked classifier.keras in --out and record its sha256")
    parser.add_argument("--overwrite", action="store_true", help="replace the classifier already in --out (the shipped one: then run publish.py --registry-only)")
    args = parser.parse_args(argv)
    if args.export_onnx:
        try:
            check_onnx_replaceable(args.out, args.overwrite)
        except OSError as error:
            parser.error(str(error))
        write_onnx(Path(args.out), overwrite=args.overwrite)
        return
    try:
        check_replaceable(args.out, args.overwrite)
    except OSError as error:
        parser.error(str(error))
    command = shlex.join(["python", "scripts/train_classifier.py", *(argv if argv is not None else sys.argv[1:])])
    card = train_classifier(args.out, args.epochs, args.batch_size, args.limit, args.data_dir, command=command, overwrite=args.overwrite)
    print(f"Test accuracy {card['test_accuracy']:.4f}; wrote {args.out}")


def check_onnx_replaceable(folder, overwrite):
    """Raises when `folder` already holds a classifier.onnx and `overwrite` is not given: the
    file `python -m zoo eval` measures with is replaced only when asked."""
    onnx_path = Path(folder) / ONNX_FILE
    if onnx_path.exists() and not overwrite:
        raise FileExistsError(f"{onnx_path} exists; pass --overwrite (overwrite=True) to replace it.")


def write_onnx(folder, overwrite=False):
    """classifier.onnx from the classifier.keras in `folder` (checked against its card); the card lists both.

    The new file and the card that lists its sha256 are written into a staged copy of `folder`
    (`write_folder_staged`), so that a failure or an interruption leaves the old pair, never a
    new file beside a card that names the old one's digest."""
    from zoo.saving import load_model

    folder = Path(folder)
    check_onnx_replaceable(folder, overwrite)
    card = read_card(folder, MODEL_FILE)
    model = load_model(folder / MODEL_FILE)

    def write(staging):
        path = export_onnx(model, staging / ONNX_FILE)
        card["files"] = {MODEL_FILE: card["files"][MODEL_FILE], ONNX_FILE: sha256(path)}
        atomic_write_json(staging / CARD_FILE, card)

    write_folder_staged(folder, write)
    print(f"Wrote {folder / ONNX_FILE} (features and logits within 1e-4 of Keras); {folder / CARD_FILE} lists its sha256")


if __name__ == "__main__":
    main()
