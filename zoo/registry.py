"""Published generators by name: what exists, how good it is, and a verified local copy.

```python
import zoo
zoo.list_models()                                  # PublishedModel(...) each: family, quality, size
folder = zoo.registry.fetch("dcgan-fashion-mnist")  # a verified local copy (downloaded once if need be)
generator = zoo.runtime.load("dcgan-fashion-mnist") # the same, through onnxruntime
```

The registry is data (`zoo/registry.json`, written by `scripts/publish.py` from
`exports/*/card.json`): each entry names its files with their sha256 and size, its measured
quality and the facts of its card; `assets` lists what is published beside the generators (the
metrics' classifier). A name resolves to the first of these whose files all match the
registry's sha256 (docs/artifacts.md, "Getting the published files"):

1. a folder of artifacts: `$GANZOO_EXPORTS`, else the `exports/` of a source checkout;
2. the installed data package `ganzoo-models` (a wheel holding `exports/`, built by `make dist`
   with `scripts/build_models_wheel.py`; not on PyPI yet), which works offline from then on;
3. the cache, `$GANZOO_CACHE`, else `$XDG_CACHE_HOME/ganzoo`, else `~/.cache/ganzoo`;
4. a download from `$GANZOO_BASE_URL/<name>/<file>` (default: the registry's `base_url`).

Files are downloaded into a temporary file beside their cache location (`.<file>.<mark>.part`,
the mark naming the writer's machine, pid namespace and pid: `zoo.files.WRITER`),
checked against the registry's size and sha256, and only then renamed into place: a failed or
tampered download never replaces a good cached file, and a cached artifact is used without
network. Every download is bounded: no more bytes than the registry's size for the file, an
overall deadline (`download_deadline`, besides the per-read timeout), redirects followed over
http and https only; temporary files of processes that died mid-download are deleted on the
next fetch.

Environment:
    GANZOO_BASE_URL: where artifacts are downloaded from (a mirror, or a local server).
    GANZOO_CACHE: the cache folder.
    GANZOO_EXPORTS: a folder of artifacts used in place; empty: no such folder (a checkout's
        `exports/` is then ignored).
"""

import dataclasses
import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path

from zoo.files import left_by_ended_writer, sha256, writer_mark

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
    """The published generators' names, sorted."""
    return sorted((registry or load_registry())["models"])


def entry(name, registry=None):
    """The registry entry of `name` (a generator, or an asset such as the metrics' classifier);
    a ValueError listing the published generators if there is none."""
    registry = registry or load_registry()
    found = registry["models"].get(name) or registry.get("assets", {}).get(name)
    if found is None:
        known = ", ".join(names(registry)) or "none yet"
        raise ValueError(f"No published generator named {name!r}. Known names: {known} (python -m zoo list).")
    return found


@dataclasses.dataclass(frozen=True, repr=False)
class PublishedModel:
    """One published generator as the registry describes it, before any download.

    `quality` holds the measured figures and how they were measured (`zoo.metrics.measure`, or
    `scripts/eval_t2i.py` for text-to-image), `training` the command, epochs, seconds and
    hardware, `files` the sha256 of every file, `size_bytes` their total size.
    """

    name: str
    family: str
    description: str
    dataset: str
    image_shape: tuple
    quality: dict
    training: dict
    size_bytes: int
    files: dict

    @classmethod
    def from_entry(cls, name, entry):
        fields = {field.name: entry.get(field.name) for field in dataclasses.fields(cls) if field.name != "name"}
        return cls(name=name, **{**fields, "image_shape": tuple(fields["image_shape"] or ())})

    @property
    def quality_summary(self):
        """The headline figure: FID beside its floor, or a text-to-image model's attribute accuracies."""
        quality = self.quality or {}
        if "fid" in quality:
            text = f"FID {quality['fid']:.2f} (floor {quality['fid_floor']:.2f})"
            return text + (f", class acc. {quality['class_accuracy']:.3f}" if "class_accuracy" in quality else "")
        seen = (quality.get("value") or {}).get("seen") if isinstance(quality.get("value"), dict) else None
        if seen:
            return f"class {seen['class']:.3f}, colour {seen['colour']:.3f} (seen captions)"
        return "not measured"

    @property
    def size(self):
        return f"{self.size_bytes / 2**20:.1f} MiB"

    def local_copy(self):
        """Where this model is available without network (see `locate`), or None."""
        return locate(self.name)

    def __repr__(self):
        shape = "×".join(str(side) for side in self.image_shape)
        return f"PublishedModel({self.name!r}, family={self.family!r}, images={shape}, quality={self.quality_summary!r}, size={self.size!r})"


def list_models(registry=None):
    """The published generators, sorted by name, as `PublishedModel`s: what each is, its measured
    quality and its size, all known before any download."""
    registry = registry or load_registry()
    return [PublishedModel.from_entry(name, registry["models"][name]) for name in names(registry)]


def cache_dir():
    """`$GANZOO_CACHE`, else `$XDG_CACHE_HOME/ganzoo`, else `~/.cache/ganzoo`."""
    if os.environ.get("GANZOO_CACHE"):
        return Path(os.environ["GANZOO_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "ganzoo"


def base_url(registry=None):
    """`$GANZOO_BASE_URL`, else the registry's `base_url`, without a trailing slash. Raises
    DownloadError naming where it came from, before the cache is made, when it is not an http or
    https URL whose host both this module and the Node app download from as written
    (apps/node/sample.js checks the same; see `_usable_host`), with, if it names one, a port of
    0 to 65535; or when it holds a user name or password (Node's fetch refuses them, and every
    message would show them)."""
    from urllib.parse import urlsplit

    given = os.environ.get("GANZOO_BASE_URL")
    url = (given or (registry or load_registry())["base_url"]).rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # a port that is no number from 0 to 65535 raises ValueError here, not at the download
        usable = parts.scheme in ("http", "https") and "\\" not in parts.netloc and _usable_host(parts.netloc.rpartition("@")[2], parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    where = "GANZOO_BASE_URL" if given else "the registry's base_url"
    if not usable:
        raise DownloadError(f"{where} is {url!r}, not an http or https URL of a mirror of exports/; nothing was downloaded.")
    if "@" in parts.netloc:
        shown = url.replace(f":{parts.password}@", ":***@", 1) if parts.password else url  # the refusal does not show it either
        raise DownloadError(
            f"{where} is {shown!r}: a user name or password in it is not supported (Node's fetch refuses it, and every message "
            "would show it); give a mirror of exports/ that needs none, or, for Python's downloads, put them in ~/.netrc (or the file $NETRC names), which requests reads; nothing was downloaded."
        )
    return url


def _usable_host(hostport, host):
    """Whether `host` (urlsplit's reading of `hostport`, the URL's "host:port") is one that `requests`
    and the WHATWG URL parser of Node's fetch both reach as written; otherwise one of them fails, or
    reaches another host (Node reads "x%41" as "xa" and "x\\y" as "x"; "1.2.3.4.5" is no address to
    it). Refused: no host; spaces, "%" or a character the URL standard forbids in a host; a name that
    IDNA (as `requests` applies it) refuses; brackets around anything but an IPv6 address (no zone:
    "%"); a host that ends in a number (the URL standard's "ends in a number") that is no IPv4 address as
    `socket.inet_aton` reads it (127.0.0.1, and 127.1 or 0x7f.1 as the C library and the URL standard
    both read them; not "256.1.1.1" or "1.2.3.4.")."""
    import ipaddress
    import re
    import socket

    if not host:
        return False
    if hostport.startswith("["):
        try:
            return re.fullmatch(r"\[[^\]%]*\](:.*)?", hostport) is not None and ipaddress.ip_address(host).version == 6
        except ValueError:  # "[v1.x]": an IPvFuture address, which neither reaches
            return False
    if not host.isascii():
        import idna  # requests' own dependency: how it encodes such a host before connecting

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return False
    if any(c.isspace() or c in '%<>^|' or ord(c) < 0x20 or c == "\x7f" for c in host):
        return False
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", host.removesuffix(".").rpartition(".")[2]):
        try:
            socket.inet_aton(host)
        except OSError:
            return False
    return True


def local_exports():
    """`$GANZOO_EXPORTS` (None when set empty), else a source checkout's `exports/` if there is one."""
    if "GANZOO_EXPORTS" in os.environ:
        return Path(os.environ["GANZOO_EXPORTS"]) if os.environ["GANZOO_EXPORTS"] else None
    return CHECKOUT_EXPORTS if CHECKOUT_EXPORTS.is_dir() else None


def installed_exports():
    """The `exports/` folder of the installed data package `ganzoo-models`, or None."""
    spec = importlib.util.find_spec("ganzoo_models")  # found, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "exports"
    return folder if folder.is_dir() else None


def locate(name, registry=None):
    """`(folder, source)` of a local copy of `name` whose files all match the registry, without
    network: source is "exports" (`local_exports()`), "ganzoo-models" (the installed data
    package) or "cache"; None when there is none."""
    registry = registry or load_registry()
    for relative in entry(name, registry)["files"]:
        _check_relative(name, relative)
    for source, root in (("exports", local_exports()), ("ganzoo-models", installed_exports()), ("cache", cache_dir())):
        if root is not None and matches(root / name, name, registry):
            return root / name, source
    return None


def fetch(name, registry=None, deadline=None):
    """Returns a local folder holding the published generator (or asset) `name`, whole and verified.

    A copy found by `locate` is used in place (no network). Otherwise files already cached
    with the registry's sha256 are kept as they are, and the others are downloaded, checked and
    moved into place one by one, each within `deadline` seconds (default: `download_deadline`
    of its size). Raises ValueError for an unknown name and `DownloadError` when a file cannot
    be had whole and unaltered.
    """
    registry = registry or load_registry()
    model = entry(name, registry)
    files = model["files"]
    for relative in files:
        _check_relative(name, relative)
    found = locate(name, registry)
    if found is not None:
        return found[0]
    folder = cache_dir() / name
    check_cache_folder(folder, name)
    remove_stale_partial_files(folder)
    damaged = []  # cached files whose bytes no longer match: downloaded again
    try:
        url = f"{base_url(registry)}/{name}"
        for relative, digest in sorted(files.items()):
            target = folder / relative
            if target.is_file() and sha256(target) == digest:
                continue
            if target.exists():
                damaged.append(str(target))
            size = (model.get("sizes") or {}).get(relative)
            limit = size if size is not None else model.get("size_bytes")  # older registries: the entry's total
            download(f"{url}/{relative}", target, digest, limit, exact=size is not None,
                     deadline=deadline if deadline is not None else download_deadline(limit))
    except DownloadError as error:  # say why a local copy the user may expect to be used was not
        rejected = [str(root / name) for root in (local_exports(), installed_exports()) if root is not None and (root / name).exists()]
        notes = [f"Not used: {', '.join(rejected)}, whose files do not match the registry's sha256."] if rejected else []
        if damaged:
            notes.append(f"Not used either: the cached {', '.join(damaged)}, damaged (its sha256 is not the registry's).")
        if notes:
            raise DownloadError(" ".join([str(error), *notes])) from error
        raise
    check_onnx_files(folder, files)
    return folder


def check_cache_folder(folder, name):
    """Makes `folder` (where `name` downloads to) and checks it takes files; raises DownloadError
    naming the folder, the reason (a file in the way, a read-only disk) and the setting that moves
    the cache, before anything is downloaded."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        given = os.environ.get("GANZOO_CACHE")
        where = f"GANZOO_CACHE is {given!r}" if given else f"The cache is {str(cache_dir())!r} (GANZOO_CACHE moves it)"
        raise DownloadError(
            f"{name} is not here yet and cannot be downloaded into {folder}: {error.strerror or error}. {where}; "
            "point it at a folder you can write, or install ganzoo-models (the published generators, offline)."
        ) from error


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
    partial = target.with_name(f".{target.name}.{writer_mark()}.part")
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
            f"Could not download {url}: {error}. {unchanged[0].upper()}{unchanged[1:]}; check the network, set "
            "GANZOO_BASE_URL to a mirror, or install ganzoo-models (every published generator, offline)."
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
    """Deletes the temporary files of downloads whose process is gone (`.<file>.<mark>.part`;
    another machine's or container's are kept: `zoo.files.left_by_ended_writer`), and the
    temporary files of earlier versions (pooch's `tmp*`) older than an hour."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        parts = path.name.rsplit(".", 2)
        stale_part = path.name.startswith(".") and len(parts) == 3 and parts[2] == "part" and left_by_ended_writer(parts[1])
        stale_tmp = path.name.startswith("tmp") and path.is_file() and time.time() - path.stat().st_mtime > 3600
        if (stale_part or stale_tmp) and path.is_file():
            path.unlink(missing_ok=True)


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
    `generator.onnx`) and `exports_dir/*/classifier.json` of the metrics' classifier (an
    asset): what `zoo/registry.json` holds. Every generator's card must follow the card schema (`zoo.cards`).

    An entry is named by its folder, where its files are downloaded from: a card whose `name`
    differs from its folder's, or a folder listed both as a generator and as an asset, raises
    ValueError naming both, instead of an entry pointing at a folder that does not exist or one
    entry silently standing for two.
    """
    from zoo.cards import load_card

    listed = {}  # name -> the card that listed it

    def claim(card_path, card):
        name = card_path.parent.name
        if card.get("name") != name:
            raise ValueError(f"{card_path} names {card.get('name')!r}, but its folder is {name!r}: publish it under one name (rename the folder or fix the card).")
        if name in listed:
            raise ValueError(f"{card_path} and {listed[name]} both publish {name!r}; one name, one artifact.")
        listed[name] = card_path
        return name

    assets = {}
    for card_path in sorted(Path(exports_dir).glob("*/classifier.json")):
        card = json.loads(card_path.read_text())
        files = {**card["files"], card_path.name: sha256(card_path)}
        sizes = {relative: (card_path.parent / relative).stat().st_size for relative in files}
        assets[claim(card_path, card)] = {"description": card.get("kind"), "size_bytes": sum(sizes.values()), "files": files, "sizes": sizes}
    models = {}
    for card_path in sorted(Path(exports_dir).glob("*/card.json")):
        card = json.loads(card_path.read_text())
        if "generator.onnx" not in card.get("files", {}):
            continue
        load_card(card_path)
        folder = card_path.parent
        files = {**card["files"], "card.json": sha256(card_path)}
        sizes = {relative: (folder / relative).stat().st_size for relative in files}
        models[claim(card_path, card)] = {
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
    return {"format_version": FORMAT_VERSION, "base_url": base, "models": models, "assets": assets}


def load_generator(name, registry=None):
    """The published generator `name` as a Keras model, rebuilt from its artifact.

    Returns the zoo model of the artifact's family (e.g. a `DCGAN`) built from the config in
    its card, with the weights of the networks the export runs (the generator, and a text
    encoder if the model has one) read from its `saved_model/` (`zoo.export.load_keras_model`):
    `model.generate(n, seed=0)` gives the images that `zoo.runtime.load(name).generate(n, seed=0)`
    gives. The discriminator is not published and is freshly initialised: this is for
    sampling, not for resuming the original training.
    """
    if importlib.util.find_spec("keras") is None:
        raise ImportError(
            f"load_generator({name!r}) rebuilds the Keras model, and Keras is not installed: pip install 'ganzoo[train]'. "
            f"zoo.runtime.load({name!r}) runs the published generator without it."
        )
    from zoo.export import load_keras_model

    return load_keras_model(fetch(name, registry))
