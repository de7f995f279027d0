"""Training images/s: the zoo's `fit` against the TensorFlow DCGAN tutorial's own loop, side by side.

    .venv/bin/python scripts/bench_train.py              # batch 256, 3 rounds of 10 steps per loop
    .venv/bin/python scripts/bench_train.py --quick      # a smoke run (tests use it)

The tutorial's two networks (`zoo.models.tutorial`) are built once and trained, on the same
real Fashion-MNIST batches, by each loop in turn: the tutorial's `@tf.function` step (as
written, and with XLA), and `TutorialDCGAN.fit` (the zoo's `BaseGAN.train_step` with the
tutorial's Adam(1e-4) and BCE), without and with `jit_compile`. The same networks built from
`zoo.layers` (equal weights; the convolutions computed as stride-1 convolutions) run the
tutorial's step and `fit` too, `fit` also with `update="simultaneous"` (the tutorial's update:
both gradients from one batch of samples). The loops alternate round by round in one process, so a busy machine slows them alike;
the first round of each loop (tracing, compiling) is not timed. FLOPs per image are counted
from the layer shapes (`zoo.bench`), the peak is numpy's fp32 GEMM measured in the same run.
Writes `docs/results/bench_train.json`; `scripts/update_readme_results.py` turns it into the
README's table.
"""

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (loop, XLA, convolution layers, label): Keras's layers as the tutorial writes them, or
# `zoo.layers` (the same functions computed with stride-1 convolutions, as the zoo's models use).
LOOPS = (
    ("tutorial", False, "keras", "TF tutorial loop (`@tf.function`)"),
    ("tutorial", True, "keras", "TF tutorial loop + XLA"),
    ("zoo", False, "keras", "zoo `fit`"),
    ("zoo", True, "keras", "zoo `fit`, `jit_compile=True`"),
    ("tutorial", False, "zoo", "TF tutorial loop, `zoo.layers`"),
    ("zoo", False, "zoo", "zoo `fit`, `zoo.layers`"),
    ("zoo", True, "zoo", "zoo `fit`, `zoo.layers`, `jit_compile=True`"),
    ("zoo-simultaneous", False, "zoo", "zoo `fit`, `zoo.layers`, `update=\"simultaneous\"`"),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256, help="images per step (default: 256, as the tutorial)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per loop per round (default: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; each runs every loop once (default: 3)")
    parser.add_argument("--quick", action="store_true", help="batch 32, 2 steps, 1 round, no XLA loops: checks the script, not the speed")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "bench_train.json"), help="JSON to write")
    args = parser.parse_args(argv)
    loops = LOOPS
    if args.quick:
        args.batch_size, args.steps, args.rounds = 32, 2, 1
        loops = [loop for loop in LOOPS if not loop[1]]  # XLA compiles take minutes on a busy machine
    record = run(args.batch_size, args.steps, args.rounds, loops)
    from zoo import bench

    bench.save(record, args.out, "scripts/bench_train.py", argv)
    print(format_table(record))
    print(f"Wrote {args.out}")


def run(batch_size, steps, rounds, loops=LOOPS):
    import keras
    import numpy as np

    from zoo import bench, data, layers
    from zoo.models.tutorial import TutorialDCGAN, make_discriminator_model, make_generator_model, make_tutorial_train_step

    keras.utils.set_random_seed(0)
    peaks = [bench.measure_gemm_peak()]
    # Unshuffled and repeated: every loop reads the same real batches, and no loop pays for
    # refilling a 60,000-image shuffle buffer when its iterator is created.
    dataset = data.load_fashion_mnist(batch_size=batch_size, shuffle=False).repeat()
    networks = {"keras": (make_generator_model(), make_discriminator_model())}
    networks["zoo"] = (make_generator_model(convolutions=layers), make_discriminator_model(convolutions=layers))
    for ours, theirs in zip(networks["zoo"], networks["keras"]):
        ours.set_weights(theirs.get_weights())  # the same networks, computed two ways
    g_flops, d_flops = bench.model_flops(networks["keras"][0]), bench.model_flops(networks["keras"][1])

    runners = []
    for loop, jit, convolutions, label in loops:
        generator, discriminator = networks[convolutions]
        if loop == "tutorial":
            step, _ = make_tutorial_train_step(generator, discriminator, batch_size, jit_compile=jit)
            runners.append(TutorialRunner(step, iter(dataset)))
        else:
            model = TutorialDCGAN(generator, discriminator, seed=0)
            model.compile_like_tutorial(jit_compile=jit, update="simultaneous" if loop == "zoo-simultaneous" else "alternating")
            runners.append(FitRunner(model, dataset))

    seconds = {label: [] for *_, label in loops}
    for round_index in range(rounds + 1):  # round 0 traces and compiles every loop
        for (*_, label), runner in zip(loops, runners):
            elapsed = runner.run(steps)
            if round_index:
                seconds[label].append(elapsed)
    peaks.append(bench.measure_gemm_peak())
    peak = max(peaks)

    results = []
    tutorial_rate = None
    for loop, _, _, label in loops:
        rates = [steps * batch_size / s for s in seconds[label]]
        rate = float(np.median(rates))
        tutorial_rate = tutorial_rate or rate
        flops = bench.gan_training_flops(g_flops, d_flops, loop)
        results.append(
            {
                "loop": label,
                "images_per_second": round(rate, 1),
                "rounds": [round(r, 1) for r in rates],
                "vs_tutorial": round(rate / tutorial_rate, 3),
                "flops_per_image": flops,
                "gflops_per_second": round(rate * flops / 1e9, 1),
                "fraction_of_peak": round(rate * flops / peak, 3),
            }
        )
    settings = {
        "model": "TF tutorial DCGAN (zoo.models.tutorial), latent 100, 28×28×1",
        "data": "real Fashion-MNIST train, unshuffled, repeated",
        "batch_size": batch_size,
        "steps_per_round": steps,
        "rounds": rounds,
        "generator_flops_per_image": g_flops,
        "discriminator_flops_per_image": d_flops,
        "flops_note": "forward of Dense/conv layers ×1, backward ×2; tutorial step 3G+6D, zoo step 4G+9D (fresh noise for the generator step), zoo simultaneous step 3G+9D",
        "peaks_gflops": [round(p / 1e9, 1) for p in peaks],
    }
    return bench.record("train", settings, results, peak)


class TutorialRunner:
    """Runs the tutorial's step `steps` times; returns the seconds, synchronised on the last losses."""

    def __init__(self, step, iterator):
        self.step, self.iterator = step, iterator

    def run(self, steps):
        started = time.perf_counter()
        for _ in range(steps):
            losses = self.step(next(self.iterator))
        [float(loss) for loss in losses]
        return time.perf_counter() - started


class FitRunner:
    """Runs `model.fit` for one epoch of `steps` steps; returns the epoch's seconds (fit's setup excluded)."""

    def __init__(self, model, dataset):
        import keras

        class EpochClock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds = time.perf_counter() - self.started

        self.model, self.dataset, self.clock = model, dataset, EpochClock()

    def run(self, steps):
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps, callbacks=[self.clock], verbose=0, shuffle=False)
        return self.clock.seconds


def format_table(record):
    lines = [f"{'loop':50} {'images/s':>9} {'vs tutorial':>11} {'MFLOP/img':>10} {'GFLOP/s':>8} {'of peak':>8}"]
    for row in record["results"]:
        lines.append(
            f"{row['loop']:50} {row['images_per_second']:9.1f} {row['vs_tutorial']:10.2f}× {row['flops_per_image'] / 1e6:10.1f} "
            f"{row['gflops_per_second']:8.1f} {row['fraction_of_peak']:8.1%}"
        )
    machine = record["machine"]
    lines.append(f"batch {record['settings']['batch_size']}; peak {record['peak']['gflops']} GFLOP/s ({record['peak']['how']}); {machine['cpu']}, {machine['cores']} cores")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
