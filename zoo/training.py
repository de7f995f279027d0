"""One call that trains a zoo model the way the CLI does, and records how.

The data is Fashion-MNIST (local IDX files or TFDS), any TFDS image dataset (`source="tfds"`,
`dataset=NAME`), or a folder of your own images (`images=DIR`, `zoo.image_folder`).

A run folder holds everything of one training run:

    runs/dcgan/
      checkpoints/      resume state (both networks, both optimizers, step, noise seed)
      samples/          a PNG grid of samples per epoch, from fixed noise
      model.keras       the trained model (Keras format, load with safe_mode)
      training.json     command, dataset, epochs, time, images/s, machine, the training path
                        (convolutions, XLA, precision: `zoo.speed`) and how it was chosen; and
                        `sessions`: one entry per `train` call on this folder (finished,
                        interrupted, diverged, killed: its time up to its last checkpoint);
                        `model_keras`: the epoch and sha256 of the model.keras written last
      .lock             held while a `train` runs here (a second one into the same folder fails)

Calling `train` again on the same folder resumes from the last checkpoint, with the same
settings (family, loss, update, batch size, model options): other settings are refused, as they
would make one record of two different trainings. `training.json` is strict JSON (no NaN).
"""

import contextlib
import datetime
import inspect
import json
import os
import signal
import sys
import time
from pathlib import Path

import keras

from zoo import data, losses, models, speed
from zoo import layers as zoo_layers
from zoo.bench import machine_description
from zoo.callbacks import EpochTimer, FIDMonitor, GANCheckpoint, SampleGrid, StopOnNonFiniteLoss, TimeLimit, TrainingDiverged
from zoo.files import FolderInUse, FolderLock, atomic_write, atomic_write_json, json_ready, sha256
from zoo.models.base import discriminator_steps_of
from zoo.validation import check_int, check_number

MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 1 << 20
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed's (NumPy's legacy seeding) largest


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
    update=None,
    jit_compile="auto",
    log_dir=None,
    verbose="auto",
    resume=True,
    command=None,
    strategy=None,
    images=None,
    image_size=None,
    dataset=None,
    optimizer=None,
    time_limit=None,
    time_limit_clock="wall",
    convolutions="auto",
    precision=None,
    calibrate=None,
    fid_every=None,
    callbacks=None,
    data_options=None,
):
    """Trains `family` into `out_dir` with `loss` (a name in `zoo.losses.LOSSES`) and `update`
    ("alternating", "reuse" or "simultaneous", see `BaseGAN.compile`; default: the one the run was
    started with when it resumes, else "reuse" where the model takes it: see `default_update`), up to `epochs` epochs in all
    (a resumed run continues from its last checkpoint).

    The data: Fashion-MNIST by default (`data_dir`, or `source="tfds"`); `images`: a folder of
    JPEG/PNG files (one sub-folder per class for a class-conditional family), cropped square and
    resized to `image_size` (default 64); `source="tfds"` with `dataset`: that TFDS dataset,
    resized to `image_size` (default: its own size). The data fixes the model's `image_shape`
    (and a conditional model's `class_names`).

    `family="t2i"` trains on colourised, captioned Fashion-MNIST (`zoo.captions`): the tokenizer
    is fitted on the training captions and the text encoder pretrained and frozen before the
    first epoch (`text_to_image_data`); `data_options` are `zoo.captions.MatchingBatches`'s
    (e.g. `{"compose": False}`). `callbacks`: more Keras callbacks for `fit`.

    `strategy`: a `tf.distribute.Strategy` (e.g. `MirroredStrategy()` for all local GPUs) to
    train on several devices; `batch_size` is then the global batch, split across them.

    `optimizer`: Adam settings over the loss's defaults, any of `d_learning_rate`,
    `g_learning_rate` (a faster discriminator is TTUR, Heusel et al. 2017) and `beta_1`.
    `time_limit`: seconds after which training stops at the end of a step, on `time_limit_clock`
    ("wall" or "cpu": this process's processor time; see `zoo.callbacks.TimeLimit`).
    `fid_every`: log FID, density and coverage of 2,000 samples every this many epochs
    (`zoo.callbacks.FIDMonitor`, Fashion-MNIST only; the time counts as training time).

    How the steps run (not what they compute) is chosen for the machine by `zoo.speed.choose`:
    `convolutions` ("phases", "keras", "winograd" or "auto"), `jit_compile` (True, False or "auto"),
    `precision` ("float32", "mixed_bfloat16", "mixed_float16" or "auto": float32, and where the
    hardware runs bfloat16 natively, bfloat16 if a calibration measures it faster; unmeasured,
    bfloat16 on GPUs only; None: `default_precision(family)`), `calibrate` (True: measure the
    candidates on this machine once and cache the result; False: decide by the CPU's flags;
    None: measure for runs long enough to repay it). `training.json` records the path and how it was chosen.

    Returns the trained model. Raises `zoo.callbacks.TrainingDiverged` when `d_loss` or
    `g_loss` becomes NaN or infinite (the checkpoints then hold the last good epoch),
    `zoo.files.FolderInUse` when another process trains into `out_dir`, and ValueError for
    settings out of range or differing from those the run was started with. On Ctrl-C it
    records the session as interrupted, says where the last checkpoint is, and re-raises; SIGTERM
    (a scheduler's preemption) does the same, raising `Terminated` (a KeyboardInterrupt).
    """
    epochs = check_int("epochs", epochs, 1, MAX_EPOCHS)
    batch_size = check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
    limit = None if limit is None else check_int("limit", limit, 1, 1 << 40)
    seed = check_int("seed", seed, 0, MAX_SEED)
    optimizer = check_optimizer_settings(optimizer)
    time_limit = None if time_limit is None else TimeLimit(time_limit, time_limit_clock)
    fid_monitor = None if fid_every is None else FIDMonitor(every=fid_every, n=2000, log_dir=log_dir, data_dir=data_dir)
    if fid_monitor is not None and (family == "t2i" or images is not None or (source == "tfds" and dataset not in (None, "fashion_mnist"))):
        raise ValueError("--fid-every scores against Fashion-MNIST with its classifier: it applies to Fashion-MNIST training only "
                         "(not to text to image, whose garments are coloured; python -m zoo eval scores those).")
    precision = default_precision(family) if precision is None else precision
    out_dir = Path(out_dir)
    check_run_folder(out_dir)
    new_folder = not out_dir.exists()
    try:
        with FolderLock(out_dir, "training"), interrupts_raised():
            return _train(
                family, out_dir, epochs=epochs, batch_size=batch_size, seed=seed, model_kwargs=model_kwargs or {}, loss=loss,
                update=update, jit_compile=jit_compile, log_dir=log_dir, verbose=verbose, resume=resume, command=command,
                strategy=strategy, optimizer=optimizer, time_limit=time_limit, path_options=(convolutions, precision, calibrate),
                fid_monitor=fid_monitor, extra_callbacks=callbacks,
                data=dict(data_dir=data_dir, source=source, limit=limit, images=images, image_size=image_size, dataset=dataset, data_options=data_options),
            )
    except FolderInUse:  # another train made the folder after our look and holds it: its lock is not ours to remove
        raise
    except BaseException:
        if new_folder:  # refused before anything was written (no data, a size the networks cannot make): no empty run left behind
            remove_if_only_lock(out_dir)
        raise


class Terminated(KeyboardInterrupt):
    """SIGTERM while `train` runs (a scheduler preempting the job, `kill`): raised as an interrupt,
    so that the session is recorded as interrupted, the last checkpoint named and the lock let go,
    as for Ctrl-C, instead of the process ending mid-step with the session left "running"."""

    signal_name = "SIGTERM"
    exit_code = 128 + signal.SIGTERM


_pending_interrupt = []  # the interrupt `interrupts_raised` has raised, until its block ends


@contextlib.contextmanager
def interrupts_raised():
    """Within the block, Ctrl-C (SIGINT) raises KeyboardInterrupt and SIGTERM `Terminated` in the
    main thread, and each is remembered until the block ends, so that `raise_pending_interrupt`
    raises it again where Python dropped it: a KeyboardInterrupt raised while a garbage-collector
    callback runs (jax's, whenever Keras has imported it) is printed as "Exception ignored" and lost,
    and training would go on as if never stopped. Outside the main thread, where Python allows no
    handler, the signals keep theirs. The previous handlers are put back after."""
    def interrupt(signum, frame):
        _pending_interrupt[:] = [Terminated if signum == signal.SIGTERM else KeyboardInterrupt]
        raise _pending_interrupt[0]()

    try:
        previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _pending_interrupt.clear()


def raise_pending_interrupt():
    """Raises again the interrupt that arrived within `interrupts_raised` (Python may have dropped
    it); nothing when none did. Training calls it after each batch and before renaming model.keras."""
    if _pending_interrupt:
        raise _pending_interrupt[0]()


class RaisePendingInterrupt(keras.callbacks.Callback):
    """Calls `raise_pending_interrupt` after each training batch: a Ctrl-C Python dropped stops
    training at the next step instead of never."""

    def on_train_batch_end(self, batch, logs=None):
        raise_pending_interrupt()


def remove_if_only_lock(folder):
    """Removes `folder` when all it holds is the lock file `train` made in it."""
    try:
        if [path.name for path in folder.iterdir()] == [FolderLock.NAME]:
            (folder / FolderLock.NAME).unlink()
            folder.rmdir()
    except OSError:  # another process got there first: leave it be
        pass


# The temporary files `zoo.files.atomic_write` writes a run's files to (`.<name>.<mark>.<random>.<name>`), left
# behind when a `train` is killed while writing one; the checkpoints' own are `GANCheckpoint`'s to delete.
PARTIAL_FILES = (".model.keras.*model.keras", ".training.json.*training.json", "samples/.epoch_*.png.*.png", "checkpoints/.state.json.*state.json")


def remove_partial_files(out_dir):
    """Deletes the temporary files a `train` killed while writing left in `out_dir` (never a whole
    file: those are renamed into place). Called with the folder's lock held: no writer is at work."""
    for pattern in PARTIAL_FILES:
        for partial in out_dir.glob(pattern):
            if partial.is_file() and not partial.is_symlink():
                partial.unlink()


RUN_FILES = ("model.keras", "samples", "checkpoints")  # what a run writes into its folder besides training.json


def check_run_folder(out_dir):
    """Refuses, before any work, an `out_dir` that training would spoil: a file, or a folder that is
    not a training run (no `training.json`) but holds names a run writes (`RUN_FILES`): those are
    somebody else's, and training would replace them. A new folder, an empty one, one with other
    files only, or an earlier run (resumed) are fine."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} is a file, not a folder; give --out a folder to train into.")
    if (out_dir / "training.json").exists():
        return
    clashes = [name for name in RUN_FILES if (out_dir / name).exists()]
    if clashes:
        raise FileExistsError(
            f"{out_dir} is not a training run (it has no training.json) but holds {', '.join(clashes)}, which training "
            "would replace; train into a new or empty folder (--out)."
        )


def _train(family, out_dir, *, epochs, batch_size, seed, model_kwargs, loss, update, jit_compile, log_dir, verbose, resume, command,
           strategy, optimizer, time_limit, path_options, fid_monitor, extra_callbacks, data):
    """`train`'s work, with `out_dir` locked: reads the data and the run's record, chooses how the
    steps run, then trains one session (or, with every epoch done, writes model.keras if missing)."""
    checkpoints = out_dir / "checkpoints"
    remove_partial_files(out_dir)
    if not resume and checkpoints.exists():
        raise FileExistsError(f"{checkpoints} holds a previous run; remove it or resume it.")
    model_class = models.get(family)
    if log_dir and not tensorflow_installed():
        raise ValueError(f"--log-dir ({log_dir}) writes TensorBoard summaries, which need TensorFlow, and it is not installed: train without it.")
    limit, data_options = data["limit"], data["data_options"]
    batches, data_facts, dataset_text, prepare = family_data(family, model_class, batch_size, seed, model_kwargs, **data)
    model_kwargs = {**data_facts, **model_kwargs}
    record = read_record(out_dir / "training.json")
    done = ([0] + [epoch for epoch, _ in GANCheckpoint(checkpoints).checkpoints()])[-1]
    check_checkpoints_kept(out_dir, record, done)
    if update is None:
        update = default_update(record if done else None, takes_reuse(model_class, loss, model_kwargs))
    settings = json_ready({
        "family": family, "loss": getattr(loss, "name", loss), "update": update, "batch_size": batch_size, "limit": limit,
        "model": {key: value for key, value in model_kwargs.items() if key != "tokenizer"},  # the tokenizer spec is in model.keras
        "optimizer": optimizer,
        **({"data_options": data_options} if data_options else {}),
    })
    killed = [earlier for earlier in record["sessions"] if earlier.get("status") == "running"]  # we hold the lock
    for earlier in killed:
        earlier.update(status="killed (ended without finishing)", to_epoch=done)
        earlier.pop("pid", None)
    if done:  # a run that never reached a checkpoint may start over with other settings (after a divergence, say)
        check_same_settings(out_dir, record, settings)

    def build(path):
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = model_class(seed=seed, **model_kwargs)
            d_optimizer, g_optimizer = adam_optimizers(loss, optimizer)
            model.compile(d_optimizer, g_optimizer, loss_fn=loss, update=update, jit_compile=path.jit_compile and strategy is None)
        return model

    convolutions, precision, calibrate = path_options
    steps = int(batches.cardinality()) if hasattr(batches, "cardinality") else len(batches)
    path, how = speed.choose(
        build, batches, batch_size, settings, convolutions=convolutions, precision=precision,
        jit_compile=False if strategy is not None else jit_compile,
        calibrate=False if done >= epochs else calibrate,
        images=(epochs - done) * steps * batch_size if steps > 0 else None,
    )
    keras.utils.set_random_seed(seed)
    with speed.applied(path):
        model = build(path)
        facts = prepare(model, resuming=done > 0) if prepare is not None else {}
    timer = EpochTimer(batch_size)
    guard = StopOnNonFiniteLoss()
    checkpoint = GANCheckpoint(checkpoints)
    if done >= epochs:
        return _nothing_to_train(out_dir, model, batches, epochs, done, checkpoint, path, record, killed)
    callbacks = [RaisePendingInterrupt(), guard, checkpoint, SampleGrid(out_dir / "samples", log_dir=log_dir), timer]
    if time_limit is not None:
        callbacks.insert(0, time_limit)  # first: the checkpoint of the epoch it ends comes after it
    if fid_monitor is not None:
        callbacks.insert(0, fid_monitor)  # its scores reach the checkpoint's state.json and the record
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir))
    callbacks.extend(extra_callbacks or ())
    if verbose == "auto":  # a live progress bar on a terminal, one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    session = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        **settings,
        "dataset": dataset_text,
        "from_epoch": done,
        "to_epoch": done,
        "status": "running",
        "pid": os.getpid(),
        "machine": machine_description(),
        "path": {**path._asdict(), **how},
        **facts,
    }
    record["sessions"].append(session)
    write_record(out_dir / "training.json", record)
    started = time.perf_counter(), time.process_time()
    # After each checkpoint the record holds the time spent so far: a killed session keeps its time.
    callbacks.insert(callbacks.index(timer) + 1, keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: record_progress(out_dir, record, session, checkpoint, started, timer)))
    try:
        with zoo_layers.implementation(path.convolutions):  # the step is traced under it
            history = model.fit(batches, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
        if not guard.message:  # a Ctrl-C or a full disk while it is written is recorded as the session's end too
            saved = checkpoint.checkpoints()
            write_model(out_dir, model, record, saved[-1][0] if saved else done)
    except BaseException as error:
        unreadable = getattr(batches, "failure", None)  # an image that failed, under TensorFlow's wrapping
        if unreadable is not None and not isinstance(error, KeyboardInterrupt):
            error = unreadable
        stopped = "interrupted (SIGTERM)" if isinstance(error, Terminated) else "interrupted"
        session.update(status=stopped if isinstance(error, KeyboardInterrupt) else f"failed: {type(error).__name__}: {error}")
        end_session(out_dir, record, session, checkpoint, started, timer)
        if isinstance(error, KeyboardInterrupt):
            print(interrupted_message(out_dir, checkpoint, command), file=sys.stderr)
            raise
        if error is unreadable:
            raise unreadable from None
        raise
    if guard.message:
        session.update(status="diverged", message=guard.message)
        end_session(out_dir, record, session, checkpoint, started, timer)
        raise TrainingDiverged(f"{guard.message} Checkpoints: {checkpoints}")
    session.update(status="finished", final_logs={key: float(values[-1]) for key, values in history.history.items()})
    if fid_monitor is not None and fid_monitor.scores:
        session["scores"] = [{"epoch": epoch, **{key: round(value, 4) for key, value in scores.items()}} for epoch, scores in fid_monitor.scores]
    if time_limit is not None and time_limit.stopped_in_epoch is not None:
        session["time_limit"] = f"stopped after {time_limit.seconds / 60:g} {time_limit.clock} min, in epoch {time_limit.stopped_in_epoch}"
    end_session(out_dir, record, session, checkpoint, started, timer)
    return model


def _nothing_to_train(out_dir, model, batches, epochs, done, checkpoint, path, record, killed):
    """`train` asked for `epochs` of a run that has trained `done` ≥ `epochs`: the record gets no
    new session, and model.keras is written from the last checkpoint when the session that
    reached `done` was stopped after that checkpoint but before writing it."""
    with zoo_layers.implementation(path.convolutions):
        model.fit(**one_batch(batches), epochs=epochs, callbacks=[checkpoint], verbose=0)  # loads the checkpoint, trains nothing
    print(f"{out_dir} has trained {done} epochs already (asked for {epochs}): nothing to train; "
          "pass a larger --epochs to continue it.")
    if killed:  # the record says so, though no session follows
        write_record(out_dir / "training.json", record)
    finished = any(s.get("status") == "finished" and s.get("to_epoch") == done for s in record["sessions"])
    if not finished or not (out_dir / "model.keras").exists():
        write_model(out_dir, model, record, done)
        if record["sessions"]:
            write_record(out_dir / "training.json", record)
        print(f"Wrote {out_dir / 'model.keras'} from the checkpoint of epoch {done}.")
    return model


def family_data(family, model_class, batch_size, seed, model_kwargs, data_dir=None, source="local", limit=None, images=None,
                image_size=None, dataset=None, data_options=None):
    """`(batches, the model arguments the data fixes, a description, prepare or None)` for `train`:
    captioned Fashion-MNIST for "t2i" (`text_to_image_data`), else `training_data`."""
    if family != "t2i":
        return (*training_data(model_class, batch_size, data_dir, source, limit, seed, images, image_size, dataset), None)
    if images is not None or source != "local":
        raise ValueError("t2i trains on colourised, captioned Fashion-MNIST from the local IDX files (--data-dir); --images and --source tfds do not apply.")
    return text_to_image_data(batch_size, data_dir, limit, seed, model_kwargs, data_options)


def training_data(model_class, batch_size, data_dir=None, source="local", limit=None, seed=0, images=None, image_size=None, dataset=None):
    """`(batches for fit, the model arguments the data fixes, a description)` for `train`."""
    conditional = model_class.conditional
    first = f", first {limit}" if limit else ""
    if images is not None:
        from zoo import image_folder

        size = check_image_size(model_class, 64 if image_size is None else image_size)
        folder = image_folder.scan(images, with_labels=conditional)
        batches = image_folder.dataset(folder, size, batch_size, with_labels=conditional, seed=seed, limit=limit)
        facts = {"image_shape": (size, size, folder.channels), **({"class_names": folder.class_names} if conditional else {})}
        sample = f", {limit} drawn at random" if limit else ""
        return batches, facts, f"{folder.describe()}{sample}, as {size}×{size}×{folder.channels}"
    if source == "tfds" and dataset not in (None, "fashion_mnist"):
        if image_size is not None:
            check_image_size(model_class, image_size)
        batches, shape, class_names = data.load_tfds_images(dataset, image_size=image_size, batch_size=batch_size, with_labels=conditional, limit=limit, seed=seed)
        check_image_size(model_class, shape[0])
        facts = {"image_shape": shape, **({"class_names": class_names} if conditional else {})}
        return batches, facts, f"TFDS {dataset} train{first}, as {shape[0]}×{shape[1]}×{shape[2]}"
    if image_size not in (None, 28):
        raise ValueError("Fashion-MNIST images are 28×28: --image-size applies to your own images (--images DIR) and to other TFDS datasets (--source tfds --dataset NAME).")
    batches = data.load_fashion_mnist("train", batch_size=batch_size, data_dir=data_dir, source=source, limit=limit, seed=seed, with_labels=conditional)
    return batches, {}, f"Fashion-MNIST train ({source}{first})"


def text_to_image_data(batch_size, data_dir, limit, seed, model_kwargs, data_options=None):
    """Colourised, captioned Fashion-MNIST for `TextToImageGAN` (held-out pairs and phrasings left out).

    Returns `(batches, the model arguments the data fixes: tokenizer and attribute heads,
    a description, prepare)`. The tokenizer is fitted on the training captions with the shopper
    rules of `zoo.lexicon`; `prepare(model, resuming)` pretrains the text encoder to name each
    caption's class and colour and freezes it (a resumed run gets the encoder back from its
    checkpoint instead) and returns facts for training.json.
    """
    from zoo import captions, lexicon
    from zoo.models.t2i import pretrain_text_encoder
    from zoo.text import Tokenizer

    captioned = captions.colourised_fashion_mnist("train", seed=seed, limit=limit, data_dir=data_dir)
    tokenizer = Tokenizer.fit(captioned.captions, max_length=captions.MAX_CAPTION_WORDS, **lexicon.shopper_rules())
    targets = {"class": len(captions.CLASS_NAMES), "colour": len(captions.COLOUR_NAMES)}
    facts = {"tokenizer": tokenizer.spec()}
    if "attributes" not in model_kwargs:
        facts["attributes"] = targets
    attributes = bool(model_kwargs.get("attributes", facts.get("attributes")))
    options = {"compose": attributes, **(data_options or {})}
    batches = captions.matching_batches(captioned, tokenizer, batch_size=batch_size, seed=seed, attributes=attributes, **options)

    def prepare(model, resuming):
        if resuming:  # the checkpoint holds the pretrained encoder
            return {}
        started = time.perf_counter()
        history = pretrain_text_encoder(
            model.text_encoder, tokenizer(captioned.captions), {"class": (captioned.labels, targets["class"]), "colour": (captioned.colours, targets["colour"])}
        )
        return {
            "text_encoder_pretraining": {key: round(float(values[-1]), 4) for key, values in history.history.items()},
            "text_encoder_seconds": round(time.perf_counter() - started, 1),
        }

    description = (
        f"colourised, captioned Fashion-MNIST train ({len(captioned)} garments{f' of the first {limit}' if limit else ''}; "
        f"held-out pairs and phrasings excluded; composed captions: {options['compose']})"
    )
    return batches, facts, description, prepare


def check_image_size(model_class, size):
    """`size` as an int the family's networks can take, or a ValueError saying which sizes they take."""
    from zoo.models.dcgan import upsampling_plan

    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 1024:
        raise ValueError(f"The image size must be a whole number of pixels from 8 to 1024, got {size!r}.")
    if model_class.family != "gan":  # the convolutional families double a small square
        try:
            upsampling_plan(size)
        except ValueError:
            raise ValueError(
                f"{model_class.__name__} cannot make {size}×{size} images: its side must be 3 to 7 doubled one or more "
                "times (e.g. 28, 32, 48, 56, 64, 96, 128). Choose another --image-size."
            ) from None
    return size


def one_batch(batches):
    """`fit` arguments for one batch of `batches` (a tf.data.Dataset or a PyDataset)."""
    if hasattr(batches, "take"):
        return {"x": batches.take(1)}
    batch = batches[0]
    if isinstance(batch, tuple):
        return {"x": batch[0], "y": batch[1], "batch_size": len(batch[0])}
    if isinstance(batch, dict):  # text to image: {"images", "tokens", ...}
        return {"x": batch, "batch_size": len(next(iter(batch.values())))}
    return {"x": batch, "batch_size": len(batch)}


def tensorflow_installed():
    """Whether TensorFlow imports here (JAX and PyTorch train without it; TensorBoard logs need it)."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def check_optimizer_settings(optimizer):
    """`train`'s `optimizer` as a dict of floats, or ValueError naming the setting."""
    optimizer = dict(optimizer or {})
    unknown = sorted(set(optimizer) - set(OPTIMIZER_SETTINGS))
    if unknown:
        raise ValueError(f"Unknown optimizer setting(s) {unknown}; expected some of {OPTIMIZER_SETTINGS}.")
    return {key: check_number(key, value, 0, 1, low_open=key != "beta_1", high_open=True) for key, value in optimizer.items()}


OPTIMIZER_SETTINGS = ("d_learning_rate", "g_learning_rate", "beta_1")


def adam_optimizers(loss, optimizer):
    """(d_optimizer, g_optimizer): Adam with the loss's paper settings and `optimizer`'s over them;
    (None, None) when `optimizer` is empty, so `compile` makes its defaults."""
    if not optimizer:
        return None, None
    defaults = dict(losses.get(loss).optimizer_defaults)
    if "beta_1" in optimizer:
        defaults["beta_1"] = optimizer["beta_1"]
    return tuple(
        keras.optimizers.Adam(**{**defaults, "learning_rate": optimizer.get(f"{network}_learning_rate", defaults["learning_rate"])})
        for network in ("d", "g")
    )


# The families whose quality in bfloat16 was measured at equal epochs and kept (DCGAN: FID after
# 3 epochs within 0.1–1.3% of float32's, emulated and native bfloat16; docs/speed.md): "auto" is
# their default precision. The conditional GAN was measured and lost 6.7% (native bfloat16, two
# seeds), more than the 5% a faster default may cost; gan and t2i are not measured yet.
AUTO_PRECISION_FAMILIES = ("dcgan",)


def default_precision(family):
    """The precision `train` uses when none is given: "auto" (float32, or bfloat16 where the
    hardware has it natively and a calibration measures it faster) for the families in
    `AUTO_PRECISION_FAMILIES`, float32 for the others."""
    return "auto" if family in AUTO_PRECISION_FAMILIES else "float32"


def default_update(record=None, takes_reuse=True):
    """The update `train` uses when none is given: the resumed run's (`record`), else "reuse"
    where the model takes it (`takes_reuse`: one discriminator step per generator step, and a
    family that honours it), else "alternating" (Algorithm 1 as written).

    "reuse" is Algorithm 1 with the generator stepping on the samples the discriminator step
    scored (3G + 9D per step instead of 4G + 9D). scripts/compare_training_paths.py measured its
    DCGAN FID after 3 epochs 1.6% above the alternating one's (mean of four seeds;
    docs/speed.md), inside the 5% a faster default may cost; "simultaneous" (3G + 6D) cost 6.4%
    and is taken only when asked. The published DCGAN and conditional GAN were trained with
    "reuse", the MLP GAN and the text-to-image model with "alternating" (each card's
    `training.update`)."""
    previous = next((s.get("update") for s in reversed((record or {}).get("sessions", [])) if s.get("update")), None)
    return previous or ("reuse" if takes_reuse else "alternating")


def takes_reuse(model_class, loss, model_kwargs):
    """Whether `model_class` built with `model_kwargs` and trained with `loss` can train with
    update="reuse" (`BaseGAN.update_refusal`: a family that honours it, one discriminator step
    per generator step)."""
    steps = discriminator_steps_of(losses.get(loss), model_kwargs.get("d_steps", model_class.d_steps))
    return model_class.update_refusal("reuse", steps) is None


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
    check_sessions(path, record["sessions"])
    return json_ready(record)


SESSION_NUMBERS = ("from_epoch", "to_epoch", "seconds", "cpu_seconds", "images", "images_per_second", "batch_size")


def check_sessions(path, sessions):
    """Refuses a record whose sessions are not what `train` writes (objects whose counts are
    numbers), naming the first wrong entry: a hand-edited or foreign training.json."""
    for index, session in enumerate(sessions):
        if not isinstance(session, dict):
            raise ValueError(f"{path}: sessions[{index}] is {json.dumps(session)[:40]}, not a session (a JSON object); "
                             "move the file aside to start a new record.")
        for key in SESSION_NUMBERS:
            value = session.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{path}: sessions[{index}].{key} is {json.dumps(value)[:40]}, not a number; "
                                 "move the file aside to start a new record.")


def check_checkpoints_kept(out_dir, record, done):
    """Refuses a run whose record says epochs were trained but whose checkpoints are gone (deleted,
    or the folder copied without them): training would start over from epoch 0 and replace its
    model.keras with an untrained one, under a record of epochs it no longer has."""
    trained = max((s.get("to_epoch") or 0 for s in record["sessions"]), default=0)
    if trained > done:
        where = f"its last checkpoint is of epoch {done}" if done else f"{out_dir / 'checkpoints'} holds no checkpoint"
        raise ValueError(
            f"{out_dir / 'training.json'} records {trained} epochs trained, but {where}: the run cannot continue "
            f"from where it was, and starting over would replace its model.keras. Train into another --out, or move "
            f"{out_dir}'s files aside to start afresh."
        )


def check_same_settings(out_dir, record, settings):
    """Refuses to resume a run with other settings than its last session's (a record written before
    sessions existed has no model options to compare)."""
    previous = next((s for s in reversed(record["sessions"]) if "family" in s), None)
    if previous is None:
        return
    flags = {"family": "model", "loss": "--loss", "update": "--update", "batch_size": "--batch-size", "limit": "--limit", "model": "model options", "optimizer": "optimizer settings"}
    compared = {key: previous.get(key) for key in flags}, dict(settings)
    if isinstance(compared[0]["model"], dict) and isinstance(settings["model"], dict):  # an option left out is its default
        compared = tuple({**values, "model": explicit_options(settings["family"], values["model"])} for values in compared)
    changed = [key for key in flags if key in previous and compared[0][key] != compared[1][key]]
    if changed:
        was = ", ".join(f"{flags[key]} {previous[key]}" for key in changed)
        now = ", ".join(f"{flags[key]} {settings[key]}" for key in changed)
        raise ValueError(
            f"{out_dir} was trained with {was}; this run asks for {now}. Resuming with other settings would mix two "
            f"trainings in one run: use the same settings, or another --out (the record is {out_dir / 'training.json'})."
        )


def explicit_options(family, options):
    """`options` (a session's model options, as JSON) less those equal to the model class's own
    defaults: a run started from Python without `ema_decay` is the run the command line resumes
    with `ema_decay` None."""
    try:
        classes = models.get(family).__mro__
    except ValueError:
        return options
    defaults = {}
    for parameters in (inspect.signature(cls.__init__).parameters.values() for cls in reversed(classes) if "__init__" in vars(cls)):
        defaults.update({p.name: json_ready(p.default) for p in parameters if p.default is not inspect.Parameter.empty})  # a subclass's win
    return {key: value for key, value in options.items() if key not in defaults or defaults[key] != value}


def end_session(out_dir, record, session, checkpoint, started, timer):
    """Closes `session` (time, images/s, epochs reached) and writes the record."""
    session.pop("pid", None)
    record_progress(out_dir, record, session, checkpoint, started, timer)


def record_progress(out_dir, record, session, checkpoint, started, timer):
    """Writes the time, images and epochs `session` has reached so far into the record (called
    after each checkpoint too: a run killed later keeps what it spent up to its last checkpoint)."""
    saved = checkpoint.checkpoints()
    session.update(
        to_epoch=saved[-1][0] if saved else session["from_epoch"],
        seconds=round(time.perf_counter() - started[0], 1),
        cpu_seconds=round(time.process_time() - started[1], 1),
        images_per_second=round(timer.images_per_second(), 1) if timer.epochs else None,
        images=sum(images for _, images in timer.epochs),
    )
    write_record(out_dir / "training.json", record)


def write_model(out_dir, model, record, epoch):
    """Writes model.keras and notes in `record` (written next) the epoch whose weights it holds and
    its sha256: an export copies into its card the sessions that trained those weights, not one
    that ran on (or was stopped) after it was written (`model_record`)."""
    def save(tmp):
        model.save(tmp)
        raise_pending_interrupt()  # an interrupt during the save leaves no model.keras of a stopped session

    path = atomic_write(out_dir / "model.keras", save)
    record["model_keras"] = {"epoch": epoch, "sha256": sha256(path)}


def model_record(record, model_file):
    """The part of a run's record (training.json) that trained the weights of `model_file`.

    When the record names the model.keras it last wrote (`write_model`) and `model_file` is that
    file, sessions from its epoch on (one still running, or stopped before it wrote model.keras)
    are left out and the run's totals counted again; otherwise (a record written before
    `write_model`, or a model file it does not name) the record is returned as it is.
    """
    written = record.get("model_keras")
    if not isinstance(written, dict) or written.get("sha256") != sha256(model_file):
        return record
    sessions = [session for session in record.get("sessions", []) if (session.get("from_epoch") or 0) < written.get("epoch", 0)]
    if not sessions or len(sessions) == len(record["sessions"]):
        return record
    return {**run_summary(sessions), "model_keras": written, "sessions": sessions}


def write_record(path, record):
    """Writes training.json: the sessions, and at the top the facts of the run as a whole (the
    latest settings, every epoch trained, the time of all sessions) that exports copy into card.json,
    and which epoch's weights model.keras holds (`write_model`)."""
    sessions = record["sessions"]
    model_keras = record.get("model_keras")
    record.clear()
    record.update(run_summary(sessions), **({"model_keras": model_keras} if model_keras else {}), sessions=sessions)
    atomic_write_json(path, record)


def run_summary(sessions):
    """The facts of a run as a whole, from its sessions: the latest settings, every epoch trained,
    the time and images of all sessions, the last finished session's speed and losses."""
    latest = sessions[-1]
    finished = [s for s in sessions if s.get("status") == "finished"]
    last = finished[-1] if finished else latest
    return {
        "command": latest.get("command"),
        "family": latest.get("family"),
        "loss": latest.get("loss"),
        "update": latest.get("update"),
        "dataset": latest.get("dataset"),
        "epochs": max((s.get("to_epoch") or 0) for s in sessions),
        "batch_size": latest.get("batch_size"),
        "seconds": round(sum(s.get("seconds") or 0 for s in sessions), 1),
        "cpu_seconds": round(sum(s.get("cpu_seconds") or 0 for s in sessions), 1),
        "images": sum(s.get("images") or 0 for s in sessions),
        "images_per_second": last.get("images_per_second"),
        "final_logs": last.get("final_logs", {}),
        "machine": latest.get("machine"),
        "path": latest.get("path"),
    }


def interrupted_message(out_dir, checkpoint, command):
    saved = checkpoint.checkpoints()
    again = command or f"the same train command (--out {out_dir})"
    if not saved:
        return f"Interrupted before the first epoch finished: no checkpoint in {checkpoint.directory}; {again} starts over."
    epoch, path = saved[-1]
    return f"Interrupted. The last checkpoint is {path} (epoch {epoch}); run {again} again to resume from it."

