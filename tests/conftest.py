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
