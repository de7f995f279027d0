"""One call that trains a zoo model on Fashion-MNIST the way the CLI does, and records how.

A run folder holds everything of one training run:

    runs/dcgan/
      checkpoints/      resume state (both networks, both optimizers, step, noise seed)
      samples/          a PNG grid of samples per epoch, from fixed noise
      model.keras       the trained model (Keras format, load with safe_mode)
      training.json     command, dataset, epochs, time, images/s, machine

Calling `train` again on the same folder resumes from the last checkpoint.
"""

import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import keras

from zoo import data, models
from zoo.callbacks import EpochTimer, GANCheckpoint, SampleGrid, StopOnNonFiniteLoss, TrainingDiverged
from zoo.files import atomic_write, atomic_write_text


def train(
    family="dcgan",
    out_dir="runs/dcgan",
    epochs=5,
    batch_size=128,
    data_dir=None,
    source="local",
    limit=None,
    seed=0,
    model_kwargs=None,
    loss="non_saturating",
    update="alternating",
    jit_compile=True,
    log_dir=None,
    verbose="auto",
    resume=True,
    command=None,
    strategy=None,
):
    """Trains `family` on Fashion-MNIST into `out_dir` with `loss` (a name in `zoo.losses.LOSSES`)
    and `update` ("alternating" or "simultaneous", see `BaseGAN.compile`).

    `strategy`: a `tf.distribute.Strategy` (e.g. `MirroredStrategy()` for all local GPUs) to
    train on several devices; `batch_size` is then the global batch, split across them.

    Returns the trained model. Raises `zoo.callbacks.TrainingDiverged` when `d_loss` or
    `g_loss` becomes NaN or infinite; the checkpoints then hold the last good epoch.
    """
    out_dir = Path(out_dir)
    checkpoints = out_dir / "checkpoints"
    if not resume and checkpoints.exists():
        raise FileExistsError(f"{checkpoints} holds a previous run; remove it or resume it.")
    model_class = models.get(family)
    dataset = data.load_fashion_mnist(
        "train", batch_size=batch_size, data_dir=data_dir, source=source, limit=limit, seed=seed,
        with_labels=model_class.conditional,
    )
    keras.utils.set_random_seed(seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = model_class(seed=seed, **(model_kwargs or {}))
        model.compile(loss_fn=loss, update=update, jit_compile=jit_compile and strategy is None)
    timer = EpochTimer(batch_size)
    guard = StopOnNonFiniteLoss()
    callbacks = [
        guard,
        GANCheckpoint(checkpoints),
        SampleGrid(out_dir / "samples", log_dir=log_dir),
        timer,
    ]
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    started = time.perf_counter()
    if verbose == "auto":  # a live progress bar on a terminal, one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    history = model.fit(dataset, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - started
    if guard.message:
        raise TrainingDiverged(f"{guard.message} Checkpoints: {checkpoints}")
    atomic_write(out_dir / "model.keras", model.save)
    record = {
        "command": command,
        "family": family,
        "loss": model.loss_fn.name,
        "update": update,
        "dataset": f"Fashion-MNIST train ({source}{f', first {limit}' if limit else ''})",
        "epochs": epochs,
        "batch_size": batch_size,
        "seconds": round(seconds, 1),
        "images_per_second": round(timer.images_per_second(), 1),
        "final_logs": {key: float(values[-1]) for key, values in history.history.items()},
        "machine": machine_description(),
    }
    atomic_write_text(out_dir / "training.json", json.dumps(record, indent=2) + "\n")
    return model


def machine_description():
    """A short description of the hardware and software a figure was measured on."""
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpus": gpus,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
