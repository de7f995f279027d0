"""The ablation of docs/t2i.md: GAN-INT-CLS, the compositional text-to-image model, and that model
without each of its parts, each trained for the same CPU time and judged the same way.

    taskset -c 1 .venv/bin/python scripts/t2i_ablation.py --minutes 8     # trains what is missing, one process each
    .venv/bin/python scripts/t2i_ablation.py --table                        # rewrites docs/t2i.md's table from the JSON

Each variant trains through `zoo.training.train("t2i", ...)` (what `python -m zoo train t2i`
runs) into `runs/ablation/<variant>/`, and stops once its process has used `--minutes` of CPU
time from the start of `fit` (the text encoder's pretraining, a few seconds, comes before).
CPU time rather than wall time, so that other work on the machine does not shorten a variant's
training. It is then scored by `zoo.t2i_metrics.evaluate` with one judge for all, and its row
is added to `docs/results/t2i_ablation.json`; variants already there are not trained again.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "docs" / "results" / "t2i_ablation.json"
PREVIOUS = ROOT / "docs" / "results" / "t2i_previous_model.json"  # the first published model, `python -m zoo eval` before it was replaced
PUBLISHED = ROOT / "exports" / "t2i-fashion-mnist" / "card.json"
DOC = ROOT / "docs" / "t2i.md"
MARKERS = ("<!-- ablation:start -->", "<!-- ablation:end -->")
PUBLISHED_MARKERS = ("<!-- published-t2i:start -->", "<!-- published-t2i:end -->")
BASELINE = {"text_pooling": "conv", "modulation": False, "projection": False, "attributes": None, "diversity_cap": None, "d_normalization": "batch"}
# name -> (what it is, TextToImageGAN arguments, zoo.captions.MatchingBatches options)
VARIANTS = {
    "compositional": ("the new model: all parts", {}, {}),
    "gan-int-cls": ("GAN-INT-CLS (Reed et al. 2016) + mode seeking: the first published model's recipe", BASELINE, {}),
    "no-modulation": ("− affine modulation (text concatenated with z only)", {"modulation": False}, {}),
    "no-projection": ("− projection discriminator (Reed et al.'s depth concatenation)", {"projection": False}, {}),
    "no-attribute-heads": ("− attribute heads (composed captions judged by D alone)", {"attributes": None}, {"compose": True}),
    "no-composed-captions": ("− composed captions", {}, {"compose": False}),
    "no-attention-pooling": ("− attention-mean text encoder (Reed et al.'s Conv1D encoder)", {"text_pooling": "conv"}, {}),
    "no-mode-seeking": ("− mode-seeking term", {"diversity_weight": 0.0}, {}),
}


def make_budget_callback(seconds):
    import keras

    class CPUTimeBudget(keras.callbacks.Callback):
        """Stops `fit` at the end of the batch during which the process passes `seconds` of CPU time."""

        def on_train_begin(self, logs=None):
            self.started, self.wall, self.steps = time.process_time(), time.perf_counter(), 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.process_time() - self.started > seconds:
                self.model.stop_training = True

    return CPUTimeBudget()


def run_variant(name, minutes, batch_size, judge, seed=0):
    """Trains and scores one variant in this process; returns its row."""
    from zoo import t2i_metrics
    from zoo.training import train

    _, model_kwargs, data_options = VARIANTS[name]
    budget = make_budget_callback(minutes * 60)
    out = ROOT / "runs" / "ablation" / name
    model = train(
        "t2i", out, epochs=1000, batch_size=batch_size, seed=seed, resume=False, verbose=0,
        model_kwargs={"latent_dim": 64, "ema_decay": 0.99, **model_kwargs}, data_options=data_options, callbacks=[budget],
        command=" ".join(["python", "scripts/t2i_ablation.py", "--variant", name, "--minutes", str(minutes)]),
    )
    cpu_seconds, wall_seconds = time.process_time() - budget.started, time.perf_counter() - budget.wall
    results = t2i_metrics.evaluate(model, t2i_metrics.load_judge(judge))
    return {
        "variant": name,
        "description": VARIANTS[name][0],
        "model_kwargs": model_kwargs,
        "data_options": data_options,
        "steps": budget.steps,
        "batch_size": batch_size,
        "cpu_seconds": round(cpu_seconds, 1),
        "wall_seconds": round(wall_seconds, 1),
        "results": results,
    }


def load_rows():
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save_row(row):
    from zoo.files import atomic_write_text

    rows = load_rows()
    rows[row["variant"]] = row
    atomic_write_text(RESULTS, json.dumps(rows, indent=2) + "\n")


def table(rows):
    """The markdown table of docs/t2i.md from the JSON rows, in `VARIANTS`' order."""
    lines = [
        "| variant | steps | seen class | seen colour | held-out class | held-out colour | worst held-out pair (class) | held-out phrasings class | spread |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in VARIANTS:
        if name not in rows:
            continue
        row, r = rows[name], rows[name]["results"]
        worst = min(r["held_out_per_pair"].items(), key=lambda item: item[1]["class"])
        lines.append(
            f"| {row['description']} | {row['steps']:,} | {r['seen']['class']:.3f} | {r['seen']['colour']:.3f} | "
            f"{r['held_out_pairs']['class']:.3f} | {r['held_out_pairs']['colour']:.3f} | {worst[1]['class']:.2f} ({worst[0]}) | "
            f"{r['held_out_phrasings']['class']:.3f} | {r['spread']['ratio']:.2f}× |"
        )
    any_row = next(iter(rows.values()))
    ceiling = any_row["results"]["real_test_images"]
    lines.append("")
    lines.append(
        f"Each variant: {any_row['cpu_seconds'] / 60:.0f} minutes of CPU time on one core from the start of `fit`, batch "
        f"{any_row['batch_size']}; the judge's ceiling on real colourised test images: class {ceiling['class']:.3f}, colour "
        f"{ceiling['colour']:.3f}. Written by `scripts/t2i_ablation.py --table` from `docs/results/t2i_ablation.json`."
    )
    return "\n".join(lines)


def published_table(card, previous):
    """The published model's figures beside the first published model's and issue 14's targets."""
    now = {"seen": card["quality"]["value"]["seen"], "held_out_pairs": card["quality"]["value"]["held_out_pairs"],
           "held_out_phrasings": card["quality"]["value"]["held_out_phrasings"], "held_out_per_pair": card["quality"]["held_out_per_pair"],
           "real_test_images": card["quality"]["ceiling"], "spread": card["quality"]["spread"]}
    ceiling = now["real_test_images"]["class"]

    def cells(r):
        worst = min(r["held_out_per_pair"].items(), key=lambda item: item[1]["class"])
        return [
            f"{r['seen']['class']:.3f} ({r['seen']['class'] / ceiling:.0%}) / {r['seen']['colour']:.3f}",
            f"{r['held_out_pairs']['class']:.3f} ({r['held_out_pairs']['class'] / ceiling:.0%}) / {r['held_out_pairs']['colour']:.3f}",
            f"{worst[1]['class']:.2f} ({worst[0]})",
            f"{r['held_out_phrasings']['class']:.3f} / {r['held_out_phrasings']['colour']:.3f}",
            f"{r['spread']['ratio']:.2f}×",
        ]

    training = card.get("training", {})
    sessions = training.get("sessions") or [training]
    lines = [
        "| | seen pairs: class (of ceiling) / colour | held-out pairs: class (of ceiling) / colour | worst held-out pair: class | held-out phrasings: class / colour | spread |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        "| target | ≥ 95% / ≥ 0.98 | ≥ 85% / ≥ 0.95 | ≥ 0.60 | within 0.03 of seen | 0.8–1.25× |",
        "| first published model (GAN-INT-CLS), re-measured | " + " | ".join(cells(previous)) + " |",
        "| this model | " + " | ".join(cells(now)) + " |",
        "",
        f"Judge's ceiling on {now['real_test_images']['images']:,} real colourised test images: class {ceiling:.3f}, colour "
        f"{now['real_test_images']['colour']:.3f}. Trained by `{without_run_folder(sessions[-1].get('command'))}`; written by "
        "`scripts/t2i_ablation.py --table` from the card and `docs/results/t2i_previous_model.json`.",
    ]
    return "\n".join(lines)


def without_run_folder(command):
    """`command` without its `--out FOLDER`: where the run was written on the training machine
    (often a path outside this repository) is not part of the recipe."""
    words = (command or "").split()
    for index, word in enumerate(words):
        if word == "--out":
            return " ".join(words[:index] + words[index + 2 :])
        if word.startswith("--out="):
            return " ".join(words[:index] + words[index + 1 :])
    return command


def replace_between(text, markers, body):
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[:start] + "\n" + body + "\n" + text[end:]


def write_table():
    from zoo.files import atomic_write_text

    text = replace_between(DOC.read_text(), MARKERS, table(load_rows()))
    if PUBLISHED.is_file() and PREVIOUS.is_file():
        card = json.loads(PUBLISHED.read_text())
        if card.get("family") == "t2i" and "ceiling" in (card.get("quality") or {}):
            text = replace_between(text, PUBLISHED_MARKERS, published_table(card, json.loads(PREVIOUS.read_text())))
    atomic_write_text(DOC, text)
    print(f"Wrote the tables to {DOC}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=8.0, help="CPU minutes of training per variant (default: 8)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--judge", help="the attribute judge's .keras file (default: zoo.t2i_metrics's cached one)")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help="train and score this variant in this process")
    parser.add_argument("--table", action="store_true", help="only rewrite docs/t2i.md's table from the JSON")
    args = parser.parse_args(argv)
    if args.table:
        return write_table()
    if args.variant:
        row = run_variant(args.variant, args.minutes, args.batch_size, args.judge)
        save_row(row)
        print(json.dumps({key: row[key] for key in ("variant", "steps", "cpu_seconds", "wall_seconds")}), flush=True)
        return
    for name in VARIANTS:
        if name in load_rows():
            print(f"{name}: already measured", flush=True)
            continue
        command = [sys.executable, __file__, "--variant", name, "--minutes", str(args.minutes), "--batch-size", str(args.batch_size)]
        if args.judge:
            command += ["--judge", args.judge]
        print(f"{name}: training for {args.minutes} CPU minutes ...", flush=True)
        subprocess.run(command, check=True)
    write_table()


if __name__ == "__main__":
    main()
