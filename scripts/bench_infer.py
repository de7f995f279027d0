"""Generator inference speed through every path the zoo offers, side by side in one run.

    .venv/bin/python scripts/bench_infer.py              # the TF tutorial's DCGAN generator
    .venv/bin/python scripts/bench_infer.py --quick      # a smoke run: writes nothing unless --out is given

One generator (the TF tutorial's DCGAN, `zoo.models.tutorial`, exported with
`zoo.export.export_generator`, so the ONNX and SavedModel files are parity-checked) runs
through these paths: Keras `predict`, a direct Keras call (`generator(z, training=False)`), the
SavedModel's `serving_default` signature, and onnxruntime (`zoo.runtime`): the exported file
with onnxruntime's default session options (before tuning), and the tuned file
(the optimised variant in the cache, `zoo.onnx_tuning.optimize`) with the default options, with
`session.intra_op.allow_spinning` off (idle threads spin by default, which costs time on cores
shared with other work), and with one intra-op thread; and the int8 variant
(`precision="int8"`, `zoo.onnx_tuning.int8_variant`) with the default options and one thread;
`zoo.runtime` runs a large batch on the CPU in calls of `CPU_ROWS_PER_CALL` rows, and the last two
paths run the tuned and int8 files on the whole batch in one call, as before that chunking
(`rows_per_call=MAX_BATCH`), side by side. At batch 1 each path is called many
times for p50 and p99 latency; at batch 256 it reports images/s (median over calls). Paths
alternate call by call, so a busy machine slows them alike; the first calls (tracing, session
warm-up) are not timed. Each onnxruntime path runs in a child process of its own (no
TensorFlow, no other session), the paths taking turns over three rounds: in one process, idle
sessions and TensorFlow's pools keep spinning their threads and take the cores from the one
being timed. FLOPs per image come from the layer shapes, less what a Winograd form saves where
the large batch ran one (`zoo.winograd.work_per_image`: the fraction of peak counts the work done,
not the direct convolution's); the peak is numpy's fp32 GEMM in the
same run, and for the int8 rows onnxruntime's int8 GEMM (`MatMulInteger`, the kernels its int8
convolutions use), measured the same way. Writes `docs/results/bench_infer.json` and this
machine kind's entry of `docs/results/bench_infer.machines.json`.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "results" / "bench_infer.json"

PATHS = (
    "Keras `predict`",
    "Keras direct call",
    "SavedModel",
    "onnxruntime, exported file (defaults)",
    "onnxruntime, tuned file",
    "onnxruntime, tuned file, no spinning",
    "onnxruntime, tuned file, 1 thread",
    "onnxruntime, int8 file",
    "onnxruntime, int8 file, 1 thread",
    "onnxruntime, tuned file, one call per batch",
    "onnxruntime, int8 file, one call per batch",
)
INT8_PATHS = tuple(path for path in PATHS if "int8" in path)  # counted against the int8 peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="timed batch-1 calls per path (default: 200)")
    parser.add_argument("--batch", type=int, default=256, help="the large batch (default: 256)")
    parser.add_argument("--batch-calls", type=int, default=10, help="timed large-batch calls per path (default: 10)")
    parser.add_argument("--quick", action="store_true", help="5 batch-1 calls and 2 calls of batch 32: checks the script, not the speed")
    parser.add_argument("--out", help="JSON to write (default: docs/results/bench_infer.json; a --quick run writes nothing without it)")
    parser.add_argument("--onnxruntime-child", nargs=6, metavar=("DIR", "LATENT", "CALLS", "BATCH", "BATCH_CALLS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.onnxruntime_child:
        directory, *numbers = args.onnxruntime_child
        return onnxruntime_child(directory, *map(int, numbers))
    from zoo import bench

    out = bench.results_path(parser, args, DEFAULT_OUT, "infer", machines=True)
    if args.quick:
        args.calls, args.batch, args.batch_calls = 5, 32, 2
    record = run(args.calls, args.batch, args.batch_calls)
    if out is not None:
        bench.save(record, out, "scripts/bench_infer.py", argv)
        bench.save_machine_entry(record, out)
    print(format_table(record))
    print(f"Wrote {out}" if out is not None else "Quick run: nothing written (give --out FILE to keep its record).")


KERAS_PATHS, ONNX_PATHS = PATHS[:3], PATHS[3:]


def keras_paths(model, directory):
    """The TensorFlow paths of the exported `model`: callables `f(z) -> numpy images`, keyed as `PATHS`."""
    import numpy as np
    import tensorflow as tf

    generator = model.generator
    signature = tf.saved_model.load(str(Path(directory) / "saved_model")).signatures["serving_default"]
    return dict(
        zip(
            KERAS_PATHS,
            (
                lambda z: generator.predict(z, batch_size=len(z), verbose=0),
                lambda z: np.asarray(generator(z, training=False)),
                lambda z: signature(z=tf.constant(z))["image"].numpy(),
            ),
        )
    )


def onnx_paths(directory):
    """Makers of the onnxruntime sessions of the artifact in `directory`, keyed as `PATHS` (no TensorFlow)."""
    from zoo import onnx_tuning, runtime

    cpu = {"providers": ["CPUExecutionProvider"]}
    makers = (
        lambda: runtime.load(directory, optimized=False, **cpu),
        lambda: runtime.load(directory, **cpu),
        lambda: runtime.load(directory, session_options=onnx_tuning.session_options(spinning=False), **cpu),
        lambda: runtime.load(directory, session_options=onnx_tuning.session_options(threads=1), **cpu),
        lambda: runtime.load(directory, precision="int8", **cpu),
        lambda: runtime.load(directory, precision="int8", session_options=onnx_tuning.session_options(threads=1), **cpu),
        lambda: runtime.load(directory, rows_per_call=runtime.MAX_BATCH, **cpu),
        lambda: runtime.load(directory, precision="int8", rows_per_call=runtime.MAX_BATCH, **cpu),
    )
    return dict(zip(ONNX_PATHS, makers))


def time_in_children(directory, latent_dim, calls, batch, batch_calls, rounds=3):
    """Times each onnxruntime path in a process of its own, the paths taking turns for `rounds`
    rounds, each round a share of the calls; returns `(single, large, providers)`.

    In one process, sessions idle between calls still spin their threads (and TensorFlow's
    pools theirs), taking the cores from the session being timed: alternating call by call
    there measures the neighbours, not the path.
    """
    import json
    import subprocess

    single, large, saved = {name: [] for name in ONNX_PATHS}, {name: [] for name in ONNX_PATHS}, {}
    for _ in range(rounds):
        for index, name in enumerate(ONNX_PATHS):
            arguments = [str(directory), str(latent_dim), str(-(-calls // rounds)), str(batch), str(-(-batch_calls // rounds)), str(index)]
            result = subprocess.run([sys.executable, __file__, "--onnxruntime-child", *arguments], capture_output=True, text=True, check=True)
            timed = json.loads(result.stdout.strip().splitlines()[-1])
            single[name] += timed["single"]
            large[name] += timed["large"]
            providers, saved[name] = timed["providers"], timed["saved"]
    return single, large, providers, saved


def onnxruntime_child(directory, latent_dim, calls, batch, batch_calls, index):
    import json

    from zoo.latent import sample_latent

    import onnx

    from zoo import winograd

    name = ONNX_PATHS[index]
    session = onnx_paths(directory)[name]()
    single = time_calls({name: session}, sample_latent(1, latent_dim, 0), calls)[name]
    large = time_calls({name: session}, sample_latent(batch, latent_dim, 1), batch_calls)[name]
    # FLOPs per image the large batch's file saves (its convolutions in Winograd's form)
    direct, done = winograd.work_per_image(onnx.load(str(session.large_batch_path))) if session.large_batch_path else (0, 0)
    print(json.dumps({"single": single, "large": large, "providers": session.providers, "saved": direct - done}))


def time_calls(paths, z, calls):
    """Calls every path on `z` in turn, `calls` times after one untimed warm-up; returns seconds per call."""
    seconds = {name: [] for name in paths}
    for index in range(calls + 1):
        for name, call in paths.items():
            started = time.perf_counter()
            call(z)
            if index:
                seconds[name].append(time.perf_counter() - started)
    return seconds


def run(calls, batch, batch_calls):
    import numpy as np

    from zoo import bench, runtime
    from zoo.latent import sample_latent

    import keras

    from zoo.export import export_generator
    from zoo.models.tutorial import TutorialDCGAN

    peaks = [bench.measure_gemm_peak()]
    int8_peaks = [bench.measure_int8_peak()]
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder) / "tutorial-dcgan"
        keras.utils.set_random_seed(0)
        model = TutorialDCGAN(seed=0)
        export_generator(model, directory, name="tf-tutorial-dcgan")
        flops = bench.model_flops(model.generator)
        paths = keras_paths(model, directory)
        single = time_calls(paths, sample_latent(1, model.latent_dim, 0), calls)
        large = time_calls(paths, sample_latent(batch, model.latent_dim, 1), batch_calls)
        onnx_single, onnx_large, providers, saved = time_in_children(directory, model.latent_dim, calls, batch, batch_calls)
        single.update(onnx_single)
        large.update(onnx_large)
    peaks.append(bench.measure_gemm_peak())
    int8_peaks.append(bench.measure_int8_peak())
    peak, int8_peak = max(peaks), max(int8_peaks)
    results = []
    for name in PATHS:
        rate = batch / float(np.median(large[name]))
        done = flops - saved.get(name, 0)  # the work this path did per image at the large batch
        results.append(
            {
                "path": name,
                "batch_1": bench.percentiles_ms(single[name]),
                f"batch_{batch}_images_per_second": round(rate, 1),
                "flops_per_image_done": done,
                "gflops_per_second": round(rate * done / 1e9, 1),
                "fraction_of_peak": round(rate * done / (int8_peak if name in INT8_PATHS else peak), 3),
            }
        )
    key = f"batch_{batch}_images_per_second"
    tuned = next(row for row in results if row["path"] == "onnxruntime, tuned file")
    for row in results:
        row["vs_predict"] = round(row[key] / results[0][key], 2)
        row["vs_tuned_file"] = round(row[key] / tuned[key], 2)
    settings = {
        "model": "TF tutorial DCGAN generator (zoo.models.tutorial), latent 100, 28×28×1, random weights",
        "batch_1_calls": calls,
        "batch": batch,
        "batch_calls": batch_calls,
        "flops_per_image": flops,
        "onnxruntime_providers": providers,
        "cpu_rows_per_call": runtime.CPU_ROWS_PER_CALL,
        "peaks_gflops": [round(p / 1e9, 1) for p in peaks],
        "int8_peaks_gops": [round(p / 1e9, 1) for p in int8_peaks],
    }
    record = bench.record("infer", settings, results, peak)
    record["int8_peak"] = {
        "gops": round(int8_peak / 1e9, 1),
        "how": f"onnxruntime MatMulInteger uint8×int8 {bench.GEMM_SIZE}×{bench.GEMM_SIZE}, best of 5, measured in the same run (int8 rows count against it)",
    }
    return record


def format_table(record):
    batch = record["settings"]["batch"]
    key = f"batch_{batch}_images_per_second"
    lines = [f"{'path':44} {'b1 p50 ms':>10} {'b1 p99 ms':>10} {f'b{batch} img/s':>11} {'vs predict':>10} {'vs tuned':>9} {'of peak':>8}"]
    for row in record["results"]:
        lines.append(
            f"{row['path']:44} {row['batch_1']['p50_ms']:10.2f} {row['batch_1']['p99_ms']:10.2f} {row[key]:11.1f} "
            f"{row['vs_predict']:9.2f}× {row['vs_tuned_file']:8.2f}× {row['fraction_of_peak']:8.1%}"
        )
    machine = record["machine"]
    lines.append(
        f"{record['settings']['flops_per_image'] / 1e6:.1f} MFLOP per image; peak {record['peak']['gflops']} GFLOP/s "
        f"({record['peak']['how']}); int8 peak {record['int8_peak']['gops']} GOP/s; {machine['cpu']}, {machine['cores']} cores, "
        f"{', '.join(machine.get('flags', []))}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
