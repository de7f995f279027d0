"""Quality per epoch along each training path: FID of DCGANs trained the same number of epochs.

    .venv/bin/python scripts/compare_training_paths.py                 # 3 epochs, seeds 0 and 1
    .venv/bin/python scripts/compare_training_paths.py --epochs 1 --seeds 0 --limit 2048 --n 1000   # a smoke run

A faster path must not buy its speed with quality. This trains `zoo.DCGAN` (or, `--family cgan`,
`zoo.ConditionalGAN`; the CLI's defaults: batch 128, Adam(2e-4, 0.5), non-saturating loss) on
real Fashion-MNIST once per path and seed,
for the same epochs, and scores each with `zoo.metrics` (FID and the rest on the zoo's
classifier features, the float32 generator as it is exported):

- "alternating, float32": Algorithm 1's update, the CLI's default before (phases, XLA);
- "reuse, float32": Algorithm 1 with one generator pass per step (the generator steps on the
  samples the discriminator step scored; the CLI's default update now), on the same path as
  the row above;
- "simultaneous, float32": the tutorial's update with one forward pass (3G + 6D per step), on
  the path `zoo.speed` chooses on this machine;
- "simultaneous, mixed_bfloat16": the same in Keras's bfloat16 policy (XLA; where the CPU has no
  native bfloat16 it computes the same rounding, only slower);
- "reuse, float32, op by op" and "reuse, mixed_bfloat16, op by op": the default update with
  Keras's convolutions without XLA, in float32 and in bfloat16: the pair that `zoo train`'s
  precision "auto" chooses between where the CPU multiplies bfloat16 natively.

Writes `docs/results/training_paths.json` and prints a table; the simultaneous update stays the
default only if its FID is within 5% of the alternating one's (the mean over seeds), and bfloat16
may become `auto`'s choice only if its FID is within 5% of float32's.
"""

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODELS = {"dcgan": "zoo.DCGAN", "cgan": "zoo.ConditionalGAN"}
# (label, update, convolutions, jit_compile, precision)
PATHS = (
    ("alternating, float32", "alternating", "phases", True, "float32"),
    ("reuse, float32", "reuse", "phases", True, "float32"),
    ("simultaneous, float32", "simultaneous", "auto", "auto", "float32"),
    ("simultaneous, mixed_bfloat16", "simultaneous", "auto", True, "mixed_bfloat16"),
    ("reuse, float32, op by op", "reuse", "keras", False, "float32"),
    ("reuse, mixed_bfloat16, op by op", "reuse", "keras", False, "mixed_bfloat16"),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=tuple(MODELS), default="dcgan", help="the model family trained (default: dcgan; cgan: `zoo.ConditionalGAN`, the CLI's defaults)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default: 3)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds per path (default: 0 1)")
    parser.add_argument("--limit", type=int, help="train on the first N images only (smoke runs)")
    parser.add_argument("--paths", nargs="+", choices=[label for label, *_ in PATHS], metavar="PATH", help="these paths only, the first the one the others are compared with (default: all)")
    parser.add_argument("--n", type=int, default=10_000, help="images per set for the metrics (default: 10000)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "training_paths"), help="folder of the run folders")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "training_paths.json"), help="JSON to write")
    args = parser.parse_args(argv)

    from zoo import bench, metrics
    from zoo.export import float32_copy
    from zoo.training import train

    evaluator = metrics.Evaluator(args.n)
    rows = []
    paths = [path for label in args.paths for path in PATHS if path[0] == label] if args.paths else PATHS
    for label, update, convolutions, jit_compile, precision in paths:
        for seed in args.seeds:
            out = Path(args.runs) / f"{'' if args.family == 'dcgan' else args.family + '-'}{label.replace(', ', '-')}-seed{seed}"
            started = time.perf_counter()
            model = train(
                args.family, out, epochs=args.epochs, limit=args.limit, seed=seed, update=update, convolutions=convolutions,
                jit_compile=jit_compile, precision=precision, calibrate=False, verbose=2,
                command=f"scripts/compare_training_paths.py ({label}, seed {seed})",
            )
            minutes = (time.perf_counter() - started) / 60
            path = json.loads((out / "training.json").read_text())["path"]
            scores = evaluator.evaluate(float32_copy(model), name=f"{label}, seed {seed}")
            rows.append({"path": label, "seed": seed, "epochs": args.epochs, "minutes": round(minutes, 1), "training_path": path, **scores})
            print(f"{label}, seed {seed}: FID {scores['fid']:.2f} ({minutes:.1f} min)", flush=True)
    summary = {}
    for label, *_ in paths:
        fids = [row["fid"] for row in rows if row["path"] == label]
        summary[label] = {"mean_fid": round(sum(fids) / len(fids), 3), "fids": [round(f, 3) for f in fids]}
    base = summary[paths[0][0]]["mean_fid"]
    for label in summary:
        summary[label]["vs_alternating"] = round(summary[label]["mean_fid"] / base, 3)  # the first path's ratio (the key's name is from when that was always "alternating")
    settings = {
        "model": f"{MODELS[args.family]} (CLI defaults), batch 128, non-saturating loss, real Fashion-MNIST train",
        "epochs": args.epochs, "seeds": args.seeds, "limit": args.limit, **evaluator.description(),
        "summary": summary,
    }
    record = bench.record("training_paths", settings, rows, peak_flops=float("nan"))
    record.pop("peak")
    bench.save(record, args.out, "scripts/compare_training_paths.py", argv)
    print(f"{'path':32} {'mean FID':>9} {'vs the first':>15}  FIDs")
    for label, entry in summary.items():
        print(f"{label:32} {entry['mean_fid']:9.2f} {entry['vs_alternating']:14.3f}×  {entry['fids']}")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
