"""Times the command line as a user meets it: `--help`, `list` and `sample <published name> -n 64`.

    .venv/bin/python scripts/bench_cli.py                  # 5 repeats each, this checkout's code
    .venv/bin/python scripts/bench_cli.py --root OTHER     # another checkout's code (before/after)

Each command runs in a fresh process from a temporary folder outside the checkout (so names
resolve as they would for an installed user), after one untimed warm-up run that lets the
operating system cache the files and `zoo.runtime` make its tuned ONNX variant. Wall time
per run, min and median of the repeats; the machine, its load average and whether the process
imported TensorFlow or Keras are recorded beside them. Prints a table, writes JSON.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Reports the heavy frameworks a command imported (run by the same interpreter, before exit).
PROBE = (
    "import atexit, sys, runpy\n"
    "atexit.register(lambda: print('BENCH_IMPORTED=' + ','.join(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules), file=sys.stderr))\n"
    "sys.argv = ['zoo', *sys.argv[1:]]\n"
    "runpy.run_module('zoo', run_name='__main__')\n"
)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_once(python, root, args, cwd):
    env = {**os.environ, "PYTHONPATH": str(root)}
    started = time.perf_counter()
    result = subprocess.run([python, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    imported = next((line.split("=", 1)[1] for line in result.stderr.splitlines() if line.startswith("BENCH_IMPORTED=")), "?")
    return seconds, result.returncode, imported, result


def measure(python, root, name, args, repeats, cwd):
    _, code, imported, result = run_once(python, root, args, cwd)  # warm-up: file cache, tuned ONNX variant
    if code != 0:
        last_line = (result.stderr.strip().splitlines() or ["?"])[-1]
        return {"command": name, "error": f"exit {code}: {last_line}"}
    times = [run_once(python, root, args, cwd)[0] for _ in range(repeats)]
    return {
        "command": name,
        "min_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "imports": imported or "none",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT), help="checkout whose `zoo` is timed (default: this one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter (default: this one)")
    parser.add_argument("--model", default="dcgan-fashion-mnist", help="published name to sample (default: dcgan-fashion-mnist)")
    parser.add_argument("-n", "--num-images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default="", help="a label for this run in the JSON (e.g. before, after)")
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "results" / "bench_cli.json"))
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    commands = [
        ("python -m zoo --help", ["--help"]),
        ("python -m zoo list", ["list"]),
        (f"python -m zoo sample {args.model} -n {args.num_images}", ["sample", args.model, "-n", str(args.num_images), "-o", "grid.png"]),
    ]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cwd:
        rows = [measure(args.python, root, name, command, args.repeats, cwd) for name, command in commands]
    record = {
        "label": args.label,
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "repeats": args.repeats,
        "results": rows,
    }
    print(f"{record['machine']['cpu']}, {record['machine']['cores']} cores; load {record['load_average']['before'][0]} -> {record['load_average']['after'][0]}; {args.repeats} runs each, commit {record['commit']}")
    print(f"{'command':48} {'min s':>7} {'median s':>9}  imports")
    for row in rows:
        if "error" in row:
            print(f"{row['command']:48} {row['error']}")
        else:
            print(f"{row['command']:48} {row['min_s']:7.2f} {row['median_s']:9.2f}  {row['imports']}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.is_file() else []
    runs = [r for r in (previous if isinstance(previous, list) else [previous]) if r.get("label") != args.label or not args.label]
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps([*runs, record], indent=2) + "\n")
    os.replace(tmp, out)
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
