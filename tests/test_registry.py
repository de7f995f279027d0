"""Published generators by name, downloaded from a real HTTP server on 127.0.0.1.

The server serves a copy of `exports/`, as the project's published location would; faults
(tampered bytes, a transfer cut short, HTTP errors, a dropped connection) are made on it.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

import zoo
from zoo import registry, runtime
from zoo.files import sha256, writer_mark

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = ROOT / "exports"


class ArtifactHandler(SimpleHTTPRequestHandler):
    """Serves the server's folder; `server.faults[url path]` makes that file fail on purpose."""

    def do_GET(self):
        self.server.requests.append(self.path)
        fault = self.server.faults.get(self.path)
        if self.server.credentials and self.headers.get("Authorization") != "Basic " + base64.b64encode(self.server.credentials.encode()).decode():
            self.send_error(401)  # a private mirror: basic authentication on every file
        elif fault in (404, 500):
            self.send_error(fault)
        elif fault == "truncate":  # promise the whole file, send a third of it, hang up
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
        elif fault == "drop":  # close the connection without any response
            self.close_connection = True
        elif fault in ("drip", "endless", "oversized", "short"):
            self.send_faulty_body(fault, (Path(self.directory) / self.path.lstrip("/")).read_bytes())
        elif isinstance(fault, str) and fault.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", fault.split(":", 1)[1])
            self.end_headers()
        else:
            super().do_GET()

    def send_faulty_body(self, fault, body):
        """drip: the right length promised, a byte every 0.2 s; endless: no length, bytes forever;
        oversized: a length and body bigger than the file; short: a whole response of half the file."""
        sent = {"drip": body, "endless": None, "oversized": body + b"x" * 10_000_000, "short": body[: len(body) // 2]}[fault]
        self.send_response(200)
        if sent is not None:
            self.send_header("Content-Length", str(len(sent)))
        self.end_headers()
        self.close_connection = True
        try:
            if fault == "drip":
                for byte in sent:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            elif fault == "endless":
                while True:
                    self.wfile.write(b"x" * 65536)
            else:
                self.wfile.write(sent)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def log_message(self, *args):
        pass


class Server:
    def __init__(self, directory):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: ArtifactHandler(*a, directory=str(directory)))
        self.httpd.faults, self.httpd.requests, self.httpd.credentials = {}, [], None
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def faults(self):
        return self.httpd.faults

    @property
    def requests(self):
        return self.httpd.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def name():
    names = registry.names()
    assert names, "zoo/registry.json lists no published generator"
    return "dcgan-fashion-mnist" if "dcgan-fashion-mnist" in names else names[0]


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A copy of exports/ served on 127.0.0.1; the zoo downloads from it into a fresh cache."""
    served = tmp_path / "served"
    shutil.copytree(EXPORTS, served)
    server = Server(served)
    server.folder = served
    monkeypatch.setenv("GANZOO_BASE_URL", server.url)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANZOO_EXPORTS", "")  # download, even from a checkout that holds exports/
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield server
    server.stop()


def cache_listing(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_registry_is_the_data_of_the_published_cards():
    data = registry.load_registry()
    assert data == registry.build_registry(EXPORTS, data["base_url"]), "run scripts/publish.py --registry-only"
    for entry in registry.list_models():
        card = json.loads((EXPORTS / entry.name / "card.json").read_text())
        files = data["models"][entry.name]["files"]
        assert files == entry.files == {**card["files"], "card.json": sha256(EXPORTS / entry.name / "card.json")}
        assert {"generator.onnx", "saved_model/saved_model.pb"} <= set(files)
        assert card["format_version"] == 2 and set(card["keras"]["weights"]) >= {"generator"}  # Keras weights in saved_model/
        assert entry.size_bytes == sum((EXPORTS / entry.name / f).stat().st_size for f in files)
        assert entry.training["command"] and entry.training["seconds"] > 0 and entry.training["machine"]
        assert entry.quality
    classifier = data["assets"]["classifier-fashion-mnist"]  # the metrics' classifier travels the same way
    assert set(classifier["files"]) == {"classifier.keras", "classifier.onnx", "classifier.json"}


@pytest.mark.faults
def test_first_download_then_cached_use_with_the_server_stopped(server, name, tmp_path, monkeypatch):
    folder = registry.fetch(name)
    assert folder == tmp_path / "cache" / name
    files = registry.entry(name)["files"]
    assert {f"/{name}/{relative}" for relative in files} <= set(server.requests)
    for relative, digest in files.items():
        assert sha256(folder / relative) == digest
    images = runtime.load(name).generate(4, seed=0)
    assert images.shape[0] == 4 and np.abs(images).max() <= 1.0 + 1e-6  # tanh in float32: ±1 within an ulp

    server.stop()  # offline from here on: only the cache can answer
    requests_before = len(server.requests)
    assert registry.fetch(name) == folder
    np.testing.assert_array_equal(runtime.load(name).generate(4, seed=0), images)
    assert len(server.requests) == requests_before


def test_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("GANZOO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert registry.cache_dir() == tmp_path / "xdg" / "ganzoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert registry.cache_dir() == tmp_path / "home" / ".cache" / "ganzoo"


@pytest.mark.files
def test_tampered_file_is_refused_and_not_cached(server, name, tmp_path):
    onnx_path = server.folder / name / "generator.onnx"
    data = bytearray(onnx_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_path.write_bytes(bytes(data))
    with pytest.raises(registry.DownloadError, match="sha256"):
        registry.fetch(name)
    cache = tmp_path / "cache" / name
    assert not (cache / "generator.onnx").exists()
    assert set(cache_listing(cache)) < set(registry.entry(name)["files"])  # no temporary files left either


@pytest.mark.faults
def test_truncated_transfer_is_refused_and_leaves_the_cache_as_it_was(server, name, tmp_path):
    server.faults[f"/{name}/generator.onnx"] = "truncate"
    with pytest.raises(registry.DownloadError, match="generator.onnx: .*Connection broken"):
        registry.fetch(name)
    cache = tmp_path / "cache" / name
    assert "generator.onnx" not in cache_listing(cache)

    # A cached copy that no longer matches the registry (an older release, say) stays as it
    # was when its replacement's transfer breaks: nothing half-written takes its place.
    (cache / "generator.onnx").write_bytes(b"an older release")
    before = cache_listing(cache)
    with pytest.raises(registry.DownloadError):
        registry.fetch(name)
    assert cache_listing(cache) == before


@pytest.mark.faults
@pytest.mark.parametrize("fault, message", [(404, "404"), (500, "500"), ("drop", "Could not download")])
def test_http_errors_and_dropped_connections_give_clear_errors(server, name, tmp_path, fault, message):
    server.faults[f"/{name}/card.json"] = fault
    with pytest.raises(registry.DownloadError, match=message) as error:
        registry.fetch(name)
    assert f"{server.url}/{name}/card.json" in str(error.value)
    assert "card.json" not in cache_listing(tmp_path / "cache" / name)


@pytest.mark.inputs
def test_unknown_name_lists_the_known_ones(server, name):
    with pytest.raises(ValueError, match=f"No published generator named 'dcgan-fashon-mnist'. Known names: .*{name}"):
        registry.fetch("dcgan-fashon-mnist")
    with pytest.raises(ValueError, match=name):
        runtime.load("dcgan-fashon-mnist")
    assert server.requests == []


def test_a_checkout_uses_its_own_verified_exports_without_download(name, tmp_path, monkeypatch):
    monkeypatch.delenv("GANZOO_EXPORTS", raising=False)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANZOO_BASE_URL", "http://127.0.0.1:9")  # nothing listens: a download would fail
    assert registry.fetch(name) == EXPORTS / name
    local = tmp_path / "exports"
    shutil.copytree(EXPORTS / name, local / name)
    (local / name / "generator.onnx").write_bytes(b"altered")
    monkeypatch.setenv("GANZOO_EXPORTS", str(local))
    with pytest.raises(registry.DownloadError, match=f"Not used: {local / name}, whose files do not match the registry's sha256"):
        registry.fetch(name)  # an altered local copy is not used: download instead, and say why it was not used


def test_a_damaged_cached_file_that_cannot_be_downloaded_again_is_named_as_damaged(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_EXPORTS", "")  # no checkout copy: the cache is all there is
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    shutil.copytree(EXPORTS / name, tmp_path / "cache" / name)
    cached = tmp_path / "cache" / name / "generator.onnx"
    cached.write_bytes(cached.read_bytes()[:1000])  # cut short: a disk that filled, a copy stopped
    monkeypatch.setenv("GANZOO_BASE_URL", "http://127.0.0.1:9")  # offline: nothing listens
    with pytest.raises(registry.DownloadError, match=f"Not used either: the cached {cached}, damaged"):
        registry.fetch(name)
    assert cached.stat().st_size == 1000  # kept as it was, for the user to look at


@pytest.mark.inputs
@pytest.mark.parametrize("url", ["notaurl", "http://[::1", "ftp://example.org/exports", "https://"])
def test_a_base_url_that_is_not_an_http_url_is_refused_naming_the_variable(url, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_EXPORTS", "")
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANZOO_BASE_URL", url)
    with pytest.raises(registry.DownloadError, match="GANZOO_BASE_URL is .*, not an http or https URL of a mirror of exports/"):
        registry.fetch(registry.names()[0])


@pytest.mark.inputs
@pytest.mark.faults
def test_a_private_mirror_takes_its_user_name_and_password_from_netrc_not_from_the_url(server, name, tmp_path, monkeypatch):
    """A mirror behind basic authentication: its credentials go in ~/.netrc (here the file $NETRC
    names), which requests reads; in GANZOO_BASE_URL they are refused (Node's fetch refuses them,
    and every message would show them), and without them the download fails naming HTTP 401."""
    server.httpd.credentials = "mirror:s3cret"
    with pytest.raises(registry.DownloadError, match="401"):
        registry.fetch(name)
    monkeypatch.setenv("GANZOO_BASE_URL", server.url.replace("http://", "http://mirror:s3cret@"))
    with pytest.raises(registry.DownloadError, match="user name or password in it is not supported.*~/.netrc") as refused:
        registry.fetch(name)
    assert "s3cret" not in str(refused.value) and "mirror:***@127.0.0.1" in str(refused.value)  # nor does the refusal show it
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login mirror password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("GANZOO_BASE_URL", server.url)
    monkeypatch.setenv("NETRC", str(netrc))
    folder = registry.fetch(name)
    assert all(sha256(folder / relative) == digest for relative, digest in registry.entry(name)["files"].items())


def test_a_cache_that_cannot_take_files_is_refused_naming_the_variable_before_any_download(server, name, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("mine")
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "a-file"))
    with pytest.raises(registry.DownloadError, match=f"{name} is not here yet and cannot be downloaded into {tmp_path / 'a-file' / name}: "
                                                     f"Not a directory. GANZOO_CACHE is '{tmp_path / 'a-file'}'; point it at a folder you can write"):
        registry.fetch(name)
    assert (tmp_path / "a-file").read_text() == "mine" and server.requests == []


def test_list_models_shows_quality_before_download(name):
    models = zoo.list_models()
    assert [model.name for model in models] == registry.names()
    entry = next(model for model in models if model.name == name)
    assert entry.family and entry.dataset and entry.size_bytes > 0 and entry.image_shape == (28, 28, 1)
    fid = registry.load_registry()["models"][name]["quality"]["fid"]
    assert repr(entry) == f"PublishedModel({name!r}, family={entry.family!r}, images=28×28×1, quality='FID {fid:.2f} (floor 0.27)', size='{entry.size_bytes / 2**20:.1f} MiB')"
    assert "class 0." in next(model for model in models if model.family == "t2i").quality_summary


def test_locate_says_where_a_verified_copy_is_and_the_cli_lists_it(name, tmp_path, monkeypatch, capsys):
    from zoo import cli

    monkeypatch.delenv("GANZOO_EXPORTS", raising=False)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    assert registry.locate(name) == (EXPORTS / name, "exports")
    monkeypatch.setenv("GANZOO_EXPORTS", "")
    assert registry.locate(name) is None
    shutil.copytree(EXPORTS / name, tmp_path / "cache" / name)
    assert registry.locate(name) == (tmp_path / "cache" / name, "cache")
    (tmp_path / "cache" / name / "card.json").write_text("{}")  # an altered copy is no copy
    assert registry.locate(name) is None
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    for model in registry.list_models():
        assert model.name in printed and model.size in printed
    assert f"{name}" in printed and "no: downloads on first use" in printed


def test_cli_samples_a_published_name(server, name, tmp_path):
    out = tmp_path / "grid.png"
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "sample", name, "-n", "64", "-o", str(out)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert f"Wrote 64 samples to {out}" in result.stdout
    grid = np.asarray(Image.open(out))
    assert grid.std() > 10  # 64 generated garments, not a blank picture

    unknown = subprocess.run([sys.executable, "-m", "zoo", "sample", "no-such-model"], capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and name in unknown.stderr


def test_load_generator_gives_the_keras_model_of_the_onnx_artifact(server, name):
    model = zoo.load_generator(name)
    generator = runtime.load(name)
    card = generator.card
    assert model.family == card["family"] and model.latent_dim == card["latent_dim"]
    if set(generator.inputs) == {"z"}:
        np.testing.assert_allclose(model.generate(8, seed=0), generator.generate(8, seed=0), atol=1e-4)
    inputs = model.export_example(8, seed=1)
    np.testing.assert_allclose(np.asarray(model.export_call(inputs)), generator(**inputs), atol=1e-4)


@pytest.mark.parametrize("published", registry.names())
def test_every_published_generator_rebuilds_in_keras_with_the_images_of_its_onnx_file(published):
    model = zoo.load_generator(published)  # from this checkout's exports/, checked against the registry
    assert model.family == registry.entry(published)["family"]
    inputs = model.export_example(8, seed=2)
    np.testing.assert_allclose(np.asarray(model.export_call(inputs)), runtime.load(published)(**inputs), atol=1e-4)


FETCH = "import sys; from zoo import registry; print(registry.fetch(sys.argv[1]))"


@pytest.mark.faults
def test_two_processes_fetching_the_same_model_at_once_both_get_a_valid_cache(server, name, tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", FETCH, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], [err[-1500:] for _, err in outputs]
    folder = tmp_path / "cache" / name
    assert {out.strip() for out, _ in outputs} == {str(folder)}
    for relative, digest in registry.entry(name, registry.load_registry())["files"].items():
        assert sha256(folder / relative) == digest


@pytest.mark.faults
def test_a_partial_file_left_by_a_killed_process_is_replaced_by_a_whole_one(server, name, tmp_path):
    folder = registry.fetch(name)
    whole = (folder / "generator.onnx").read_bytes()
    (folder / "generator.onnx").write_bytes(whole[: len(whole) // 2])  # as a non-atomic writer killed mid-file leaves it
    (folder / "tmpabc123").write_bytes(whole[:1000])  # and a temporary file nobody renamed
    assert registry.fetch(name) == folder
    assert (folder / "generator.onnx").read_bytes() == whole
    np.testing.assert_array_equal(runtime.load(folder).generate(2, seed=0).shape, (2, *runtime.load(folder).image_shape))


@pytest.mark.faults
def test_offline_without_a_cached_copy_gives_a_clear_error(server, name, tmp_path):
    server.stop()
    with pytest.raises(registry.DownloadError, match="Could not download"):
        registry.fetch(name)
    assert not any(p.is_file() and not p.name.startswith("tmp") for p in (tmp_path / "cache").rglob("*"))


@pytest.mark.files
def test_a_folder_here_named_like_a_published_generator_does_not_stand_in_for_it(server, name, tmp_path, monkeypatch):
    """`load("dcgan-fashion-mnist")` means the published, verified files: a same-named folder in
    the current directory (planted or the user's own) is not run in its place, and a warning says
    which files run; `./name` runs the folder."""
    work = tmp_path / "work"
    shutil.copytree(EXPORTS / name, work / name)
    model = onnx.load(str(work / name / "generator.onnx"))
    for tensor in model.graph.initializer:  # another generator: every float weight zeroed
        if tensor.data_type == onnx.TensorProto.FLOAT:
            tensor.CopyFrom(onnx.numpy_helper.from_array(np.zeros_like(onnx.numpy_helper.to_array(tensor)), tensor.name))
    onnx.save(model, str(work / name / "generator.onnx"))
    card = json.loads((work / name / "card.json").read_text())  # a card of its own: runtime checks the graph's sha256
    card["files"]["generator.onnx"] = sha256(work / name / "generator.onnx")
    (work / name / "card.json").write_text(json.dumps(card))
    monkeypatch.chdir(work)
    with pytest.warns(UserWarning, match=f"Running the published {name} from .*{work / name}.*not that generator"):
        published = runtime.load(name)
    assert published.path == tmp_path / "cache" / name / "generator.onnx" and published.published == name
    assert "files verified against the registry" in published.describe()
    folder = runtime.load(f"./{name}")
    assert folder.published is None and folder.path.resolve() == (work / name / "generator.onnx")
    inputs = {key: value for key, value in zoo.load_generator(name).export_example(2, seed=0).items()}
    assert np.abs(published(**inputs)).max() > 0.1 and not np.allclose(published(**inputs), folder(**inputs))

    result = subprocess.run([sys.executable, "-m", "zoo", "sample", name, "-n", "4", "-o", "grid.png"], capture_output=True,
                            text=True, timeout=300, cwd=work)
    assert result.returncode == 0, result.stderr
    assert f"Generator: {tmp_path / 'cache' / name / 'generator.onnx'} (the published {name}" in result.stdout
    assert "not that generator" in result.stderr


def test_run_from_inside_exports_the_published_folder_is_not_called_another_generator(name, tmp_path):
    """In exports/ itself, the folder ./name is the published copy that runs: the summary line does
    not say "the folder ./name here is not it" of the very folder it ran (it did)."""
    result = subprocess.run([sys.executable, "-m", "zoo", "sample", name, "-n", "4", "-o", str(tmp_path / "grid.png")], capture_output=True,
                            text=True, timeout=300, cwd=EXPORTS, env={**os.environ, "GANZOO_EXPORTS": str(EXPORTS)})
    assert result.returncode == 0, result.stderr
    assert f"published {name} (this checkout's exports/, sha256-checked)" in result.stdout
    assert "here is not it" not in result.stdout and "not that generator" not in result.stderr


@pytest.mark.faults
def test_a_server_dripping_bytes_is_stopped_at_the_deadline(server, name, tmp_path):
    server.faults[f"/{name}/card.json"] = "drip"  # 5 bytes a second: every read returns, none times out
    started = time.monotonic()
    with pytest.raises(registry.DownloadError, match=f"{server.url}/{name}/card.json took more than 2 s .*stopped"):
        registry.fetch(name, deadline=2)
    assert time.monotonic() - started < 2 + 10  # all files before card.json, then the 2 s deadline
    assert "card.json" not in cache_listing(tmp_path / "cache" / name)
    assert not [p for p in (tmp_path / "cache").rglob("*.part")]


@pytest.mark.faults
def test_an_endless_stream_is_cut_at_the_registrys_size(server, name, tmp_path):
    server.faults[f"/{name}/card.json"] = "endless"
    size = registry.entry(name)["sizes"]["card.json"]
    started = time.monotonic()
    with pytest.raises(registry.DownloadError, match=f"card.json sends more than the {size:,} bytes of the published file"):
        registry.fetch(name)
    assert time.monotonic() - started < 60
    assert sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file()) < 2 * registry.entry(name)["size_bytes"]
    assert not [p for p in (tmp_path / "cache").rglob("*.part")]


@pytest.mark.faults
@pytest.mark.parametrize("fault, message", [("oversized", "announces .* bytes; the published file has"),
                                            ("short", "sent .* bytes; the published file has")])
def test_a_file_of_the_wrong_size_is_refused_naming_both_sizes(server, name, tmp_path, fault, message):
    server.faults[f"/{name}/generator.onnx"] = fault
    with pytest.raises(registry.DownloadError, match=message):
        registry.fetch(name)
    assert "generator.onnx" not in cache_listing(tmp_path / "cache" / name)


@pytest.mark.files
def test_a_redirect_to_a_local_file_is_reported_as_what_it_is(server, name, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the cache")
    server.faults[f"/{name}/card.json"] = f"redirect:file://{secret}"
    with pytest.raises(registry.DownloadError, match=f"card.json redirects to file://{secret}: only http and https are followed"):
        registry.fetch(name)
    assert not any(p.read_bytes() == secret.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    server.faults[f"/{name}/card.json"] = f"redirect:/{name}/card.json?again"  # http redirects are followed
    server.faults[f"/{name}/card.json?again"] = None
    assert registry.fetch(name) == tmp_path / "cache" / name


@pytest.mark.faults
def test_the_partial_file_of_a_download_killed_midway_is_cleaned_on_the_next_fetch(server, name, tmp_path):
    server.faults[f"/{name}/card.json"] = "drip"
    process = subprocess.Popen([sys.executable, "-c", FETCH, name])
    folder = tmp_path / "cache" / name
    deadline = time.monotonic() + 120
    while not list(folder.glob(f".card.json.{writer_mark(process.pid)}.part")):
        assert process.poll() is None and time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert list(folder.glob(".card.json.*.part"))  # left behind by the killed process
    server.faults.clear()
    assert registry.fetch(name) == folder
    assert not list(folder.rglob("*.part"))


@pytest.mark.faults
def test_partial_downloads_of_another_machine_or_container_are_kept_whatever_their_pid(tmp_path, only_ended_writers_removed):
    # A cache shared by containers or machines ($GANZOO_CACHE on a volume): a partial file tagged by
    # another may be a live download's there.
    only_ended_writers_removed(".card.json.{mark}.part", lambda: registry.remove_stale_partial_files(tmp_path))
