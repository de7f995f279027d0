"""One call that trains a zoo model on Fashion-MNIST the way the CLI does, and records how.

A run folder holds everything of one training run:

    runs/dcgan/
      checkpoints/      resume state (both networks, both optimizers, step, noise seed)
      samples/          a PNG grid of samples per epoch, from fixed noise
      model.keras       the trained model (Keras format, load with safe_mode)
      training.json     command, dataset, epochs, time, images/s, machine; and `sessions`: one
                        entry per `train` call on this folder (finished, interrupted, diverged)
      .lock             held while a `train` runs here (a second one into the same folder fails)

Calling `train` again on the same folder resumes from the last checkpoint, with the same
settings (family, loss, update, batch size, model options): other settings are refused, as they
would make one record of two different trainings. `training.json` is strict JSON (no NaN).
"""

import contextlib
import datetime
import json
import os
import sys
import time
from pathlib import Path

import keras

from zoo import data, models
from zoo.bench import machine_description
from zoo.callbacks import EpochTimer, GANCheckpoint, SampleGrid, StopOnNonFiniteLoss, TrainingDiverged
from zoo.files import FolderLock, atomic_write, atomic_write_json, json_ready
from zoo.validation import check_int

MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 1 << 20


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
    and `update` ("alternating" or "simultaneous", see `BaseGAN.compile`), up to `epochs` epochs
    in all (a resumed run continues from its last checkpoint).

    `strategy`: a `tf.distribute.Strategy` (e.g. `MirroredStrategy()` for all local GPUs) to
    train on several devices; `batch_size` is then the global batch, split across them.

    Returns the trained model. Raises `zoo.callbacks.TrainingDiverged` when `d_loss` or
    `g_loss` becomes NaN or infinite (the checkpoints then hold the last good epoch),
    `zoo.files.FolderInUse` when another process trains into `out_dir`, and ValueError for
    settings out of range or differing from those the run was started with. On Ctrl-C it
    records the session as interrupted, says where the last checkpoint is, and re-raises.
    """
    epochs = check_int("epochs", epochs, 1, MAX_EPOCHS)
    batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
    limit = None if limit is None else check_int("limit", limit, 1, 1 << 40)
    out_dir = Path(out_dir)
    with FolderLock(out_dir, "training"):
        return _train(
            family, out_dir, epochs, batch_size, data_dir, source, limit, seed, model_kwargs or {}, loss, update,
            jit_compile, log_dir, verbose, resume, command, strategy,
        )


def _train(family, out_dir, epochs, batch_size, data_dir, source, limit, seed, model_kwargs, loss, update, jit_compile, log_dir,
           verbose, resume, command, strategy):
    checkpoints = out_dir / "checkpoints"
    if not resume and checkpoints.exists():
        raise FileExistsError(f"{checkpoints} holds a previous run; remove it or resume it.")
    model_class = models.get(family)
    settings = json_ready({
        "family": family, "loss": getattr(loss, "name", loss), "update": update, "batch_size": batch_size, "model": model_kwargs,
    })
    record = read_record(out_dir / "training.json")
    done = ([0] + [epoch for epoch, _ in GANCheckpoint(checkpoints).checkpoints()])[-1]
    for earlier in record["sessions"]:  # we hold the lock: a session still "running" was killed
        if earlier.get("status") == "running":
            earlier.update(status="killed (ended without finishing)", to_epoch=done)
            earlier.pop("pid", None)
    if done:
        check_same_settings(out_dir, record, settings)
    dataset = data.load_fashion_mnist(
        "train", batch_size=batch_size, data_dir=data_dir, source=source, limit=limit, seed=seed,
        with_labels=model_class.conditional,
    )
    keras.utils.set_random_seed(seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = model_class(seed=seed, **model_kwargs)
        model.compile(loss_fn=loss, update=update, jit_compile=jit_compile and strategy is None)
    timer = EpochTimer(batch_size)
    guard = StopOnNonFiniteLoss()
    checkpoint = GANCheckpoint(checkpoints)
    callbacks = [guard, checkpoint, SampleGrid(out_dir / "samples", log_dir=log_dir), timer]
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    if verbose == "auto":  # a live progress bar on a terminal, one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    if done >= epochs:  # nothing to train: keep the record as it is
        model.fit(dataset.take(1), epochs=epochs, callbacks=[checkpoint], verbose=0)  # loads the checkpoint, trains nothing
        print(f"{out_dir} has trained {done} epochs already (asked for {epochs}): nothing to train; "
              "pass a larger --epochs to continue it.")
        if not (out_dir / "model.keras").exists():
            atomic_write(out_dir / "model.keras", model.save)
        return model
    session = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        **settings,
        "dataset": f"Fashion-MNIST train ({source}{f', first {limit}' if limit else ''})",
        "from_epoch": done,
        "to_epoch": done,
        "status": "running",
        "pid": os.getpid(),
        "machine": machine_description(),
    }
    record["sessions"].append(session)
    write_record(out_dir / "training.json", record)
    started = time.perf_counter()
    try:
        history = model.fit(dataset, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    except BaseException as error:
        session.update(status="interrupted" if isinstance(error, KeyboardInterrupt) else f"failed: {type(error).__name__}: {error}")
        end_session(out_dir, record, session, checkpoint, started, timer)
        if isinstance(error, KeyboardInterrupt):
            print(interrupted_message(out_dir, checkpoint, command), file=sys.stderr)
        raise
    if guard.message:
        session.update(status="diverged", message=guard.message)
        end_session(out_dir, record, session, checkpoint, started, timer)
        raise TrainingDiverged(f"{guard.message} Checkpoints: {checkpoints}")
    atomic_write(out_dir / "model.keras", model.save)
    session.update(status="finished", final_logs={key: float(values[-1]) for key, values in history.history.items()})
    end_session(out_dir, record, session, checkpoint, started, timer)
    return model


def read_record(path):
    """A run's training.json as `{..., "sessions": [...]}`; a record written before sessions
    existed becomes the first session, so no history is lost."""
    if not path.is_file():
        return {"sessions": []}
    try:
        record = json.loads(path.read_text())  # lenient: older versions wrote NaN
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); move it aside to start a new record.") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} does not hold a training record (a JSON object); move it aside to start a new record.")
    if not isinstance(record.get("sessions"), list):
        earlier = {key: value for key, value in record.items() if key != "sessions"}
        record = {"sessions": [{**earlier, "status": "finished", "to_epoch": earlier.get("epochs")}] if earlier else []}
    return json_ready(record)


def check_same_settings(out_dir, record, settings):
    """Refuses to resume a run with other settings than its last session's (a record written before
    sessions existed has no model options to compare)."""
    previous = next((s for s in reversed(record["sessions"]) if "family" in s), None)
    if previous is None:
        return
    flags = {"family": "model", "loss": "--loss", "update": "--update", "batch_size": "--batch-size", "model": "model options"}
    changed = [key for key in flags if key in previous and previous[key] != settings[key]]
    if changed:
        was = ", ".join(f"{flags[key]} {previous[key]}" for key in changed)
        now = ", ".join(f"{flags[key]} {settings[key]}" for key in changed)
        raise ValueError(
            f"{out_dir} was trained with {was}; this run asks for {now}. Resuming with other settings would mix two "
            f"trainings in one run: use the same settings, or another --out (the record is {out_dir / 'training.json'})."
        )


def end_session(out_dir, record, session, checkpoint, started, timer):
    """Closes `session` (time, images/s, epochs reached) and writes the record."""
    saved = checkpoint.checkpoints()
    session.update(
        to_epoch=saved[-1][0] if saved else session["from_epoch"],
        seconds=round(time.perf_counter() - started, 1),
        images_per_second=round(timer.images_per_second(), 1) if timer.epochs else None,
    )
    session.pop("pid", None)
    write_record(out_dir / "training.json", record)


def write_record(path, record):
    """Writes training.json: the sessions, and at the top the facts of the run as a whole (the
    latest settings, every epoch trained, the time of all sessions) that exports copy into card.json."""
    sessions = record["sessions"]
    latest = sessions[-1]
    finished = [s for s in sessions if s.get("status") == "finished"]
    last = finished[-1] if finished else latest
    summary = {
        "command": latest.get("command"),
        "family": latest.get("family"),
        "loss": latest.get("loss"),
        "update": latest.get("update"),
        "dataset": latest.get("dataset"),
        "epochs": max((s.get("to_epoch") or 0) for s in sessions),
        "batch_size": latest.get("batch_size"),
        "seconds": round(sum(s.get("seconds") or 0 for s in sessions), 1),
        "images_per_second": last.get("images_per_second"),
        "final_logs": last.get("final_logs", {}),
        "machine": latest.get("machine"),
    }
    record.clear()
    record.update(summary, sessions=sessions)
    atomic_write_json(path, record)


def interrupted_message(out_dir, checkpoint, command):
    saved = checkpoint.checkpoints()
    again = command or f"the same train command (--out {out_dir})"
    if not saved:
        return f"Interrupted before the first epoch finished: no checkpoint in {checkpoint.directory}; {again} starts over."
    epoch, path = saved[-1]
    return f"Interrupted. The last checkpoint is {path} (epoch {epoch}); run {again} again to resume from it."

