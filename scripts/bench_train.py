"""Training images/s: the zoo's `fit` against the TensorFlow DCGAN tutorial's own loop, side by side.

    .venv/bin/python scripts/bench_train.py              # batch 256, 3 rounds of 10 steps per loop
    .venv/bin/python scripts/bench_train.py --quick      # a smoke run: writes nothing unless --out is given

The tutorial's two networks (`zoo.models.tutorial`) are trained, on the same real
Fashion-MNIST batches, by each loop in turn: the tutorial's `@tf.function` step (as written, and
with XLA), and `TutorialDCGAN.fit` (the zoo's `BaseGAN.train_step` with the tutorial's Adam(1e-4)
and BCE, the networks built from `zoo.layers`: its convolutions, and its `Dropout`, whose mask
takes half the random bits) along each training path `zoo.speed` chooses among: Algorithm 1's alternating update or
the tutorial's simultaneous one (one forward pass for both gradients), `zoo.layers`'s
convolutions computed as stride-1 convolutions ("phases"), as Keras's own ("keras"), or as
Keras's with the generator's 5×5 stride-1 layer on its 7×7 map in Winograd's form ("winograd",
`zoo.winograd`; its FLOPs per image and fraction of peak count the work that form does), without
and with XLA, in float32 and in Keras's `mixed_bfloat16` policy. The row `zoo train` would run
on this machine (its update and the path `zoo.speed.choose` calibrates here, cached per
machine) is marked. The loops alternate round by round in one process, so a busy machine slows
them alike; the first round of each loop (tracing, compiling) is not timed. FLOPs per image are
counted from the layer shapes (`zoo.bench`), the peak is numpy's fp32 GEMM measured in the same
run. Writes `docs/results/bench_train.json`, and this machine kind's entry of
`docs/results/bench_train.machines.json` (one per machine kind measured);
`scripts/update_readme_results.py` turns them into the README's tables.
"""

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "results" / "bench_train.json"

# (loop, update, convolutions, XLA, precision, label). "tutorial" rows use Keras's layers as the
# tutorial writes them; "zoo" rows use `zoo.layers` computed as `convolutions` says.
LOOPS = (
    ("tutorial", None, "keras", False, "float32", "TF tutorial loop (`@tf.function`)"),
    ("tutorial", None, "keras", True, "float32", "TF tutorial loop + XLA"),
    ("zoo", "alternating", "keras", False, "float32", "zoo `fit`"),
    ("zoo", "alternating", "phases", True, "float32", "zoo `fit`, phases, XLA (`zoo train` before)"),
    ("zoo", "simultaneous", "phases", False, "float32", "zoo `fit`, simultaneous, phases"),
    ("zoo", "simultaneous", "keras", False, "float32", "zoo `fit`, simultaneous, keras"),
    ("zoo", "alternating", "winograd", False, "float32", "zoo `fit`, winograd"),
    ("zoo", "reuse", "keras", False, "float32", "zoo `fit`, reuse"),
    ("zoo", "reuse", "winograd", False, "float32", "zoo `fit`, reuse, winograd"),
    ("zoo", "simultaneous", "winograd", False, "float32", "zoo `fit`, simultaneous, winograd"),
    ("zoo", "simultaneous", "phases", True, "float32", "zoo `fit`, simultaneous, phases, XLA"),
    ("zoo", "simultaneous", "keras", True, "float32", "zoo `fit`, simultaneous, keras, XLA"),
    ("zoo", "reuse", "keras", False, "mixed_bfloat16", "zoo `fit`, reuse, keras, mixed_bfloat16"),
    ("zoo", "reuse", "winograd", False, "mixed_bfloat16", "zoo `fit`, reuse, winograd, mixed_bfloat16"),
    ("zoo", "simultaneous", "keras", False, "mixed_bfloat16", "zoo `fit`, simultaneous, keras, mixed_bfloat16"),
    ("zoo", "simultaneous", "keras", True, "mixed_bfloat16", "zoo `fit`, simultaneous, keras, XLA, mixed_bfloat16"),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256, help="images per step (default: 256, as the tutorial)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per loop per round (default: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; each runs every loop once (default: 3)")
    parser.add_argument("--quick", action="store_true", help="batch 32, 2 steps, 1 round, no XLA or bfloat16 loops, no calibration: checks the script, not the speed")
    parser.add_argument("--out", help="JSON to write (this machine kind's entry also goes to <out stem>.machines.json) (default: docs/results/bench_train.json; a --quick run writes nothing without it)")
    args = parser.parse_args(argv)
    from zoo import bench

    out = bench.results_path(parser, args, DEFAULT_OUT, "train", machines=True)
    loops = LOOPS
    if args.quick:
        args.batch_size, args.steps, args.rounds = 32, 2, 1
        loops = [loop for loop in LOOPS if not loop[3] and loop[4] == "float32"]  # XLA compiles take minutes on a busy machine
    record = run(args.batch_size, args.steps, args.rounds, loops, calibrate=not args.quick)
    if out is not None:
        bench.save(record, out, "scripts/bench_train.py", argv)
        bench.save_machine_entry(record, out)
    print(format_table(record))
    print(f"Wrote {out}" if out is not None else "Quick run: nothing written (give --out FILE to keep its record).")


def run(batch_size, steps, rounds, loops=LOOPS, calibrate=True):
    import keras
    import numpy as np

    from zoo import bench, data, layers, speed, winograd
    from zoo.models.tutorial import TutorialDCGAN, make_discriminator_model, make_generator_model, make_tutorial_train_step
    from zoo.training import default_precision, default_update

    keras.utils.set_random_seed(0)
    peaks = [bench.measure_gemm_peak()]
    # Unshuffled and repeated: every loop reads the same real batches, and no loop pays for
    # refilling a 60,000-image shuffle buffer when its iterator is created.
    dataset = data.load_fashion_mnist(batch_size=batch_size, shuffle=False).repeat()
    tutorial_networks = (make_generator_model(), make_discriminator_model())
    g_flops, d_flops = bench.model_flops(tutorial_networks[0]), bench.model_flops(tutorial_networks[1])
    # What Winograd's form saves per generator pass (its layers' direct FLOPs less its own)
    winograd_saving = sum(
        direct - done
        for direct, done in (
            winograd.layer_work(*layer.input.shape[1:], layer.filters, layer.kernel_size[0])
            for layer in speed.winograd_layers(make_generator_model(convolutions=layers))
        )
    )

    def zoo_networks(precision):
        with speed.dtype_policy(precision):
            networks = (make_generator_model(convolutions=layers), make_discriminator_model(convolutions=layers))
        for ours, theirs in zip(networks, tutorial_networks):
            ours.set_weights(theirs.get_weights())  # the same networks, computed along each path
        return networks

    train_update = default_update()  # what `zoo train` runs when no update is given

    def build(path, update=train_update):
        with speed.applied(path):
            model = TutorialDCGAN(*zoo_networks(path.precision), seed=0)
        model.compile_like_tutorial(jit_compile=path.jit_compile, update=update)
        return model

    default = None
    if calibrate:  # the path `zoo train` takes here for these networks, batch and update
        chosen, how = speed.choose(build, data.load_fashion_mnist(batch_size=batch_size, shuffle=False), batch_size,
                                   {"model": "tf-tutorial-dcgan", "update": train_update, "loss": "non_saturating"},
                                   precision=default_precision("dcgan"), calibrate=True)
        default = {**chosen._asdict(), "update": train_update, **{k: v for k, v in how.items() if k != "candidates"}}

    runners = []
    for loop, update, convolutions, jit, precision, label in loops:
        if loop == "tutorial":
            step, _ = make_tutorial_train_step(*tutorial_networks, batch_size, jit_compile=jit)
            runners.append(TutorialRunner(step, iter(dataset)))
        else:
            runners.append(FitRunner(build(speed.TrainingPath(convolutions, jit, precision), update), dataset, convolutions))

    seconds = {loop[-1]: [] for loop in loops}
    for round_index in range(rounds + 1):  # round 0 traces and compiles every loop
        for loop, runner in zip(loops, runners):
            elapsed = runner.run(steps)
            if round_index:
                seconds[loop[-1]].append(elapsed)
    peaks.append(bench.measure_gemm_peak())
    peak = max(peaks)

    results = []
    tutorial_rate = None
    for loop, update, convolutions, jit, precision, label in loops:
        rates = [steps * batch_size / s for s in seconds[label]]
        rate = float(np.median(rates))
        tutorial_rate = tutorial_rate or rate
        generator_flops = g_flops - (winograd_saving if convolutions == "winograd" else 0)  # the work done
        flops = bench.gan_training_flops(generator_flops, d_flops, {None: "tutorial", "alternating": "zoo", "reuse": "zoo-reuse", "simultaneous": "zoo-simultaneous"}[update])
        row = {
            "loop": label,
            "images_per_second": round(rate, 1),
            "rounds": [round(r, 1) for r in rates],
            "vs_tutorial": round(rate / tutorial_rate, 3),
            "flops_per_image": flops,
            "gflops_per_second": round(rate * flops / 1e9, 1),
            "fraction_of_peak": round(rate * flops / peak, 3),
        }
        if default and loop == "zoo" and (update, convolutions, jit, precision) == (default["update"], default["convolutions"], default["jit_compile"], default["precision"]):
            row["zoo_train_default"] = True
        results.append(row)
    settings = {
        "model": "TF tutorial DCGAN (zoo.models.tutorial), latent 100, 28×28×1",
        "data": "real Fashion-MNIST train, unshuffled, repeated",
        "batch_size": batch_size,
        "steps_per_round": steps,
        "rounds": rounds,
        "generator_flops_per_image": g_flops,
        "discriminator_flops_per_image": d_flops,
        "flops_note": "forward of Dense/conv layers ×1, backward ×2; tutorial and zoo simultaneous step 3G+6D (one forward pass for both gradients), zoo alternating step 4G+9D (fresh noise for the generator step), zoo reuse step 3G+9D (the generator step on the discriminator step's samples)",
        "zoo_train_default": default,
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
    """Runs `model.fit` for one epoch of `steps` steps; returns the epoch's seconds (fit's setup excluded).
    `convolutions`: how `zoo.layers` computes while the first call traces the step."""

    def __init__(self, model, dataset, convolutions="phases"):
        import keras

        class EpochClock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds = time.perf_counter() - self.started

        self.model, self.dataset, self.clock, self.convolutions = model, dataset, EpochClock(), convolutions

    def run(self, steps):
        from zoo import layers

        with layers.implementation(self.convolutions):
            self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps, callbacks=[self.clock], verbose=0, shuffle=False)
        return self.clock.seconds


def format_table(record):
    lines = [f"{'loop':55} {'images/s':>9} {'vs tutorial':>11} {'MFLOP/img':>10} {'GFLOP/s':>8} {'of peak':>8}"]
    for row in record["results"]:
        mark = "  <- zoo train here" if row.get("zoo_train_default") else ""
        lines.append(
            f"{row['loop']:55} {row['images_per_second']:9.1f} {row['vs_tutorial']:10.2f}× {row['flops_per_image'] / 1e6:10.1f} "
            f"{row['gflops_per_second']:8.1f} {row['fraction_of_peak']:8.1%}{mark}"
        )
    machine = record["machine"]
    lines.append(
        f"batch {record['settings']['batch_size']}; peak {record['peak']['gflops']} GFLOP/s ({record['peak']['how']}); "
        f"{machine['cpu']}, {machine['cores']} cores, {', '.join(machine.get('flags', []))}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
