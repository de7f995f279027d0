"""Callbacks for `fit`: sample grids to look at, checkpoints that a stopped run resumes from,
the guard that stops on a NaN or infinite loss, a time limit, FID during training and epoch timing."""

import json
import math
import re
import time
from pathlib import Path

import keras
import numpy as np

from zoo.files import atomic_write, atomic_write_json, check_free_space, remove_stale_temporaries, to_json
from zoo.images import save_grid
from zoo.latent import check_seed, sample_latent
from zoo.validation import check_int


class SampleGrid(keras.callbacks.Callback):
    """Writes a PNG grid of samples from fixed noise after every `every` epochs.

    The noise stays the same across epochs, so the grids show one set of samples evolving.
    With `log_dir`, the grid also goes to TensorBoard as an image summary.

    Args:
        directory: folder of the PNGs, named `epoch_001.png`, `epoch_002.png`, ...
        n: images per grid.
        seed: seed of the fixed noise.
        every: write every `every` epochs.
        log_dir: TensorBoard log folder, or None.
    """

    def __init__(self, directory, n=64, seed=0, every=1, log_dir=None):
        super().__init__()
        self.directory = Path(directory)
        self.n = check_int("n", n)
        self.seed = check_seed(seed)  # checked now, not after the first epoch has trained
        self.every = check_int("every", every)
        self.log_dir = log_dir

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or not _all_finite(logs):
            return
        z = sample_latent(self.n, self.model.latent_dim, self.seed)
        preview = getattr(self.model, "preview", None)  # a text-to-image model draws fixed captions
        images = preview(z) if preview is not None else self.model.generate(z=z)
        save_grid(images, self.directory / f"epoch_{epoch + 1:03d}.png")
        if self.log_dir:
            import tensorflow as tf

            with tf.summary.create_file_writer(str(self.log_dir)).as_default():
                tf.summary.image("samples", (images + 1.0) / 2.0, step=epoch + 1, max_outputs=self.n)


class GANCheckpoint(keras.callbacks.Callback):
    """Saves the whole training state after each epoch; a new `fit` resumes from the latest.

    Unlike `keras.callbacks.BackupAndRestore` (which restores only `model.optimizer`), this
    restores both networks, both optimizers (`d_optimizer` and `g_optimizer`, with their step
    counts) and the seed generator of the training noise. Each checkpoint is written to a
    temporary file and renamed into place, so an interrupted save leaves the previous one whole.

    `state.json` beside them records which training they are of (the model's class and
    options, its loss and update); a `fit` of another model or recipe is refused instead of
    resuming from weights that merely fit its shapes.

    Args:
        directory: folder of the checkpoints (`epoch_0003.weights.h5`, ...).
        keep: how many recent checkpoints to keep (at least 1).
    """

    PATTERN = re.compile(r"epoch_(\d+)\.weights\.h5$")
    # Options that may change between sessions of one training: the noise seed (its state is in
    # the checkpoint), the Keras name, and the dtype policy (the precision each machine trains in).
    FREE_OPTIONS = ("seed", "name", "trainable", "dtype")

    def __init__(self, directory, keep=1):
        super().__init__()
        self.directory = Path(directory)
        self.keep = check_int("keep", keep, 1)

    def checkpoints(self):
        """Finished checkpoints as (epoch, path) pairs, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir() if (m := self.PATTERN.match(p.name))]
        return sorted(found)

    def on_train_begin(self, logs=None):
        self.remove_partial_files()
        checkpoints = self.checkpoints()
        if not checkpoints:
            return
        epoch, path = checkpoints[-1]
        self.check_same_training()
        self.model.build_optimizers()
        try:
            self.model.load_weights(path)
        except Exception as error:
            raise ValueError(f"Cannot resume from checkpoint {path}: {error}") from error
        self.model._initial_epoch = epoch  # `fit` starts from here, as BackupAndRestore does
        print(f"Resuming from {path} (epoch {epoch}).")

    def training(self):
        """What identifies the training being run: model class and options, loss, update."""
        config = {key: value for key, value in self.model.get_config().items() if key not in self.FREE_OPTIONS}
        loss = getattr(self.model, "loss_fn", None)
        return json.loads(to_json({"class": type(self.model).__name__, "options": config,
                                   "loss": getattr(loss, "name", type(loss).__name__), "update": getattr(self.model, "update", None)}))

    def check_same_training(self):
        """Refuses to resume when state.json says the checkpoints are of another training
        (checkpoints written before it said so are taken as they are)."""
        state_path = self.directory / "state.json"
        try:
            saved = json.loads(state_path.read_text()).get("training")
        except (OSError, ValueError, AttributeError):
            return
        current = self.training()
        if saved is None or saved == current:
            return
        differences = [f"{key}: {json.dumps(saved.get(key))} there, {json.dumps(current[key])} here" for key in ("class", "loss", "update") if saved.get(key) != current[key]]
        options = saved.get("options") or {}
        differences += [f"{key}: {json.dumps(options.get(key))} there, {json.dumps(value)} here"
                        for key, value in current["options"].items() if options.get(key) != value]
        raise ValueError(f"{self.directory} holds checkpoints of another training ({'; '.join(differences)[:400]}); resume with the same "
                         "model and compile settings, or give this training a checkpoint folder of its own.")

    def remove_partial_files(self):
        """Deletes the temporary files (weights and state.json) of processes killed while saving here,
        never a finished checkpoint, nor the temporaries of a process still writing
        (`zoo.files.remove_stale_temporaries`: judged by the writer named in their names)."""
        if self.directory.is_dir():
            remove_stale_temporaries(self.directory)

    def checkpoint_bytes(self):
        """A bound on a checkpoint's size: the bytes of the networks' and optimizers' variables,
        plus HDF5's headers (a few KB a variable) and a margin of 1 MiB."""
        optimizers = [getattr(self.model, name, None) for name in ("g_optimizer", "d_optimizer", "optimizer")]
        variables = {id(variable): variable for variable in self.model.variables}
        for optimizer in filter(None, optimizers):
            variables.update({id(variable): variable for variable in optimizer.variables})
        data = sum(math.prod(variable.shape) * np.dtype(variable.dtype).itemsize for variable in variables.values())  # Keras registers bfloat16 with numpy
        return data + 4096 * len(variables) + (1 << 20)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # a later `fit` on this model starts where it asks

    def on_epoch_end(self, epoch, logs=None):
        if not _all_finite(logs):
            print(f"Not saving a checkpoint for epoch {epoch + 1}: its metrics are not finite {_floats(logs)}.")
            return  # the last good checkpoint stays the latest
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"epoch_{epoch + 1:04d}.weights.h5"
        check_free_space(path, self.checkpoint_bytes(), f"the checkpoint {path.name} (the latest checkpoint stays as it is)")
        atomic_write(path, self.model.save_weights)
        atomic_write_json(self.directory / "state.json", {"epoch": epoch + 1, "logs": _floats(logs), "training": self.training()}, indent=None)
        for _, old in self.checkpoints()[: -self.keep]:
            old.unlink()


def _floats(logs):
    return {key: float(np.asarray(value)) for key, value in (logs or {}).items()}


def _all_finite(logs):
    """False when an epoch's metrics hold NaN or infinity (training diverged: nothing worth saving)."""
    return all(np.isfinite(value) for value in _floats(logs).values())


class EpochTimer(keras.callbacks.Callback):
    """Records each epoch's wall time and images, for the training images/s in `training.json`."""

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size
        self.epochs = []  # (seconds, images) per epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._steps = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((time.perf_counter() - self._start, self._steps * self.batch_size))

    def images_per_second(self):
        """Throughput of the epochs after the first (which includes tracing and compiling)."""
        timed = self.epochs[1:] or self.epochs
        seconds = sum(s for s, _ in timed)
        return sum(n for _, n in timed) / seconds if seconds else float("nan")


class TimeLimit(keras.callbacks.Callback):
    """Stops `fit` at the end of the first step that ends `seconds` or more after training began.

    For comparisons at equal training time. Keras then ends the epoch early: its callbacks (the
    checkpoint, the sample grid) see the part of the epoch that was trained.

    Args:
        seconds: the limit.
        clock: "wall" (elapsed time) or "cpu" (processor time of this process, all its threads:
            on a machine shared with other jobs, a run pinned to one core gets the same compute
            however loaded the core is).
    """

    CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}

    def __init__(self, seconds, clock="wall"):
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
            raise ValueError(f"`seconds` must be a positive number, got {seconds!r}.")
        if clock not in self.CLOCKS:
            raise ValueError(f"`clock` must be one of {sorted(self.CLOCKS)}, got {clock!r}.")
        self.seconds = seconds
        self.clock = clock
        self.stopped_in_epoch = None  # the epoch (1-based) the limit stopped, if it did

    def on_train_begin(self, logs=None):
        self._now = self.CLOCKS[self.clock]
        self._started = self._now()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self._now() - self._started >= self.seconds:
            self.model.stop_training = True
            self.stopped_in_epoch = self._epoch


class TrainingDiverged(ValueError):
    """Training stopped because a loss became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops `fit` when `d_loss` or `g_loss` becomes NaN or infinite, naming the loss and the step.

    `keras.callbacks.TerminateOnNaN` reads only `logs["loss"]`, which a GAN does not report.
    The step's logs are the trackers' running means over the epoch, so the first step whose
    own losses are not finite makes them not finite. `GANCheckpoint` does not save an epoch
    whose metrics are not finite, so the last good checkpoint stays the one a rerun resumes from.

    Args:
        keys: the logs to watch.
    """

    def __init__(self, keys=("d_loss", "g_loss")):
        super().__init__()
        self.keys = tuple(keys)
        self.message = None  # why training stopped, or None

    def on_train_begin(self, logs=None):
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        values = _floats({key: (logs or {})[key] for key in self.keys if key in (logs or {})})
        bad = {key: value for key, value in values.items() if not np.isfinite(value)}
        if not bad:
            return
        named = " and ".join(f"{key} is {value}" for key, value in bad.items())
        self.message = (
            f"Training stopped: {named} at epoch {getattr(self, '_epoch', 0) + 1}, step {batch + 1} of the epoch "
            f"(generator step {int(np.asarray(self.model.g_optimizer.iterations))}). The last good checkpoint, if any, is kept; "
            "lower the learning rates or try another loss."
        )
        print(self.message)
        self.model.stop_training = True


class FIDMonitor(keras.callbacks.Callback):
    """Logs the FID, density and coverage of the model's samples every `every` epochs during `fit`.

    See `zoo.metrics`. The real images' features and the real-data floor (real train against
    real test) are computed once when training begins. The scores go into the epoch's logs as
    `fid`, `density` and `coverage` (so `History`, `CSVLogger` and later callbacks see them) and,
    with `log_dir`, to TensorBoard as scalars of those names beside `fid_floor`. Samples come from fixed noise, `n` of them; a small `n`
    keeps the cost low but biases FID upwards, which the floor at the same `n` shows.

    Args:
        every: measure after every `every` epochs.
        n: images per set (real and generated).
        extractor: feature extractor; default: the zoo's Fashion-MNIST classifier.
        log_dir: TensorBoard log folder, or None.
        seed: seed of the real subset and of the noise.
        data_dir: folder of the Fashion-MNIST IDX files.
        verbose: print one line per measurement.
    """

    def __init__(self, every=1, n=2000, extractor=None, log_dir=None, seed=0, data_dir=None, verbose=True):
        super().__init__()
        self.every = check_int("every", every)
        self.n = check_int("n", n)
        self.extractor = extractor
        self.log_dir = log_dir
        self.seed = seed
        self.data_dir = data_dir
        self.verbose = verbose
        self.evaluator = None
        self.history = []  # (epoch, fid) pairs
        self.scores = []  # (epoch, {"fid": ..., "density": ..., "coverage": ...}) pairs

    def on_train_begin(self, logs=None):
        if self.evaluator is None:
            from zoo.metrics import Evaluator

            self.evaluator = Evaluator(self.n, self.extractor, self.seed, self.data_dir)
        self.evaluator.check_scores(self.model.image_shape)  # before the first epoch trains, not after it

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from zoo.metrics import generate_images

        images, _ = generate_images(self.model, self.n, self.seed)
        scores = self.evaluator.monitor_scores(images)
        fid = scores["fid"]
        floor = self.evaluator.floor["fid"]
        self.history.append((epoch + 1, fid))
        self.scores.append((epoch + 1, scores))
        if logs is not None:
            logs.update(scores)
        if self.verbose:
            print(
                f"Epoch {epoch + 1}: FID {fid:.2f} (real-data floor {floor:.2f}, n = {self.n}), "
                f"density {scores['density']:.3f}, coverage {scores['coverage']:.3f}"
            )
        if self.log_dir:
            import tensorflow as tf

            from tensorflow.core.framework import summary_pb2

            # tf.summary.scalar needs the tensorboard package; the core op with the scalars
            # plugin's metadata writes the same event without it.
            metadata = summary_pb2.SummaryMetadata()
            metadata.plugin_data.plugin_name = "scalars"
            with tf.summary.create_file_writer(str(self.log_dir)).as_default():
                for tag, value in (*scores.items(), ("fid_floor", floor)):
                    tf.summary.write(tag, tf.constant(value, tf.float32), step=epoch + 1, metadata=metadata.SerializeToString())
