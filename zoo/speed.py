"""How `zoo train` runs fastest on the machine it runs on: convolutions, XLA and precision.

Three choices change how fast a GAN trains, not what it computes:

- `convolutions`: `zoo.layers` computes strided convolutions as stride-1 ones ("phases") or as
  Keras's own layers do ("keras"), or as Keras's do but with its 5×5 stride-1 convolutions of
  small maps in Winograd's form ("winograd", offered for models that have such a layer, such as
  the TF tutorial's generator); the same function and gradients, to float rounding, each way;
- `jit_compile`: XLA compiles the training step, or TensorFlow runs it op by op (oneDNN);
- `precision`: "float32", or Keras's mixed policies "mixed_bfloat16" (bfloat16 arithmetic,
  float32 weights; pays only where the CPU or GPU multiplies bfloat16 natively) and
  "mixed_float16" (GPUs; losses scaled against underflow). The generator's output and the
  losses stay float32 in every policy, and exports are float32.

Which combination wins depends on the machine and on the model. Measured side by side on the
TF tutorial's DCGAN (`scripts/bench_train.py`): Keras's convolutions were 0.70× the phase form
on a 2-core AMD EPYC (AVX2) but 1.2× on a 2-core Intel Xeon (AVX-512), and XLA cost time on the
Xeon while it was even on the EPYC; bfloat16 trained 4× slower than float32 on a Xeon whose
virtual machine hides AVX512_BF16 and AMX, because oneDNN then converts every operand. So
nothing here is a constant tuned on one machine:

- `calibrate` trains the real model (family, options, batch size, loss, update) a few steps
  per candidate and keeps the fastest; the result is cached per machine and model in
  `$GANZOO_CACHE/calibration/` (CPU model and flags, versions, model and settings in the key),
  so a machine pays the minute once;
- runs too short to repay it (under `CALIBRATE_FROM_IMAGES` images) take `rule_path`: the
  CPU's flags (`zoo.hardware`) pick the convolutions, XLA stays on;
- every part can be given instead (`zoo train --convolutions keras --no-jit --precision ...`).

`choose` returns the path and how it was chosen; `zoo.training.train` records both in
`training.json`.
"""

import contextlib
import hashlib
import json
import time
import typing

import keras
import numpy as np

from zoo import hardware
from zoo import layers as zoo_layers

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
CALIBRATE_FROM_IMAGES = 250_000  # training images (epochs × dataset) from which calibrating pays (about a minute)
CALIBRATION_STEPS = 4  # timed steps per candidate and round
CALIBRATION_ROUNDS = 2  # timed rounds, the candidates taking turns; the first (tracing, compiling) is not timed


class TrainingPath(typing.NamedTuple):
    """How a model trains: `zoo.layers`'s implementation, XLA or not, and the dtype policy."""

    convolutions: str
    jit_compile: bool
    precision: str


def check_precision(precision):
    """Returns `precision` if it is "auto" or one of `PRECISIONS`, else raises ValueError."""
    if precision not in ("auto", *PRECISIONS):
        raise ValueError(f"`precision` must be 'auto' or one of {PRECISIONS}, got {precision!r}.")
    return precision


def gpu_compute_capabilities():
    """The CUDA compute capabilities of the GPUs TensorFlow sees, e.g. [(8, 0)] (empty without one)."""
    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability:
            capabilities.append(tuple(capability))
    return capabilities


def auto_precision():
    """The precision `precision="auto"` may take here besides float32: "mixed_bfloat16" where the
    hardware multiplies bfloat16 natively (every GPU TensorFlow sees of compute capability 8.0 or
    more, or, without a GPU, a CPU with AVX512_BF16 or AMX), else "float32" (nothing else to
    take). A calibration measures it beside float32 (`precision_options`)."""
    gpus = gpu_compute_capabilities()
    if gpus:
        return "mixed_bfloat16" if min(gpus) >= (8, 0) else "float32"
    return "mixed_bfloat16" if hardware.native_bfloat16() else "float32"


def precision_options(precision):
    """The precisions a calibration measures for `precision`: the one given, or for "auto"
    float32 and, where the hardware multiplies bfloat16 natively (`auto_precision`), also
    "mixed_bfloat16": native bfloat16 is not always faster (conversions; layers too small to
    gain), so it is measured beside float32, as the convolutions are."""
    if precision != "auto":
        return [precision]
    reduced = auto_precision()
    return ["float32"] if reduced == "float32" else ["float32", reduced]


@contextlib.contextmanager
def dtype_policy(precision):
    """Keras's global dtype policy set to `precision` for the layers built inside the block."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextlib.contextmanager
def applied(path):
    """Builds and traces inside the block follow `path`: its dtype policy and convolutions
    (compile with `jit_compile=path.jit_compile` yourself)."""
    with dtype_policy(path.precision), zoo_layers.implementation(path.convolutions):
        yield


def uses_zoo_convolutions(model):
    """Whether `model` (or a network inside it) has `zoo.layers` convolutions to choose for."""
    kinds = (zoo_layers.Conv2D, zoo_layers.Conv2DTranspose)
    return any(isinstance(layer, kinds) for layer in model._flatten_layers(include_self=False, recursive=True))


def winograd_layers(model):
    """The `zoo.layers` convolutions of `model` that implementation "winograd" computes in
    Winograd's form (`zoo.layers.winograd_eligible`, by their input shapes)."""
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, (zoo_layers.Conv2D, zoo_layers.Conv2DTranspose)):
            continue
        try:
            shape = layer.input.shape
        except (AttributeError, ValueError):  # not called on a symbolic input: shape unknown
            continue
        if zoo_layers.winograd_eligible(layer, shape):
            found.append(layer)
    return found


def rule_path(precision, jit_compile=True):
    """The path chosen without measuring: Keras's convolutions where the CPU has AVX-512 (oneDNN's
    AVX-512 kernels run Keras's transposed convolutions well), the phase form otherwise."""
    implementation = "keras" if "avx512f" in hardware.cpu_flags() else "phases"
    return TrainingPath(implementation, jit_compile, precision)


def choose(build, dataset, batch_size, facts, convolutions="auto", jit_compile="auto", precision="float32", calibrate=None, images=None, log=print):
    """The training path for a model, and a record of how it was chosen.

    Args:
        build: `build(path)` returns the model compiled for `path` (built inside `applied(path)`).
        dataset: batches the model trains on (a few are used to calibrate).
        batch_size: images per step.
        facts: what identifies the model and its settings in the cache key (family, options,
            loss, update: a JSON-ready dict).
        convolutions, jit_compile: a fixed choice, or "auto".
        precision: one of `PRECISIONS`, or "auto": float32 and, where the hardware multiplies
            bfloat16 natively, bfloat16 too, measured side by side (`precision_options`); a
            run not calibrated takes float32 on a CPU, `auto_precision()` on GPUs.
        calibrate: True to measure (or use the cached measurement), False for `rule_path`;
            None: measure when the run trains `images` >= `CALIBRATE_FROM_IMAGES` images.
        images: images the run will train on (epochs × dataset size), for `calibrate=None`.
        log: where to say that a calibration runs.

    Returns `(TrainingPath, record)`; `record` says what was given, measured or ruled.
    """
    precision = check_precision(precision)
    if convolutions not in ("auto", *zoo_layers.IMPLEMENTATIONS):
        raise ValueError(f"`convolutions` must be 'auto' or one of {zoo_layers.IMPLEMENTATIONS}, got {convolutions!r}.")
    if jit_compile not in ("auto", True, False):
        raise ValueError(f"`jit_compile` must be 'auto', True or False, got {jit_compile!r}.")
    # Unmeasured, "auto" is bfloat16 only on GPUs: a CPU's unmeasured path keeps XLA, which
    # computes bfloat16 in float32 on CPUs (measured, bfloat16 is a candidate where native).
    on_gpu = bool(gpu_compute_capabilities())
    resolved = precision if precision != "auto" else (auto_precision() if on_gpu else "float32")
    record = {"precision_asked": precision} if precision == "auto" else {}
    if keras.backend.backend() != "tensorflow" and jit_compile == "auto":
        jit_compile = True  # JAX and PyTorch steps are compiled by their own backends' rules
    conv_options = [convolutions] if convolutions != "auto" else ["phases", "keras"]
    jit_options = [jit_compile] if jit_compile != "auto" else [False, True]
    if convolutions == "auto":
        probe = _probe(build, resolved)
        if not uses_zoo_convolutions(probe):
            conv_options = ["phases"]  # no zoo.layers convolutions: nothing to choose
        elif winograd_layers(probe):
            conv_options.append("winograd")
    candidates = [TrainingPath(c, j, p) for p in precision_options(precision) for c in conv_options for j in jit_options]
    if precision == "auto" and False in jit_options and not on_gpu:
        # XLA computes bfloat16 in float32 on CPUs: that pairing only adds conversions to float32's
        candidates = [c for c in candidates if c.precision == "float32" or not c.jit_compile]
    if len(candidates) == 1:
        return candidates[0], {**record, "chosen_by": "given"}
    if calibrate is None:
        calibrate = images is not None and images >= CALIBRATE_FROM_IMAGES
    measurable = hasattr(dataset, "take")  # a tf.data pipeline or zoo.batches.ArrayBatches (another PyDataset is not measured)
    if not calibrate or not measurable:
        ruled = rule_path(resolved, jit_compile=True if jit_compile == "auto" else jit_compile)
        if convolutions != "auto" or len(conv_options) == 1:
            ruled = ruled._replace(convolutions=conv_options[0])
        why = "a run this short is not calibrated" if measurable else "these batches are neither a tf.data pipeline nor ArrayBatches"
        reason = f"rule (CPU flags: {', '.join(hardware.describe()['flags']) or 'none'}; {why})"
        return ruled, {**record, "chosen_by": reason}
    key = cache_key(facts, batch_size, candidates)
    path = calibration_dir() / f"{key}.json"
    cached = _read_calibration(path, candidates)
    if cached is None:
        log(f"Calibrating the training path on this machine ({len(candidates)} candidates, about 20 s each; cached in {path})")
        cached = {
            "machine": hardware.describe(),
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "facts": facts,
            "batch_size": batch_size,
            "candidates": calibrate_paths(build, dataset, candidates, batch_size),
        }
        from zoo.files import atomic_write_json, remove_stale_temporaries

        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        atomic_write_json(path, cached)
        how = "calibration"
    else:
        how = "calibration (cached)"
    best = max(cached["candidates"], key=lambda c: c["images_per_second"] or 0)
    chosen = TrainingPath(best["convolutions"], best["jit_compile"], best["precision"])
    return chosen, {**record, "chosen_by": f"{how} {cached['measured']}", "calibration": str(path), "candidates": cached["candidates"]}


def _probe(build, precision):
    """A model built for inspection (which layers it has)."""
    with applied(TrainingPath("phases", False, precision)):
        return build(TrainingPath("phases", False, precision))


def calibrate_paths(build, dataset, candidates, batch_size, steps=CALIBRATION_STEPS, rounds=CALIBRATION_ROUNDS):
    """Trains one model per candidate path on `dataset`, the candidates taking turns for
    `rounds` timed rounds of `steps` steps after an untimed one; returns each candidate with
    its best images/s (a busy machine slows the turns alike; the best turn is the least
    disturbed)."""
    dataset = _first_batches(dataset, steps)
    models = []
    for path in candidates:
        with applied(path):
            models.append(build(path))
    rates = [[] for _ in candidates]
    for round_index in range(rounds + 1):
        for index, (path, model) in enumerate(zip(candidates, models)):
            with zoo_layers.implementation(path.convolutions):  # the first round traces under it
                seconds = _timed_epoch(model, dataset, steps)
            if round_index:
                rates[index].append(steps * batch_size / seconds)
    return [
        {**path._asdict(), "images_per_second": round(max(r), 1), "rounds": [round(x, 1) for x in r]}
        for path, r in zip(candidates, rates)
    ]


def _first_batches(dataset, steps):
    """The first `steps` batches of `dataset`, read once: every turn then trains on the same
    ones, from memory. A tf.data pipeline stays one (cached, repeated); `zoo.batches.ArrayBatches`
    (what JAX and PyTorch train on) becomes an `ArrayBatches` over those batches' rows, unshuffled."""
    if hasattr(dataset, "cache"):
        dataset = dataset.take(steps).cache()
        for _ in dataset:
            pass
        return dataset.repeat()
    from zoo.batches import ArrayBatches

    taken = dataset.take(steps)
    batches = [taken[index] for index in range(len(taken))]
    arrays = np.concatenate(batches) if dataset.single else tuple(np.concatenate(parts) for parts in zip(*batches))
    return ArrayBatches(arrays, dataset.batch_size, shuffle=False)


def _timed_epoch(model, dataset, steps):
    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.started

    clock = Clock()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0, shuffle=False)
    return clock.seconds


def calibration_dir():
    from zoo.registry import cache_dir

    return cache_dir() / "calibration"


def cache_key(facts, batch_size, candidates):
    """What a calibration holds for: this machine (CPU model and flags, GPUs' compute
    capabilities, core count), the framework versions, the model and its settings, the candidates."""
    import platform

    key = {
        "machine": hardware.describe(),
        "gpus": gpu_compute_capabilities(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "facts": facts,
        "batch_size": batch_size,
        "candidates": [list(c) for c in candidates],
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        key["tensorflow"] = tf.__version__
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _read_calibration(path, candidates):
    """A cached calibration that measured exactly `candidates`, or None (missing or damaged: measure again)."""
    try:
        cached = json.loads(path.read_text())
        measured = {(c["convolutions"], c["jit_compile"], c["precision"]) for c in cached["candidates"]}
        if measured != {tuple(c) for c in candidates} or not all(c["images_per_second"] for c in cached["candidates"]):
            return None
        return cached
    except (OSError, ValueError, KeyError, TypeError):
        return None
