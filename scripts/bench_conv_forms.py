"""Where onnxruntime's float32 time goes: the tutorial generator's largest convolution, in every form.

    .venv/bin/python scripts/bench_conv_forms.py            # batch 256, as bench_infer.py's large batch
    .venv/bin/python scripts/bench_conv_forms.py --quick    # a smoke run: writes nothing unless --out is given

The TF tutorial's DCGAN generator spends 78% of its FLOPs in one layer: its stride-1 5×5
transposed convolution from 7×7×256 to 7×7×128 (a plain 5×5 convolution with "same" padding, the
form `zoo.onnx_tuning.optimize` gives it). `bench_infer.py` finds onnxruntime's float32 file
slower than TensorFlow's SavedModel at batch 256 on some CPUs; this script times that one layer
through each form onnxruntime can be given and through TensorFlow (oneDNN), side by side in one
run, so the gap can be put down to a kernel rather than to the graph around it:

- onnxruntime `Conv` with every graph optimisation (its blocked NCHWc kernels: what the tuned
  file runs);
- onnxruntime `Conv` without the NCHWc layout (graph level "extended": im2col, then a GEMM);
- onnxruntime with the im2col written into the graph (NHWC: `Pad`, 25 `Slice`s, `Concat`, one
  `MatMul`);
- onnxruntime's `MatMul` alone of the transposed-convolution form (every input pixel times all
  25 taps, x[B·49, 256] @ W[256, 25·128]; col2im would still have to add the taps up, so this is
  a bound on that form, not a convolution);
- TensorFlow's `tf.nn.conv2d` (NHWC, oneDNN), the kernel the SavedModel runs.

Every form's output is checked against numpy's (to 1e-3) before it is timed. Rates are GFLOP/s
of the convolution (2·B·49·256·128·25 FLOP per call), median of the timed calls, beside numpy's
float32 GEMM peak measured in the same run. Writes `docs/results/bench_conv_forms.json`.
"""

import argparse
import gc
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "results" / "bench_conv_forms.json"
SIDE, CHANNELS, FILTERS, KERNEL = 7, 256, 128, 5  # the tutorial generator's first transposed convolution
PAD = KERNEL // 2

FORMS = (
    "onnxruntime Conv, NCHWc blocked kernels (graph level all)",
    "onnxruntime Conv, im2col + GEMM (graph level extended)",
    "onnxruntime im2col in the graph (Slice + Concat + MatMul, NHWC)",
    "onnxruntime MatMul of the transposed-convolution form (no col2im: a bound)",
    "TensorFlow conv2d (oneDNN, NHWC)",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256, help="images per call (default: 256)")
    parser.add_argument("--calls", type=int, default=15, help="timed calls per form (default: 15)")
    parser.add_argument("--quick", action="store_true", help="batch 4, 2 calls: checks the script, not the speed")
    parser.add_argument("--out", help="JSON to write (default: docs/results/bench_conv_forms.json; a --quick run writes nothing without it)")
    args = parser.parse_args(argv)
    from zoo import bench

    out = bench.results_path(parser, args, DEFAULT_OUT, "conv_forms")
    if args.quick:
        args.batch, args.calls = 4, 2
    record = run(args.batch, args.calls)
    if out is not None:
        bench.save(record, out, "scripts/bench_conv_forms.py", argv)
    print(format_table(record))
    print(f"Wrote {out}" if out is not None else "Quick run: nothing written (give --out FILE to keep its record).")


def run(batch, calls):
    from zoo import bench

    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((KERNEL, KERNEL, CHANNELS, FILTERS)) * 0.02).astype(np.float32)  # HWIO, as Keras
    images = rng.standard_normal((batch, SIDE, SIDE, CHANNELS)).astype(np.float32)  # NHWC
    expected = reference_convolution(images, weights)
    flops = 2 * batch * SIDE * SIDE * CHANNELS * FILTERS * KERNEL * KERNEL
    peaks = [bench.measure_gemm_peak()]
    results = []
    for form in FORMS:
        call, check = form_callable(form, images, weights, expected)
        error = check(call())
        seconds = median_seconds(call, calls)
        results.append({"form": form, "ms_per_call": round(seconds * 1e3, 2), "gflops": round(flops / seconds / 1e9, 1), "max_abs_error": float(error)})
        del call
        gc.collect()  # an idle onnxruntime session's threads would take cores from the next form
    peaks.append(bench.measure_gemm_peak())
    peak = max(peaks)
    for row in results:
        row["fraction_of_peak"] = round(row["gflops"] * 1e9 / peak, 3)
    settings = {
        "layer": f"5×5 convolution, 'same' padding, {SIDE}×{SIDE}×{CHANNELS} -> {SIDE}×{SIDE}×{FILTERS} (the TF tutorial generator's first transposed convolution)",
        "batch": batch,
        "timed_calls": calls,
        "flops_per_call": flops,
        "threads": "each library's default (one per core)",
    }
    return bench.record("conv_forms", settings, results, peak)


def reference_convolution(images, weights):
    """numpy's 'same' convolution (cross-correlation, as Keras and ONNX), via im2col."""
    return im2col(images) @ weights.reshape(-1, FILTERS)


def im2col(images):
    """(B, 7, 7, C) -> (B, 7, 7, 25·C): each pixel's 5×5 neighbourhood (zero outside), taps in (row, column) order."""
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))
    return np.concatenate([padded[:, i : i + SIDE, j : j + SIDE] for i in range(KERNEL) for j in range(KERNEL)], axis=-1)


def form_callable(form, images, weights, expected):
    """(call, check): `call()` runs the layer in `form`; `check(output)` returns the largest
    error against `expected` and raises if the form computed something else."""

    def check(output, reference=expected):
        error = np.abs(output - reference).max()
        if not error < 1e-3:
            raise AssertionError(f"{form}: output differs from numpy's by {error:.3g}")
        return error

    if form == FORMS[4]:
        import tensorflow as tf

        kernel, x = tf.constant(weights), tf.constant(images)
        convolve = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
        return (lambda: convolve(x).numpy()), check
    if form in FORMS[:2]:
        model, feed = conv_model(weights, len(images)), np.ascontiguousarray(images.transpose(0, 3, 1, 2))
        level = "all" if form == FORMS[0] else "extended"
        session = ort_session(model, level)
        return (lambda: session.run(None, {"x": feed})[0].transpose(0, 2, 3, 1)), check
    if form == FORMS[2]:
        session = ort_session(im2col_model(weights, len(images)), "all")
        return (lambda: session.run(None, {"x": images})[0]), check
    pixels = images.reshape(-1, CHANNELS)
    taps = np.ascontiguousarray(weights.transpose(2, 0, 1, 3).reshape(CHANNELS, -1))  # C, (row, column, filter)
    session = ort_session(matmul_model(taps, len(pixels)), "all")
    return (lambda: session.run(None, {"x": pixels})[0]), lambda output: check(output, pixels @ taps)


def ort_session(model, level):
    import onnxruntime

    from zoo.onnx_tuning import session_options

    return onnxruntime.InferenceSession(model.SerializeToString(), session_options(level=level), providers=["CPUExecutionProvider"])


def onnx_model(nodes, inputs, outputs, initializers):
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "layer",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def conv_model(weights, batch):
    from onnx import helper

    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[KERNEL, KERNEL], pads=[PAD] * 4)
    return onnx_model([node], [("x", [batch, CHANNELS, SIDE, SIDE])], [("y", [batch, FILTERS, SIDE, SIDE])], {"w": np.ascontiguousarray(weights.transpose(3, 2, 0, 1))})


def im2col_model(weights, batch):
    from onnx import helper

    initializers = {"pads": np.array([0, PAD, PAD, 0, 0, PAD, PAD, 0], np.int64), "axes": np.array([1, 2], np.int64), "w": weights.reshape(-1, FILTERS)}
    nodes, columns = [helper.make_node("Pad", ["x", "pads"], ["padded"])], []
    for i in range(KERNEL):
        for j in range(KERNEL):
            initializers[f"start{i}{j}"], initializers[f"end{i}{j}"] = np.array([i, j], np.int64), np.array([i + SIDE, j + SIDE], np.int64)
            nodes.append(helper.make_node("Slice", ["padded", f"start{i}{j}", f"end{i}{j}", "axes"], [f"tap{i}{j}"]))
            columns.append(f"tap{i}{j}")
    nodes += [helper.make_node("Concat", columns, ["columns"], axis=3), helper.make_node("MatMul", ["columns", "w"], ["y"])]
    return onnx_model(nodes, [("x", [batch, SIDE, SIDE, CHANNELS])], [("y", [batch, SIDE, SIDE, FILTERS])], initializers)


def matmul_model(taps, rows):
    from onnx import helper

    return onnx_model([helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", [rows, CHANNELS])], [("y", [rows, taps.shape[1]])], {"w": taps})


def median_seconds(call, calls):
    for _ in range(2):  # warm-up: tracing, thread pools
        call()
    durations = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return float(np.median(durations))


def format_table(record):
    machine = record["machine"]
    lines = [
        f"{record['settings']['layer']}, batch {record['settings']['batch']}",
        f"{machine['cpu']} ({', '.join(machine['flags'])}), {machine['cores']} cores; fp32 GEMM peak {record['peak']['gflops']} GFLOP/s",
        "",
        "| form | ms per call | GFLOP/s | of peak |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {r['form']} | {r['ms_per_call']:.1f} | {r['gflops']:.0f} | {r['fraction_of_peak']:.0%} |" for r in record["results"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
