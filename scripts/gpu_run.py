"""The GPU machine's one call: versions, `fit` speed on JAX, two training recipes run, onnxruntime.

Run by scripts/gpu_run.sh (which installs the carried wheels and sets the environment) on a
machine with JAX and no TensorFlow; see docs/gpu.md for the device call. Within `--seconds`
it:

1. prints and records the GPU, the driver and the versions (JAX, its CUDA plugin, Keras, ...);
2. times `fit` of DCGAN and ConditionalGAN on the JAX backend in float32 and mixed_bfloat16 at
   batch 256 and 1024: images/s over the epochs after the first (which compiles), from an
   epoch clock that leaves `fit`'s asynchronous dispatch alone; and DCGAN at `zoo train`'s batch
   128 without and with `zoo train`'s per-step callbacks (which read each step's losses);
3. records `onnxruntime.get_available_providers()` and times the published generators'
   `generator.onnx` (exports/) on each provider offered (CUDA: float32 and float16 variants);
4. trains the published DCGAN's and cGAN's recipes (`python -m zoo train`, `RECIPES`, batch
   128), side by side, for as many epochs as the time left allows: two epochs first, to measure
   an epoch, then resumed up to the epochs that fit;
5. writes under `--out`: report.json (everything above), <family>/model.keras,
   <family>/training.json and <family>/samples.png of each recipe (each file under 16 MiB).

report.json is rewritten after every step, so a call stopped at its limit still returns what
was done. `--dry-run` runs the same steps on a CPU at toy sizes (a test does so, with TensorFlow
made unimportable): batches 16 and 32, two steps an epoch, recipes on 256 images.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras  # the backend is KERAS_BACKEND's (jax: scripts/gpu_run.sh sets it)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_FILE_BYTES = 16 << 20  # the device tool returns files up to 16 MiB
RECIPES = {  # the published DCGAN's and cGAN's training commands (their cards' `training.command`), batch 128
    "dcgan": ["--clusters", "50", "--latent-dim", "65", "--ema-decay", "0.999"],
    "cgan": ["--projection", "--ema-decay", "0.999"],
}
PUBLISHED = {"dcgan": "exports/dcgan-fashion-mnist", "cgan": "exports/cgan-fashion-mnist"}
PACKAGES = ("jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "jax-cuda13-pjrt", "jax-cuda12-pjrt", "keras",
            "numpy", "ml-dtypes", "h5py", "optree", "onnx", "onnxruntime", "onnxruntime-gpu", "tensorflow")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "out/gpu"), help="folder of the results (default: $OUT)")
    parser.add_argument("--seconds", type=float, default=440.0, help="time this script may take, from --started (default: 440)")
    parser.add_argument("--started", type=float, default=time.time(), help="UNIX time the call began (default: now)")
    parser.add_argument("--runs", type=Path, default=Path("runs/gpu"), help="folder of the recipes' run folders (default: runs/gpu)")
    parser.add_argument("--dry-run", action="store_true", help="the same steps at toy sizes, on any device")
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS),
                        help="run only these steps after `versions` (a second call, say, after the first measured the others)")
    args = parser.parse_args(argv)
    run = Run(args.out, args.started + args.seconds, args.dry_run, args.runs)
    run.step("versions", versions, run)
    if not run.dry_run and run.report["versions"].get("jax_backend") != "gpu":
        run.finish(f"JAX sees no GPU (backend {run.report['versions'].get('jax_backend')!r}): stopped before timing a CPU.")
        return 1
    for name in args.only:
        run.step(name, STEPS[name], run)
    run.finish()
    return 0


class Run:
    """The report, the deadline, and the sizes (real or dry run)."""

    def __init__(self, out, deadline, dry_run, runs=Path("runs/gpu")):
        self.out, self.deadline, self.dry_run, self.runs = Path(out), deadline, dry_run, Path(runs)
        self.out.mkdir(parents=True, exist_ok=True)
        self.report = {
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "dry_run": dry_run,
            "seconds_allowed": round(deadline - time.time(), 1),
        }
        self.timings = [(family, precision, batch, False) for batch in (256, 1024) for family in ("dcgan", "cgan") for precision in ("float32", "mixed_bfloat16")]
        # `zoo train`'s batch size, without and with its per-step callbacks: what reading each step's losses costs
        self.timings[2:2] = [("dcgan", "float32", 128, False), ("dcgan", "float32", 128, True)]
        self.steps, self.epochs, self.rows, self.recipe_rows, self.onnx_runs = 50, 3, None, None, 50
        if dry_run:  # each model, precision and batch size once, at toy sizes: every compile costs ~25 s on a CPU
            self.timings = [("dcgan", "float32", 16, False), ("cgan", "mixed_bfloat16", 32, True)]
            self.steps, self.epochs, self.rows, self.recipe_rows, self.onnx_runs = 2, 2, 512, 256, 3

    def left(self):
        return self.deadline - time.time()

    def step(self, name, function, *args):
        started = time.time()
        print(f"\n== {name} ({self.left():.0f} s left)", flush=True)
        try:
            self.report[name] = function(*args)
        except Exception as error:  # record it and go on: the other steps may still work
            self.report[name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{name} failed: {type(error).__name__}: {error}", flush=True)
        self.report.setdefault("step_seconds", {})[name] = round(time.time() - started, 1)
        self.save()

    def save(self):
        from zoo.files import atomic_write_json

        atomic_write_json(self.out / "report.json", self.report)

    def finish(self, error=None):
        if error:
            self.report["error"] = error
            print(error, flush=True)
        self.report["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.save()
        print(f"\nWrote {self.out / 'report.json'} ({self.left():.0f} s left)", flush=True)


def versions(run):
    """The machine, the GPU and driver (nvidia-smi), the packages and what JAX sees."""
    import jax

    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        import tensorflow  # noqa: F401

        tensorflow_imports = True
    except ImportError:
        tensorflow_imports = False
    smi = shutil.which("nvidia-smi")
    gpu = None
    if smi:
        query = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
        gpu = query.stdout.strip() or query.stderr.strip()
    from zoo.bench import machine_description

    record = {
        "machine": machine_description(),
        "nvidia_smi": gpu,
        "platform": platform.platform(),
        "packages": found,
        "tensorflow_imports": tensorflow_imports,
        "keras_backend": keras.backend.backend(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()],
    }
    for key, value in record.items():
        print(f"{key}: {value}", flush=True)
    return record


def training_arrays(rows):
    from zoo import data

    images, labels = data.load_arrays("train")
    if rows:
        images, labels = images[:rows], labels[:rows]
    return data.to_unit_range(images), labels.astype("int32")


def fit_speed(run):
    """`fit` images/s of each model, precision and batch size, after compilation; skips what time does not allow."""
    import gc

    from zoo.batches import ArrayBatches
    from zoo.callbacks import EpochTimer, StopOnNonFiniteLoss
    from zoo.models import ConditionalGAN, DCGAN

    images, labels = training_arrays(run.rows)
    budget_end = time.time() + 0.4 * run.left()  # the rest: onnxruntime and the recipes
    models = {"dcgan": (DCGAN, {}), "cgan": (ConditionalGAN, {"ema_decay": 0.999})}  # the published families; the DCGAN without its moving average (docs/gpu.md)
    rows = []
    for family, precision, batch_size, step_callbacks in run.timings:
        row = {"model": family, "precision": precision, "batch_size": batch_size}
        if step_callbacks:
            row["callbacks"] = "zoo train's per-step ones: EpochTimer, StopOnNonFiniteLoss (reads each step's losses)"
        rows.append(row)
        if time.time() > budget_end:
            row["skipped"] = "out of time"
            continue
        keras.mixed_precision.set_global_policy(precision)
        model = None
        try:
            keras.utils.set_random_seed(0)
            model_class, options = models[family]
            model = model_class(seed=0, **options)
            model.compile(jit_compile=True)
            arrays = (images, labels) if model.conditional else images
            batches = ArrayBatches(arrays, batch_size, seed=0).take(run.steps)
            clock = EpochClock()
            callbacks = [clock] + ([EpochTimer(batch_size), StopOnNonFiniteLoss()] if step_callbacks else [])
            history = model.fit(batches, epochs=run.epochs, verbose=0, callbacks=callbacks)
            timed = clock.seconds[1:]
            row.update(
                images_per_second=round(run.steps * batch_size * len(timed) / sum(timed), 1),
                first_epoch_seconds=round(clock.seconds[0], 2),
                steps_timed=run.steps * len(timed),
                final_logs={key: round(float(values[-1]), 4) for key, values in history.history.items()},
            )
        except Exception as error:  # e.g. out of memory at one size: the others still run
            row["error"] = f"{type(error).__name__}: {str(error)[:300]}"
        finally:
            keras.mixed_precision.set_global_policy("float32")
            del model
            keras.backend.clear_session()
            gc.collect()
        print(json.dumps(row), flush=True)
    return {"what": "fit images/s on the JAX backend, real Fashion-MNIST in memory (zoo.batches.ArrayBatches), XLA-compiled step, "
            f"{run.steps} steps an epoch, epochs after the first timed", "rows": rows}


class EpochClock(keras.callbacks.Callback):
    """Each epoch's wall time. `fit` reads the logs back before `on_epoch_end`, so the device has
    finished the epoch's steps; no per-batch hook, so `fit` keeps dispatching asynchronously."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def onnxruntime_speed(run):
    """What onnxruntime offers here, and the published generators' speed on each provider."""
    import numpy as np
    import onnxruntime

    from zoo import onnx_tuning, runtime

    offered = onnxruntime.get_available_providers()
    usable = [provider if isinstance(provider, str) else provider[0] for provider in runtime.available_providers()]
    print(f"onnxruntime {onnxruntime.__version__}: offers {offered}; with this machine's driver: {usable}", flush=True)
    rows = []
    variants = [("CPUExecutionProvider", "float32")]
    if "CUDAExecutionProvider" in usable:  # onnxruntime-gpu offers CUDA without a driver too
        variants = [("CUDAExecutionProvider", "float32"), ("CUDAExecutionProvider", "float16")] + variants
    for family, folder in PUBLISHED.items():
        for provider, precision in variants:
            row = {"model": family, "provider": provider, "precision": precision}
            rows.append(row)
            try:
                providers = [onnx_tuning.cuda_provider() if provider.startswith("CUDA") else provider]
                generator = runtime.load(ROOT / folder, providers=providers, precision=precision)
                row["ran_on"] = generator.providers[0]
                for batch in (1, 256):
                    rng = np.random.default_rng(0)
                    feeds = {"z": rng.standard_normal((batch, generator.latent_dim), dtype=np.float32)}
                    if "label" in generator.inputs:
                        feeds["label"] = np.arange(batch, dtype=np.int64) % 10
                    seconds = []
                    for _ in range(3 + run.onnx_runs):
                        started = time.perf_counter()
                        generator(**feeds)
                        seconds.append(time.perf_counter() - started)
                    seconds = np.array(seconds[3:])
                    row[f"batch_{batch}"] = {"p50_ms": round(float(np.median(seconds)) * 1e3, 3), "images_per_second": round(batch / float(np.median(seconds)), 1)}
            except Exception as error:
                row["error"] = f"{type(error).__name__}: {str(error)[:300]}"
            print(json.dumps(row), flush=True)
    return {"onnxruntime": onnxruntime.__version__, "available_providers": offered, "usable_providers": usable, "rows": rows}


def train_recipes(run):
    """Trains the recipes of `RECIPES` side by side through the command line, for the epochs the time left allows.

    Side by side, not one after the other: each small model's step leaves most of the GPU idle
    (`zoo train` reads the losses after every step), so two processes each get nearly the whole
    time left instead of half of it."""
    from concurrent.futures import ThreadPoolExecutor

    reserve = 20.0  # copying the files out
    until = time.time() + run.left() - reserve
    with ThreadPoolExecutor(len(RECIPES)) as pool:
        futures = {family: pool.submit(train_recipe, run, family, until) for family in RECIPES}
        results = {family: future.result() for family, future in futures.items()}
    run.report["recipes"] = results
    run.save()
    return results


def train_recipe(run, family, until):
    """Two epochs, then resumed to the epochs that fit before `until`; the files copied to the output."""
    folder = run.runs / family
    if (ROOT / folder).exists():
        shutil.rmtree(ROOT / folder)
    extra = [*RECIPES[family]] + (["--limit", str(run.recipe_rows)] if run.recipe_rows else [])
    sessions = []
    first = run_train(family, 1 if run.dry_run else 2, folder, extra, until)
    sessions.append(first)
    if first["returncode"] != 0:
        sessions += model_from_last_checkpoint(family, folder, extra)
    record = read_json(ROOT / folder / "training.json")
    result = {"sessions": sessions}
    if first["returncode"] != 0 or not record.get("images_per_second"):
        result["error"] = f"the first training call did not finish (exit {first['returncode']})"
        result["files"] = copy_out(run, family, folder)
        return result
    images = (run.recipe_rows or 60_000) // 128 * 128
    epoch_seconds = images / record["images_per_second"]
    done = record["epochs"]
    overhead = max(first["seconds"] - done * epoch_seconds, 0.0)  # start, data, compile
    more = int((until - time.time() - overhead) / (1.1 * epoch_seconds))
    if run.dry_run:
        more = 1  # the resumed call is what a dry run checks
    result.update(epoch_seconds=round(epoch_seconds, 2), overhead_seconds=round(overhead, 1), planned_epochs=done + max(more, 0))
    if more >= 1:
        first_model = ROOT / folder / "model.keras"
        kept = first_model.with_name(f"model-epoch{done}.keras")
        first_model.rename(kept)  # the resumed call writes a new one; if it is stopped, this one comes back
        second = run_train(family, done + more, folder, extra, until + 10)
        sessions.append(second)
        if second["returncode"] != 0:
            sessions += model_from_last_checkpoint(family, folder, extra)
        if (ROOT / folder / "model.keras").exists():
            kept.unlink()
        else:
            kept.rename(first_model)
    record = read_json(ROOT / folder / "training.json")
    result.update(epochs=record.get("epochs"), seconds=record.get("seconds"), images_per_second=record.get("images_per_second"),
                  final_logs=record.get("final_logs"))
    result["files"] = copy_out(run, family, folder)
    print(json.dumps({family: {k: v for k, v in result.items() if k != "sessions"}}), flush=True)
    return result


def model_from_last_checkpoint(family, folder, extra):
    """After a stopped call: `zoo train` up to the last checkpoint's epoch trains nothing and
    writes model.keras from that checkpoint (a start-up and a load, no training)."""
    from zoo.callbacks import GANCheckpoint

    saved = GANCheckpoint(ROOT / folder / "checkpoints").checkpoints()
    if not saved or (ROOT / folder / "model.keras").exists():
        return []
    return [run_train(family, saved[-1][0], folder, extra, time.time() + 90)]


def run_train(family, epochs, folder, extra, until):
    """`python -m zoo train` as a subprocess, stopped with Ctrl-C (it keeps its checkpoint) at `until`."""
    command = [sys.executable, "-m", "zoo", "train", family, "--epochs", str(epochs), "--out", str(folder), *extra]
    print("$ python " + " ".join(command[1:]), flush=True)
    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        returncode = process.wait(timeout=max(until - started, 1.0))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
    return {"command": " ".join(["python", *command[1:]]), "returncode": returncode, "seconds": round(time.time() - started, 1)}


def copy_out(run, family, folder):
    """model.keras, training.json and the last sample grid into `out/family/`, each under 16 MiB.

    A model.keras over 16 MiB (ConditionalGAN with its moving average and both Adam states:
    ~19 MB) goes out without its optimizers' state: the networks' weights alone (~9.5 MB)."""
    target = run.out / family
    target.mkdir(parents=True, exist_ok=True)
    samples = sorted((ROOT / folder / "samples").glob("epoch_*.png"))
    copied = {}
    for source, name in ((ROOT / folder / "model.keras", "model.keras"), (ROOT / folder / "training.json", "training.json"),
                         (samples[-1] if samples else None, "samples.png")):
        if source is None or not source.is_file():
            copied[name] = "missing"
        elif source.stat().st_size > MAX_FILE_BYTES and name == "model.keras":
            without_optimizers(source, target / name)
            copied[name] = f"{(target / name).stat().st_size} (without the optimizers' state: {source.stat().st_size} bytes with it)"
        elif source.stat().st_size > MAX_FILE_BYTES:
            copied[name] = f"not copied: {source.stat().st_size} bytes is over the 16 MiB the device tool returns"
        else:
            shutil.copyfile(source, target / name)
            copied[name] = source.stat().st_size
    return copied


def without_optimizers(source, target):
    """Writes the model of `source` (.keras) to `target` with its weights and no optimizer state."""
    from zoo.files import atomic_write
    from zoo.saving import load_model

    model = load_model(source)
    bare = type(model).from_config(model.get_config())  # not compiled: no optimizers
    bare.set_weights(model.get_weights())
    atomic_write(target, bare.save)


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


STEPS = {"fit_speed": fit_speed, "onnxruntime": onnxruntime_speed, "recipes": train_recipes}  # in the order they run


if __name__ == "__main__":
    sys.exit(main())
