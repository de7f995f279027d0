"""Compares training recipes at equal training time: each is a `python -m zoo train` command line.

    taskset -c 0 .venv/bin/python scripts/compare_recipes.py                 # every recipe not yet run
    taskset -c 0 .venv/bin/python scripts/compare_recipes.py dcgan-ema dcgan-ema-sn-hinge --minutes 10
    .venv/bin/python scripts/compare_recipes.py --table                     # rewrite docs/recipes.md only

Each recipe trains into `runs/recipes/<name>/` for the same processor time (`--time-limit
MINUTES --time-limit-clock cpu`: on a core shared with other jobs, every recipe gets the same
compute however loaded the core is; pin the script to one core with `taskset`, and its
trainings inherit the pinning), then `python -m zoo eval` scores its `model.keras` on 10,000
images. The results go to `docs/results/recipes.json` (one entry per recipe, kept across runs)
and the table to `docs/recipes.md`. A recipe already scored is not run again unless named.
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "docs" / "results" / "recipes.json"
TABLE = ROOT / "docs" / "recipes.md"
RUNS = ROOT / "runs" / "recipes"

EMA = ["--ema-decay", "0.999"]
SN_HINGE = ["--spectral-norm", "--loss", "hinge"]
TTUR = ["--d-lr", "4e-4", "--g-lr", "1e-4"]

# name -> (family, train flags, what it changes). The first of each family is the published recipe.
RECIPES = {
    "dcgan-published": ("dcgan", [], "DCGAN's defaults (Radford et al. 2015: Adam 2e-4, β1 0.5, batch 128), no EMA; the recipe first published"),
    "dcgan-ema": ("dcgan", EMA, "+ EMA of the generator, decay 0.999"),
    "dcgan-ema-ttur": ("dcgan", EMA + TTUR, "+ EMA, TTUR: D 4e-4, G 1e-4 (Heusel et al. 2017)"),
    "dcgan-ema-sn-hinge": ("dcgan", EMA + SN_HINGE, "+ EMA, spectral norm in D (no BN), hinge loss (Miyato et al. 2018)"),
    "dcgan-ema-depth1": ("dcgan", EMA + ["--g-depth", "1"], "+ EMA, a 3×3 convolution more at each of G's resolutions (+24% weights, 3× G's FLOPs)"),
    "dcgan-ema-batch64": ("dcgan", EMA + ["--batch-size", "64"], "+ EMA, batch 64: twice the steps per epoch"),
    "dcgan-ema-d128": ("dcgan", EMA + ["--d-filters", "128"], "+ EMA, discriminator twice as wide (4× D's FLOPs)"),
    "dcgan-ema-clusters50": (
        "dcgan",
        EMA + ["--clusters", "50", "--latent-dim", "65"],
        "+ EMA, self-conditioned on 50 k-means clusters of the pixels, projection D (Liu et al. 2020); z: 1 picks the cluster, 64 noise; the published DCGAN's recipe",
    ),
    "cgan-published": ("cgan", EMA, "the published cGAN's recipe: label channel in D, EMA 0.999"),
    "cgan-projection": ("cgan", EMA + ["--projection"], "+ projection discriminator (Miyato & Koyama 2018)"),
    "cgan-projection-sn-hinge": ("cgan", EMA + ["--projection"] + SN_HINGE, "+ projection D, spectral norm, hinge loss"),
    "gan-published": ("gan", EMA + ["--g-units", "256,512,512"], "the published GAN's recipe: MLP 256-512-512, EMA 0.999"),
    "gan-ttur": ("gan", EMA + ["--g-units", "256,512,512"] + TTUR, "+ TTUR: D 4e-4, G 1e-4"),
    "gan-sn-hinge": ("gan", EMA + ["--g-units", "256,512,512"] + SN_HINGE, "+ spectral norm in D, hinge loss"),
}


def run_recipe(name, minutes, n):
    """Trains recipe `name` for `minutes` of processor time, scores it; returns its entry."""
    family, flags, change = RECIPES[name]
    out = RUNS / name
    python = [sys.executable, "-m", "zoo"]
    train = ["train", family, *flags, "--epochs", "1000", "--time-limit", f"{minutes:g}", "--time-limit-clock", "cpu", "--out", str(out)]
    evaluate = ["eval", str(out / "model.keras"), "-n", str(n), "-o", str(out / "eval.json")]
    if out.exists():  # an earlier run of this recipe: kept aside, not resumed (its time would add up)
        out.rename(out.with_name(f"{name}.{time.strftime('%Y%m%d-%H%M%S')}"))
    started = time.perf_counter()
    for command in (train, evaluate):
        print(f"$ python -m zoo {shlex.join(command)}", flush=True)
        subprocess.run(python + command, check=True, cwd=ROOT)
    training = json.loads((out / "training.json").read_text())
    scores = json.loads((out / "eval.json").read_text())
    print(f"{name}: done in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    return {
        "name": name,
        "family": family,
        "flags": shlex.join(flags),
        "change": change,
        "command": f"python -m zoo train {family} {shlex.join(flags)}".rstrip(),
        "cpu_minutes": round(training["cpu_seconds"] / 60, 1),
        "wall_minutes": round(training["seconds"] / 60, 1),
        "images": training["images"],
        "epochs": round(training["images"] / 60_000, 2),
        "machine": training["machine"],
        "scores": {key: scores[key] for key in ("fid", "fid_floor", "kid", "precision", "recall", "density", "coverage", "class_accuracy") if key in scores},
        "how": scores["how"],
    }


def table(entries):
    """docs/recipes.md: one table per family, from the JSON entries."""
    lines = [
        "# Training recipes compared at equal training time",
        "",
        "Written by `scripts/compare_recipes.py` from `docs/results/recipes.json`; do not edit by hand.",
        "Each recipe is the `python -m zoo train` command line shown, stopped after the same processor",
        "time on one core (`--time-limit M --time-limit-clock cpu`, the script pinned with `taskset -c 0`),",
        "then scored by `python -m zoo eval` on 10,000 images against 10,000 real train images, with the",
        "zoo's classifier features (FID floor: real train against real test). Precision/recall: k = 3;",
        "density/coverage: k = 5 (Naeem et al. 2020). Real test images score precision/recall about 0.86,",
        "density 1.00 and coverage 0.97. Short runs rank recipes; the published generators train longer.",
    ]
    for family in dict.fromkeys(entry["family"] for entry in entries):
        rows = [entry for entry in entries if entry["family"] == family]
        conditional = any("class_accuracy" in entry["scores"] for entry in rows)
        header = ["recipe", "flags", "CPU min", "epochs", "machine", "FID ↓", "precision", "recall", "density", "coverage"]
        header += ["class acc."] if conditional else []
        lines += ["", f"## {family}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for entry in rows:
            s = entry["scores"]
            cells = [
                f"`{entry['name']}`: {entry['change']}",
                f"`{entry['flags']}`" if entry["flags"] else "(defaults)",
                f"{entry['cpu_minutes']:.1f}",
                f"{entry['epochs']:.1f}",
                machine_text(entry["machine"]),
                f"{s['fid']:.2f}",
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['density']:.3f}",
                f"{s['coverage']:.3f}",
            ]
            cells += [f"{s['class_accuracy']:.3f}" if "class_accuracy" in s else "–"] if conditional else []
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine_text(machine):
    used = machine.get("cores_used") or machine.get("cores")
    return f"{machine['cpu']}, {used} of {machine['cores']} cores"


def load_entries():
    return json.loads(RESULTS.read_text())["recipes"] if RESULTS.is_file() else []


def save(entries):
    from zoo.files import atomic_write_text

    order = list(RECIPES)
    entries = sorted(entries, key=lambda entry: order.index(entry["name"]) if entry["name"] in order else len(order))
    atomic_write_text(RESULTS, json.dumps({"recipes": entries}, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(TABLE, table(entries))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"recipes to run (default: those not scored yet); known: {', '.join(RECIPES)}")
    parser.add_argument("--minutes", type=float, default=10.0, help="processor minutes of training per recipe (default: 10)")
    parser.add_argument("-n", type=int, default=10_000, help="images per set for the scores (default: 10000)")
    parser.add_argument("--table", action="store_true", help="only rewrite docs/recipes.md from docs/results/recipes.json")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; known: {', '.join(RECIPES)}")
    entries = load_entries()
    if not args.table:
        done = {entry["name"] for entry in entries}
        for name in args.names or [name for name in RECIPES if name not in done]:
            entry = run_recipe(name, args.minutes, args.n)
            entries = [e for e in entries if e["name"] != name] + [entry]
            save(entries)  # after every recipe: a stopped comparison keeps what it measured
    save(entries)
    print(f"Wrote {TABLE.relative_to(ROOT)} ({len(entries)} recipes).")


if __name__ == "__main__":
    main()
