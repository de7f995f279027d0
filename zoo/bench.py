"""What the benchmark scripts share: FLOPs counted from layer shapes, the machine's measured peak,
latency percentiles, the machine a figure was measured on, and the record every benchmark JSON
carries (training records and cards describe their machine the same way).

FLOPs count multiply-adds as two operations and only the layers that dominate (Dense, Conv2D,
Conv2DTranspose); normalisation, activations and the optimizer's update are left out, so the
fraction of peak derived from them is a slight underestimate. The peak is not a datasheet
figure: it is numpy's fp32 matrix product measured in the same run, on the same busy cores.
"""

import os
import platform
import shlex
import sys
import time

import numpy as np

GEMM_SIZE = 2048


def layer_flops(layer):
    """Forward FLOPs per example of one Keras layer (0 for layers not counted)."""
    from keras import layers

    if isinstance(layer, layers.Dense):
        return 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
        kernel_h, kernel_w, *_ = layer.kernel.shape
        if isinstance(layer, layers.Conv2DTranspose):
            # Each input pixel scatters a kernel_h × kernel_w × filters patch from its channels.
            _, height, width, channels = layer.input.shape
            return 2 * height * width * kernel_h * kernel_w * channels * layer.filters
        _, height, width, filters = layer.output.shape
        channels = layer.input.shape[-1]
        return 2 * height * width * kernel_h * kernel_w * channels * filters
    if hasattr(layer, "layers"):  # a nested model
        return model_flops(layer)
    return 0


def model_flops(model):
    """Forward FLOPs per example of a built Keras model: the sum over its Dense and conv layers."""
    return int(sum(layer_flops(layer) for layer in model.layers))


def gan_training_flops(generator_flops, discriminator_flops, loop):
    """FLOPs per real image of one GAN training step, backward passes counted as twice the forward.

    "tutorial": one generator pass and two discriminator passes (real, fake) under two tapes,
    all back-propagated: 3G + 6D. "zoo": `BaseGAN.train_step` draws fresh noise for the
    generator step (Algorithm 1): the discriminator step runs G forward only and D on real and
    fake (G + 6D), the generator step runs G and D with both back-propagated (3G + 3D): 4G + 9D.
    "zoo-reuse" (`update="reuse"`): Algorithm 1 with the generator step on the discriminator
    step's samples, back-propagated through the one generator pass: 3G + 9D.
    "zoo-simultaneous" (`update="simultaneous"`): the tutorial's step, one forward pass serving
    both gradients: 3G + 6D.
    """
    if loop in ("tutorial", "zoo-simultaneous"):
        return 3 * generator_flops + 6 * discriminator_flops
    if loop == "zoo":
        return 4 * generator_flops + 9 * discriminator_flops
    if loop == "zoo-reuse":
        return 3 * generator_flops + 9 * discriminator_flops
    raise ValueError(f"Unknown training loop {loop!r}; choose 'tutorial', 'zoo', 'zoo-reuse' or 'zoo-simultaneous'.")


def measure_gemm_peak(size=GEMM_SIZE, repeats=5):
    """The machine's fp32 matrix-product rate in FLOP/s (best of `repeats`), from numpy's BLAS."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # warm up the BLAS threads
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def measure_int8_peak(size=GEMM_SIZE, repeats=5):
    """The machine's int8 matrix-product rate in operations/s (best of `repeats`): onnxruntime's
    `MatMulInteger` (uint8 × int8 -> int32, the kernels its int8 convolutions use, VNNI or AMX
    where the CPU has them), measured as `measure_gemm_peak` measures float32."""
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.integers(-128, 128, (size, size), dtype=np.int8), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "int8_gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [size, size])], [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a = rng.integers(0, 256, (size, size), dtype=np.uint8)
    session.run(None, {"a": a})  # warm up the threads
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, {"a": a})
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def percentiles_ms(seconds):
    """p50 and p99 of a list of durations in seconds, in milliseconds."""
    values = np.asarray(seconds) * 1000.0
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3)}


def machine_description():
    """A short description of the hardware and software a figure was measured on: the CPU with the
    flags that decide speed here (`zoo.hardware`), cores, accelerators and versions.

    The accelerators and the framework's version are the Keras backend's: TensorFlow is not
    imported on JAX or PyTorch, which may run without it.
    """
    import keras

    from zoo import hardware

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus, framework = [d.name for d in tf.config.list_physical_devices("GPU")], {"tensorflow": tf.__version__}
    elif backend == "jax":
        import jax

        gpus, framework = [d.device_kind for d in jax.devices() if d.platform == "gpu"], {"backend": "jax", "jax": jax.__version__}
    else:
        module = __import__(backend)
        gpus, framework = [], {"backend": backend, backend: getattr(module, "__version__", None)}
        if backend == "torch" and module.cuda.is_available():
            gpus = [module.cuda.get_device_name(i) for i in range(module.cuda.device_count())]
    return {
        **hardware.describe(),
        "cores_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),  # taskset pins
        "gpus": gpus,
        "python": platform.python_version(),
        **framework,
        "keras": keras.__version__,
    }


def record(kind, settings, results, peak_flops):
    """The JSON every benchmark writes: what, when, where, with which settings, and the results."""
    import datetime

    return {
        "benchmark": kind,
        "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(),
        "settings": settings,
        "peak": {
            "gflops": round(peak_flops / 1e9, 1),
            "how": f"numpy fp32 {GEMM_SIZE}×{GEMM_SIZE} matmul, best of 5, measured in the same run",
        },
        "results": results,
    }


def save_machine_entry(record, path):
    """Keeps `record` as its machine kind's entry (`zoo.hardware.machine_kind`) of
    `<path's stem>.machines.json`, beside the entries of the other kinds measured before, so that
    the README keeps one row set per kind of machine, not only the last one measured."""
    import json
    from pathlib import Path

    from zoo.files import atomic_write_json
    from zoo.hardware import machine_kind

    path = Path(path)
    machines = path.with_name(f"{path.stem}.machines.json")
    try:
        entries = json.loads(machines.read_text())
    except (OSError, ValueError):
        entries = {}
    entries = entries if isinstance(entries, dict) else {}
    entries[machine_kind(record["machine"])] = record
    return atomic_write_json(machines, dict(sorted(entries.items())))


def save(record, path, script, argv=None):
    """Stamps the command that made `record` into its settings and writes it to `path` atomically."""
    from zoo.files import atomic_write_json

    record["settings"]["command"] = shlex.join(["python", script, *(sys.argv[1:] if argv is None else argv)])
    return atomic_write_json(path, record)


def output_path(out, quick, default):
    """Where a benchmark writes its record: `out` when given, else `default` for a full run and
    None (nowhere) for a `--quick` smoke run, whose figures must never replace measured ones."""
    if out is not None:
        return out
    return None if quick else default


def results_path(parser, args, default, kind, machines=False):
    """A benchmark script's checked `--out` (`output_path`, `check_results_path`), or
    `parser.error` naming what is wrong with it, before anything is measured."""
    out = output_path(args.out, args.quick, default)
    if out is not None:
        try:
            check_results_path(out, kind, machines=machines)
        except ValueError as error:
            parser.error(str(error))
    return out


def check_results_path(path, kind, machines=False, option="--out"):
    """Raises ValueError, before a benchmark runs, when `path` cannot take its `kind` record: it is
    a folder, a folder on its way is a file, or it (or with `machines`, the `<stem>.machines.json`
    beside it, which `save_machine_entry` rewrites) is an existing file that is not a record of
    this benchmark (notes, another benchmark's figures), which the run would silently replace."""
    import json
    from pathlib import Path

    from zoo.files import check_output_file

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; give the JSON file to write, e.g. {path / f'bench_{kind}.json'}.")
    try:
        check_output_file(path, option)
    except OSError as error:
        raise ValueError(str(error)) from None
    companions = [(path, False)] + ([(path.with_name(f"{path.stem}.machines.json"), True)] if machines else [])
    for candidate, by_machine in companions:
        if not candidate.exists() and not candidate.is_symlink():
            continue
        try:
            data = json.loads(candidate.read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            data = None
        records = list(data.values()) if by_machine and isinstance(data, dict) else [data]
        if not all(isinstance(entry, dict) and entry.get("benchmark") == kind for entry in records):
            raise ValueError(
                f"{option} {path}: {candidate} exists and is not a {kind!r} benchmark record; not replaced. "
                "Give another file, or delete it first."
            )
