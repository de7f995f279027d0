"""Published generators by name: what exists, how good it is, and a verified local copy.

```python
import zoo
zoo.list_models()                                  # names, datasets, measured quality, sizes
folder = zoo.registry.fetch("dcgan-fashion-mnist")  # downloaded once, sha256-checked, cached
generator = zoo.runtime.load("dcgan-fashion-mnist") # the same, through onnxruntime
```

The registry is data (`zoo/registry.json`, written by `scripts/publish.py` from
`exports/*/card.json`): each entry names its files with their sha256, its measured quality
and the facts of its card. Files are downloaded with pooch from `<base URL>/<name>/<file>`
into a temporary file beside their cache location, checked against the registry's sha256
(by pooch, then again here), and only then renamed into place: a failed or tampered
download never replaces a good cached file, and a cached artifact is used without network.

Environment:
    GANZOO_BASE_URL: where artifacts are downloaded from (a mirror, or a local server);
        default: the registry's `base_url`.
    GANZOO_CACHE: the cache folder; default `$XDG_CACHE_HOME/ganzoo`, else `~/.cache/ganzoo`.
    GANZOO_EXPORTS: a folder of artifacts used in place, without download, when all their files
        match the registry; default: the `exports/` of a source checkout. Empty: always download.
"""

import json
import os
from pathlib import Path

from zoo.export import sha256

REGISTRY_PATH = Path(__file__).with_name("registry.json")
CHECKOUT_EXPORTS = Path(__file__).resolve().parent.parent / "exports"
# Placeholder until the project's artifacts have a public home: the layout a GitHub
# repository's raw files would have. Set GANZOO_BASE_URL to download from elsewhere.
DEFAULT_BASE_URL = "https://github.com/ganzoo/ganzoo/raw/main/exports"
FORMAT_VERSION = 1
TIMEOUT_SECONDS = 30


class DownloadError(OSError):
    """An artifact file that could not be downloaded whole and unaltered; the cache is unchanged."""


def load_registry(path=REGISTRY_PATH):
    """The registry as a dict: `{"format_version", "base_url", "models": {name: entry}}`."""
    return json.loads(Path(path).read_text())


def names(registry=None):
    """The published names, sorted."""
    return sorted((registry or load_registry())["models"])


def entry(name, registry=None):
    """The registry entry of `name`; a ValueError listing the known names if there is none."""
    registry = registry or load_registry()
    if name not in registry["models"]:
        known = ", ".join(names(registry)) or "none yet"
        raise ValueError(f"No published generator named {name!r}. Known names: {known}.")
    return registry["models"][name]


def list_models(registry=None):
    """What can be downloaded: one dict per published generator, with its measured quality.

    Each holds `name`, `family`, `description`, `dataset`, `image_shape`, `quality` (FID and
    its floor, KID, precision, recall, class accuracy where it applies, and how they were
    measured: `zoo.metrics.measure`), `training` (command, epochs, seconds, hardware) and
    `size_bytes` (all its files together).
    """
    registry = registry or load_registry()
    keys = ("family", "description", "dataset", "image_shape", "quality", "training", "size_bytes")
    return [{"name": name, **{key: registry["models"][name].get(key) for key in keys}} for name in names(registry)]


def cache_dir():
    """`$GANZOO_CACHE`, else `$XDG_CACHE_HOME/ganzoo`, else `~/.cache/ganzoo`."""
    if os.environ.get("GANZOO_CACHE"):
        return Path(os.environ["GANZOO_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "ganzoo"


def base_url(registry=None):
    """`$GANZOO_BASE_URL`, else the registry's `base_url`, without a trailing slash."""
    return (os.environ.get("GANZOO_BASE_URL") or (registry or load_registry())["base_url"]).rstrip("/")


def local_exports():
    """`$GANZOO_EXPORTS` (None when set empty), else a source checkout's `exports/` if there is one."""
    if "GANZOO_EXPORTS" in os.environ:
        return Path(os.environ["GANZOO_EXPORTS"]) if os.environ["GANZOO_EXPORTS"] else None
    return CHECKOUT_EXPORTS if CHECKOUT_EXPORTS.is_dir() else None


def fetch(name, registry=None):
    """Returns the local folder of the published generator `name`, downloading what is missing.

    A local copy (`local_exports()`) whose files all match the registry's sha256 is used in
    place. Otherwise files already cached with the registry's sha256 are used as they are (no
    network), and the others are downloaded, checked and moved into place one by one. Raises
    ValueError for an unknown name and `DownloadError` when a file cannot be had whole and
    unaltered.
    """
    import pooch
    import requests

    registry = registry or load_registry()
    files = entry(name, registry)["files"]
    for relative in files:
        _check_relative(name, relative)
    local = local_exports()
    if local is not None and matches(local / name, name, registry):
        return local / name
    folder = cache_dir() / name
    url = f"{base_url(registry)}/{name}"
    pooch.get_logger().setLevel("WARNING")
    downloader = pooch.HTTPDownloader(timeout=TIMEOUT_SECONDS)
    for relative, digest in sorted(files.items()):
        target = folder / relative
        try:
            pooch.retrieve(f"{url}/{relative}", f"sha256:{digest}", fname=target.name, path=target.parent, downloader=downloader)
        except ValueError as error:  # pooch's checksum mismatch
            raise DownloadError(f"{url}/{relative} does not match its published sha256 ({error}); its cached copy (if any) is unchanged.") from error
        except (requests.RequestException, OSError) as error:  # HTTP, connection, incomplete read, disk
            raise DownloadError(
                f"Could not download {url}/{relative}: {error}. Its cached copy at {target} (if any) is "
                "unchanged; check the network or set GANZOO_BASE_URL to a mirror."
            ) from error
        if sha256(target) != digest:  # our own check of what is on disk, whatever pooch did
            raise DownloadError(f"{target} does not match its published sha256; delete it and fetch again.")
    check_onnx_files(folder, files)
    return folder


def matches(folder, name, registry=None):
    """Whether `folder` holds every file of the published `name` with the registry's sha256."""
    folder = Path(folder)
    files = entry(name, registry)["files"]
    return all((folder / f).is_file() and sha256(folder / f) == digest for f, digest in files.items())


def check_onnx_files(folder, files):
    """Runs onnx.checker (full check) on every downloaded ONNX file; raises DownloadError if one fails."""
    import onnx

    for relative in files:
        if relative.endswith(".onnx"):
            try:
                onnx.checker.check_model(onnx.load(str(folder / relative)), full_check=True)
            except Exception as error:  # onnx raises several types for a malformed model
                raise DownloadError(f"{folder / relative} matches its sha256 but is not a valid ONNX model: {error}") from error


def _check_relative(name, relative):
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts or not relative:
        raise ValueError(f"Registry entry {name!r} names a file outside its folder: {relative!r}.")


def build_registry(exports_dir, base=DEFAULT_BASE_URL):
    """A registry built from `exports_dir/*/card.json` of the generators (folders with a
    `generator.onnx`; the metrics' classifier lives there too): what `zoo/registry.json` holds."""
    models = {}
    for card_path in sorted(Path(exports_dir).glob("*/card.json")):
        card = json.loads(card_path.read_text())
        if "generator.onnx" not in card.get("files", {}):
            continue
        folder = card_path.parent
        files = {**card["files"], "card.json": sha256(card_path)}
        models[card["name"]] = {
            "family": card.get("family"),
            "description": card.get("description"),
            "dataset": card.get("dataset"),
            "image_shape": card.get("image_shape"),
            "quality": card.get("quality"),
            "training": {key: card.get("training", {}).get(key) for key in ("command", "seconds", "epochs", "machine")},
            "size_bytes": sum((folder / relative).stat().st_size for relative in files),
            "files": files,
        }
    return {"format_version": FORMAT_VERSION, "base_url": base, "models": models}


def load_generator(name, registry=None):
    """The published generator `name` as a Keras model, rebuilt from its artifact.

    Returns the zoo model of the artifact's family (e.g. a `DCGAN`) built from the config in
    its card, with the weights of the networks the export runs (the generator, and a text
    encoder if the model has one) read from its `saved_model/` (`zoo.export.load_keras_model`):
    `model.generate(n, seed=0)` gives the images that `zoo.runtime.load(name).generate(n, seed=0)`
    gives. The discriminator is not published and is freshly initialised: this is for
    sampling, not for resuming the original training.
    """
    from zoo.export import load_keras_model

    return load_keras_model(fetch(name, registry))
