"""Brings the GPU call's results home: exports the trained generators here and scores them.

    .venv/bin/python scripts/gpu_import.py <folder>                   # the folder the GPU call's files came back in
    .venv/bin/python scripts/gpu_import.py <folder> --publish         # and republish those that beat their card

For each recipe that scripts/gpu_run.sh trained on the GPU machine (<folder>/<family>/model.keras
and training.json), this:

1. lays out a run folder under `--work` (default runs/gpu-import/<family>), as `zoo train` writes one;
2. exports it with TensorFlow (`zoo.export.export_generator`: ONNX and SavedModel, parity-checked
   against Keras) into `--work/<family>-export`;
3. scores the export and the published generator of the same family with one `zoo.metrics.Evaluator`
   (what `python -m zoo eval` runs; same n, same real images, same noise), so the two compare;
4. prints the quality table, and the publish command of each export whose FID is lower than the
   published one's (`--publish` runs it: scripts/publish.py, which measures again at n = 10,000),
   into `--exports`; with other exports than the checkout's, the registry it writes is
   `--work/registry.json`, not zoo/registry.json.

It also prints report.json's figures (fit speed, onnxruntime) as the Markdown tables of docs/gpu.md,
and writes everything to `--work/import.json`.
"""

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PUBLISHED = {"dcgan": "dcgan-fashion-mnist", "cgan": "cgan-fashion-mnist"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="the folder the device call's files came back in (report.json, dcgan/, cgan/)")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "gpu-import", help="where the run folders and exports go (default: runs/gpu-import)")
    parser.add_argument("-n", "--num-images", type=int, default=10_000, help="images per set in the evaluation (default: 10000, as the cards)")
    parser.add_argument("--exports", type=Path, default=ROOT / "exports", help="the published artifacts to compare with (default: exports/)")
    parser.add_argument("--publish", action="store_true", help="republish each generator whose FID beats its published card's (scripts/publish.py)")
    args = parser.parse_args(argv)

    if (args.results / "report.json").is_file():
        from zoo.files import load_json

        print(markdown_figures(load_json(args.results / "report.json")))
    families = [family for family in PUBLISHED if (args.results / family / "model.keras").is_file()]
    if not families:
        raise SystemExit(f"No <family>/model.keras under {args.results}: nothing to import.")

    from zoo import metrics
    from zoo.cli import export_model_file

    evaluator = metrics.Evaluator(args.num_images)
    imported, scores = {}, []
    for family in families:
        run_dir = args.work / family
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        for name in ("model.keras", "training.json", "samples.png"):
            if (args.results / family / name).is_file():
                shutil.copyfile(args.results / family / name, run_dir / name)
        export_dir = args.work / f"{family}-export"
        card = export_model_file(run_dir / "model.keras", export_dir, name=f"{PUBLISHED[family]}-gpu", overwrite=True)
        print(f"Exported {run_dir / 'model.keras'} to {export_dir} (ONNX and SavedModel, parity within {card['parity']['atol']:g}).")
        new = evaluator.evaluate(export_dir, name=f"{family} (GPU run)")
        published_dir = args.exports / PUBLISHED[family]
        old = evaluator.evaluate(published_dir, name=f"{PUBLISHED[family]} (published)") if published_dir.is_dir() else None
        scores += [new] + ([old] if old else [])
        training = card.get("training") or {}
        better = old is None or new["fid"] < old["fid"]
        publish = ["python", "scripts/publish.py", str(run_dir), "--name", PUBLISHED[family]]
        if args.exports.resolve() != (ROOT / "exports").resolve():  # publish where the comparison was made, its registry beside the import's files
            publish += ["--exports", str(args.exports), "--registry", str(args.work / "registry.json")]
        imported[family] = {
            "run": str(run_dir), "export": str(export_dir), "epochs": training.get("epochs"), "seconds": training.get("seconds"),
            "machine": training.get("machine"), "quality": new, "published_quality": old, "beats_published": better,
            "publish_command": " ".join(publish) if better else None,
        }
        if better and args.publish:
            sys.path.insert(0, str(ROOT / "scripts"))
            import publish as publisher  # scripts/publish.py

            try:
                publisher.main(publish[2:])
            except SystemExit as refused:  # e.g. the card has its own description: the import goes on, its table and JSON written
                if refused.code:
                    imported[family]["publish_refused"] = f"publish.py exited {refused.code} (its message is above): run the command by hand"
    print()
    print(metrics.format_table(scores))
    for family, result in imported.items():
        verdict = (f"beats the published FID: {result['publish_command']} --description '<what this run is>'" if result["beats_published"]
                   else "does not beat the published FID")
        if result.get("publish_refused"):
            verdict += " (--publish: publish.py refused it, its message is above; nothing was published)"
        print(f"{family}: {result['epochs']} epochs in {result['seconds']} s on the GPU machine; {verdict}")
    print(f"(the scores above are what `python -m zoo eval <export> -n {args.num_images}` gives, at the same n for both)")
    from zoo.files import atomic_write_json

    atomic_write_json(args.work / "import.json", {"results": str(args.results), "n": args.num_images, "imported": imported})
    print(f"Wrote {args.work / 'import.json'}")
    return 0


def markdown_figures(report):
    """report.json's versions, fit speed and onnxruntime figures as Markdown, for docs/gpu.md."""
    versions = report.get("versions") or {}
    packages = versions.get("packages") or {}
    lines = [
        f"Measured {report.get('started')} on {versions.get('nvidia_smi') or versions.get('jax_devices')}"
        f"{' (DRY RUN on a CPU)' if report.get('dry_run') else ''}; "
        + ", ".join(f"{name} {version}" for name, version in packages.items()),
        "",
        "| model | precision | batch | images/s | first epoch (s) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in (report.get("fit_speed") or {}).get("rows", []):
        speed = row.get("images_per_second", row.get("skipped") or row.get("error"))
        model = row["model"] + (" with `zoo train`'s per-step callbacks" if row.get("callbacks") else "")
        lines.append(f"| {model} | {row['precision']} | {row['batch_size']} | {speed} | {row.get('first_epoch_seconds', '–')} |")
    ort = report.get("onnxruntime") or {}
    lines += ["", f"onnxruntime {ort.get('onnxruntime')}: offers {ort.get('available_providers')}", "",
              "| generator | provider (ran on) | precision | batch 1 p50 ms | batch 256 images/s |", "| --- | --- | --- | ---: | ---: |"]
    for row in ort.get("rows", []):
        one, many = row.get("batch_1") or {}, row.get("batch_256") or {}
        lines.append(f"| {row['model']} | {row['provider']} ({row.get('ran_on', row.get('error'))}) | {row['precision']} | "
                     f"{one.get('p50_ms', '–')} | {many.get('images_per_second', '–')} |")
    for family, recipe in (report.get("recipes") or {}).items():
        if isinstance(recipe, dict):
            lines.append(f"\n{family}: {recipe.get('epochs')} epochs in {recipe.get('seconds')} s, {recipe.get('images_per_second')} images/s (`zoo train`, batch 128)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
