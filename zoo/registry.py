"""Published generators by name: what exists, how good it is, and a verified local copy.

```python
import zoo
zoo.list_models()                                  # names, datasets, measured quality, sizes
folder = zoo.registry.fetch("dcgan-fashion-mnist")  # downloaded once, sha256-checked, cached
generator = zoo.runtime.load("dcgan-fashion-mnist") # the same, through onnxruntime
```

The registry is data (`zoo/registry.json`, written by `scripts/publish.py` from
`exports/*/card.json`): each entry names its files with their sha256 and size, its measured
quality and the facts of its card. Files are downloaded from `<base URL>/<name>/<file>` into a
temporary file beside their cache location (`.<file>.<pid>.part`), checked against the
registry's size and sha256, and only then renamed into place: a failed or tampered download
never replaces a good cached file, and a cached artifact is used without network. Every
download is bounded: no more bytes than the registry's size for the file, an overall deadline
(`download_deadline`, besides the per-read timeout), redirects followed over http and https
only; temporary files of processes that died mid-download are deleted on the next fetch.

Environment:
    GANZOO_BASE_URL: where artifacts are downloaded from (a mirror, or a local server);
        default: the registry's `base_url`.
    GANZOO_CACHE: the cache folder; default `$XDG_CACHE_HOME/ganzoo`, else `~/.cache/ganzoo`.
    GANZOO_EXPORTS: a folder of artifacts used in place, without download, when all their files
        match the registry; default: the `exports/` of a source checkout. Empty: always download.
"""

import hashlib
import json
import os
import time
from pathlib import Path

from zoo.files import sha256

REGISTRY_PATH = Path(__file__).with_name("registry.json")
CHECKOUT_EXPORTS = Path(__file__).resolve().parent.parent / "exports"
# Placeholder until the project's artifacts have a public home: the layout a GitHub
# repository's raw files would have. Set GANZOO_BASE_URL to download from elsewhere.
DEFAULT_BASE_URL = "https://github.com/ganzoo/ganzoo/raw/main/exports"
FORMAT_VERSION = 1
TIMEOUT_SECONDS = 30  # per connection attempt and per read
# Overall deadline of one file: a fixed allowance plus the time its size takes at a slow rate.
DEADLINE_SECONDS = 60
SLOWEST_BYTES_PER_SECOND = 50_000
MAX_REDIRECTS = 5
CHUNK_BYTES = 1 << 16


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


def fetch(name, registry=None, deadline=None):
    """Returns the local folder of the published generator `name`, downloading what is missing.

    A local copy (`local_exports()`) whose files all match the registry's sha256 is used in
    place. Otherwise files already cached with the registry's sha256 are used as they are (no
    network), and the others are downloaded, checked and moved into place one by one, each
    within `deadline` seconds (default: `download_deadline` of its size). Raises ValueError for
    an unknown name and `DownloadError` when a file cannot be had whole and unaltered.
    """
    registry = registry or load_registry()
    model = entry(name, registry)
    files = model["files"]
    for relative in files:
        _check_relative(name, relative)
    local = local_exports()
    if local is not None and matches(local / name, name, registry):
        return local / name
    folder = cache_dir() / name
    remove_stale_partial_files(folder)
    url = f"{base_url(registry)}/{name}"
    for relative, digest in sorted(files.items()):
        target = folder / relative
        if target.is_file() and sha256(target) == digest:
            continue
        size = (model.get("sizes") or {}).get(relative)
        limit = size if size is not None else model.get("size_bytes")  # older registries: the entry's total
        download(f"{url}/{relative}", target, digest, limit, exact=size is not None,
                 deadline=deadline if deadline is not None else download_deadline(limit))
    check_onnx_files(folder, files)
    return folder


def download_deadline(size):
    """Seconds one file of `size` bytes may take in all: `DEADLINE_SECONDS` plus its size at
    `SLOWEST_BYTES_PER_SECOND` (a 6 MB file: 3 minutes)."""
    return DEADLINE_SECONDS + (size or 0) / SLOWEST_BYTES_PER_SECOND


def download(url, target, digest, size, exact=True, deadline=None):
    """Downloads `url` to `target` through a temporary file, renamed into place only when it has
    `size` bytes (at most `size` when not `exact`) and the sha256 `digest`.

    Bounded in every way a server can stall or flood: redirects only to http(s) and at most
    `MAX_REDIRECTS`; no more than `size` bytes are read; `deadline` seconds in all (checked
    after every read, each read waiting at most `TIMEOUT_SECONDS`). Raises `DownloadError`
    saying what happened; the temporary file is deleted and `target` is left as it was.
    """
    import requests
    import urllib3

    target = Path(target)
    deadline = download_deadline(size) if deadline is None else deadline
    started = time.monotonic()
    timeout = (min(TIMEOUT_SECONDS, deadline), min(TIMEOUT_SECONDS, deadline))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    unchanged = f"its cached copy at {target} (if any) is unchanged"
    try:
        with requests.Session() as session:
            response = _follow_redirects(session, url, timeout)
            with response:
                response.raise_for_status()
                announced = response.headers.get("Content-Length")
                if size is not None and announced is not None and announced.isdigit() and int(announced) > size:
                    raise DownloadError(f"{url} announces {int(announced):,} bytes; the published file has {size:,}. Not downloaded; {unchanged}.")
                received, hashed = 0, hashlib.sha256()
                with open(partial, "wb") as f:
                    while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
                        received += len(chunk)
                        if size is not None and received > size:
                            raise DownloadError(f"{url} sends more than the {size:,} bytes of the published file; stopped, {unchanged}.")
                        if time.monotonic() - started > deadline:
                            raise DownloadError(
                                f"{url} took more than {deadline:.0f} s ({received:,} of {size or 0:,} bytes received); stopped, "
                                f"{unchanged}. Try again, or set GANZOO_BASE_URL to a faster mirror."
                            )
                        hashed.update(chunk)
                        f.write(chunk)
        if size is not None and exact and received != size:
            raise DownloadError(f"{url} sent {received:,} bytes; the published file has {size:,} (transfer cut short?). {unchanged[0].upper()}{unchanged[1:]}.")
        if hashed.hexdigest() != digest:
            raise DownloadError(f"{url} does not match its published sha256 (got {hashed.hexdigest()}); {unchanged}.")
        os.replace(partial, target)
    except DownloadError:
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:  # HTTP, connection, cut transfer, disk
        raise DownloadError(
            f"Could not download {url}: {error}. {unchanged[0].upper()}{unchanged[1:]}; check the network or set "
            "GANZOO_BASE_URL to a mirror."
        ) from error
    finally:
        partial.unlink(missing_ok=True)
    return target


def _follow_redirects(session, url, timeout):
    """The response of `url` after its redirects, each checked: only http and https are followed."""
    from urllib.parse import urljoin, urlsplit

    first = url
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise DownloadError(
                f"{first} redirects to {url}: only http and https are followed, so nothing was read from it; check "
                "GANZOO_BASE_URL or the mirror's configuration."
            )
        response = session.get(url, stream=True, timeout=timeout, allow_redirects=False, headers={"Accept-Encoding": "identity"})
        if not response.is_redirect:
            return response
        url = urljoin(url, response.headers["Location"])
        response.close()
    raise DownloadError(f"{first} redirects more than {MAX_REDIRECTS} times; nothing was downloaded.")


def remove_stale_partial_files(folder):
    """Deletes the temporary files of downloads whose process is gone (`.<file>.<pid>.part`), and
    the temporary files of earlier versions (pooch's `tmp*`) older than an hour."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        parts = path.name.rsplit(".", 2)
        stale_part = path.name.startswith(".") and len(parts) == 3 and parts[2] == "part" and parts[1].isdigit() and not _alive(int(parts[1]))
        stale_tmp = path.name.startswith("tmp") and path.is_file() and time.time() - path.stat().st_mtime > 3600
        if (stale_part or stale_tmp) and path.is_file():
            path.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
        sizes = {relative: (folder / relative).stat().st_size for relative in files}
        models[card["name"]] = {
            "family": card.get("family"),
            "description": card.get("description"),
            "dataset": card.get("dataset"),
            "image_shape": card.get("image_shape"),
            "quality": card.get("quality"),
            "training": {key: card.get("training", {}).get(key) for key in ("command", "seconds", "epochs", "machine")},
            "size_bytes": sum(sizes.values()),
            "files": files,
            "sizes": sizes,
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
