"""DCGAN training images/s through `fit` on Keras's TensorFlow and JAX backends, side by side.

    .venv/bin/python scripts/bench_backends.py --epochs 3 --steps 10

Keras fixes its backend at import, so each backend trains in a subprocess of its own, one after
the other: the same model (DCGAN, default sizes, seed 0), the same real Fashion-MNIST batches
of 128, an XLA-compiled step on TensorFlow and JAX (`jit_compile=True`); PyTorch, when asked for
with `--backends tensorflow,jax,torch` (torch is not in requirements.txt), runs eagerly, Keras's
default there. The first epoch (tracing and compiling) is timed apart; images/s is over the
epochs after it. Prints a table and writes
`docs/results/backends.json`. Other work on the machine slows a run: the load average before
each run is recorded beside it.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")


def measure(epochs, steps, batch_size):
    """Runs in the subprocess: trains and returns this backend's row."""
    import keras

    from zoo import data
    from zoo.callbacks import EpochTimer
    from zoo.models import DCGAN

    load_before = os.getloadavg()[0]
    dataset = data.load_fashion_mnist(batch_size=batch_size, seed=0).repeat()
    gan = DCGAN(seed=0)
    gan.compile(jit_compile=keras.backend.backend() != "torch")
    timer = EpochTimer(batch_size)
    history = gan.fit(dataset, epochs=epochs + 1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    first_seconds, _ = timer.epochs[0]
    return {
        "backend": keras.backend.backend(),
        "version": __import__(keras.backend.backend()).__version__.split("+")[0],
        "jit_compile": bool(gan.jit_compile),
        "keras": keras.__version__,
        "batch_size": batch_size,
        "images_per_second": round(timer.images_per_second(), 1),
        "timed_images": sum(n for _, n in timer.epochs[1:]),
        "first_epoch_seconds": round(first_seconds, 1),
        "final_d_loss": round(float(history.history["d_loss"][-1]), 4),
        "final_g_loss": round(float(history.history["g_loss"][-1]), 4),
        "load_average_before": round(load_before, 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the first")
    parser.add_argument("--steps", type=int, default=10, help="steps per epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "backends.json")
    parser.add_argument("--backends", default="tensorflow,jax", help="comma-separated, run in this order")
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.epochs, args.steps, args.batch_size)))
        return

    rows = []
    for backend in args.backends.split(","):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, __file__, "--child", backend, "--epochs", str(args.epochs), "--steps", str(args.steps), "--batch-size", str(args.batch_size)]
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"{backend} run failed:\n{result.stderr[-3000:]}")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        row["process_seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)

    print(f"{'backend':<11} {'version':<8} {'jit':<5} {'images/s':>9} {'first epoch s':>14} {'load before':>12}")
    for row in rows:
        print(f"{row['backend']:<11} {row['version']:<8} {str(row['jit_compile']):<5} {row['images_per_second']:>9} {row['first_epoch_seconds']:>14} {row['load_average_before']:>12}")
    from zoo.bench import machine_description

    report = {
        "what": "DCGAN (default sizes) training images/s through fit, real Fashion-MNIST, CPU",
        "command": " ".join(["python", "scripts/bench_backends.py", "--epochs", str(args.epochs), "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--backends", args.backends]),
        "machine": machine_description(),
        "note": "Backends run one after the other on a shared machine; compare rows of one run only.",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    temporary.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
