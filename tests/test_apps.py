"""Other apps run the published generators: Node.js with onnxruntime-node, a web page with
onnxruntime-web in headless Chromium (Debian's, driven by playwright-core), with the options
of `python -m zoo sample` and, for a seed, Python's noise bit for bit and Python's pixels.
`make setup` installs node's packages and Chromium; these tests skip only where node or
Chromium is absent.
"""

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo import latent, registry, runtime
from zoo.files import sha256
from zoo.images import make_grid, save_grid
from zoo.text import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
CHROMIUM = "/usr/bin/chromium"
CAPTION = "a blue coat"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (scripts/install_system_packages.sh installs it)")
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (scripts/install_system_packages.sh installs Debian's chromium)")


def installed(app):
    modules = APPS / app / "node_modules"
    assert modules.is_dir(), f"{modules} is missing: run `make setup` (npm ci in apps/{app})"


@pytest.fixture(params=registry.names())
def published(request):
    return request.param


def python_grid(name, n, seed, scale=1, **arguments):
    """The RGB pixels `python -m zoo sample NAME -n N --seed S --scale K` writes."""
    generator = runtime.load(name)
    if "tokens" in generator.inputs:
        arguments.setdefault("prompt", CAPTION)
    grid = make_grid(generator.generate(n, seed=seed, **arguments))
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    return np.stack([grid] * 3, axis=-1) if grid.ndim == 2 else grid


def assert_same_pixels(drawn, expected):
    """The same picture up to rounding: onnxruntime builds (Python, Node, the browser's WASM) and CPUs
    (AVX2, AVX-512) sum in different orders, so a value at x.5 may round either way. At most one level
    apart, on at most 1 pixel in 1,000; a wrong seed, prompt or model changes most pixels by far more."""
    assert drawn.shape == expected.shape
    difference = np.abs(drawn.astype(np.int16) - expected.astype(np.int16))
    differing = int(np.sum(np.any(difference > 0, axis=-1)))
    assert difference.max() <= 1 and differing <= max(1, drawn.shape[0] * drawn.shape[1] // 1000), (
        f"{differing} pixels differ from Python's, by up to {difference.max()} levels")


def test_the_web_server_refuses_a_bad_or_busy_port_in_one_line():
    import socket

    serve = [sys.executable, str(APPS / "web" / "serve.py")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for port, says in (("99999", "99999 is not a port: give 1..65535"), ("-1", "-1 is not a port"), ("http", "'http' is not a port number"), (str(busy), f"port {busy} on 127.0.0.1 is in use")):
            result = subprocess.run([*serve, "--port", port], capture_output=True, text=True, timeout=60)
            assert result.returncode == 2 and "Traceback" not in result.stderr and says in result.stderr.strip().splitlines()[-1], result.stderr


@pytest.mark.files
def test_the_web_server_answers_a_folder_or_a_named_pipe_asked_for_as_a_file_with_404(tmp_path, monkeypatch):
    """The page fetches card.json and generator.onnx. Where one was a folder, the server sent its HTML
    listing (read as JSON: "Unexpected token '<'"); where one was a named pipe, its thread waited for
    ever. Both are a 404 now, which the page names with its URL ("HTTP 404 for ...")."""
    import functools
    import importlib.util
    import threading
    import urllib.error
    import urllib.request
    from http.server import ThreadingHTTPServer

    loader = importlib.util.spec_from_file_location("serve", APPS / "web" / "serve.py")
    serve = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(serve)
    (tmp_path / "artifact" / "card.json").mkdir(parents=True)
    os.mkfifo(tmp_path / "artifact" / "generator.onnx")
    (tmp_path / "notes.txt").write_text("served")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(serve.Handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert urllib.request.urlopen(f"{url}/notes.txt", timeout=10).read() == b"served"  # a file, as ever
        for path, reason in (("artifact/card.json", "A folder, not a file"), ("artifact/generator.onnx", "Not a file (a named pipe, socket or device)")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{url}/{path}", timeout=10)
            assert (refused.value.code, refused.value.reason) == (404, reason)
    finally:
        server.shutdown()
        server.server_close()


def drive_web_page(model, *e2e_args, missing=None):
    """Serves the web app on 127.0.0.1 for `model` (its URL parameter), drives it in headless
    Chromium with apps/web/e2e.mjs and returns (the page's URL, what the page showed); the
    page must have logged no error but, where `missing` names a file, its HTTP 404."""
    server = subprocess.Popen([sys.executable, str(APPS / "web" / "serve.py"), "--port", "0", "--model", model], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        result = subprocess.run(["node", str(APPS / "web" / "e2e.mjs"), url, *e2e_args], capture_output=True, text=True, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert [error for error in seen["errors"] if not (missing and ("status of 404" in error or error.startswith("HTTP 404") and error.endswith(missing)))] == []
    return url, seen


def artifact_with_card(folder, name, change):
    """`folder` made a copy of the published artifact `name` (its generator.onnx) with card.json
    `change(card)`: what the apps do with a card that says something else than the published one."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "exports" / name / "generator.onnx", folder)
    card = json.loads((ROOT / "exports" / name / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps(change(card)))
    return folder


def card_of_another_graph(card):
    """`card` listing the gan's generator.onnx under "files": it describes another graph than its folder's."""
    other = json.loads((ROOT / "exports" / "gan-fashion-mnist" / "card.json").read_text())["files"]["generator.onnx"]
    return {**card, "files": {**card["files"], "generator.onnx": other}}


def run_node(args, cwd, env=None, timeout=120):
    return subprocess.run(["node", str(APPS / "node" / "sample.js"), *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)


def node_refusal(source, tmp_path, env=None):
    """What the Node app says, on one line, when it refuses to sample `source` into tmp_path/grid.png:
    it must exit 2 and leave grid.png as it was."""
    before = (tmp_path / "grid.png").read_bytes() if (tmp_path / "grid.png").exists() else None
    result = run_node([str(source), "-n", "4", "-o", "grid.png"], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert ((tmp_path / "grid.png").read_bytes() if (tmp_path / "grid.png").exists() else None) == before
    return result.stderr.strip()


JS_NOISE = """
import { sampleLatent } from "%s";
const [seed, n, dim, truncation] = process.argv.slice(1);
const z = sampleLatent(Number(n), Number(dim), seed, truncation === "none" ? null : Number(truncation));
process.stdout.write(Buffer.from(z.buffer).toString("base64"));
"""


@needs_node
@pytest.mark.parametrize("seed, n, dim, truncation", [(0, 64, 100, None), (2**64 - 1, 3, 17, None), (123456789, 200, 100, 0.7)])
def test_node_draws_python_s_noise_bit_for_bit(seed, n, dim, truncation):
    script = JS_NOISE % (APPS / "common" / "ganzoo.mjs").as_uri()
    result = subprocess.run(["node", "--input-type=module", "-e", script, str(seed), str(n), str(dim), str(truncation or "none")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    node = np.frombuffer(base64.b64decode(result.stdout), "<f4").reshape(n, dim)
    python = latent.sample_latent(n, dim, seed=seed, truncation=truncation)
    np.testing.assert_array_equal(node.view(np.uint32), python.view(np.uint32))


@needs_node
def test_node_app_draws_python_s_pixels_for_a_seed(published, tmp_path):
    installed("node")
    args = [published, "-n", "16", "--seed", "7", "--scale", "1", "-o", "node.png"] + (["--prompt", CAPTION] if published.startswith("t2i") else [])
    result = run_node(args, cwd=tmp_path)  # outside the checkout: the name resolves through zoo/registry.json
    assert result.returncode == 0, result.stderr
    assert f"Wrote 16 samples of {published}" in result.stdout and "sha256-checked" in result.stdout
    node_grid = np.asarray(Image.open(tmp_path / "node.png").convert("RGB"))
    python_grid_ = python_grid(published, 16, seed=7)
    assert_same_pixels(node_grid, python_grid_)
    assert node_grid.std() > 10


@needs_node
def test_node_app_takes_the_options_of_the_python_cli(tmp_path):
    installed("node")
    help_ = run_node(["--help"], cwd=tmp_path)
    assert help_.returncode == 0
    for option in ("-n, --num-images", "--seed", "-o, --output", "--scale", "--label", "--prompt", "--truncation", "published name"):
        assert option in help_.stdout
    result = run_node(["cgan-fashion-mnist", "--label", "dress", "--label", "9,sandal", "-n", "6", "--seed", "2", "--scale", "3", "--truncation", "1.5", "-o", "cgan.png"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = python_grid("cgan-fashion-mnist", 6, seed=2, scale=3, labels=["dress", "9,sandal"], truncation=1.5)
    assert_same_pixels(np.asarray(Image.open(tmp_path / "cgan.png").convert("RGB")), expected)


@needs_node
def test_node_app_help_is_what_its_readme_quotes(tmp_path):
    """apps/node/README.md shows `node sample.js --help` verbatim; a claim changed in one (such as
    how close its pixels come to Python's) must change in the other."""
    installed("node")
    readme = (APPS / "node" / "README.md").read_text()
    quoted = readme.split("`node sample.js --help` prints:\n\n```\n", 1)[1].split("\n```", 1)[0]
    help_ = run_node(["--help"], cwd=tmp_path)
    assert help_.returncode == 0
    assert help_.stdout.strip() == quoted.strip()


@needs_node
@pytest.mark.inputs
@pytest.mark.parametrize(
    "args, message",
    [
        (["dcgan-fashion-mnist", "-n", "0"], "-n must be a whole number from 1"),
        (["dcgan-fashion-mnist", "--seed", "-1"], "seed must be a whole number from 0 to 2^64 - 1"),
        (["cgan-fashion-mnist", "--label", "dres"], 'unknown class "dres"; the classes are: 0 t-shirt/top'),
        (["cgan-fashion-mnist", "--label", "10"], "class id 10 is out of range"),
        (["dcgan-fashion-mnist", "--label", "dress"], "not class-conditional"),
        (["t2i-fashion-mnist"], "needs a prompt"),
        (["dcgan-fashon-mnist"], "not a published name (cgan-fashion-mnist, dcgan-fashion-mnist"),
        (["dcgan-fashion-mnist", "--colour", "red"], "unknown argument --colour"),
        (["t2i-fashion-mnist", "--prompt", "a red dress", "--prompt=a blue coat"], "--prompt is given more than once; give one"),
        (["t2i-fashion-mnist", "--prompt", "--seed", "3"], "unknown argument 3"),  # the caption "--seed"; python -m zoo sample says the same
        (["dcgan-fashion-mnist", "-n", "1e1"], "-n must be a whole number from 1 to 100000, got 1e1"),
        (["dcgan-fashion-mnist", "--num-images=0x4"], "-n must be a whole number from 1 to 100000, got 0x4"),
        (["dcgan-fashion-mnist", "--scale", "2.0"], "--scale must be a whole number from 1 to 64, got 2.0"),
        (["dcgan-fashion-mnist", "--truncation", ""], '--truncation must be a number of at least 0.1, got ""'),
        (["dcgan-fashion-mnist", "--truncation=0x1"], "--truncation must be a number of at least 0.1, got 0x1"),
    ],
)
def test_node_app_refuses_bad_arguments(args, message, tmp_path):
    installed("node")
    result = run_node(args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr


MIRRORED = "dcgan-fashion-mnist"  # the published generator the download tests serve


@contextlib.contextmanager
def node_mirror(tmp_path):
    """A copy of exports/dcgan-fashion-mnist served on 127.0.0.1 while the block runs: yields its folder
    (to alter) and the environment that makes the Node app download it from there into tmp_path/cache."""
    from tests.test_registry import Server

    installed("node")
    served = tmp_path / "served"
    shutil.copytree(ROOT / "exports" / MIRRORED, served / MIRRORED)
    server = Server(served)
    try:
        yield served / MIRRORED, {"GANZOO_EXPORTS": "", "GANZOO_CACHE": str(tmp_path / "cache"), "GANZOO_BASE_URL": server.url, "NO_PROXY": "127.0.0.1"}
    finally:
        server.stop()


@needs_node
@pytest.mark.files
def test_node_app_stops_a_download_at_the_size_the_registry_lists_as_python_does(tmp_path):
    with node_mirror(tmp_path) as (served, env):
        with open(served / "generator.onnx", "ab") as f:
            f.write(bytes(50_000_000))  # a mirror that sends on and on: the app stops reading at the registry's size
        refusal = node_refusal(MIRRORED, tmp_path, env)
    size = registry.load_registry()["models"][MIRRORED]["sizes"]["generator.onnx"]
    assert f"{env['GANZOO_BASE_URL']}/{MIRRORED}/generator.onnx sends more than the {size:,} bytes of the published file" in refusal
    assert not (tmp_path / "cache" / MIRRORED / "generator.onnx").exists()


@needs_node
@pytest.mark.inputs
@pytest.mark.parametrize("source", ["toString", "constructor", "__proto__", "hasOwnProperty"])
def test_node_app_reads_a_name_every_javascript_object_has_as_an_unknown_generator(tmp_path, source):
    """Options and published names were looked up as plain object keys: `toString` was taken for an
    option (eating the next argument as its value), so the app never said what was wrong."""
    refusal = node_refusal(source, tmp_path, {"GANZOO_CACHE": str(tmp_path / "cache")})
    assert refusal.startswith(f'error: no generator "{source}": not an existing folder or .onnx file, and not a published name ('), refusal
    assert not (tmp_path / "cache").exists()


@needs_node
@pytest.mark.files
def test_node_app_downloads_a_published_name_once_and_refuses_tampered_files(tmp_path):
    with node_mirror(tmp_path) as (served, env):
        tampered = bytearray((served / "generator.onnx").read_bytes())
        tampered[1000] ^= 1  # one byte changed on the server
        (served / "generator.onnx").write_bytes(tampered)
        assert "refused (altered or partial)" in node_refusal(MIRRORED, tmp_path, env)
        assert not (tmp_path / "cache" / MIRRORED / "generator.onnx").exists()
        shutil.copy(ROOT / "exports" / MIRRORED / "generator.onnx", served / "generator.onnx")
        first = run_node([MIRRORED, "-n", "4", "-o", "x.png"], cwd=tmp_path, env=env)
        assert first.returncode == 0 and "downloaded from" in first.stdout, first.stderr
    offline = run_node([MIRRORED, "-n", "4", "-o", "y.png"], cwd=tmp_path, env=env)  # the server is gone: the cache serves
    assert offline.returncode == 0 and "(cache, sha256-checked)" in offline.stdout, offline.stderr
    assert registry.locate(MIRRORED) is not None


@needs_node
@pytest.mark.files
def test_node_app_downloads_again_over_a_cached_file_that_is_a_named_pipe(tmp_path):
    """Reading a named pipe waits for a writer, for ever: the app hung checking the cache's sha256."""
    cached = tmp_path / "cache" / MIRRORED / "generator.onnx"
    with node_mirror(tmp_path) as (_, env):
        cached.parent.mkdir(parents=True)
        os.mkfifo(cached)
        result = run_node([MIRRORED, "-n", "4", "-o", "x.png"], cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0 and "downloaded from" in result.stdout, result.stderr
    assert cached.read_bytes() == (ROOT / "exports" / MIRRORED / "generator.onnx").read_bytes()


@needs_node
@pytest.mark.files
def test_node_app_deletes_the_temporary_a_killed_download_left_in_the_cache_as_python_does(tmp_path):
    """The app writes a download into the cache through a temporary. Killed mid-write, it left
    `.generator.onnx.<pid>.tmp` there for ever: neither it nor zoo.registry knew the name. Its temporaries
    are named now as Python's (`.<file>.<mark>.part`, zoo.files.writer_mark), and either side deletes those
    of ended writers before it downloads; a live writer's, or another machine's, is left alone."""
    from zoo.files import WRITER_TAG, writer_mark

    ended = subprocess.Popen(["true"])
    ended.wait()
    folder = tmp_path / "cache" / MIRRORED
    folder.mkdir(parents=True)
    stale = folder / f".generator.onnx.{writer_mark(ended.pid)}.part"
    live = folder / f".card.json.{writer_mark()}.part"  # this test's own process: still running
    elsewhere = folder / f".card.json.{'0' * 8 if WRITER_TAG != '0' * 8 else '1' * 8}-{ended.pid}.part"  # another machine's
    for temporary in (stale, live, elsewhere):
        temporary.write_bytes(b"half a file")
    with node_mirror(tmp_path) as (_, env):
        result = run_node([MIRRORED, "-n", "4", "-o", "x.png"], cwd=tmp_path, env=env)
    assert result.returncode == 0 and "downloaded from" in result.stdout, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == sorted(["card.json", "generator.onnx", live.name, elsewhere.name])


@needs_node
@pytest.mark.files
def test_node_app_runs_the_published_generator_for_its_name_not_a_same_named_folder_here(tmp_path, monkeypatch):
    """`node sample.js dcgan-fashion-mnist` in a folder holding ./dcgan-fashion-mnist (here: the gan's
    files) ran that folder and called it by the published name; `python -m zoo sample` runs the published,
    sha256-checked files and warns. Now both do, in the same words; `./dcgan-fashion-mnist` runs the folder,
    and where the published files cannot be had (offline), the refusal says so."""
    installed("node")
    work = tmp_path / "work"
    shutil.copytree(ROOT / "exports" / "gan-fashion-mnist", work / MIRRORED)  # another generator under the published name
    dcgan, gan = python_grid(MIRRORED, 4, seed=3), python_grid("gan-fashion-mnist", 4, seed=3)
    monkeypatch.chdir(work)
    with pytest.warns(UserWarning) as python:
        runtime.load(MIRRORED)
    published = run_node([MIRRORED, "-n", "4", "--seed", "3", "--scale", "1", "-o", "published.png"], cwd=work)
    assert published.returncode == 0, published.stderr
    assert published.stderr.strip() == f"warning: {python[0].message}"
    assert f"from published {MIRRORED} (exports/, sha256-checked; the folder ./{MIRRORED} here is not it (run it as ./{MIRRORED}))" in published.stdout
    assert_same_pixels(np.asarray(Image.open(work / "published.png").convert("RGB")), dcgan)
    folder = run_node([f"./{MIRRORED}", "-n", "4", "--seed", "3", "--scale", "1", "-o", "folder.png"], cwd=work)
    assert folder.returncode == 0 and folder.stderr == "", folder.stderr
    assert f"Wrote 4 samples of gan-fashion-mnist to folder.png (onnxruntime-node," in folder.stdout and folder.stdout.rstrip().endswith(f"from ./{MIRRORED}")
    assert_same_pixels(np.asarray(Image.open(work / "folder.png").convert("RGB")), gan)
    offline = {"GANZOO_EXPORTS": "", "GANZOO_CACHE": str(tmp_path / "cache"), "GANZOO_BASE_URL": "http://127.0.0.1:9", "NO_PROXY": "*"}
    assert node_refusal(MIRRORED, work, offline).endswith(f"(the folder ./{MIRRORED} here does not stand in for the published {MIRRORED}; run it as ./{MIRRORED})")


def registry_of(change):
    """A function of a path that writes zoo/registry.json there, `change`d."""
    return lambda path: path.write_text(json.dumps(change(registry.load_registry())))


def with_entry(change, name=MIRRORED):
    """A function of the registry's data that `change`s the entry of `name`."""
    return lambda data: {**data, "models": {**data["models"], name: change(data["models"][name])}}


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("write, message", [
    (lambda path: None, "{registry} does not exist."),
    (Path.mkdir, "{registry} is a folder, not a file."),
    (os.mkfifo, "{registry} is a named pipe (FIFO), not a file."),  # read without waiting for a writer
    (lambda path: path.write_text('{"models": '), "{registry} is not valid JSON: Unexpected end of JSON input"),
    (registry_of(lambda data: None), "{registry}: (the registry itself) is not a JSON object"),
    (registry_of(lambda data: [data]), "{registry}: (the registry itself) is not a JSON object"),
    (registry_of(lambda data: without(data, "models")), "{registry}: models: missing (must be an object of published generators by name)"),
    (registry_of(lambda data: {**data, "models": [MIRRORED]}), '{registry}: models: ["dcgan-fashion-mnist"] is not an object of published generators by name'),
    (registry_of(with_entry(lambda entry: "dcgan", "gan-fashion-mnist")), '{registry}: models.gan-fashion-mnist: "dcgan" is not an object: the entry of a published generator'),
    (registry_of(with_entry(lambda entry: without(entry, "files"))),
     "{registry}: models.dcgan-fashion-mnist.files: missing (must be an object of sha256 digests (64 lowercase hex digits) by file name)"),
    (registry_of(with_entry(lambda entry: {**entry, "files": {"card.json": 5}})),
     '{registry}: models.dcgan-fashion-mnist.files: {"card.json":5} is not an object of sha256 digests (64 lowercase hex digits) by file name'),
    (registry_of(with_entry(lambda entry: {**entry, "files": without(entry["files"], "card.json")})),
     "{registry}: models.dcgan-fashion-mnist.files.card.json: missing (must be the sha256 of the published file)"),
    (registry_of(with_entry(lambda entry: {**entry, "sizes": {"generator.onnx": "7 MB"}})),
     '{registry}: models.dcgan-fashion-mnist.sizes: {"generator.onnx":"7 MB"} is not an object of file sizes in bytes by file name'),
    (registry_of(lambda data: {**data, "base_url": 5}), "{registry}: base_url: 5 is not an http or https URL"),
    (registry_of(lambda data: {**data, "base_url": "ftp://mirror/exports"}),
     "the base_url of {registry} is 'ftp://mirror/exports', not an http or https URL of a mirror of exports/; nothing was downloaded."),
    (registry_of(lambda data: without(data, "base_url")), "{registry} has no base_url: set GANZOO_BASE_URL to a mirror of exports/; nothing was downloaded."),
])
def test_node_app_refuses_a_malformed_registry_in_one_line_naming_it(tmp_path, write, message):
    """$GANZOO_REGISTRY names the registry the app reads. One of another shape was read as far as it went:
    "Cannot read properties of null (reading 'models')", "... of undefined (reading 'generator.onnx')",
    "... (reading 'replace')", or "not a published name ()" of a name it lists."""
    installed("node")
    path = tmp_path / "registry.json"
    write(path)
    env = {"GANZOO_REGISTRY": str(path), "GANZOO_EXPORTS": "", "GANZOO_CACHE": str(tmp_path / "cache"), "GANZOO_BASE_URL": ""}
    refusal = node_refusal(MIRRORED, tmp_path, env)
    assert refusal == f"error: {message.replace('{registry}', str(path))}"
    assert not (tmp_path / "cache").exists()  # nothing downloaded, nothing written


@needs_node
@pytest.mark.inputs
@pytest.mark.parametrize("url", ["ftp://x", "not a url", "http://", "http:x", "https:/x", "ftp://mirror's\nexports",
                                 "https://x:99999", "http://x:port", "http://x y", "http://%",
                                 # Python accepted these, and requests would try to reach them; Node's URL parser refuses them
                                 "http://1.2.3.4.5", "http://256.1.1.1", "http://09.1.1.1", "http://[v1.x]", "http://x^y", "http://x|y",
                                 # Node read these as another host than the one written ("xa", "x", 1.2.3.4): Python refused the first
                                 "http://x%41", "http://x\\y", "http://1.2.3.4.", "http://1.2.3.\x01", "http:///x.org",
                                 # a user name or password: Node's fetch refuses it, and every message would show it
                                 "http://user:secret@127.0.0.1:9"])
def test_node_app_refuses_a_base_url_that_is_not_an_http_url_in_python_s_words_before_any_download(tmp_path, monkeypatch, url):
    """GANZOO_BASE_URL is checked as zoo.registry.base_url checks it, before the cache is made. A URL parser
    mends "http:x" and "https:/x" into http://x/, which Python's urlsplit reads as no host: Node fetched them.
    The value is shown as Python's repr shows it, on one line."""
    installed("node")
    monkeypatch.setenv("GANZOO_BASE_URL", url)
    with pytest.raises(registry.DownloadError) as python:
        registry.base_url()
    env = {"GANZOO_EXPORTS": "", "GANZOO_CACHE": str(tmp_path / "cache"), "GANZOO_BASE_URL": url}
    assert node_refusal(MIRRORED, tmp_path, env) == f"error: {python.value}"
    assert not (tmp_path / "cache").exists()  # nothing downloaded, nothing written
    if "@" in url:  # a password is not shown, not even in the refusal
        assert url.split("@")[0].rpartition(":")[2] not in str(python.value)


@needs_node
@pytest.mark.inputs
@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "HTTP://127.0.0.1:9/exports/", "http://127.1:9", "http://0x7f.1:9", "http://[::1]:9"])
def test_node_app_and_python_both_take_a_base_url_either_can_download_from(tmp_path, monkeypatch, url):
    """The same URLs pass both checks (127.1 and 0x7f.1 are 127.0.0.1 to the C library and to the URL
    standard alike): nothing listens on port 9, so both get as far as the download, and no further."""
    installed("node")
    monkeypatch.setenv("GANZOO_BASE_URL", url)
    assert registry.base_url() == url.rstrip("/")
    env = {"GANZOO_EXPORTS": "", "GANZOO_CACHE": str(tmp_path / "cache"), "GANZOO_BASE_URL": url, "NO_PROXY": "*"}
    assert node_refusal(MIRRORED, tmp_path, env).startswith(f"error: could not download {url.rstrip('/')}/{MIRRORED}/")


@needs_node
@needs_chromium
@pytest.mark.files
@pytest.mark.parametrize("write, message", [
    (lambda path: path.write_text('{"models": '), "{registry} is not valid JSON: Unexpected end of JSON input"),
    (registry_of(lambda data: None), "{registry}: (the registry itself) is not a JSON object"),
    (registry_of(with_entry(lambda entry: without(entry, "files"))),
     "{registry}: models.dcgan-fashion-mnist.files: missing (must be an object of sha256 digests (64 lowercase hex digits) by file name)"),
    (registry_of(with_entry(lambda entry: {**entry, "sizes": {"generator.onnx": "7 MB"}}, "gan-fashion-mnist")),
     '{registry}: models.gan-fashion-mnist.sizes: {"generator.onnx":"7 MB"} is not an object of file sizes in bytes by file name'),
])
def test_web_page_refuses_a_malformed_registry_in_the_node_app_s_words(tmp_path, write, message):
    """The page reads the served checkout's zoo/registry.json (it takes no other): one of another shape
    showed a raw JavaScript error, "Cannot read properties of null (reading 'models')" or "... of
    undefined (reading 'generator.onnx')". Now the Node app's line, with the registry's URL."""
    installed("web")
    write(tmp_path / "registry.json")
    url, seen = drive_web_page(MIRRORED, "--registry", str(tmp_path / "registry.json"))
    served = url.split("/apps/")[0] + "/zoo/registry.json"
    assert seen["failure"] == f"Could not load the generator: {message.replace('{registry}', served)}"


@needs_node
@needs_chromium
@pytest.mark.inputs
@pytest.mark.parametrize("model", ["toString", "__proto__"])
def test_web_page_reads_a_name_every_javascript_object_has_as_an_unknown_generator(model):
    """?model=toString was looked up as a plain object key, finding Object.prototype's function:
    "Cannot read properties of undefined (reading 'generator.onnx')"."""
    installed("web")
    _, seen = drive_web_page(model)
    assert seen["failure"] == f'Could not load the generator: no published generator named "{model}"; known names: {", ".join(registry.names())}'


@needs_node
@needs_chromium
def test_web_page_draws_python_s_pixels_and_new_samples_in_headless_chromium(published):
    installed("web")
    card = json.loads((ROOT / "exports" / published / "card.json").read_text())
    query = f"{published}&n=16&scale=1&seed=3" + ("&prompt=" + CAPTION.replace(" ", "%20") if "tokens" in card["inputs"] else "")
    url, seen = drive_web_page(query, *([CAPTION] if "tokens" in card["inputs"] else []))
    assert seen["title"] == card["name"] and "sha256-checked" in seen["source"]
    assert seen["promptVisible"] == ("tokens" in card["inputs"])
    assert all(request.startswith(url.split("/apps/")[0]) for request in seen["requests"])  # 127.0.0.1 only
    first = np.frombuffer(base64.b64decode(seen["first"]["rgb"]), np.uint8).reshape(seen["first"]["height"], seen["first"]["width"], 3)
    expected = python_grid(published, 16, seed=3)
    assert_same_pixels(first, expected)
    assert seen["second"]["std"] > 2  # generated pictures, not a blank canvas (a dark garment on black is faint)
    assert seen["second"]["hash"] != seen["first"]["hash"]  # the button drew new samples
    assert seen["labelVisible"] == ("label" in card["inputs"])
    if "label" in card["inputs"]:
        assert seen["third"]["std"] > 2 and seen["third"]["hash"] != seen["second"]["hash"]
    assert "16 samples" in seen["status"] and "Seed 4" in seen["status"]


# Captions a shopper might type, for the agreement of the Python and JavaScript tokenizers.
WORDING = [
    "A RED DRESS", "a red dress!!!", "  a   red\tdress\n", "(Red, dress.)", "red-dress?", "Could you please draw me a picture of a red dress?",
    "red dresses", "blue bags", "two white sneakers", "pink t-shirts", "ankle boots in purple", "crimson frocks", "running shoes, navy",
    "dres in red", "rde dress", "sneakr, blue", "a yelow handbag", "purle top", "bleu coat", "red hat", "teh red dress", "sandasl, white",
    "a navy tee shirt", "blue jeans", "sky blue blazer", "a scarlet cocktail dress", "hot pink flip-flops", "a lilac purse", "my jodhpurs are ivory",
    "a black t-shirt", "a zebra-striped hat in green", "men's red sneakers", "don’t draw a coat, draw a dress", "CAFÉ au lait coat", "Straße bag",
    "a red 🌹 dress", "show me something nice", "please", "12345 !!", "", "red " * 13, "a" * 11_000,
]


# What both ports' analyses hold, compared word for word: the reading, and what the note says besides it.
READING_FIELDS = ["words", "ids", "corrections", "synonyms", "unknown", "typos", "ignored", "negations", "outside", "numbers", "garments", "colours", "note"]


def node_readings(tokenizer_spec, texts, tmp_path, garments=None, colours=None):
    """`texts` as ganzoo.mjs's Tokenizer of `tokenizer_spec` reads them (given card.json's class_nouns and colour names)."""
    (tmp_path / "spec.json").write_text(json.dumps({"spec": tokenizer_spec, "garments": garments, "colours": colours}))
    (tmp_path / "captions.json").write_text(json.dumps(texts))
    code = (
        f"import fs from 'node:fs'; import {{ Tokenizer }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}';"
        "const [specFile, captionsFile] = process.argv.slice(1);"
        "const { spec, garments, colours } = JSON.parse(fs.readFileSync(specFile, 'utf8'));"
        "const tokenizer = new Tokenizer(spec, { garments, colours });"
        "const out = JSON.parse(fs.readFileSync(captionsFile, 'utf8')).map((c) => {"
        f"  try {{ const a = tokenizer.analyse(c); return Object.fromEntries({json.dumps(READING_FIELDS)}.map((field) => [field, a[field]])); }}"
        "  catch (e) { return { error: e.message }; } });"
        "process.stdout.write(JSON.stringify(out));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", code, str(tmp_path / "spec.json"), str(tmp_path / "captions.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def python_reading(tokenizer, text):
    try:
        a = tokenizer.analyse(text)
    except ValueError as error:
        return {"error": str(error)}
    reading = {field: getattr(a, field) for field in READING_FIELDS if field != "note"}
    return {**reading, "corrections": [list(p) for p in a.corrections], "synonyms": [list(p) for p in a.synonyms], "typos": [list(p) for p in a.typos], "note": a.note()}


def published_readings(texts, tmp_path, with_nouns=False):
    """(text, Python's reading, ganzoo.mjs's reading) of each of `texts` by the published
    t2i-fashion-mnist card's tokenizer (`with_nouns`: given its class_nouns and colours, as the
    apps are)."""
    card = json.loads((ROOT / "exports" / "t2i-fashion-mnist" / "card.json").read_text())
    nouns = (card["class_nouns"], list(card["colours"])) if with_nouns else (None, None)
    tokenizer = Tokenizer.from_spec(card["tokenizer"], *nouns)
    theirs = node_readings(card["tokenizer"], texts, tmp_path, *nouns)
    return [(text, python_reading(tokenizer, text), reading) for text, reading in zip(texts, theirs)]

def refusal(reading):
    """The kind of refusal, in words both ports use."""
    for kind in ("names no garment or colour", "holds no words", "too long", "at most"):
        if kind in reading["error"]:
            return kind
    return reading["error"]


@needs_node
def test_python_and_javascript_tokenizers_read_shopper_wording_alike(fashion_dir, tmp_path):
    """The v2 tokenizer of the Fashion-MNIST captions (WordNet synonyms included) in Python and in
    apps/common/ganzoo.mjs: the card's golden list (checked by the JS constructor), a list of shopper
    wordings, and 2,400 reworded captions of scripts/wording_t2i.py."""
    from zoo import captions, lexicon

    if not (lexicon.WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed (scripts/install_system_packages.sh installs it)")
    import importlib.util

    loader = importlib.util.spec_from_file_location("wording_t2i", ROOT / "scripts" / "wording_t2i.py")
    wording = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(wording)
    data = captions.colourised_fashion_mnist("train", limit=3000, seed=0)
    spec = json.loads(json.dumps(Tokenizer.fit(data.captions, max_length=12, **lexicon.shopper_rules()).spec(lexicon.GOLDEN_CAPTIONS)))
    tokenizer = Tokenizer.from_spec(spec, captions.CLASS_NOUNS, captions.COLOURS)
    rng = np.random.default_rng(0)
    prompts = wording.base_prompts()
    reworded = [wording.reword(kind, *prompts[i], rng)[0] for kind in wording.KINDS for i in rng.choice(len(prompts), 300, replace=False)]
    texts = WORDING + reworded
    js = node_readings(spec, texts, tmp_path, captions.CLASS_NOUNS, captions.COLOUR_NAMES)
    kinds = set()
    for text, theirs in zip(texts, js):
        ours = python_reading(tokenizer, text)
        if "error" in ours or "error" in theirs:
            assert "error" in ours and "error" in theirs and refusal(ours) == refusal(theirs), (text, ours, theirs)
            kinds.add(refusal(ours))
        else:
            assert ours == theirs, text
    assert kinds == {"names no garment or colour", "holds no words", "at most", "too long"}
    readings = {text: python_reading(tokenizer, text) for text in WORDING}
    assert readings["crimson frocks"]["words"] == ["red", "dress"] and readings["blue jeans"]["words"] == ["blue", "trousers"]
    assert readings["sneakr, blue"]["corrections"] == [["sneakr", "sneaker"]] and readings["a black t-shirt"]["unknown"] == ["black"]


# Prompts beyond a-z, for the published tokenizer in both ports: what other scripts, marks and spaces do.
UNICODE_PROMPTS = [
    "café dress", "cafe\u0301 red dress", "ｒｅｄ　ｄｒｅｓｓ", "red 👗 dress", "فستان احمر", "red \u202edress", "İ red dress", "\u212aed dress", "red dreß",
    "a red dress " + "😀" * 5000,  # 5,012 characters (Python's len), 10,012 UTF-16 units
    "😀" * 10_001,
    # characters Python's repr() escapes in the note: no-break, zero-width and line separator spaces, marks, a soft hyphen, C1 and lone surrogates
    "a\u00a0rde dress", "r\u200bed dres", "\ufeffa rde dress\u200f", "rde\u00ad dress\u2028", "rde dress \x85", "rde dress \ud800", "rde dress \U000e0001",
]


@needs_node
@pytest.mark.inputs
def test_python_and_javascript_tokenizers_read_prompts_beyond_a_to_z_alike(tmp_path):
    for text, ours, theirs in published_readings(UNICODE_PROMPTS, tmp_path):
        assert ("error" in ours and "error" in theirs and refusal(ours) == refusal(theirs)) or ours == theirs, (text[:40], ours, theirs)


# Prompts asking for what the model cannot draw: several garments or colours, a negation, letters beyond a-z, numbers.
NOTE_PROMPTS = [
    "a red dress and a blue shirt", "a dress that is not red", "a café coat", "2 shirts", "a pink t-shirt and a shirt", "an ankle boot and a boot",
    "a dress and a gown", "crimson and scarlet frocks", "a coat, no red, no blue, without a bag", "don’t draw a coat, draw a dress", "CAFÉ au lait coat",
    "Straße bag", "日本 red dress", "cafe\u0301 red dress", "dressé rouge", "a red हिन्दी dress", "size 10.5 or 1,000 red bags", "red ２ dress",
    "red coat " + "not " * 12 + "café " * 12 + "7 " * 12, "two red dresses, 3 coats, a dozen zebras", "ten ２ twenty dresses",
    "red dr\ufffdess", "red dress ess ess", "ess jacket, red ess", "red essé dress",  # "ess" reads as "mess" of "mess jacket": alone, it is dropped
    "jeans, sneakers, a tee, a purse, sandals, a gown, a blazer, a jumper, a blouse, boots",
    "red ｓｈｉｒｔ", "ＲＥＤ dress", "a café 𝐫𝐞𝐝 coat", "ｓhirt", "red \ufffd dr\ufffdess coat",  # full-width and other compatibility forms of a-z; bytes that were not UTF-8
]


@needs_node
@pytest.mark.inputs
def test_python_and_javascript_notes_tell_what_the_model_cannot_draw_alike(tmp_path):
    """The published card's tokenizer with its class_nouns and colours, as `python -m zoo sample`,
    the Node app and the web page read them: the same notes word for word, the ids as ever."""
    plain = Tokenizer.from_spec(json.loads((ROOT / "exports" / "t2i-fashion-mnist" / "card.json").read_text())["tokenizer"])
    readings = published_readings(NOTE_PROMPTS, tmp_path, with_nouns=True)
    for text, ours, theirs in readings:
        assert ours == theirs, text
        assert ours["ids"] == plain.encode(text)
    notes = {text: theirs["note"] for text, _, theirs in readings}
    assert notes["an ankle boot and a boot"] == notes["a dress and a gown"] == "" and "several" not in notes["crimson and scarlet frocks"]  # one garment, one colour
    assert notes["a red dress and a blue shirt"].endswith("(several garments: dress, shirt; several colours: red, blue — the model draws one garment in one colour per image).")
    assert notes["a dress that is not red"].endswith("(negation ignored: not — the model cannot leave anything out).")
    assert notes["a café coat"].endswith("(letters outside a-z not read: café).") and notes["2 shirts"].endswith("(numbers ignored: 2 — the number of images is set separately).")
    assert "several garments: trousers, sneaker, tee, bag, sandals, gown, coat, jumper, blouse, boot — " in notes[NOTE_PROMPTS[-6]]
    assert notes["red ｓｈｉｒｔ"] == "Read 'red ｓｈｉｒｔ' as 'red' (letters outside a-z not read: ｓｈｉｒｔ (type shirt))."
    assert notes["a café 𝐫𝐞𝐝 coat"].endswith("(letters outside a-z not read: café, 𝐫𝐞𝐝 (type red)).")
    assert notes["red \ufffd dr\ufffdess coat"].endswith("replacement characters not read: 2 × \ufffd — bytes that were not UTF-8).")
    # "ess" is corrected to "mess" (rule 3: `corrections`, as ever) but dropped by rule 5 where no "mess jacket" follows: a typo
    # in the note only where the ids hold its word read, told once per position (the note said "typos ess→mess; unknown words
    # ignored: dr, ess"), alike in both ports
    assert notes["red dr\ufffdess"] == "Read 'red dr\ufffdess' as 'red' (unknown words ignored: dr, ess; replacement characters not read: 1 × \ufffd — bytes that were not UTF-8)."
    assert notes["red dress ess ess"] == "Read 'red dress ess ess' as 'red dress' (unknown words ignored: ess, ess)."
    assert notes["ess jacket, red ess"] == "Read 'ess jacket, red ess' as 'coat red' (typos ess→mess; synonyms mess jacket→coat; unknown words ignored: ess)."
    assert notes["red essé dress"] == "Read 'red essé dress' as 'red dress' (letters outside a-z not read: essé)."
    assert {text: theirs["corrections"] for text, _, theirs in readings}["red dr\ufffdess"] == [["ess", "mess"]]


# Real words whose ending looks like a plural's, and typed plurals with a typo, for the published tokenizer.
NOT_PLURAL_PROMPTS = ["a minus dress", "a bonus coat", "a red dress in 5 minutes", "a cross-body bag", "plus size dress", "a bus, red", "status: blue coat", "sneakrs, blue", "dreses in red"]


@needs_node
def test_python_and_javascript_tokenizers_do_not_read_a_word_whose_ending_is_no_plural_as_a_typo_of_its_stem(tmp_path):
    """"a minus dress" read as 'green dress' in both ports ("minus" as a plural "minu", a typo of the
    synonym "mint"), "a bonus coat" as 'white coat' ("bone"): neither is corrected now, alike."""
    readings = published_readings(NOT_PLURAL_PROMPTS, tmp_path)
    for text, ours, theirs in readings:
        assert ours == theirs, text
    read = {text: (theirs["words"], theirs["corrections"]) for text, _, theirs in readings}
    assert read["a minus dress"] == (["dress"], []) and read["a bonus coat"] == (["coat"], []) and read["a red dress in 5 minutes"] == (["red", "dress"], [])
    assert read["sneakrs, blue"] == (["sneaker", "blue"], [["sneakrs", "sneaker"]]) and read["dreses in red"] == (["dress", "red"], [["dreses", "dress"]])


# Prompts refused whose characters rule 2 does not read: full-width letters (East Asian input methods), other
# compatibility forms of a-z, other scripts and U+FFFD (bytes that were not UTF-8); then each full-width letter alone.
UNREAD_PROMPTS = [
    "ｒｅｄ ｓｈｉｒｔ", "ＲＥＤ　ＤＲＥＳＳ", "a ｒｅｄ ｓｈｉｒｔ", "ａｂｃｄｅｆｇｈｉｊｋｌｍ", "𝐫𝐞𝐝 𝐝𝐫𝐞𝐬𝐬", "ﬁne", "日本", "İ", "café au lait", "\ufffd\ufffd", "caf\ufffd",
    *map(chr, [*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]),
]


def in_javascript_words(message):
    """A Python refusal as ganzoo.mjs words it: a lowercase first letter, no full stop, its example caption in double quotes."""
    return (message[0].lower() + message[1:]).removesuffix(".").replace("e.g. 'a red dress'", 'e.g. "a red dress"')


@needs_node
@pytest.mark.inputs
def test_python_and_javascript_refusals_name_the_characters_they_do_not_read_alike(tmp_path):
    """"ｒｅｄ ｓｈｉｒｔ" was refused as holding no words, in both ports, without naming what was wrong:
    each refusal names every such character once now, with its code point, the Unicode name where both
    ports know it (JavaScript computes the full-width letters' names: all 52 are checked against Python's
    unicodedata) and the letter to type, word for word alike; the ids are the rules' as ever."""
    readings = published_readings(UNREAD_PROMPTS, tmp_path, with_nouns=True)
    for text, ours, theirs in readings:
        assert "error" in ours and "error" in theirs, (text, ours, theirs)
        assert ". Characters outside a-z not read: '" in ours["error"] and theirs["error"] == in_javascript_words(ours["error"]), (text, ours, theirs)
    errors = {text: ours["error"] for text, ours, _ in readings}
    assert errors["ｒｅｄ ｓｈｉｒｔ"].endswith(
        "not read: 'ｒ' U+FF52 FULLWIDTH LATIN SMALL LETTER R (type r), 'ｅ' U+FF45 FULLWIDTH LATIN SMALL LETTER E (type e), "
        "'ｄ' U+FF44 FULLWIDTH LATIN SMALL LETTER D (type d), 'ｓ' U+FF53 FULLWIDTH LATIN SMALL LETTER S (type s), "
        "'ｈ' U+FF48 FULLWIDTH LATIN SMALL LETTER H (type h), 'ｉ' U+FF49 FULLWIDTH LATIN SMALL LETTER I (type i), "
        "'ｔ' U+FF54 FULLWIDTH LATIN SMALL LETTER T (type t)."
    )
    assert "names no garment or colour" in errors["a ｒｅｄ ｓｈｉｒｔ"] and errors["ﬁne"].endswith("not read: 'ﬁ' U+FB01 (type fi).")
    assert errors["caf\ufffd"].endswith("not read: '\ufffd' U+FFFD REPLACEMENT CHARACTER (bytes that were not UTF-8).")
    assert errors["Ａ"].endswith("not read: 'Ａ' U+FF21 FULLWIDTH LATIN CAPITAL LETTER A (type A).") and errors["ｚ"].endswith("'ｚ' U+FF5A FULLWIDTH LATIN SMALL LETTER Z (type z).")


# Bytes that are not UTF-8: cut sequences, bytes that never occur, surrogates and overlong forms, a code point past U+10FFFF.
NOT_UTF_8 = [b"\xff", b"red \xff\xfe dress", b"caf\xe9", b"\xe2\x82ess", b"\xed\xa0\x80", b"\xc0\x80", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98!", b"\xe0\x80\xaf", b"\xc3\xa9\xe9"]


@needs_node
@pytest.mark.inputs
@pytest.mark.skipif(sys.getfilesystemencoding() != "utf-8", reason="the locale's encoding is not UTF-8: Python decodes argv with it, Node as UTF-8")
def test_the_python_cli_decodes_a_prompt_s_bytes_as_node_decodes_its_arguments():
    from zoo.cli import decoded_argument

    node = subprocess.run([b"node", b"-e", b"process.stdout.write(JSON.stringify(process.argv.slice(1)))", *NOT_UTF_8], capture_output=True, timeout=60)
    assert node.returncode == 0, node.stderr
    assert json.loads(node.stdout) == [decoded_argument(os.fsdecode(argument)) for argument in NOT_UTF_8]


@needs_node
@pytest.mark.inputs
def test_a_prompt_with_bytes_that_are_not_utf_8_is_noted_and_refused_alike_by_node_and_the_python_cli(tmp_path):
    """The note quoted 'red \\udcff dress' in `python -m zoo sample` (Python keeps such argv bytes as lone
    surrogates) and 'red \ufffd dress' in the Node app; both read U+FFFD now and say why."""
    installed("node")
    python = [sys.executable, "-m", "zoo", "sample"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUTF8": "1"}  # this checkout's zoo; argv decoded as UTF-8 whatever the locale
    said = {}
    for prompt in (b"red \xff dr\xe2\x82ess zebra", b"\xff\xfe"):  # drawn, with a note; refused
        args = [b"t2i-fashion-mnist", b"--prompt", prompt, b"-n", b"1", b"-o"]
        node = subprocess.run([b"node", os.fsencode(APPS / "node" / "sample.js"), *args, b"node.png"], cwd=tmp_path, capture_output=True, timeout=120)
        ours = subprocess.run([*map(os.fsencode, python), *args, b"python.png"], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        assert node.returncode == ours.returncode, (node.stderr, ours.stderr)
        said[prompt] = (node.stderr.decode().strip().splitlines()[-1], ours.stderr.decode().strip().splitlines()[-1])
    node, ours = said[b"red \xff dr\xe2\x82ess zebra"]
    assert node == ours == (  # "ess" reads as "mess" of "mess jacket", then is dropped: told as unknown, not as a typo
        "Read 'red \ufffd dr\ufffdess zebra' as 'red' (unknown words ignored: dr, ess, zebra; "
        "replacement characters not read: 2 × \ufffd — bytes that were not UTF-8)."
    )
    node, ours = said[b"\xff\xfe"]
    assert ours.startswith("error: Caption '\ufffd\ufffd' holds no words") and node == "error: " + in_javascript_words(ours.removeprefix("error: "))
    assert ours.endswith("not read: '\ufffd' U+FFFD REPLACEMENT CHARACTER (bytes that were not UTF-8).")


@needs_node
def test_node_app_prints_the_note_naming_the_card_s_garments_and_colours(tmp_path):
    installed("node")
    prompt = "a red dress and a blue shirt, not a café coat"
    result = run_node(["t2i-fashion-mnist", "-n", "1", "--prompt", prompt, "-o", "x.png"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        f"Read {prompt!r} as 'red dress blue shirt coat' (negation ignored: not — the model cannot leave anything out; letters outside a-z not read: café; "
        "several garments: dress, shirt, coat; several colours: red, blue — the model draws one garment in one colour per image)."
    )


# Long prompts: a message quotes the first 60 characters of a caption and lists the first 10 of its words.
LONG_PROMPTS = [
    "zzqx " * 1800,  # 9,000 characters naming no garment or colour: 1,800 unknown words
    "red " * 2000,  # reads as 2,000 words
    "123 " * 100,  # holds no words
    "a red dress" + " zzqx" * 30,  # drawn, 30 unknown words ignored
    "a red dress " + "runing " * 15,  # 15 typos of a phrase word ("running shoe"), each ignored
    "azure " * 11 + "coat",  # 11 synonyms replaced
    "😀" * 70 + " red dress zzqx",  # the cut counts characters as Python does: an emoji is one, not two UTF-16 units
    "a red dress " + "zzqx " * 9 + "zzq",  # 60 characters: quoted whole
    "a red dress " + "zzqx " * 9 + "zzq\n",  # 61, the last a line break: cut before it
    "a red dress " + "z" * 9000,  # one unknown word of 9,000 letters: listed as its first 60
    "a red dress " + "日" * 9900 + " 1" * 40,  # one word of 9,900 letters outside a-z, and 40 numbers
]


def refusal_words(message):
    """A refusal as both ports word it: Python's starts with a capital and ends with advice (and a
    full stop) that JavaScript's lacks, or words its example caption in other quotes."""
    message = message[0].lower() + message[1:]
    return re.split(r"\. Use at least one|\. Shorten it|: describe the image", message)[0]


@needs_node
@pytest.mark.inputs
def test_python_and_javascript_tokenizers_cut_long_captions_and_word_lists_alike(tmp_path):
    for text, ours, theirs in published_readings(LONG_PROMPTS, tmp_path):
        shown = ours.get("error") or ours["note"]
        assert len(shown) < 600 and (len(text) <= 60 or f"… ({len(text)} characters)" in shown), shown
        if "error" in ours:
            assert "error" in theirs and refusal_words(ours["error"]) == refusal_words(theirs["error"]), (ours, theirs)
        else:
            assert ours == theirs


@needs_node
def test_the_javascript_tokenizer_refuses_a_card_whose_golden_entries_it_does_not_reproduce(tmp_path):
    spec = Tokenizer.fit(["a red dress", "a blue coat"], synonyms={"crimson": "red"}).spec(["crimson coat", "a zebra"])
    assert "error" in spec["golden"][1]
    for broken in ({**spec["golden"][0], "ids": [0, 0]}, {**spec["golden"][0], "unknown": ["x"]}, {"caption": "a red dress", "error": "refused"}):
        bad = {**spec, "golden": [broken]}
        (tmp_path / "spec.json").write_text(json.dumps(bad))
        code = f"import fs from 'node:fs'; import {{ Tokenizer }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}'; new Tokenizer(JSON.parse(fs.readFileSync(process.argv[1], 'utf8')));"
        result = subprocess.run(["node", "--input-type=module", "-e", code, str(tmp_path / "spec.json")], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "card.json says" in result.stderr, broken


@needs_node
@pytest.mark.inputs
def test_python_and_javascript_tokenizers_read_alike_with_a_card_of_200_000_synonyms(tmp_path):
    """A card built from a large thesaurus: Math.max(...) over every phrase's length overflowed the
    stack, as over 200,000 garment nouns for the note."""
    import itertools
    import string

    spec = json.loads((ROOT / "exports" / "t2i-fashion-mnist" / "card.json").read_text())["tokenizer"]
    shades = ["".join(letters) for letters in itertools.islice(itertools.product(string.ascii_lowercase, repeat=4), 200_000)]
    spec["synonyms"].update({f"qqq{shade} shade": "red" for shade in shades})
    garments = [["dress"], ["coat"], *([f"qqq{shade} gown"] for shade in shades)]
    texts = ["a qqqabcd shade dress", "a blue coat", "a dress and a coat"]
    readings = node_readings(spec, texts, tmp_path, garments, ["red", "blue"])
    assert readings == [python_reading(Tokenizer.from_spec(spec, garments, ["red", "blue"]), text) for text in texts]
    assert readings[2]["garments"] == ["dress", "coat"]


SHOPPER_PROMPT = "Could you draw two crimson frocks, please? zebra"


@pytest.fixture
def shopper_artifact(tmp_path):
    """The published text-to-image files with a v2 tokenizer over the model's own vocabulary (WordNet
    synonyms, plurals, typos): what the apps do with the new card, without training a model here."""
    from zoo import lexicon
    from zoo.text import words

    if not (lexicon.WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed (scripts/install_system_packages.sh installs it)")
    source = ROOT / "exports" / "t2i-fashion-mnist"
    folder = tmp_path / "t2i-fashion-mnist"
    folder.mkdir()
    shutil.copy(source / "generator.onnx", folder)
    card = json.loads((source / "card.json").read_text())
    vocabulary, rules = card["tokenizer"]["vocabulary"], lexicon.shopper_rules()
    synonyms = {k: v for k, v in rules["synonyms"].items() if k not in vocabulary and set(words(v)) <= set(vocabulary)}
    tokenizer = Tokenizer(vocabulary, card["tokenizer"]["max_length"], synonyms, rules["keywords"], not_typos=rules["not_typos"])
    card["tokenizer"] = tokenizer.spec(lexicon.GOLDEN_CAPTIONS)
    (folder / "card.json").write_text(json.dumps(card))
    return folder, tokenizer


@needs_node
def test_node_app_reads_shopper_wording_as_python_does_and_refuses_a_prompt_without_garment_or_colour(shopper_artifact, tmp_path):
    installed("node")
    folder, tokenizer = shopper_artifact
    command = ["node", str(APPS / "node" / "sample.js"), str(folder), "-n", "4", "--seed", "3", "--scale", "1", "-o", str(tmp_path / "node.png")]
    result = subprocess.run([*command, "--prompt", SHOPPER_PROMPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    analysis = tokenizer.analyse(SHOPPER_PROMPT)
    assert analysis.words == ["red", "dress"] and analysis.unknown == ["two", "zebra"]
    assert result.stderr.strip() == analysis.note()  # one line: synonyms crimson→red, frock→dress; unknown words ignored: two, zebra
    with pytest.warns(UserWarning):  # zoo.text.PromptWarning: how the prompt was read
        python_grid_ = python_grid(folder, 4, seed=3, prompt=SHOPPER_PROMPT)
    assert_same_pixels(np.asarray(Image.open(tmp_path / "node.png").convert("RGB")), python_grid_)  # same seed, same picture
    drawn = (tmp_path / "node.png").read_bytes()
    refused = subprocess.run([*command, "--prompt", "show me something nice"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "names no garment or colour" in refused.stderr and "nice" in refused.stderr
    assert (tmp_path / "node.png").read_bytes() == drawn  # nothing drawn over the earlier picture


@needs_node
@pytest.mark.inputs
def test_node_app_refuses_a_prompt_in_one_line_with_its_control_characters_escaped_as_python_does(tmp_path):
    prompt = "show me\x1b[2J\nsomething nice"  # a line break and an escape sequence (clear the screen) pasted into the prompt
    command = ["node", str(APPS / "node" / "sample.js"), "t2i-fashion-mnist", "--prompt", prompt, "-n", "1", "-o", str(tmp_path / "node.png")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "\x1b" not in result.stderr
    assert result.stderr.startswith(r"error: caption 'show me\x1b[2J\nsomething nice' names no garment or colour"), result.stderr


@needs_node
@pytest.mark.inputs
def test_a_prompt_starting_with_a_dash_draws_the_same_images_in_node_and_the_python_cli(tmp_path, capsys):
    """The argument after --prompt is the caption, whatever it starts with, in both apps: argparse
    took "-red" for an option and refused it, while Node drew it."""
    from zoo.cli import main

    installed("node")
    args = ["t2i-fashion-mnist", "--prompt", "-red", "-n", "4", "--seed", "3", "--scale", "1"]
    node = run_node([*args, "-o", "node.png"], cwd=tmp_path)
    assert node.returncode == 0, node.stderr
    assert main(["sample", *args, "-o", str(tmp_path / "python.png")]) == 0
    drawn = np.asarray(Image.open(tmp_path / "node.png").convert("RGB"))
    assert_same_pixels(drawn, np.asarray(Image.open(tmp_path / "python.png").convert("RGB")))
    assert_same_pixels(drawn, python_grid("t2i-fashion-mnist", 4, seed=3, prompt="red"))  # "-red" reads as "red"


@needs_node
@pytest.mark.inputs
def test_a_pasted_page_as_prompt_is_refused_in_one_short_line_by_node_as_by_python(tmp_path, capsys):
    """9,000 characters of unknown words gave 20 KB of error, the caption and every word quoted; now
    its first 60 characters and first 10 words, with their counts, word for word in both apps."""
    from zoo.cli import main

    installed("node")
    pasted = "zzqx " * 1800
    node = run_node(["t2i-fashion-mnist", "--prompt", pasted, "-n", "1", "-o", "node.png"], cwd=tmp_path)
    assert main(["sample", "t2i-fashion-mnist", "--prompt", pasted, "-n", "1", "-o", str(tmp_path / "python.png")]) == 2
    python = capsys.readouterr().err.strip()
    assert python.startswith("error: Caption 'zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx '… (9000 characters) names no garment")
    assert "(unknown words: zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, … and 1790 more)" in python and len(python) < 600
    assert node.returncode == 2 and node.stderr.count("\n") == 1
    assert node.stderr.strip() == python.replace("error: Caption", "error: caption", 1).removesuffix(".")  # but Python's capital and full stop
    drawn = "a red dress" + " zzqx" * 30  # drawn, and how it was read said in one line
    assert run_node(["t2i-fashion-mnist", "--prompt", drawn, "-n", "1", "-o", "node.png"], cwd=tmp_path).stderr.strip() == (
        "Read 'a red dress zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzqx zzq'… (161 characters) as 'red dress' "
        "(unknown words ignored: zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, zzqx, … and 20 more)."
    )
    assert main(["sample", "t2i-fashion-mnist", "--prompt", drawn, "-n", "1", "-o", str(tmp_path / "python.png")]) == 0
    assert capsys.readouterr().err.strip() == Tokenizer.from_spec(json.loads((ROOT / "exports" / "t2i-fashion-mnist" / "card.json").read_text())["tokenizer"]).analyse(drawn).note()


@needs_node
@needs_chromium
def test_web_page_shows_how_a_prompt_was_read_and_refuses_one_without_garment_or_colour(shopper_artifact, tmp_path):
    installed("web")
    folder, tokenizer = shopper_artifact
    # the artifact's folder URL, not its published name: the test's own card.json would fail the registry's sha256
    _, seen = drive_web_page("../../exports/t2i-fashion-mnist", SHOPPER_PROMPT, "--refuse", "show me something nice", "--card", str(folder / "card.json"))
    assert seen["reading"] == tokenizer.analyse(SHOPPER_PROMPT).note()
    assert seen["second"]["std"] > 2 and seen["second"]["hash"] != seen["first"]["hash"]
    assert "names no garment or colour" in seen["refusal"] and seen["drawsAfterRefusal"] == "2"


@needs_node
@needs_chromium
@pytest.mark.inputs
def test_web_page_shows_a_long_prompt_s_reading_and_refusal_cut_as_python_does():
    installed("web")
    tokenizer = Tokenizer.from_spec(json.loads((ROOT / "exports" / "t2i-fashion-mnist" / "card.json").read_text())["tokenizer"])
    drawn, pasted = "a red dress" + " zzqx" * 30, "zzqx " * 1800
    _, seen = drive_web_page("t2i-fashion-mnist&n=4&scale=1&seed=3", drawn, "--refuse", pasted)
    assert seen["reading"] == tokenizer.analyse(drawn).note() and "… (161 characters)" in seen["reading"]
    with pytest.raises(ValueError) as refused:
        tokenizer.encode(pasted)
    assert seen["refusal"] == str(refused.value).replace("Caption", "caption", 1).removesuffix(".") and len(seen["refusal"]) < 600


@needs_node
@needs_chromium
@pytest.mark.inputs
def test_web_page_reads_a_url_prompt_across_a_line_break_as_python_does():
    """A text box deletes the line breaks of a value set to it: "a\nrde dress" drew "arde dress" (a dress of any colour)."""
    installed("web")
    prompt = "a\nrde dress"
    _, seen = drive_web_page("t2i-fashion-mnist&n=16&scale=1&seed=3&prompt=a%0Arde%20dress")
    first = np.frombuffer(base64.b64decode(seen["first"]["rgb"]), np.uint8).reshape(seen["first"]["height"], seen["first"]["width"], 3)
    with pytest.warns(UserWarning, match="typos rde→red"):
        assert_same_pixels(first, python_grid("t2i-fashion-mnist", 16, seed=3, prompt=prompt))
    assert seen["reading"] == "Read 'a rde dress' as 'red dress' (typos rde→red)."


@needs_node
@pytest.mark.inputs
@pytest.mark.parametrize("options, message", [
    (["--label", "10"], "class id 10 is out of range; the classes are: 0 t-shirt/top"),
    (["--label", "-1"], "class id -1 is out of range"),
    (["--label", "1,2,3", "-n", "2"], "3 labels for 2 images"),
    (["-o", "grid.jpg"], "writes PNG only"),
    (["-n", "100000", "--scale", "64"], "100000 images at scale 64 make a grid of 608768 × 606848 pixels"),
])
def test_node_app_refuses_ids_out_of_range_and_outputs_it_cannot_write(tmp_path, options, message):
    installed("node")
    result = subprocess.run(["node", str(APPS / "node" / "sample.js"), str(ROOT / "exports" / "cgan-fashion-mnist"), *options],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert list(tmp_path.iterdir()) == []


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("output, message", [
    ("grid.png", "-o grid.png is a folder; give a file name in it."),  # zoo.files.check_output_file's words
    ("notes.txt/grid.png", "-o notes.txt/grid.png: notes.txt is a file, not a folder."),
    ("/proc/grid.png", "Cannot write /proc/grid.png: ENOENT: no such file or directory"),  # the output named, not its temporary twin
    ("/proc/new/grid.png", "Cannot write /proc/new/grid.png: ENOENT: no such file or directory"),  # Node's mkdir -p looped here for ever
    ("loop/grid.png", "-o loop/grid.png: loop is a file, not a folder."),  # a loop of links, as Python says; was ELOOP naming the temporary twin
])
def test_node_app_refuses_an_output_it_cannot_write_naming_it(tmp_path, output, message):
    installed("node")
    (tmp_path / "grid.png").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "loop").symlink_to("loop")
    result = run_node(["dcgan-fashion-mnist", "-n", "4", "-o", output], cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {message}", result.stderr
    assert list((tmp_path / "grid.png").iterdir()) == [] and (tmp_path / "notes.txt").read_text() == "mine"


@needs_node
@pytest.mark.files
def test_node_app_refuses_a_card_whose_classes_are_not_a_list(tmp_path):
    installed("node")
    folder = tmp_path / "cgan"
    shutil.copytree(ROOT / "exports" / "cgan-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "classes": "dress"}))
    result = subprocess.run(["node", str(APPS / "node" / "sample.js"), str(folder), "-o", str(tmp_path / "grid.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and 'card.json: classes: "dress" is not a list of at least two class names' in result.stderr
    assert not (tmp_path / "grid.png").exists()
    from zoo.cards import FORMAT_VERSION

    assert f"export const CARD_FORMAT_VERSION = {FORMAT_VERSION};" in (APPS / "common" / "ganzoo.mjs").read_text()
    (folder / "card.json").write_text(json.dumps({**card, "format_version": FORMAT_VERSION + 1}))  # newer: refused, as zoo.cards does
    result = subprocess.run(["node", str(APPS / "node" / "sample.js"), str(folder), "-o", str(tmp_path / "grid.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and f"card.json: format_version: {FORMAT_VERSION + 1}, newer than this app reads (up to {FORMAT_VERSION})" in result.stderr
    assert not (tmp_path / "grid.png").exists()


@needs_node
@pytest.mark.files
def test_node_app_refuses_a_card_that_describes_another_generator_onnx_as_python_does(tmp_path):
    installed("node")
    folder = artifact_with_card(tmp_path / "dcgan", "dcgan-fashion-mnist", card_of_another_graph)
    with pytest.raises(ValueError, match="the card describes another file") as python:
        runtime.load(folder)
    assert node_refusal(folder, tmp_path) == f"error: {python.value}"  # the file, the field and both digests named


@needs_node
@pytest.mark.files
def test_node_app_holds_a_onnx_its_card_does_not_list_to_the_card_s_generator_onnx(tmp_path):
    """Another graph dropped into an artifact folder (here the published one with other bytes) and run
    by its path: the folder's card describes generator.onnx, not it, so it is refused as Python refuses it."""
    import onnx

    installed("node")
    folder = tmp_path / "dcgan"
    shutil.copytree(ROOT / "exports" / "dcgan-fashion-mnist", folder)
    model = onnx.load(folder / "generator.onnx")
    model.doc_string = "another graph"
    onnx.save(model, folder / "other.onnx")
    with pytest.raises(ValueError, match="files.generator.onnx: .* the card describes another file"):
        runtime.load(folder / "other.onnx")
    refusal = node_refusal(folder / "other.onnx", tmp_path)
    assert f"{folder / 'card.json'}: files.generator.onnx: sha256" in refusal
    assert f"but {folder / 'other.onnx'} has" in refusal and "the card describes another file" in refusal
    shutil.copy(folder / "generator.onnx", folder / "copy.onnx")  # the same bytes under another name: the card's graph
    assert run_node([str(folder / "copy.onnx"), "-n", "4", "-o", "grid.png"], cwd=tmp_path).returncode == 0


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("file_name", ["toString.onnx", "__proto__.onnx", "constructor.onnx"])
def test_node_app_holds_a_graph_named_as_a_javascript_object_s_key_to_the_card_s_generator_onnx_as_python_does(tmp_path, file_name):
    """The card's `files` were searched with `in`, which finds every object's keys: a graph file named toString
    was held to Object.prototype.toString, "files.toString: sha256 function toS…", and refused however it read.
    (A graph file now needs the .onnx ending, as in Python; the same names with it are held to generator.onnx.)"""
    installed("node")
    folder = tmp_path / "dcgan"
    shutil.copytree(ROOT / "exports" / "dcgan-fashion-mnist", folder)
    card = json.loads((folder / "card.json").read_text())
    graph = folder / file_name
    shutil.copy(folder / "generator.onnx", graph)  # the card's graph under another name
    runtime.check_listed_digest(card, graph, folder / "card.json")  # Python holds it to generator.onnx: it passes
    drawn = run_node([str(graph), "-n", "4", "-o", "grid.png"], cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    shutil.copy(ROOT / "exports" / "gan-fashion-mnist" / "generator.onnx", graph)  # another graph: refused naming generator.onnx
    with pytest.raises(ValueError) as python:
        runtime.check_listed_digest(card, graph, folder / "card.json")
    refusal = node_refusal(graph, tmp_path)
    described = "the card describes another file."
    assert refusal.startswith(f"error: {folder / 'card.json'}: files.generator.onnx: sha256 ")
    assert refusal.split(described)[0] == f"error: {str(python.value).split(described)[0]}"  # the advice after it is worded apart


@needs_node
@pytest.mark.files
def test_node_app_refuses_a_generator_that_makes_nan_as_python_does(tmp_path):
    """A broken generator (here the published one with a weight tensor made NaN) is refused naming it,
    as `python -m zoo sample` refuses it; toPixel alone would draw black tiles over the earlier picture."""
    import onnx
    from onnx import numpy_helper

    installed("node")
    folder = artifact_with_card(tmp_path / "broken", "dcgan-fashion-mnist", lambda card: without(card, "files"))
    model = onnx.load(folder / "generator.onnx")
    largest = max(model.graph.initializer, key=lambda tensor: np.prod(tensor.dims))
    largest.CopyFrom(numpy_helper.from_array(np.full_like(numpy_helper.to_array(largest), np.nan), largest.name))
    onnx.save(model, folder / "generator.onnx")
    with pytest.raises(ValueError) as python:
        save_grid(runtime.load(folder, optimized=False).generate(4), tmp_path / "python.png", source=folder / "generator.onnx")
    (tmp_path / "grid.png").write_bytes(b"an earlier picture")  # kept
    assert node_refusal(folder, tmp_path) == f"error: {python.value}"


@needs_node
@needs_chromium
@pytest.mark.files
def test_web_page_refuses_a_card_that_describes_another_generator_onnx(tmp_path):
    installed("web")
    folder = artifact_with_card(tmp_path / "dcgan", "dcgan-fashion-mnist", card_of_another_graph)
    url, seen = drive_web_page("../../exports/dcgan-fashion-mnist", "--card", str(folder / "card.json"))
    listed = json.loads((folder / "card.json").read_text())["files"]["generator.onnx"]
    exports = url.split("/apps/")[0] + "/exports/dcgan-fashion-mnist"
    assert seen["failure"] == (f"Could not load the generator: {exports}/card.json: files.generator.onnx: sha256 {listed[:12]}…, but {exports}/generator.onnx "
                               f"has {sha256(ROOT / 'exports' / 'dcgan-fashion-mnist' / 'generator.onnx')[:12]}…: the card describes another file. "
                               "Re-export, or use the generator.onnx the card was written with.")


def without(card, *path):
    """`card` less the field at `path` (keys into nested objects)."""
    card = json.loads(json.dumps(card))
    parent = card
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return card


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("name, change, message", [
    ("dcgan-fashion-mnist", lambda card: without(card, "image_shape"), "card.json: image_shape: missing (must be [height, width, channels]: three whole numbers"),
    ("dcgan-fashion-mnist", lambda card: {**card, "image_shape": [28, 28]}, "card.json: image_shape: [28,28] is not [height, width, channels]"),
    ("dcgan-fashion-mnist", lambda card: {**card, "image_shape": [28, 28.5, 1]}, "card.json: image_shape: [28,28.5,1] is not [height, width, channels]"),
    ("dcgan-fashion-mnist", lambda card: without(card, "name"), "card.json: name: missing (must be a non-empty string)"),
    ("dcgan-fashion-mnist", lambda card: {**card, "format_version": "3"}, 'card.json: format_version: "3" is not a whole number of at least 1'),
    ("dcgan-fashion-mnist", lambda card: without(card, "format_version"), "card.json: format_version: missing (must be a whole number of at least 1)"),
    ("dcgan-fashion-mnist", lambda card: {**card, "files": {"generator.onnx": "abc"}}, 'card.json: files: {"generator.onnx":"abc"} is not an object of sha256 digests'),
    ("cgan-fashion-mnist", lambda card: {**card, "inputs": {**card["inputs"], "label": {**card["inputs"]["label"], "range": [0, "9"]}}},
     'card.json: inputs.label.range: [0,"9"] is not [0, highest id]'),
    ("t2i-fashion-mnist", lambda card: without(card, "tokenizer", "max_length"), "card.json: tokenizer.max_length: missing (must be a whole number in [1, 1024])"),
    ("t2i-fashion-mnist", lambda card: without(card, "tokenizer", "typos"), "card.json: tokenizer.typos: missing (must be {min_length, not_typos})"),
    ("t2i-fashion-mnist", lambda card: {**card, "class_nouns": "dress"}, 'card.json: class_nouns: "dress" is not a list of lists of nouns, one list per garment'),
    ("t2i-fashion-mnist", lambda card: {**card, "colours": ["red"]}, 'card.json: colours: ["red"] is not an object of colours by name'),
])
def test_node_app_refuses_a_card_without_the_fields_it_reads_naming_the_field(tmp_path, name, change, message):
    installed("node")
    folder = artifact_with_card(tmp_path / name, name, change)
    result = run_node([str(folder), "-n", "4", "--prompt", CAPTION] if name.startswith("t2i") else [str(folder), "-n", "4"], cwd=tmp_path)
    assert result.returncode == 2 and f"error: {folder}/{message}" in result.stderr, result.stderr  # the card named by its path
    assert not (tmp_path / "samples.png").exists()


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("tokenizer_type", ["toString", "constructor"])
def test_node_app_refuses_a_tokenizer_type_every_javascript_object_has_as_any_unknown_type(tmp_path, tokenizer_type):
    """The fields to check were looked up by the card's tokenizer type as a plain object key: "toString" found
    Object.prototype's function, "(TOKENIZER_FIELDS[spec.type] || []) is not iterable"."""
    installed("node")
    refusals = []
    for given in (tokenizer_type, "ganzoo-words-v9"):
        folder = artifact_with_card(tmp_path / given, "t2i-fashion-mnist", lambda card: {**card, "tokenizer": {**card["tokenizer"], "type": given}})
        result = run_node([str(folder), "-n", "4", "--prompt", CAPTION], cwd=tmp_path)
        assert result.returncode == 2 and not (tmp_path / "samples.png").exists()
        refusals.append(result.stderr.strip().replace(given, "TYPE"))
    assert refusals[0] == refusals[1] == "error: unsupported tokenizer TYPE"


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("source, card", [
    ("artifact", "artifact/card.json"),
    ("artifact/generator.onnx", "artifact/card.json"),
    ("{tmp_path}/artifact", "{tmp_path}/artifact/card.json"),
])
def test_node_app_names_a_bad_card_field_with_the_card_s_path_as_python_does(tmp_path, source, card):
    """Node said "card.json: latent_dim: ..." where `python -m zoo sample` says "artifact/card.json:
    latent_dim: ...", not saying which card.json. Both name the card's path as the source gives it."""
    installed("node")
    artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", lambda published: {**published, "latent_dim": "x"})
    source, card = source.format(tmp_path=tmp_path), card.format(tmp_path=tmp_path)
    python = subprocess.run([sys.executable, "-m", "zoo", "sample", source, "-n", "4", "-o", "grid.png"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert python.returncode == 2 and python.stderr.startswith(f"error: {card}: latent_dim: "), python.stderr
    assert node_refusal(source, tmp_path).startswith(f"error: {card}: latent_dim: ")  # the value's wording is each port's own


def card_of(name, change=lambda card: card):
    """A function of a card that returns the published `name`'s card less its "files" (so no
    digest ties it to a graph), `change`d: what a hand-edited or copied card says."""
    return lambda _: change(without(json.loads((ROOT / "exports" / name / "card.json").read_text()), "files"))


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("graph, card, message", [
    ("classifier-fashion-mnist/classifier.onnx", card_of("dcgan-fashion-mnist"), "has no input named 'z' (inputs: ['image']): it is not a zoo generator."),
    ("dcgan-fashion-mnist/generator.onnx", card_of("cgan-fashion-mnist"), "card.json: inputs: the card names ['label', 'z'], the graph takes ['z']."),
    ("dcgan-fashion-mnist/generator.onnx", card_of("gan-fashion-mnist"), "card.json: latent_dim: 100, but the graph's z has 65 values per row."),
    ("dcgan-fashion-mnist/generator.onnx", card_of("dcgan-fashion-mnist", lambda card: {**card, "image_shape": [32, 32, 3]}),
     "card.json: image_shape: [32, 32, 3], but the graph makes images of [28, 28, 1]."),
])
def test_node_app_refuses_a_graph_its_card_does_not_describe_as_python_does(tmp_path, graph, card, message):
    """A card without "files" beside another generator's graph, or beside an .onnx that is no
    generator, is refused before anything runs, in Python's words, not by onnxruntime's
    "input 'image' is missing in 'feeds'"."""
    installed("node")
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", card)
    shutil.copy(ROOT / "exports" / graph, folder / "generator.onnx")
    with pytest.raises(ValueError, match=re.escape(message)) as python:
        runtime.load(folder)
    assert node_refusal(folder, tmp_path) == f"error: {python.value}"


@needs_node
@pytest.mark.files
def test_node_app_runs_a_generator_onnx_without_a_card_as_python_does(tmp_path):
    """docs/artifacts.md: a bare .onnx explains itself, and zoo.runtime runs one with no card.json beside it,
    its classes from the metadata. Node refused it ("expected generator.onnx with card.json beside it")."""
    import onnx

    installed("node")
    bare = tmp_path / "bare"
    bare.mkdir()
    cgan = shutil.copy(ROOT / "exports" / "cgan-fashion-mnist" / "generator.onnx", bare / "cgan.onnx")
    result = run_node([str(cgan), "-n", "8", "--seed", "3", "--label", "dress,9", "--scale", "1", "-o", "grid.png"], cwd=tmp_path)
    assert result.returncode == 0 and "Wrote 8 samples of bare to grid.png" in result.stdout, result.stderr  # named by its folder, as zoo.runtime names it
    assert_same_pixels(np.asarray(Image.open(tmp_path / "grid.png").convert("RGB")), python_grid(cgan, 8, seed=3, labels="dress,9"))
    t2i = shutil.copy(ROOT / "exports" / "t2i-fashion-mnist" / "generator.onnx", bare / "t2i.onnx")  # its tokenizer is in its card alone
    with pytest.raises(ValueError, match="takes `tokens` but its card.json has no tokenizer spec") as python:
        runtime.load(t2i).generate(2, prompt=CAPTION)
    assert node_refusal(t2i, tmp_path) == f"error: {python.value}"  # grid.png as the cgan drew it
    model = onnx.load(cgan)
    del model.metadata_props[:]  # a class-conditional graph that names no classes
    onnx.save(model, bare / "nameless.onnx")
    with pytest.raises(ValueError, match="takes a label but neither a card.json nor its ONNX metadata lists its classes") as python:
        runtime.load(bare / "nameless.onnx").generate(2)
    assert node_refusal(bare / "nameless.onnx", tmp_path) == f"error: {python.value}"


@needs_node
@needs_chromium
@pytest.mark.files
def test_web_page_refuses_a_graph_its_card_does_not_describe(tmp_path):
    installed("web")
    folder = artifact_with_card(tmp_path / "dcgan", "dcgan-fashion-mnist", card_of("cgan-fashion-mnist"))
    url, seen = drive_web_page("../../exports/dcgan-fashion-mnist", "--card", str(folder / "card.json"))
    exports = url.split("/apps/")[0] + "/exports/dcgan-fashion-mnist"
    assert seen["failure"] == f"Could not load the generator: {exports}/card.json: inputs: the card names ['label', 'z'], the graph takes ['z']."


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("file, content, message", [
    ("card.json", '{"name": ', "card.json is not valid JSON: Unexpected end of JSON input"),
    ("generator.onnx", "not a graph", "generator.onnx is not a loadable ONNX generator: Failed to load model because protobuf parsing failed."),
])
def test_node_app_names_a_card_or_graph_it_cannot_read(tmp_path, file, content, message):
    installed("node")
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", lambda card: without(card, "files"))
    (folder / file).write_text(content)
    assert node_refusal(folder, tmp_path) == f"error: {folder / file} {message.split(' ', 1)[1]}"


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("name", ["model.bin", "generator.ONNX", "samples.png"])
def test_node_app_refuses_a_file_not_named_onnx_as_python_does(tmp_path, monkeypatch, name):
    """A file of any other name was read as a graph: a copy of generator.onnx as model.bin ran, anything
    else was "not a loadable ONNX generator". `python -m zoo sample` refuses it by its name, before
    opening it, and so does the app now (Python also runs .keras files, which the app names below)."""
    from zoo.cli import resolve_generator

    installed("node")
    shutil.copy(ROOT / "exports" / MIRRORED / "generator.onnx", tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=f"{re.escape(name)} is not a generator: give an artifact folder, a .onnx "):
        resolve_generator(name)
    assert node_refusal(name, tmp_path) == f"error: {name} is not a generator: give an artifact folder, a .onnx file or a published name (see `python -m zoo list`)."
    (tmp_path / "model.keras").write_bytes((tmp_path / name).read_bytes())
    assert node_refusal("model.keras", tmp_path) == ("error: model.keras is a Keras model, which this app does not run: export it "
                                                     "(python -m zoo export model.keras FOLDER) and give the folder, or run `python -m zoo sample model.keras`.")


NOT_A_FILE = {
    "a folder": Path.mkdir,
    "a named pipe": os.mkfifo,  # reading one waits for a writer, for ever: refused before it is read
    "a loop of links": lambda path: path.symlink_to(path.name),
    "a broken link": lambda path: path.symlink_to("nowhere"),
}


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("file", ["card.json", "generator.onnx"])
@pytest.mark.parametrize("thing", NOT_A_FILE)
def test_node_app_names_an_artifact_file_that_is_not_a_file_as_python_does(tmp_path, file, thing):
    """Node said "EISDIR: illegal operation on a directory, read" for a folder and waited for ever on a
    named pipe; Python ran without a card that was not a file."""
    installed("node")
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", lambda card: card)
    (folder / file).unlink()
    NOT_A_FILE[thing](folder / file)
    with pytest.raises(OSError) as python:
        runtime.load(folder)
    assert node_refusal(folder, tmp_path) == f"error: {python.value}"
    assert str(python.value).startswith(f"{folder / file} is ")


@needs_node
@pytest.mark.files
@pytest.mark.parametrize("file", ["card.json", "generator.onnx"])
def test_node_app_names_an_artifact_file_it_may_not_read_as_python_does(tmp_path, file):
    from tests.test_image_folder import without_root_s_read_override

    installed("node")
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", lambda card: card)
    (folder / file).chmod(0)
    as_a_user = without_root_s_read_override()
    node = subprocess.run([*as_a_user, "node", str(APPS / "node" / "sample.js"), str(folder), "-o", str(tmp_path / "node.png")], capture_output=True, text=True, timeout=120)
    python = subprocess.run([*as_a_user, sys.executable, "-m", "zoo", "sample", str(folder), "-o", str(tmp_path / "python.png")], capture_output=True, text=True, timeout=120)
    assert node.returncode == python.returncode == 2
    assert node.stderr.strip() == python.stderr.strip() == f"error: {folder / file} cannot be read: permission denied."


@needs_node
@pytest.mark.inputs
def test_node_app_checks_a_card_against_its_graph_before_drawing_noise_as_python_does(tmp_path):
    """A card whose latent_dim (65,536) is not its graph's asked for 6.5 billion noise values at
    -n 100000 ("Invalid typed array length"), and at -n 20000 drew for minutes, before the graph was read."""
    installed("node")
    wide = card_of("dcgan-fashion-mnist", lambda card: {**card, "latent_dim": 65536, "inputs": {"z": {**card["inputs"]["z"], "shape": ["batch", 65536]}}})
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", wide)
    with pytest.raises(ValueError, match="latent_dim: 65536, but the graph's z has") as python:
        runtime.load(folder)
    result = run_node([str(folder), "-n", "100000", "-o", "grid.png"], cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {python.value}"


@needs_node
@pytest.mark.inputs
def test_node_app_refuses_a_graph_whose_z_width_is_free_before_drawing_noise_as_python_does(tmp_path):
    """The card's latent_dim was held to the graph's z only where the graph fixes its width: beside a graph
    that leaves it free, a card of 65,536 had the app draw 6.5 billion values at -n 100000 ("Invalid typed
    array length"). zoo.runtime.generator_shapes refuses such a graph on loading, card or not; so does Node."""
    import onnx

    installed("node")
    wide = card_of("dcgan-fashion-mnist", lambda card: {**card, "latent_dim": 65536, "inputs": {"z": {**card["inputs"]["z"], "shape": ["batch", 65536]}}})
    folder = artifact_with_card(tmp_path / "artifact", "dcgan-fashion-mnist", wide)
    model = onnx.load(folder / "generator.onnx")
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "width"  # in place of 100
    onnx.save(model, folder / "generator.onnx")
    for card in ("beside", "none"):
        if card == "none":
            (folder / "card.json").unlink()
        with pytest.raises(ValueError, match=re.escape("input 'z' has the shape ['batch', 'width'], but a zoo generator's is 2-dimensional")) as python:
            runtime.load(folder)
        result = run_node([str(folder), "-n", "100000", "-o", "grid.png"], cwd=tmp_path, timeout=60)
        assert result.returncode == 2 and result.stderr.strip() == f"error: {python.value}", card
        assert not (tmp_path / "grid.png").exists()


@needs_node
@pytest.mark.inputs
def test_node_app_refuses_noise_wider_than_an_array_holds_before_drawing_it(tmp_path):
    """A graph that fixes z at 65,536 values a row (the most card.schema.json allows) at -n 100000: 6.5 billion
    values, which the app drew all at once and failed on as "Invalid typed array length". Few images still run."""
    import onnx
    from onnx import TensorProto, helper

    installed("node")
    width = 65536
    graph = helper.make_graph(  # the image is tanh of z's first 784 values
        [helper.make_node("Slice", ["z", "starts", "ends", "axes"], ["head"]), helper.make_node("Reshape", ["head", "shape"], ["pixels"]),
         helper.make_node("Tanh", ["pixels"], ["image"])],
        "wide", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 28, 28, 1])],
        [helper.make_tensor("starts", TensorProto.INT64, [1], [0]), helper.make_tensor("ends", TensorProto.INT64, [1], [784]),
         helper.make_tensor("axes", TensorProto.INT64, [1], [1]), helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 28, 28, 1])])
    wide = card_of("dcgan-fashion-mnist", lambda card: {**card, "latent_dim": width, "inputs": {"z": {**card["inputs"]["z"], "shape": ["batch", width]}}})
    folder = artifact_with_card(tmp_path / "wide", "dcgan-fashion-mnist", wide)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), folder / "generator.onnx")
    few = run_node([str(folder), "-n", "4", "-o", "few.png"], cwd=tmp_path)  # the check lets small calls through
    assert few.returncode == 0 and (tmp_path / "few.png").exists(), few.stderr
    result = run_node([str(folder), "-n", "100000", "-o", "grid.png"], cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        "error: 100,000 latent vectors of 65,536 values and their images are 6,553,600,000 values in one array, "
        "more than the 4,294,967,295 it holds. Ask for fewer images (-n)."), result.stderr
    assert not (tmp_path / "grid.png").exists()


@needs_node
@needs_chromium
@pytest.mark.files
def test_web_page_names_a_card_it_cannot_read_or_find(tmp_path):
    installed("web")
    (tmp_path / "card.json").write_text('{"name": ')
    url, seen = drive_web_page("../../exports/dcgan-fashion-mnist", "--card", str(tmp_path / "card.json"))
    exports = url.split("/apps/")[0] + "/exports"
    assert seen["failure"] == f"Could not load the generator: {exports}/dcgan-fashion-mnist/card.json is not valid JSON: Unexpected end of JSON input"
    url, seen = drive_web_page("../../exports/no-such-generator", missing=("/no-such-generator/card.json", "/no-such-generator/generator.onnx"))
    assert seen["failure"] == f"Could not load the generator: HTTP 404 for {url.split('/apps/')[0]}/exports/no-such-generator/generator.onnx"


@needs_node
@needs_chromium
@pytest.mark.files
def test_web_page_runs_a_generator_onnx_without_a_card_as_node_and_python_do(tmp_path):
    """A folder with generator.onnx and no card.json (here: every card.json answers 404) runs on its graph's
    facts, as zoo.runtime.load and the Node app run it: Python's pixels, the classes from the ONNX metadata,
    named by its folder. The page refused it: "HTTP 404 for .../card.json". A text-to-image graph is refused
    in their words: its tokenizer is in its card alone."""
    installed("web")
    bare = shutil.copy(ROOT / "exports" / "cgan-fashion-mnist" / "generator.onnx", tmp_path / "generator.onnx")
    url, seen = drive_web_page("../../exports/cgan-fashion-mnist&n=8&seed=3&scale=1&label=dress,9", "--no-card", missing="/card.json")
    first = np.frombuffer(base64.b64decode(seen["first"]["rgb"]), np.uint8).reshape(seen["first"]["height"], seen["first"]["width"], 3)
    assert_same_pixels(first, python_grid(tmp_path, 8, seed=3, labels="dress,9"))  # Python, on a folder with no card.json
    assert seen["title"] == "cgan-fashion-mnist" and seen["labelVisible"] and "(no card.json: the graph's own facts)" in seen["source"]
    bare.unlink()
    shutil.copy(ROOT / "exports" / "t2i-fashion-mnist" / "generator.onnx", bare)
    with pytest.raises(ValueError, match="takes `tokens` but its card.json has no tokenizer spec"):
        runtime.load(tmp_path).generate(2, prompt=CAPTION)
    url, seen = drive_web_page("../../exports/t2i-fashion-mnist", "--no-card", missing="/card.json")
    onnx_url = url.split("/apps/")[0] + "/exports/t2i-fashion-mnist/generator.onnx"
    assert seen["failure"] == f"Could not load the generator: {onnx_url} takes `tokens` but its card.json has no tokenizer spec."


@needs_node
@needs_chromium
@pytest.mark.files
def test_web_page_refuses_a_card_without_image_shape_and_shows_a_quality_without_its_numbers(tmp_path):
    installed("web")
    folder = artifact_with_card(tmp_path / "dcgan", "dcgan-fashion-mnist", lambda card: without(card, "image_shape"))
    url, seen = drive_web_page("../../exports/dcgan-fashion-mnist", "--card", str(folder / "card.json"))
    exports = url.split("/apps/")[0] + "/exports/dcgan-fashion-mnist"
    assert seen["failure"] == f"Could not load the generator: {exports}/card.json: image_shape: missing (must be [height, width, channels]: three whole numbers, sides 1 to 4096, channels 1 to 4)"
    (folder / "card.json").write_text(json.dumps({**json.loads((ROOT / "exports" / "dcgan-fashion-mnist" / "card.json").read_text()), "quality": {"fid": 12.5}}))
    _, seen = drive_web_page("../../exports/dcgan-fashion-mnist", "--card", str(folder / "card.json"))  # quality is descriptive: drawn all the same
    assert "failure" not in seen and seen["about"].endswith("Quality: see card.json.") and seen["first"]["std"] > 2


OPTION_FORMS = ["4", " 4 ", "+4", "04", "1e1", "0x4", "0b11", "4.", "2.0", "", "four", "Infinity", "1.5", ".5", "1e0", "-2", "nan", "inf"]


@needs_node
@pytest.mark.inputs
def test_javascript_options_take_the_number_forms_python_s_parser_takes():
    """checkOptions (Node's argv, the page's URL) reads -n, --scale and --truncation as `python -m zoo
    sample` does: decimal integers and decimal numbers, nothing JavaScript's Number() alone would take."""
    from zoo.cli import build_parser
    from zoo.latent import check_truncation

    def python_reads(option, text):
        try:
            value = getattr(build_parser().parse_args(["sample", "x", option, text]), "truncation" if option == "--truncation" else "num_images")
            return check_truncation(value) if option == "--truncation" else value
        except (SystemExit, ValueError):
            return None

    code = (
        f"import {{ checkOptions }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}';"
        "const forms = JSON.parse(process.argv[1]);"
        "const read = (options) => { try { return checkOptions(options); } catch { return null; } };"
        "process.stdout.write(JSON.stringify(forms.map((text) => [read({ n: text }), read({ scale: text }), read({ truncation: text })].map((o, i) => o && [o.n, o.scale, o.truncation][i]))));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", code, json.dumps(OPTION_FORMS)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for text, (n, scale, truncation) in zip(OPTION_FORMS, json.loads(result.stdout)):
        python_n = python_reads("-n", text)
        assert n == (python_n if python_n and python_n >= 1 else None), text
        assert scale == (python_n if python_n and python_n <= 64 and python_n >= 1 else None), text
        assert truncation == python_reads("--truncation", text), text


@needs_node
@needs_chromium
@pytest.mark.inputs
@pytest.mark.parametrize("query, message", [
    ("t2i-fashion-mnist&prompt=a%20red%20dress&prompt=a%20blue%20coat", "--prompt is given more than once; give one (it is drawn in every image)"),
    ("dcgan-fashion-mnist&n=1e1", "-n must be a whole number from 1 to 100000, got 1e1"),
    ("dcgan-fashion-mnist&truncation=", '--truncation must be a number of at least 0.1, got ""'),
    ("dcgan-fashion-mnist&n=100000&scale=64", "100000 images at scale 64 make a grid of 608768 × 606848 pixels (1376.2 GiB of RGBA; "
                                              "at most 65500 a side and 2 GiB): ask for fewer images or a smaller --scale"),
])
def test_web_page_refuses_option_forms_python_refuses(query, message):
    installed("web")
    _, seen = drive_web_page(query)
    assert seen["failure"] == f"Could not load the generator: {message}"


@needs_node
@needs_chromium
@pytest.mark.inputs
def test_web_page_whose_first_draw_is_refused_says_why_and_is_marked_failed():
    installed("web")
    _, seen = drive_web_page("cgan-fashion-mnist&label=unicorn")  # loads, then draws nothing: no such class
    assert seen["failure"].startswith('unknown class "unicorn"; the classes are: 0 t-shirt/top, 1 trouser,')


DIGIT_CLASSES = ["10", "2", "7", "3", "0", "1", "5", "6", "8", "9"]  # e.g. a cgan trained on folders named by digits
DIGIT_LABELS = [[2], ["2"], [10], ["10"], [" 3 "], ["3,2", 0], 2, "2", "7,1", [2.5], [True], ["-1"], [-1], ["x"], "", [None], []]


def label_refusal(message):
    """The kind of a label's refusal, in words both ports use."""
    kinds = [kind for kind in ("unknown class", "out of range", "must be a class id or name", "no labels given") if kind in message.lower()]
    return kinds or message


def python_labels(labels, class_names, n):
    """zoo.labels.resolve_labels's ids, or the kind of its refusal."""
    from zoo.labels import resolve_labels

    try:
        return [int(i) for i in resolve_labels(labels, class_names, n)]
    except ValueError as error:
        return label_refusal(str(error))


@needs_node
@pytest.mark.inputs
def test_javascript_labels_resolve_as_python_s_with_classes_named_by_digits():
    """A number is an id, a string a class name first, else an id: resolveLabels as zoo.labels.resolve_labels."""
    code = (
        f"import {{ resolveLabels }} from '{(APPS / 'common' / 'ganzoo.mjs').as_uri()}';"
        "const [labels, classes] = process.argv.slice(1).map((a) => JSON.parse(a));"
        "process.stdout.write(JSON.stringify(labels.map((l) => { try { return resolveLabels(l, classes, 4); } catch (e) { return e.message; } })));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", code, json.dumps(DIGIT_LABELS), json.dumps(DIGIT_CLASSES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for labels, theirs in zip(DIGIT_LABELS, json.loads(result.stdout)):
        assert python_labels(labels, DIGIT_CLASSES, 4) == (theirs if isinstance(theirs, list) else label_refusal(theirs)), labels
    assert python_labels([2], DIGIT_CLASSES, 1) == [2] and python_labels(["2"], DIGIT_CLASSES, 1) == [1]  # the number: id 2; the string: the class "2"


@needs_node
@needs_chromium
def test_web_page_s_class_menu_draws_the_chosen_id_when_classes_are_named_by_digits(tmp_path):
    installed("web")
    folder = artifact_with_card(tmp_path / "cgan", "cgan-fashion-mnist", lambda card: {**card, "classes": ["1", "0", *card["classes"][2:]]})
    _, seen = drive_web_page("../../exports/cgan-fashion-mnist&n=16&scale=1&seed=3", "--card", str(folder / "card.json"))
    third = np.frombuffer(base64.b64decode(seen["third"]["rgb"]), np.uint8).reshape(seen["third"]["height"], seen["third"]["width"], 3)
    assert_same_pixels(third, python_grid("cgan-fashion-mnist", 16, seed=4, labels=[1]))  # the menu's second entry, id 1 (named "0")
