"""Times generators side by side as `zoo.runtime` runs them: images/s at batch 256, p50 at batch 1.

    .venv/bin/python scripts/bench_generators.py dcgan-fashion-mnist old/generator.onnx   # before/after a new file
    .venv/bin/python scripts/bench_generators.py cgan-fashion-mnist exports/t2i-fashion-mnist --rounds 3

Each source is a published name, an artifact folder or a `generator.onnx` (with its `card.json`
beside it), loaded with `zoo.runtime.load`'s defaults (the tuned file, onnxruntime's default
threads, CPU or CUDA). The generators share one process and take turns over the rounds, so a
change in the machine's load touches them alike; each round times `--batch-calls` calls at batch
256 and `--single-calls` calls at batch 1 on fresh N(0, 1) noise (and class ids, or a caption's
tokens, where the generator takes them). Medians over the rounds; prints a table, writes JSON
with the machine (`zoo.bench.record`).
"""

import argparse
import statistics
import time

import numpy as np

from zoo import bench, runtime

BATCH = 256


def example_inputs(generator, rows, rng):
    """Inputs for `rows` images: noise, and the first valid id of any integer input."""
    inputs = {"z": rng.standard_normal((rows, generator.latent_dim)).astype(np.float32)}
    for name, value in generator.inputs.items():
        if name != "z":
            shape = [rows if not isinstance(size, int) or index == 0 else size for index, size in enumerate(value.shape)]
            inputs[name] = np.zeros(shape, np.int64)
    return inputs


def measure(sources, rounds=5, batch_calls=10, single_calls=200):
    """{source: {"images_per_second": median at batch 256, "p50_ms": median p50 at batch 1, "rounds": [...]}}"""
    generators = {source: runtime.load(source) for source in sources}
    rng = np.random.default_rng(0)
    for generator in generators.values():  # derive and warm every session first
        generator(**example_inputs(generator, BATCH, rng))
        generator(**example_inputs(generator, 1, rng))
    rounds_of = {source: [] for source in sources}
    for _ in range(rounds):
        for source, generator in generators.items():
            batch, single = example_inputs(generator, BATCH, rng), example_inputs(generator, 1, rng)
            started = time.perf_counter()
            for _ in range(batch_calls):
                generator(**batch)
            rate = BATCH * batch_calls / (time.perf_counter() - started)
            durations = []
            for _ in range(single_calls):
                started = time.perf_counter()
                generator(**single)
                durations.append(time.perf_counter() - started)
            rounds_of[source].append({"images_per_second": round(rate, 1), **bench.percentiles_ms(durations)})
    return {
        source: {
            "file": str(generators[source].model_path),
            "images_per_second": round(statistics.median(r["images_per_second"] for r in rounds_of[source]), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds_of[source]), 3),
            "rounds": rounds_of[source],
        }
        for source in sources
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="published names, artifact folders or generator.onnx files")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of turns (default: 5)")
    parser.add_argument("--batch-calls", type=int, default=10, help=f"calls at batch {BATCH} per round (default: 10)")
    parser.add_argument("--single-calls", type=int, default=200, help="calls at batch 1 per round (default: 200)")
    parser.add_argument("-o", "--output", default="bench_generators.json", help="JSON to write (default: bench_generators.json)")
    args = parser.parse_args(argv)
    for flag in ("rounds", "batch_calls", "single_calls"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    results = measure(args.sources, args.rounds, args.batch_calls, args.single_calls)
    settings = {"batch": BATCH, "rounds": args.rounds, "batch_calls": args.batch_calls, "single_calls": args.single_calls}
    record = bench.record("generators", settings, results, bench.measure_gemm_peak())
    bench.save(record, args.output, "scripts/bench_generators.py", argv)
    machine = record["machine"]
    print(f"{machine['cpu']}, {machine['cores']} cores, {record['measured']}; medians of {args.rounds} rounds, turns taken")
    print(f"{'generator':50} {'images/s at 256':>16} {'p50 ms at 1':>12}")
    for source, result in results.items():
        print(f"{source:50} {result['images_per_second']:>16,.0f} {result['p50_ms']:>12.3f}")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
