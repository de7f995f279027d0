"""Training images/s of each GAN family on this machine, and a sample grid after the short run.

    .venv/bin/python scripts/train_speed.py --seconds 60

For each model (default sizes, batch 128, real Fashion-MNIST, XLA-compiled step as `train`
uses) this trains for about `--seconds` seconds in epochs of `--steps` steps, reports the
images/s of the epochs after the first (which includes tracing and compiling), writes
`docs/train_speed.json` (updating only the rows of the models measured) and a 10×10 grid of samples to `docs/images/<model>_samples.png`
(class-conditional models: one class per column, ids 0–9 left to right).
"""

import argparse
import json
import os
import time
from pathlib import Path

import keras

from zoo import data, models
from zoo.callbacks import EpochTimer
from zoo.files import atomic_write_json
from zoo.images import save_grid
from zoo.bench import machine_description


class StopAfter(keras.callbacks.Callback):
    """Stops `fit` at the end of the first epoch that ends after `seconds`."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def measure(family, seconds, steps, batch_size, out_dir):
    load_before = os.getloadavg()[0]  # other work on the machine slows the measurement: record it
    keras.utils.set_random_seed(0)
    model_class = models.get(family)
    dataset = data.load_fashion_mnist(batch_size=batch_size, seed=0, with_labels=model_class.conditional).repeat()
    model = model_class(seed=0)
    model.compile(jit_compile=True)
    timer = EpochTimer(batch_size)
    started = time.perf_counter()
    history = model.fit(dataset, epochs=10_000, steps_per_epoch=steps, callbacks=[timer, StopAfter(seconds)], verbose=0)
    wall = time.perf_counter() - started
    images_seen = sum(n for _, n in timer.epochs)
    grid = save_grid(model.generate(100, seed=0), out_dir / f"{family}_samples.png", columns=10, scale=2)
    return {
        "model": family,
        "class": type(model).__name__,
        "parameters": model.card()["parameters"],
        "batch_size": batch_size,
        "images_per_second": round(timer.images_per_second(), 1),
        "images_seen": images_seen,
        "epochs_of_fashion_mnist": round(images_seen / 60_000, 2),
        "wall_seconds": round(wall, 1),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "final_logs": {key: round(float(values[-1]), 4) for key, values in history.history.items()},
        "samples": str(grid),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="gan,dcgan,cgan", help="comma-separated model names")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per model")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", default="docs", help="folder of train_speed.json and images/")
    args = parser.parse_args()
    out = Path(args.out)
    rows = [measure(family, args.seconds, args.steps, args.batch_size, out / "images") for family in args.models.split(",")]
    for row in rows:
        row["measured"] = time.strftime("%Y-%m-%d %H:%M")
    path = out / "train_speed.json"
    earlier = json.loads(path.read_text())["results"] if path.is_file() else []  # other models' rows stay
    measured = {row["model"] for row in rows}
    record = {"machine": machine_description(), "results": [r for r in earlier if r["model"] not in measured] + rows}
    atomic_write_json(path, record)
    print(f"{'model':8} {'images/s':>9} {'images seen':>12} {'d_loss':>8} {'g_loss':>8}  samples")
    for row in rows:
        logs = row["final_logs"]
        print(f"{row['model']:8} {row['images_per_second']:9.0f} {row['images_seen']:12d} {logs['d_loss']:8.3f} {logs['g_loss']:8.3f}  {row['samples']}")


if __name__ == "__main__":
    main()
