"""Loading `.keras` model files safely.

Only the Keras 3 `.keras` format is loaded, always with `safe_mode=True`: a file carrying a
Python lambda or naming a class outside Keras and the zoo is refused before any of its code
runs. Legacy `.h5` model files are refused outright (they ignore safe mode, CVE-2025-9905).
"""

import zipfile
from pathlib import Path


def load_model(path):
    """Loads a zoo model from a `.keras` file in safe mode; raises a clear error otherwise."""
    import keras

    import zoo.models  # noqa: F401  (registers the zoo's classes for deserialisation)

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: expected a .keras model file; legacy .h5 and other formats are not loaded.")
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a whole .keras file (truncated or corrupt: not a zip archive).")
    with zipfile.ZipFile(path) as archive:
        damaged = archive.testzip()
    if damaged is not None:
        raise ValueError(f"{path} is corrupt: member {damaged!r} fails its checksum.")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Refused to load {path}: {error}") from error


def load_gan(path):
    """`load_model` for commands that need a zoo GAN (sample, export): anything else in a valid
    `.keras` file (a classifier, a plain Keras model) is refused with a message that says so."""
    from zoo.models.base import BaseGAN

    model = load_model(path)
    if not isinstance(model, BaseGAN):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a zoo GAN (what `python -m zoo train` writes): it has no generator to use.")
    return model
