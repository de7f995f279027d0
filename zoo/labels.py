"""Class labels given by name or id, turned into the int64 ids a conditional generator takes.

Shared by the Keras models and the command line; needs only numpy, so it also serves apps
that run an exported generator with onnxruntime and read the class names from `card.json`.
"""

import re

import numpy as np


def class_list(class_names):
    """`0 t-shirt/top, 1 trouser, ...`: the classes as a user can name them, for error messages."""
    return ", ".join(f"{index} {name}" for index, name in enumerate(class_names))


def parse_label(label, class_names):
    """One label -> its class id. Accepts an id (int or digit string) or a class name (any case)."""
    lowered = {name.lower(): index for index, name in enumerate(class_names)}
    if isinstance(label, str):
        text = label.strip()
        if text.lower() in lowered:
            return lowered[text.lower()]
        if re.fullmatch(r"-?[0-9]+", text):  # ASCII digits, as the apps read ids (not "²", "٣" or "--3")
            label = int(text)
        else:
            raise ValueError(f"Unknown class {label!r}; the classes are: {class_list(class_names)}.")
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"A label must be a class id or name, got {label!r}; the classes are: {class_list(class_names)}.")
    if not 0 <= label < len(class_names):
        raise ValueError(f"Class id {label} is out of range; the classes are: {class_list(class_names)}.")
    return int(label)


def resolve_labels(labels, class_names, n=None):
    """Returns labels as an int64 array of `n` class ids (or as many as given when `n` is None).

    `labels` is one label or a sequence of them, each an id or a name; a comma-separated string
    ("dress,coat") names several. Fewer labels than `n` are repeated in turn to fill `n` (one
    label gives `n` images of that class); `labels=None` cycles through all classes.
    """
    if labels is None:
        if n is None:
            raise ValueError("Pass the number of images `n` or the `labels` to draw.")
        return np.arange(n, dtype=np.int64) % len(class_names)
    if isinstance(labels, str):
        labels = labels.split(",")
    elif np.ndim(labels) == 0:
        labels = [labels]
    labels = [item for label in labels for item in (label.split(",") if isinstance(label, str) else [label])]
    if not labels:
        raise ValueError(f"No labels given; the classes are: {class_list(class_names)}.")
    ids = np.array([parse_label(label, class_names) for label in labels], dtype=np.int64)
    if n is None or n == len(ids):
        return ids
    if len(ids) > n:
        raise ValueError(f"{len(ids)} labels for {n} images: give at most one label per image (fewer repeat in turn to fill {n}).")
    return np.resize(ids, n)


def check_ids(name, values, high, what="ids"):
    """Returns `values` as an int64 array after checking every entry is a whole number in
    [0, high]; raises ValueError naming the input, the valid range and the first value outside it.

    For the integer inputs of generators (`label`: class ids, `tokens`: vocabulary ids), whose
    embedding lookups would otherwise wrap a negative id to the end of the table (onnxruntime)
    or cast a large one to another (int32): an id out of range draws the wrong thing silently.
    `high` None checks only that ids are whole and not negative.
    """
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise ValueError(f"`{name}` must hold whole numbers ({what}), got dtype {array.dtype}.")
    bad = (array < 0) | (array > high) if high is not None else array < 0
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        valid = f"[0, {high}]" if high is not None else "0 and up"
        raise ValueError(f"`{name}` holds {what} outside {valid}: {array[index]} at index {index if len(index) > 1 else index[0]}.")
    return array.astype(np.int64, copy=False)
