"""Captioned images for text-to-image models: colourised Fashion-MNIST, or your own folder.

Colourised Fashion-MNIST is built offline from the real images: each garment (white on black)
is tinted with one of `COLOURS` and captioned from a template and a synonym of its class
("a red dress", "red colored dress", "a dress in red", "dress, red", "a boot in blue" ...).
Two things are held out of training to measure generalisation:

- `HELD_OUT_COMBINATIONS`: (class, colour) pairs never seen in training (compositional
  generalisation: a blue dress, when dresses and blue things were seen apart);
- `HELD_OUT_TEMPLATES`: phrasings never seen in training (robustness to new wording; their
  new words are unknown to the tokenizer).

```python
data = colourised_fashion_mnist("train", seed=0)           # seen combinations, training phrasings
data.images.shape, data.captions[0]                         # (60000, 28, 28, 3) uint8, 'a red dress'
tokenizer = Tokenizer.fit(data.captions, max_length=12)
dataset = matching_dataset(data, tokenizer, batch_size=64)  # {"images", "tokens", "wrong_tokens"}
```

Your own data (e.g. the CUB-200 or Oxford-102 captions of Reed et al. 2016): a folder of images
with a captions file, `captions.csv` (columns `image,caption`, optional `label`) or
`captions.jsonl` (one `{"image": ..., "caption": ..., "label": ...}` per line); an image may
have many rows. `load_captioned_folder(folder, image_size=32)` reads it.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import functools

import numpy as np

from zoo import data as fashion_data

COLOURS = {  # name -> RGB of the tint; the garment's grey level scales it
    "red": (230, 30, 30),
    "orange": (250, 140, 0),
    "yellow": (245, 230, 20),
    "green": (30, 180, 50),
    "blue": (40, 90, 255),
    "purple": (150, 40, 210),
    "pink": (255, 120, 200),
    "white": (240, 240, 240),
}
COLOUR_NAMES = tuple(COLOURS)
CLASS_NAMES = fashion_data.CLASS_NAMES
CLASS_NOUNS = (  # the words captions use for each Fashion-MNIST class
    ("t-shirt", "top", "tee"),
    ("trousers", "pants"),
    ("pullover", "sweater", "jumper"),
    ("dress", "gown"),
    ("coat", "jacket"),
    ("sandal", "sandals"),
    ("shirt", "blouse"),
    ("sneaker", "trainers"),
    ("bag", "handbag"),
    ("ankle boot", "boot"),
)
TRAIN_TEMPLATES = (
    "a {colour} {noun}",
    "{colour} colored {noun}",
    "a {noun} in {colour}",
    "{noun}, {colour}",
    "{colour} {noun}",
    "the {noun} is {colour}",
    "a {colour} coloured {noun}",
)
HELD_OUT_TEMPLATES = (
    "a photo of a {colour} {noun}",
    "{noun} that is {colour}",
    "my {noun} is {colour}",
    "{colour}: {noun}",
)
# One held-out pair per colour, each class at most once; "a blue dress" is the showcase.
HELD_OUT_COMBINATIONS = (
    ("t-shirt/top", "green"),
    ("trouser", "orange"),
    ("dress", "blue"),
    ("coat", "pink"),
    ("sandal", "white"),
    ("sneaker", "red"),
    ("bag", "yellow"),
    ("ankle boot", "purple"),
)
HELD_OUT_IDS = frozenset((CLASS_NAMES.index(c), COLOUR_NAMES.index(k)) for c, k in HELD_OUT_COMBINATIONS)
MAX_FOLDER_ROWS = 1_000_000
MAX_CAPTION_WORDS = 12  # T of the tokenizer: training captions have at most 5 words; room for longer prompts


@dataclass
class CaptionedImages:
    """Images with one caption each, and their attributes when known.

    Attributes:
        images: uint8 (n, H, W, 3).
        captions: n strings.
        labels: int32 (n,) class ids, or None.
        colours: int32 (n,) ids into `COLOUR_NAMES`, or None.
        groups: int64 (n,): two rows of the same group describe the same thing; a mismatched
            caption is always drawn from another group.
    """

    images: np.ndarray
    captions: list
    labels: np.ndarray = None
    colours: np.ndarray = None
    groups: np.ndarray = None

    def __len__(self):
        return len(self.captions)


def card_facts():
    """What a colourised Fashion-MNIST text-to-image card.json says about its captions."""
    return {
        "classes": list(CLASS_NAMES),
        "class_nouns": [list(nouns) for nouns in CLASS_NOUNS],
        "colours": {name: list(rgb) for name, rgb in COLOURS.items()},
        "caption_templates": {"training": list(TRAIN_TEMPLATES), "held_out": list(HELD_OUT_TEMPLATES)},
        "held_out_combinations": [list(pair) for pair in HELD_OUT_COMBINATIONS],
    }


def colourise(images, colours):
    """Tints grey images (n, H, W, 1) uint8 with colour ids (n,): pixel = grey / 255 · RGB."""
    rgb = np.asarray([COLOURS[name] for name in COLOUR_NAMES], np.float32)[np.asarray(colours)]
    tinted = images.astype(np.float32) / 255.0 * rgb[:, None, None, :]
    return np.clip(np.rint(tinted), 0, 255).astype(np.uint8)


def caption(label, colour, template, noun_index=0):
    """The caption of class id `label` in colour id `colour` by `template` and synonym `noun_index`."""
    nouns = CLASS_NOUNS[label]
    return template.format(colour=COLOUR_NAMES[colour], noun=nouns[noun_index % len(nouns)])


def combinations(held_out=False):
    """(class id, colour id) pairs: the training ones, or the held-out ones."""
    pairs = [(label, colour) for label in range(len(CLASS_NAMES)) for colour in range(len(COLOUR_NAMES))]
    return [pair for pair in pairs if (pair in HELD_OUT_IDS) == held_out]


def colourised_fashion_mnist(split="train", combos="seen", templates=TRAIN_TEMPLATES, seed=0, limit=None, data_dir=None):
    """Real Fashion-MNIST garments, colourised and captioned.

    Args:
        split: "train" or "test".
        combos: "seen" (colours drawn among the pairs kept for training), "held_out" (only the
            held-out pairs, for evaluation) or "all".
        templates: the caption templates to draw from.
        seed: seed of the colour, template and synonym draws.
        limit: keep the first `limit` garments.
        data_dir: folder of the Fashion-MNIST IDX files (see `zoo.data`).
    """
    if combos not in ("seen", "held_out", "all"):
        raise ValueError(f"`combos` must be 'seen', 'held_out' or 'all', got {combos!r}.")
    grey, labels = fashion_data.load_arrays(split, data_dir)
    if limit is not None:
        grey, labels = grey[:limit], labels[:limit]
    labels = labels.astype(np.int32)
    rng = np.random.default_rng(seed)
    allowed = {
        "seen": combinations(held_out=False),
        "held_out": sorted(HELD_OUT_IDS),
        "all": combinations(False) + combinations(True),
    }[combos]
    colours_of = {label: [c for l, c in allowed if l == label] for label in range(len(CLASS_NAMES))}
    keep = np.array([bool(colours_of[label]) for label in labels])
    grey, labels = grey[keep], labels[keep]
    colours = np.array([rng.choice(colours_of[label]) for label in labels], np.int32)
    template_ids = rng.integers(len(templates), size=len(labels))
    noun_ids = rng.integers(6, size=len(labels))
    captions = [caption(l, c, templates[t], n) for l, c, t, n in zip(labels, colours, template_ids, noun_ids)]
    groups = labels.astype(np.int64) * len(COLOUR_NAMES) + colours
    return CaptionedImages(colourise(grey, colours), captions, labels, colours, groups)


def load_captioned_folder(folder, captions_file=None, image_size=32):
    """Reads your own captioned images: a folder of images and a CSV or JSON-lines captions file.

    Args:
        folder: the folder; image paths in the captions file are relative to it.
        captions_file: default: `captions.csv` or `captions.jsonl` in `folder`.
        image_size: images are converted to RGB and resized to `image_size` square.

    Rows with the same `label` (or, without labels, the same image) form a group: mismatched
    captions for the matching-aware discriminator come from other groups.
    """
    from PIL import Image

    folder = Path(folder)
    if captions_file is None:
        found = [folder / name for name in ("captions.csv", "captions.jsonl") if (folder / name).is_file()]
        if not found:
            raise FileNotFoundError(f"No captions.csv or captions.jsonl in {folder}.")
        captions_file = found[0]
    rows = _read_caption_rows(Path(captions_file))
    images, captions, labels, cache = [], [], [], {}
    root = folder.resolve()
    for number, row in enumerate(rows, 1):
        relative = str(row.get("image") or "")
        text = row.get("caption")
        if not relative or not isinstance(text, str) or not text.strip():
            raise ValueError(f"{captions_file}, row {number}: needs a non-empty 'image' and 'caption'.")
        path = (folder / relative).resolve()
        if root not in path.parents:
            raise ValueError(f"{captions_file}, row {number}: image {relative!r} is outside {folder}.")
        if relative not in cache:
            if not path.is_file():
                raise FileNotFoundError(f"{captions_file}, row {number}: no image file {path}.")
            with Image.open(path) as image:
                cache[relative] = np.asarray(image.convert("RGB").resize((image_size, image_size), Image.BILINEAR), np.uint8)
        images.append(cache[relative])
        captions.append(text)
        labels.append(row.get("label"))
    if not captions:
        raise ValueError(f"{captions_file} holds no captions.")
    has_labels = all(label not in (None, "") for label in labels)
    keys = labels if has_labels else [row["image"] for row in rows]
    ids = {key: index for index, key in enumerate(dict.fromkeys(str(k) for k in keys))}
    groups = np.array([ids[str(key)] for key in keys], np.int64)
    return CaptionedImages(np.stack(images), captions, groups.astype(np.int32) if has_labels else None, None, groups)


def _read_caption_rows(path):
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"image", "caption"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: a captions CSV needs the columns 'image' and 'caption' (found {reader.fieldnames}).")
            rows = [row for _, row in zip(range(MAX_FOLDER_ROWS + 1), reader)]
    elif path.suffix in (".jsonl", ".json"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as error:
                        raise ValueError(f"{path}, line {number}: not JSON ({error}).") from error
                    if not isinstance(row, dict):
                        raise ValueError(f"{path}, line {number}: expected an object with 'image' and 'caption'.")
                    rows.append(row)
    else:
        raise ValueError(f"{path}: captions must be a .csv or .jsonl file.")
    if len(rows) > MAX_FOLDER_ROWS:
        raise ValueError(f"{path} has more than {MAX_FOLDER_ROWS} rows.")
    return rows


def mismatched_indices(groups, rng):
    """For each row, a random other row of another group (uniform over those rows).

    Reed et al. 2016's matching-aware discriminator scores a real image with a caption that does
    not describe it as fake; drawing from other groups (not shifting captions within a batch)
    makes sure the caption really differs.
    """
    groups = np.asarray(groups)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, groups, "left")
    sizes = np.searchsorted(sorted_groups, groups, "right") - starts
    if np.any(sizes == len(groups)):
        raise ValueError("All captions describe one group: there is no mismatched caption to draw.")
    draws = (rng.random(len(groups)) * (len(groups) - sizes)).astype(np.int64)
    return order[np.where(draws < starts, draws, draws + sizes)]


def matching_dataset(captioned, tokenizer, batch_size=64, seed=0, truncate=True):
    """A `tf.data.Dataset` of dicts {"images" in [-1, 1], "tokens", "wrong_tokens"}, reshuffled
    and with fresh mismatched captions every epoch."""
    import tensorflow as tf

    if len(captioned) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(captioned)} captioned images.")
    images = fashion_data.to_unit_range(captioned.images)
    tokens = tokenizer(captioned.captions, truncate=truncate)
    groups = captioned.groups if captioned.groups is not None else np.arange(len(captioned))
    rng = np.random.default_rng(seed)

    def epoch():
        wrong = mismatched_indices(groups, rng)
        order = rng.permutation(len(captioned))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = np.sort(order[start : start + batch_size])
            yield {"images": images[rows], "tokens": tokens[rows], "wrong_tokens": tokens[wrong[rows]]}

    signature = {
        "images": tf.TensorSpec((batch_size, *images.shape[1:]), tf.float32),
        "tokens": tf.TensorSpec((batch_size, tokens.shape[1]), tf.int64),
        "wrong_tokens": tf.TensorSpec((batch_size, tokens.shape[1]), tf.int64),
    }
    dataset = tf.data.Dataset.from_generator(epoch, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(captioned) // batch_size))
    return dataset.prefetch(tf.data.AUTOTUNE)


def composed_captions(n, rng, pairs=None, templates=TRAIN_TEMPLATES):
    """Captions of `n` (class, colour) pairs drawn uniformly from `pairs` (default: every pair of
    `CLASS_NAMES` × `COLOUR_NAMES`), in `templates` with random synonyms, without images.

    Text alone, for the generator's composed-caption term (`TextToImageGAN`): every class word
    may go with every colour word. Returns (captions, class ids, colour ids).
    """
    pairs = np.asarray(pairs if pairs is not None else [(label, colour) for label in range(len(CLASS_NAMES)) for colour in range(len(COLOUR_NAMES))])
    chosen = pairs[rng.integers(len(pairs), size=n)]
    template_ids, noun_ids = rng.integers(len(templates), size=n), rng.integers(6, size=n)
    texts = [caption(int(l), int(c), templates[t], int(k)) for (l, c), t, k in zip(chosen, template_ids, noun_ids)]
    return texts, chosen[:, 0].astype(np.int32), chosen[:, 1].astype(np.int32)


@functools.cache
def _matching_batches_class():
    """`MatchingBatches`, defined on first use so that importing this module needs no Keras."""
    import keras

    class MatchingBatches(keras.utils.PyDataset):
        """Training batches for text-to-image GANs, from numpy (no tf.data: any Keras backend).

        Each batch is a dict {"images" in [-1, 1], "tokens", "wrong_tokens"} (a mismatched caption
        from another group per image, drawn afresh each epoch), plus "class" and "colour" ids when
        `attributes` and the data have them, plus "composed_tokens", "composed_class" and
        "composed_colour" (`composed_captions`, half a batch) when `compose` is set. Rows are
        reshuffled every epoch; an epoch is `len(captioned) // batch_size` batches.

        Args:
            captioned: `CaptionedImages`.
            tokenizer: `zoo.text.Tokenizer` (captions longer than its `max_length` are truncated).
            batch_size: images per batch.
            seed: seed of the shuffles, mismatches and composed captions.
            attributes: pass the class and colour ids (for attribute heads).
            compose: add captions of (class, colour) pairs drawn from every pair (colourised
                Fashion-MNIST only).
        """

        def __init__(self, captioned, tokenizer, batch_size=64, seed=0, attributes=False, compose=False, **kwargs):
            super().__init__(**kwargs)
            if len(captioned) < batch_size:
                raise ValueError(f"batch_size={batch_size} is larger than the {len(captioned)} captioned images.")
            if (attributes or compose) and (captioned.labels is None or captioned.colours is None):
                raise ValueError("Attribute heads and composed captions need class and colour ids; this data has none.")
            self.images = fashion_data.to_unit_range(captioned.images)
            self.tokens = tokenizer(captioned.captions, truncate=True)
            self.tokenizer, self.batch_size, self.attributes, self.compose = tokenizer, batch_size, attributes, compose
            self.labels, self.colours = captioned.labels, captioned.colours
            self.groups = captioned.groups if captioned.groups is not None else np.arange(len(captioned))
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self):
            return len(self.images) // self.batch_size

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(self.images))
            self.wrong = mismatched_indices(self.groups, self.rng)

        def __getitem__(self, index):
            rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
            batch = {"images": self.images[rows], "tokens": self.tokens[rows], "wrong_tokens": self.tokens[self.wrong[rows]]}
            if self.attributes:
                batch["class"], batch["colour"] = self.labels[rows], self.colours[rows]
            if self.compose:
                rng = np.random.default_rng([index, int(self.order[0])])  # the same batch for the same index in one epoch
                texts, labels, colours = composed_captions(self.batch_size // 2, rng)
                batch["composed_tokens"] = self.tokenizer(texts, truncate=True)
                if self.attributes:
                    batch["composed_class"], batch["composed_colour"] = labels, colours
            return batch

    return MatchingBatches


def __getattr__(name):
    if name == "MatchingBatches":  # `zoo.captions.MatchingBatches`, a `keras.utils.PyDataset`
        return _matching_batches_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def matching_batches(captioned, tokenizer, batch_size=64, seed=0, attributes=False, compose=False):
    """`MatchingBatches(...)`: text-to-image training batches from numpy, for any backend."""
    return _matching_batches_class()(captioned, tokenizer, batch_size, seed, attributes, compose)
