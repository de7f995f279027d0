"""Shared fixtures: a real slice of Fashion-MNIST, small and fast."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


# Reliability checks are counted by kind and the counts printed at the end of the run (the
# README quotes them): mark a test `@pytest.mark.inputs`, `files` or `faults`.
RELIABILITY_KINDS = {
    "inputs": "bad input gets a clear error",
    "files": "untrusted, damaged or tampered files are refused",
    "faults": "kills, full disks, broken transfers and load lose nothing",
}


def pytest_configure(config):
    for kind, meaning in RELIABILITY_KINDS.items():
        config.addinivalue_line("markers", f"{kind}: reliability check: {meaning}")


def pytest_terminal_summary(terminalreporter):
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
