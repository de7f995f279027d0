"""Shared fixtures: a real slice of Fashion-MNIST, small and fast."""

import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Downloads and derived ONNX variants go to a cache of this run's own (subprocesses inherit it),
# never to the user's ~/.cache/ganzoo; tests that need another cache set GANZOO_CACHE themselves.
TEST_CACHE = tempfile.mkdtemp(prefix="ganzoo-test-cache-")
os.environ["GANZOO_CACHE"] = TEST_CACHE

import pytest  # noqa: E402

from zoo import data  # noqa: E402


@pytest.fixture(scope="session")
def fashion_dir():
    """The folder of the real Fashion-MNIST IDX files (installed by `make setup`)."""
    return data.find_data_dir()


@pytest.fixture(scope="session")
def real_batches(fashion_dir):
    """8 batches of 32 real Fashion-MNIST images in [-1, 1], in a fixed order."""
    return data.load_fashion_mnist(batch_size=32, limit=256, shuffle=False)


@pytest.fixture(scope="session")
def labelled_batches(fashion_dir):
    """8 batches of 32 real (image, label) pairs, in a fixed order."""
    return data.load_fashion_mnist(batch_size=32, limit=256, shuffle=False, with_labels=True)


@pytest.fixture
def dead_pid():
    """The pid of a process that has ended (until the system hands it out again)."""
    import subprocess
    import sys

    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True).stdout)


@pytest.fixture
def only_ended_writers_removed(tmp_path, dead_pid):
    """Checks a clean-up of temporaries named by their writer (`zoo.files.writer_mark`) in tmp_path:
    `only_ended_writers_removed(template, clean)` writes one temporary named `template` with each of
    four marks (a folder with `folders=True`), runs `clean()`, and asserts what stays. A pid means
    one process only on one machine and in one pid namespace: another machine's or container's
    temporary (another tag) is kept even with a pid free here, as is this process's own; one of
    ours whose pid has ended goes, and so does an untagged one (the names of versions before the
    tag), judged by its pid alone."""
    from zoo.files import WRITER_TAG, writer_mark

    other_tag = "0badcafe" if WRITER_TAG != "0badcafe" else "1badcafe"
    kept = {f"{other_tag}-{dead_pid}": "another's, its pid free here", writer_mark(os.getpid()): "ours, still writing"}
    removed = {writer_mark(dead_pid): "ours, ended", str(dead_pid): "untagged, ended"}

    def check(template, clean, folders=False):
        names = {mark: template.format(mark=mark) for mark in {**kept, **removed}}
        for name in names.values():
            (tmp_path / name).mkdir() if folders else (tmp_path / name).write_text("half written")
        clean()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[mark] for mark in kept)

    return check


# Reliability checks are counted by kind and the counts printed at the end of the run, and
# written as JSON with --reliability-json (scripts/update_readme_results.py puts them in the
# README): mark a test `@pytest.mark.inputs`, `files` or `faults`.
RELIABILITY_KINDS = {
    "inputs": "bad input gets a clear error",
    "files": "untrusted, damaged or tampered files are refused",
    "faults": "kills, full disks, broken transfers and load lose nothing",
}


# Tests marked `@pytest.mark.backend` need only Keras (training, config, saving, losses,
# checkpoints): `make test` runs them a second time under KERAS_BACKEND=jax. The others need
# TensorFlow itself (SavedModel/ONNX export, tf.distribute, the CLI's TensorFlow paths) and are
# skipped under any other backend.
BACKEND_MARKER = "backend: needs only Keras, so it also runs under KERAS_BACKEND=jax (make test)"


def pytest_addoption(parser):
    parser.addoption("--reliability-json", metavar="PATH", help="write the reliability checks' counts by kind to PATH as JSON")


def pytest_configure(config):
    for kind, meaning in RELIABILITY_KINDS.items():
        config.addinivalue_line("markers", f"{kind}: reliability check: {meaning}")
    config.addinivalue_line("markers", BACKEND_MARKER)


def pytest_collection_modifyitems(config, items):
    import keras

    if keras.backend.backend() == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"needs the TensorFlow backend (not marked `backend`); running on {keras.backend.backend()}")
    for item in items:
        if "backend" not in item.keywords:
            item.add_marker(skip)


def pytest_unconfigure(config):
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, config):
    counts = {kind: {"passed": 0, "failed": 0} for kind in RELIABILITY_KINDS}
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            for kind in RELIABILITY_KINDS:
                if kind in report.keywords:
                    counts[kind][outcome] += 1
    if any(sum(c.values()) for c in counts.values()):
        parts = [f"{kind} {c['passed']}/{c['passed'] + c['failed']}" for kind, c in counts.items()]
        terminalreporter.write_line("reliability checks passed: " + ", ".join(parts))
    if config.getoption("--reliability-json"):
        from zoo.files import atomic_write_json

        atomic_write_json(config.getoption("--reliability-json"), counts)
