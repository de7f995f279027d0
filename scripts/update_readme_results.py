"""Regenerates the README's measured figures: every section between its markers, from JSON.

    .venv/bin/python scripts/update_readme_results.py --measure   # measure everything, then rewrite (make results)
    .venv/bin/python scripts/update_readme_results.py --measure quality   # after publishing a generator
    .venv/bin/python scripts/update_readme_results.py             # rewrite from the JSON already in docs/

The sections, each made from its files alone, with the machine and date each was measured on:

- `<!-- results:start -->`: quality and speed. `--measure quality` scores every published
  generator (`exports/*/generator.onnx`) with `zoo.metrics` into `docs/results/quality.json`;
  `train` and `infer` run `scripts/bench_train.py` and `scripts/bench_infer.py`, which write
  `docs/results/bench_train.json` and `bench_infer.json`.
- `<!-- train-speed:start ... -->`: images/s of each family as `zoo train` runs it, from
  `docs/train_speed*.json`, which `speed` writes by running `scripts/train_speed.py`.
- `<!-- reliability:start ... -->`: how many reliability checks of each kind pass, from
  `docs/results/reliability.json`, which `reliability` writes by running the tests marked
  `inputs`, `files` or `faults`.
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "docs" / "results"
SPEED_DIR = ROOT / "docs"  # train_speed.json and the longer runs' train_speed_*.json
START, END = "<!-- results:start -->", "<!-- results:end -->"
SPEED_START, SPEED_END = "<!-- train-speed:start: written by python scripts/update_readme_results.py -->", "<!-- train-speed:end -->"
RELIABILITY_START = "<!-- reliability:start: written by python scripts/update_readme_results.py --measure reliability -->"
RELIABILITY_END = "<!-- reliability:end -->"
RELIABILITY_TESTS = ["python", "-m", "pytest", "-q", "-m", "inputs or files or faults"]
MEASURES = ("quality", "train", "infer", "speed", "reliability")


def measure_quality(exports=ROOT / "exports", out=RESULTS / "quality.json", n=10_000):
    """Scores every generator in `exports` on one set of real features; writes `out`."""
    from zoo import metrics, runtime
    from zoo.bench import record

    evaluator = metrics.Evaluator(n)
    rows = []
    for folder in sorted(p.parent for p in Path(exports).glob("*/generator.onnx")):
        try:
            rows.append(evaluator.evaluate(folder))
        except ValueError as error:  # e.g. a text-to-image generator: no class or noise-only input
            rows.append({"name": folder.name, "skipped": str(error).replace(f"{ROOT}/", "")})
        else:  # the int8 variant (`--precision int8`) on the same noise: what quantization costs
            int8 = evaluator.evaluate(runtime.load(folder, precision="int8"), name=f"{folder.name}-int8")
            rows[-1]["int8"] = {key: int8[key] for key in ("fid", "precision", "recall", "density", "coverage", "class_accuracy") if key in int8}
        print(f"{folder.name}: {rows[-1]}")
    card = getattr(evaluator.extractor, "card", None) or {}
    settings = {**evaluator.description(), "classifier_test_accuracy": card.get("test_accuracy"), "command": "python scripts/update_readme_results.py --measure"}
    data = record("quality", settings, rows, peak_flops=float("nan"))
    data.pop("peak")
    data["floor"] = {key: round(value, 6) for key, value in evaluator.floor.items()}
    from zoo.files import atomic_write_json

    atomic_write_json(out, data)
    return data


def measure_reliability(out=RESULTS / "reliability.json"):
    """Runs the tests marked `inputs`, `files` or `faults` and records how many of each kind pass."""
    from zoo.bench import record
    from zoo.files import atomic_write_json

    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "counts.json"
        status = subprocess.run([sys.executable, *RELIABILITY_TESTS[1:], f"--reliability-json={counts}"], cwd=ROOT).returncode
        data = record("reliability", {"command": shlex.join(RELIABILITY_TESTS), "exit_status": status}, json.loads(counts.read_text()), peak_flops=float("nan"))
    data.pop("peak")
    atomic_write_json(out, data)
    return data


def quality_section(data):
    from zoo.metrics import real_reference_text, table_rows

    scored = [row for row in data["results"] if "fid" in row]
    how = data["settings"]
    lines = [
        "### Quality",
        "",
        f"Measured {data['measured']} on {machine(data)}: `python -m zoo eval <artifact> -n {how['n']}` per generator. "
        f"Features: {how['features']} (test accuracy {fmt_accuracy(how.get('classifier_test_accuracy'))}); "
        f"the FID floor is {how['floor']}. KID: {how['kid']}; precision/recall: {how['precision_recall']}"
        + (f"; density/coverage: {how['density_coverage']}" if "density_coverage" in how else "")
        + (f". Real test images score {real_reference_text(how['real_test'])}: the top to compare with (precision "
           "is fooled by real outliers, e.g. an all-black generator scores 1.000; density and coverage are not)." if "real_test" in how else "."),
        "",
    ]
    if scored:
        header, rows = table_rows(scored)
        lines += markdown_table(header, rows)
    else:
        lines.append(f"No published generators in `exports/` yet. Real-data floor at n = {how['n']}: FID {data['floor']['fid']:.2f}.")
    quantized = [row for row in scored if "int8" in row]
    if quantized:
        lines.append("\nFID of the int8 variant (`--precision int8`, same noise), float32 → int8: " + ", ".join(
            f"{row['name']} {row['fid']:.2f} → {row['int8']['fid']:.2f} ({100 * (row['int8']['fid'] / row['fid'] - 1):+.1f}%)" for row in quantized) + ".")
    for row in data["results"]:
        if "skipped" in row:
            lines.append(f"\nNot scored here: `{row['name']}` ({row['skipped']} Text-to-image generators are measured by `python -m zoo eval` on their captions: [docs/t2i.md](docs/t2i.md).)")
    return lines


def train_section(data):
    settings = data["settings"]
    header = ["training loop", "images/s", "vs tutorial", "MFLOP/image", "GFLOP/s", "of peak"]
    rows = [
        [
            row["loop"] + (" ← `zoo train` here" if row.get("zoo_train_default") else ""), f"{row['images_per_second']:.0f}",
            f"{row['vs_tutorial']:.2f}×", f"{row['flops_per_image'] / 1e6:.0f}", f"{row['gflops_per_second']:.0f}", f"{row['fraction_of_peak']:.0%}",
        ]
        for row in data["results"]
    ]
    details = (
        f"{settings['model']}, batch {settings['batch_size']}, {settings['data']}; median of {settings['rounds']} rounds of "
        f"{settings['steps_per_round']} steps, the loops alternating. FLOPs: {settings['flops_note']}."
    )
    if any("winograd" in row["loop"] for row in data["results"]):
        details += (
            " The winograd rows count the work Winograd's form does (`zoo/winograd.py`: the generator's 5×5 "
            "stride-1 layer on its 7×7 map in fewer FLOPs, its transforms included), hence their lower MFLOP per image."
        )
    default = settings.get("zoo_train_default")
    if default:
        details += (
            f" `zoo train`'s path here: update {default['update']}, {default['convolutions']} convolutions, "
            f"{'XLA' if default['jit_compile'] else 'no XLA'}, {default['precision']} (chosen by {default['chosen_by']})."
        )
    return speed_section(data, details, header, rows)


def infer_section(data):
    settings = data["settings"]
    batch = settings["batch"]
    header = ["path", "batch 1 p50 (ms)", "batch 1 p99 (ms)", f"batch {batch} images/s", "vs `predict`", "vs tuned file", "of peak"]
    rows = [
        [
            row["path"], f"{row['batch_1']['p50_ms']:.2f}", f"{row['batch_1']['p99_ms']:.2f}", f"{row[f'batch_{batch}_images_per_second']:.0f}",
            f"{row['vs_predict']:.2f}×", f"{row['vs_tuned_file']:.2f}×" if "vs_tuned_file" in row else "–", f"{row['fraction_of_peak']:.0%}",
        ]
        for row in data["results"]
    ]
    details = (
        f"{settings['model']}, {settings['flops_per_image'] / 1e6:.1f} MFLOP per image; {settings['batch_1_calls']} calls at "
        f"batch 1 and {settings['batch_calls']} at batch {batch} per path; the TensorFlow paths alternate call by call, each "
        "onnxruntime path runs in a process of its own, the paths taking turns over 3 rounds; onnxruntime on "
        f"{', '.join(settings['onnxruntime_providers'])}."
    )
    if "cpu_rows_per_call" in settings:
        details += (
            f" `zoo.runtime` runs a batch on the CPU in calls of {settings['cpu_rows_per_call']} rows; the rows \"one call per batch\" "
            "run the whole batch in one call."
        )
    if "int8_peak" in data:
        details += f" The int8 rows count against the int8 peak: {data['int8_peak']['gops']} GOP/s ({data['int8_peak']['how'].split(' (')[0]})."
    from zoo.runtime import WINOGRAD_MIN_BATCH

    winograd = sorted({row["path"] for row in data["results"] if row.get("flops_per_image_done", settings["flops_per_image"]) < settings["flops_per_image"]})
    if winograd:
        done = min(row["flops_per_image_done"] for row in data["results"] if row["path"] in winograd)
        details += (
            f" At batch {batch} the rows {'; '.join(winograd)} ran the first convolution in Winograd's form (`zoo/winograd.py`; "
            f"from batch {WINOGRAD_MIN_BATCH}): {done / 1e6:.1f} MFLOP per image done, which is what their fraction of peak counts."
        )
    return speed_section(data, details, header, rows)


def speed_section(data, details, header, rows):
    """One machine kind's part of a benchmark's section: when and where, the command, what was
    measured, the peak, the table."""
    return [
        f"Measured {data['measured']} on {machine(data)}: `{data['settings']['command']}`. {details} "
        f"Peak: {data['peak']['gflops']} GFLOP/s ({data['peak']['how']}).",
        "",
        *markdown_table(header, rows),
    ]


def train_speed_section(files):
    """A table of `scripts/train_speed.py`'s runs: the per-family runs first, then longer ones."""
    runs = [(json.loads(path.read_text()), path) for path in files]
    machines = {machine(data) for data, _ in runs}
    header = ["model", "images/s", "run", "epochs seen", "load before", "measured", "samples"]
    rows = [
        [row["class"], f"{row['images_per_second']:,.0f}", f"{row['wall_seconds']:.0f} s", f"{row['epochs_of_fashion_mnist']:.2f}", f"{row['load_average_1min']['before']:.2f}", row["measured"], f"`{row['samples']}`"]
        for data, _ in runs
        for row in data["results"]
    ]
    batches = sorted({row["batch_size"] for data, _ in runs for row in data["results"]})
    return [
        f"Training speed measured by `python scripts/train_speed.py` on {' and '.join(sorted(machines))}: default sizes, "
        f"batch {', '.join(map(str, batches))}, real Fashion-MNIST, the XLA-compiled Algorithm 1 step as `zoo train` ran it before it chose its path per machine; images/s "
        "of the epochs after the first, the 1-minute load average before each run "
        f"({', '.join(f'`{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`' for _, path in runs)}).",
        "",
        *markdown_table(header, rows),
    ]


def reliability_section(data):
    counts = data["results"]
    rows = [[kind, str(c["passed"]), str(c["passed"] + c["failed"])] for kind, c in counts.items()]
    settings = data["settings"]
    outcome = "all passed" if settings["exit_status"] == 0 else f"pytest exited with status {settings['exit_status']}"
    return [
        f"Measured {data['measured']} on {machine(data)}: `{settings['command']}` ({outcome}).",
        "",
        *markdown_table(["kind", "checks passed", "of"], rows),
    ]
def machine_sections(title, records, section):
    """A benchmark's section: one part per machine kind measured (`records`: kind -> record)."""
    lines = [f"### {title}"]
    for kind, data in records.items():
        lines += ["", f"#### {kind}" if len(records) > 1 else f"On {kind}:", "", *section(data)]
    return lines


def machine_records(results_dir, name):
    """The records of a benchmark by machine kind: `<name's stem>.machines.json` (one entry per kind
    measured), or the single `name` file; empty when neither exists."""
    from zoo.hardware import machine_kind

    path = Path(results_dir) / name
    machines = path.with_name(f"{path.stem}.machines.json")
    if machines.is_file():
        return json.loads(machines.read_text())
    if path.is_file():
        data = json.loads(path.read_text())
        return {machine_kind(data["machine"]): data}
    return {}


def machine(data):
    m = data["machine"]
    gpus = f", GPUs {', '.join(m['gpus'])}" if m.get("gpus") else ", no GPU"
    flags = f", {', '.join(m['flags'])}" if m.get("flags") else ""
    return f"{m['cpu']} ({m['cores']} cores{flags}{gpus}; Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']})"


def fmt_accuracy(value):
    return "–" if value is None else f"{value:.2%}"


def markdown_table(header, rows):
    return ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |", *("| " + " | ".join(row) + " |" for row in rows)]


def results_markdown(results_dir=RESULTS):
    """The README's results region, from the JSON files in `results_dir` (missing ones are named)."""
    results_dir = Path(results_dir)
    benchmarks = {"bench_train.json": ("Training speed", train_section), "bench_infer.json": ("Inference speed", infer_section)}
    lines = [
        "Every figure below is regenerated by `make results` (`python scripts/update_readme_results.py --measure`) "
        "from the JSON files in `docs/results/`. The machine is shared with other jobs at times, so absolute "
        "figures are noisy; the ratios come from runs side by side in one run and are the figures to compare. "
        "The project's machines are not all one kind: each speed table keeps one part per kind of machine "
        "measured (CPU model and the flags that decide speed here), the latest run of each. "
        "Fractions of peak divide by numpy's fp32 GEMM rate measured in the same run on the same cores (int8 "
        "rows by onnxruntime's int8 GEMM rate), so they shift, and can pass 100%, when the load "
        "changes during a run. "
        "Score your own generator with `python -m zoo eval exports/my-dcgan`, or during training with "
        "`zoo.callbacks.FIDMonitor(every=5, log_dir=...)` in `fit`'s callbacks.",
    ]
    lines.append("")
    if (results_dir / "quality.json").is_file():
        lines += quality_section(json.loads((results_dir / "quality.json").read_text()))
    else:
        lines.append("_quality.json not measured yet: run `python scripts/update_readme_results.py --measure`._")
    for name, (title, section) in benchmarks.items():
        lines.append("")
        records = machine_records(results_dir, name)
        if records:
            lines += machine_sections(title, records, section)
        else:
            lines.append(f"_{name} not measured yet: run `python scripts/update_readme_results.py --measure`._")
    return "\n".join(lines)


def rewrite_readme(readme=ROOT / "README.md", results_dir=RESULTS, speed_dir=SPEED_DIR):
    """Rewrites the marked sections of `readme` from their JSON; returns the new text.

    The results section must be there; the training-speed and reliability sections are
    rewritten where their markers are.
    """
    from zoo.files import atomic_write_text

    readme = Path(readme)
    text = between(readme, readme.read_text(), START, END, results_markdown(results_dir))
    reliability = Path(results_dir) / "reliability.json"
    sections = [
        (SPEED_START, SPEED_END, lambda: train_speed_section(sorted(Path(speed_dir).glob("train_speed*.json")))),
        (RELIABILITY_START, RELIABILITY_END, lambda: reliability_section(json.loads(reliability.read_text())) if reliability.is_file() else [f"_{reliability.name} not measured yet: run `python scripts/update_readme_results.py --measure reliability`._"]),
    ]
    for start, end, section in sections:
        if start in text or end in text:
            text = between(readme, text, start, end, "\n".join(section()))
    atomic_write_text(readme, text)
    return text


def between(readme, text, start, end, content):
    """`text` with what stands between the markers `start` and `end` replaced by `content`."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{readme} must hold one {start} followed by one {end}.")
    before, rest = text.split(start)
    _, after = rest.split(end)
    return f"{before}{start}\n{content}\n{end}{after}"


RESULT_FILES = ("quality.json", "bench_train.json", "bench_infer.json", "bench_train.machines.json", "bench_infer.machines.json", "reliability.json")


def results_problem(results_dir, measuring):
    """Why `results_dir` cannot be the results folder, or None.

    Every section of the README missing from the folder is replaced by "not measured yet", so a
    mistyped folder would wipe the measured figures: it must exist, and unless results are about
    to be measured into it, hold at least one of `RESULT_FILES`.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        return f"--results {folder}: {'not a folder' if folder.exists() else 'no such folder'}; the README was not rewritten."
    if not measuring and not any((folder / name).is_file() for name in RESULT_FILES):
        return f"--results {folder} holds none of {', '.join(RESULT_FILES)}; the README was not rewritten."
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", nargs="?", const="all", default="", metavar="WHAT", help=f"measure first (takes a while): all, or a comma list of {', '.join(MEASURES)} (e.g. --measure quality after publishing a model)")
    parser.add_argument("--n", type=int, default=10_000, help="images per set for the quality table (default: 10000)")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--results", default=str(RESULTS), help="folder of the JSON results")
    args = parser.parse_args(argv)
    what = set(filter(None, args.measure.replace("all", ",".join(MEASURES)).split(",")))
    if what - set(MEASURES):
        parser.error(f"--measure takes all or some of {', '.join(MEASURES)}, got {args.measure!r}")
    problem = results_problem(args.results, bool(what))
    if problem:
        parser.error(problem)
    started = time.perf_counter()
    if "quality" in what:
        measure_quality(out=Path(args.results) / "quality.json", n=args.n)
    for script in (f"bench_{kind}.py" for kind in ("train", "infer") if kind in what):
        out = [] if Path(args.results) == RESULTS else ["--out", str(Path(args.results) / script.replace(".py", ".json"))]
        subprocess.run([sys.executable, str(ROOT / "scripts" / script), *out], check=True)
    if "speed" in what:
        subprocess.run([sys.executable, "scripts/train_speed.py", "--out", "docs"], cwd=ROOT, check=True)  # relative: the JSON names its grids
    if "reliability" in what:
        measure_reliability(Path(args.results) / "reliability.json")
    if what:
        print(f"Measured in {time.perf_counter() - started:.0f} s.")
    rewrite_readme(args.readme, args.results)
    print(f"Rewrote the results of {args.readme}.")


if __name__ == "__main__":
    main()
