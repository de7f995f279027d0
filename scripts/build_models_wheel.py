"""Builds `ganzoo-models`, the data-only wheel of the published files, from `exports/`.

    .venv/bin/python scripts/build_models_wheel.py               # dist/ganzoo_models-<version>-py3-none-any.whl
    .venv/bin/python scripts/build_models_wheel.py --out /tmp/wheels

Every file that `zoo/registry.json` lists (each published generator, and the metrics'
classifier) is checked against its sha256 and copied into a staging copy of
`packaging/ganzoo-models/` as `ganzoo_models/exports/<name>/<file>`; pip then builds the wheel
there (setuptools from the package index, in pip's isolated build environment). The wheel's
version is ganzoo's. Installed beside ganzoo, `zoo.registry` finds the files in it.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "packaging" / "ganzoo-models"


def stage(exports, staging, version):
    """Copies the template and the registry's files (checked) into `staging`; returns the file count."""
    from zoo import registry
    from zoo.files import sha256

    shutil.copytree(TEMPLATE, staging, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    for license_file in ("LICENSE", "NOTICE"):
        shutil.copy(ROOT / license_file, staging / license_file)
    pyproject = staging / "pyproject.toml"
    pyproject.write_text(re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', pyproject.read_text(), count=1))
    data = registry.load_registry()
    count = 0
    for section in ("models", "assets"):
        for name, entry in sorted(data.get(section, {}).items()):
            for relative, digest in sorted(entry["files"].items()):
                source = Path(exports) / name / relative
                if not source.is_file() or sha256(source) != digest:
                    raise ValueError(f"{source} is missing or does not match zoo/registry.json; run scripts/publish.py --registry-only or restore the file.")
                target = staging / "ganzoo_models" / "exports" / name / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
                count += 1
    return count


def build(out, exports=ROOT / "exports", python=sys.executable):
    """Builds the wheel into `out`; returns its path."""
    import zoo

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganzoo-models-") as tmp:
        staging = Path(tmp) / "ganzoo-models"
        count = stage(exports, staging, zoo.__version__)
        staged = {path.relative_to(staging).as_posix() for path in (staging / "ganzoo_models" / "exports").rglob("*") if path.is_file()}
        # setuptools warns that the data folders look like packages; the package data globs take them in
        result = subprocess.run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(staging)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pip wheel failed:\n{result.stdout}{result.stderr}")
    wheel = out / f"ganzoo_models-{zoo.__version__}-py3-none-any.whl"
    if not wheel.is_file():
        raise RuntimeError(f"pip did not write {wheel}")
    missing = staged - set(zipfile.ZipFile(wheel).namelist())
    if missing:
        raise RuntimeError(f"{wheel} lacks {len(missing)} of the published files, e.g. {sorted(missing)[0]}")
    print(f"Wrote {wheel} ({count} files, {wheel.stat().st_size / 2**20:.1f} MiB)")
    return wheel


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "dist"), help="folder for the wheel (default: dist/)")
    parser.add_argument("--exports", default=str(ROOT / "exports"), help="the exports folder (default: exports/)")
    args = parser.parse_args(argv)
    build(args.out, args.exports)


if __name__ == "__main__":
    main()
