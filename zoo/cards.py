"""card.json: read strictly, checked against one schema (`card.schema.json`) and against the graph it describes.

Every reader of a card (`zoo.runtime`, `zoo.export.load_keras_model`, `zoo.registry`) goes
through `load_card`, so a card that is not what the contract says (docs/artifacts.md) is
refused with the file and the field named, before anything acts on it: a card that is a list,
`"classes": "dress"`, a class count that the generator's graph does not have, NaN anywhere.
Needs only jsonschema and numpy (no TensorFlow).
"""

import json
from functools import lru_cache
from pathlib import Path

from zoo.files import load_json

SCHEMA_PATH = Path(__file__).with_name("card.schema.json")
# The newest card format this version reads and writes (docs/artifacts.md, "Versions"). 2: the Keras
# weights live in saved_model/'s variable collections (1: separate .weights.h5 files).
FORMAT_VERSION = 2
FAMILY_INPUTS = {  # the graph inputs of the zoo's families; a card's family must agree with its graph
    "gan": {"z"}, "dcgan": {"z"}, "tf-tutorial-dcgan": {"z"}, "cgan": {"z", "label"}, "t2i": {"z", "tokens"},
}


class CardError(ValueError):
    """A card.json that does not follow the schema, or does not describe its generator."""


@lru_cache(maxsize=1)
def schema():
    """The card schema (JSON Schema, draft 2020-12), as a dict."""
    return json.loads(SCHEMA_PATH.read_text())


def load_card(path):
    """The card at `path`, parsed strictly (no NaN) and validated (`validate_card`)."""
    try:
        card = load_json(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise CardError(str(error)) from None
    return validate_card(card, path)


def validate_card(card, path="card.json"):
    """Returns `card` when it follows the schema and agrees with itself; raises `CardError`
    naming `path`, the first wrong field and what is wrong with it."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(card))
    if error is not None:
        raise CardError(f"{path}: {_field(error.absolute_path)}: {_describe(error)}")
    if card["format_version"] > FORMAT_VERSION:
        raise CardError(
            f"{path}: format_version: {card['format_version']}, newer than this ganzoo reads (up to {FORMAT_VERSION}); "
            "upgrade ganzoo to use this artifact."
        )
    z = card["inputs"]["z"]["shape"]
    if len(z) != 2 or z[1] != card["latent_dim"]:
        raise CardError(f"{path}: inputs.z.shape: {z} does not match latent_dim {card['latent_dim']} (expected ['batch', {card['latent_dim']}]).")
    for name, spec in card["inputs"].items():
        declared, high = spec.get("range"), listed_high(card, name)
        if declared is not None and high is not None and declared[1] != high:
            source = "classes" if name == "label" else "tokenizer.vocabulary"
            raise CardError(f"{path}: inputs.{name}.range: {declared} does not match {source} (ids 0 to {high}).")
    return card


def listed_high(card, name):
    """The highest id the card's lists give input `name`: `label` -> len(classes) - 1,
    `tokens` -> vocabulary size - 1; None for other inputs or when the list is missing."""
    if name == "label" and "classes" in card:
        return len(card["classes"]) - 1
    if name == "tokens" and "tokenizer" in card:
        return len(card["tokenizer"]["vocabulary"]) - 1
    return None


def id_ranges(card):
    """The highest valid id of each integer input of `card`: its own `range`, else what its
    lists give (`listed_high`); None when the card does not say."""
    return {
        name: spec["range"][1] if "range" in spec else listed_high(card, name)
        for name, spec in card.get("inputs", {}).items()
        if spec.get("dtype") == "int64"
    }


ONNX_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64"}


def check_against_graph(card, session, path="card.json"):
    """Raises `CardError` when `card` does not describe the onnxruntime `session`'s graph: other
    input names or dtypes, another latent size or image shape, or ids (classes, vocabulary) the
    graph's embedding tables do not hold (the largest id of each is run once)."""
    import numpy as np

    graph = {value.name: value for value in session.get_inputs()}
    if set(graph) != set(card["inputs"]):
        raise CardError(f"{path}: inputs: the card names {sorted(card['inputs'])}, the graph takes {sorted(graph)}.")
    for name, value in graph.items():
        dtype = ONNX_DTYPES.get(value.type, value.type)
        if dtype != card["inputs"][name]["dtype"]:
            raise CardError(f"{path}: inputs.{name}.dtype: {card['inputs'][name]['dtype']}, but the graph takes {dtype}.")
    family = FAMILY_INPUTS.get(card["family"])
    if family is not None and family != set(graph):
        raise CardError(f"{path}: family: {card['family']} generators take {sorted(family)}, but the graph takes {sorted(graph)}.")
    if "classes" in card and not {"label", "tokens"} & set(graph):  # class ids, or the garments captions name
        raise CardError(f"{path}: classes: the card lists classes, but the graph takes no label (nor captions).")
    width = graph["z"].shape[1]
    if isinstance(width, int) and width != card["latent_dim"]:
        raise CardError(f"{path}: latent_dim: {card['latent_dim']}, but the graph's z has {width} values per row.")
    image = session.get_outputs()[0].shape[1:]
    if all(isinstance(d, int) for d in image) and list(image) != list(card["image_shape"]):
        raise CardError(f"{path}: image_shape: {card['image_shape']}, but the graph makes images of {list(image)}.")
    ranges = {name: high for name, high in id_ranges(card).items() if high is not None}
    if not ranges:
        return
    feeds = {"z": np.zeros((1, card["latent_dim"]), np.float32)}
    for name, value in graph.items():
        if name != "z":
            shape = [1 if not isinstance(d, int) else d for d in value.shape]
            feeds[name] = np.full(shape, ranges.get(name, 0), np.int64)
    try:
        session.run(None, feeds)
    except Exception as error:  # onnxruntime's own error types: an id beyond an embedding table
        described = ", ".join(f"{name} {high}" for name, high in ranges.items())
        raise CardError(
            f"{path}: {'classes' if 'label' in ranges else 'tokenizer.vocabulary'}: the graph cannot take the card's largest ids "
            f"({described}): the card lists more than the generator has ({_short(str(error))})."
        ) from None


def _describe(error):
    """jsonschema's message, with the offending value cut short (a card can hold megabytes)."""
    if error.validator == "type":
        return f"{_short(repr(error.instance), 80)} is not of type {error.validator_value!r}"
    return _short(error.message)


def _field(path):
    return ".".join(str(part) for part in path) or "(the card itself)"


def _short(text, limit=300):
    return text if len(text) <= limit else text[:limit] + "..."
