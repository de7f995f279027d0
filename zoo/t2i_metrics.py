"""Does a text-to-image generator draw what its caption says? Scored by an independent judge.

The judge is a small CNN with two heads (Fashion-MNIST class, colour), trained here on real
colourised garments of every (class, colour) pair, held-out pairs included, with another
colour draw than the GAN's data. Its accuracy on the real colourised test split is the
ceiling: a generator's samples are scored against what the judge manages on real images.
Samples are drawn for four prompt sets:

- seen: the (class, colour) pairs of training, in the training phrasings;
- held-out pairs: `zoo.captions.HELD_OUT_COMBINATIONS`, never seen in training, in the
  training phrasings (compositional generalisation), also pair by pair;
- held-out phrasings: seen pairs in `HELD_OUT_TEMPLATES` (new wording);
- spread: the per-pixel standard deviation of 16 samples of one caption, averaged over the
  seen pairs, against the same over 16 real test garments of each pair (1.0 = as varied).

Accuracy is the share of samples whose predicted class (colour) is the prompt's. `targets`
says which of issue 14's goals a result meets.

    python -m zoo eval exports/t2i-fashion-mnist      # or a .keras file, or t2i-fashion-mnist
"""

import json
import time
import warnings
from pathlib import Path

import numpy as np

from zoo import captions
from zoo.files import atomic_write, atomic_write_text

JUDGE_NAME = "attribute-judge-colourised-fashion-mnist"
JUDGE_SEED = 123
IMAGES_PER_CAPTION = {"seen": 2, "held_out_pairs": 16, "held_out_phrasings": 3}
SPREAD_SAMPLES = 16
# Issue 14's goals for a published generator (class figures relative to the judge's ceiling).
TARGETS = {
    "seen_class_of_ceiling": 0.95,
    "seen_colour": 0.98,
    "held_out_class_of_ceiling": 0.85,
    "held_out_colour": 0.95,
    "held_out_pair_class_min": 0.6,
    "phrasing_gap": 0.03,
    "spread": (0.8, 1.25),
}


def default_judge_path():
    """Where the judge is cached: `$GANZOO_CACHE/judges/` (see `zoo.registry.cache_dir`)."""
    from zoo.registry import cache_dir

    return cache_dir() / "judges" / f"{JUDGE_NAME}.keras"


def build_judge(image_shape=(28, 28, 3), classes=len(captions.CLASS_NAMES), colours=len(captions.COLOUR_NAMES)):
    """Image in [-1, 1] -> {"class": logits, "colour": logits}: three conv blocks, two heads."""
    import keras
    from keras import layers

    image = keras.Input(image_shape)
    x = image
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(image, {"class": layers.Dense(classes, name="class")(x), "colour": layers.Dense(colours, name="colour")(x)})


def train_judge(path, epochs=3, seed=JUDGE_SEED, limit=None, data_dir=None, verbose=2):
    """Trains the judge on real colourised train garments of every pair and saves it to `path`
    (with `<path>.json` beside it: how it was trained and its accuracy on real test images)."""
    import keras

    from zoo.data import to_unit_range

    keras.utils.set_random_seed(seed)
    data = captions.colourised_fashion_mnist("train", combos="all", seed=seed, limit=limit, data_dir=data_dir)
    judge = build_judge(data.images.shape[1:])
    judge.compile(
        optimizer="adam",
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in ("class", "colour")},
        metrics={name: ["accuracy"] for name in ("class", "colour")},
    )
    judge.fit(to_unit_range(data.images), {"class": data.labels, "colour": data.colours}, epochs=epochs, batch_size=128, verbose=verbose)
    path = Path(path)
    atomic_write(path, judge.save)
    record = {"trained_on": f"colourised Fashion-MNIST train, all pairs, seed {seed}" + (f", first {limit}" if limit else ""), "epochs": epochs}
    atomic_write_text(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return judge


def load_judge(path=None, train_if_missing=True, data_dir=None):
    """The judge at `path` (default: the cache), trained there first if missing (a few minutes on a CPU)."""
    from zoo.saving import load_model

    path = Path(path) if path is not None else default_judge_path()
    if path.is_file():
        return load_model(path)
    if not train_if_missing:
        raise FileNotFoundError(f"No judge at {path}.")
    print(f"Training the attribute judge once ({path}) ...", flush=True)
    return train_judge(path, data_dir=data_dir)


def judge_images(judge, images, labels, colours):
    """Share of `images` whose predicted class and colour are `labels` and `colours` (ids)."""
    predicted = judge.predict(np.asarray(images, np.float32), batch_size=512, verbose=0)
    return {
        "class": round(float(np.mean(np.argmax(predicted["class"], -1) == labels)), 4),
        "colour": round(float(np.mean(np.argmax(predicted["colour"], -1) == colours)), 4),
        "images": int(len(images)),
    }


def prompt_set(pairs, templates, images_per_caption, rng):
    """(captions, class ids, colour ids): every pair in every template, synonyms drawn at random."""
    rows = [
        (captions.caption(label, colour, template, int(rng.integers(6))), label, colour)
        for label, colour in pairs
        for template in templates
        for _ in range(images_per_caption)
    ]
    texts, labels, colours = zip(*rows)
    return list(texts), np.array(labels), np.array(colours)


def draw(generator, texts, seed):
    """One sample per caption (noise `zoo.latent.sample_latent(len(texts), ..., seed)`), Keras or onnxruntime."""
    with warnings.catch_warnings():  # held-out phrasings hold words the tokenizer does not know: expected here
        warnings.simplefilter("ignore", UserWarning)
        return generator.generate(len(texts), seed=seed, prompt=list(texts))


def evaluate(generator, judge, seed=0, data_dir=None):
    """Scores `generator` (a text-to-image zoo model or `zoo.runtime.Generator`); returns a dict."""
    from zoo.data import to_unit_range

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    sets = {
        "seen": prompt_set(captions.combinations(held_out=False), captions.TRAIN_TEMPLATES, IMAGES_PER_CAPTION["seen"], rng),
        "held_out_pairs": prompt_set(captions.combinations(held_out=True), captions.TRAIN_TEMPLATES, IMAGES_PER_CAPTION["held_out_pairs"], rng),
        "held_out_phrasings": prompt_set(captions.combinations(held_out=False), captions.HELD_OUT_TEMPLATES, IMAGES_PER_CAPTION["held_out_phrasings"], rng),
    }
    real = captions.colourised_fashion_mnist("test", combos="all", seed=seed + 7, data_dir=data_dir)
    real_images = to_unit_range(real.images)
    results = {}
    for name, (texts, labels, colours) in sets.items():
        images = draw(generator, texts, seed)
        results[name] = judge_images(judge, images, labels, colours)
        if name == "held_out_pairs":
            results["held_out_per_pair"] = {}
            for label, colour in captions.combinations(held_out=True):
                rows = (labels == label) & (colours == colour)
                on_real = (real.labels == label) & (real.colours == colour)
                key = f"{captions.COLOUR_NAMES[colour]} {captions.CLASS_NAMES[label]}"
                results["held_out_per_pair"][key] = {
                    **judge_images(judge, images[rows], labels[rows], colours[rows]),
                    "real": judge_images(judge, real_images[on_real], real.labels[on_real], real.colours[on_real]),
                }
            results["held_out_pairs"]["class_min"] = min(pair["class"] for pair in results["held_out_per_pair"].values())
    results["real_test_images"] = judge_images(judge, real_images, real.labels, real.colours)
    results["spread"] = spread(generator, real, seed)
    results["targets"] = targets(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["how"] = (
        "zoo.t2i_metrics: an attribute judge (CNN, class and colour heads) trained on real colourised Fashion-MNIST train "
        f"images of all 80 pairs; samples per caption: {IMAGES_PER_CAPTION}; noise seed {seed}; ceiling: the judge on "
        f"{len(real)} real colourised test images; spread: per-pixel std of {SPREAD_SAMPLES} samples per seen pair against "
        f"{SPREAD_SAMPLES} real test garments of the pair"
    )
    return results


def spread(generator, real, seed=0, per_pair=SPREAD_SAMPLES):
    """Mean per-pixel standard deviation over `per_pair` samples of one caption, averaged over the
    seen pairs, beside the same over real test garments of each pair (ratio 1.0 = as varied as real)."""
    from zoo.data import to_unit_range

    generated, reference = [], []
    for label, colour in captions.combinations(held_out=False):
        text = captions.caption(label, colour, captions.TRAIN_TEMPLATES[0])
        generated.append(draw(generator, [text] * per_pair, seed).std(axis=0).mean())
        rows = np.flatnonzero((real.labels == label) & (real.colours == colour))[:per_pair]
        reference.append(to_unit_range(real.images[rows]).std(axis=0).mean())
    samples, real_std = float(np.mean(generated)), float(np.mean(reference))
    return {"samples_pixel_std": round(samples, 4), "real_pixel_std": round(real_std, 4), "ratio": round(samples / real_std, 3)}


def targets(results):
    """Which of issue 14's goals `results` meets, each with the figure it was judged on."""
    ceiling = results["real_test_images"]["class"]
    seen, held_out, phrasings = results["seen"], results["held_out_pairs"], results["held_out_phrasings"]
    low, high = TARGETS["spread"]
    checks = {
        "seen_class": (seen["class"] / ceiling, seen["class"] / ceiling >= TARGETS["seen_class_of_ceiling"]),
        "seen_colour": (seen["colour"], seen["colour"] >= TARGETS["seen_colour"]),
        "held_out_class": (held_out["class"] / ceiling, held_out["class"] / ceiling >= TARGETS["held_out_class_of_ceiling"]),
        "held_out_colour": (held_out["colour"], held_out["colour"] >= TARGETS["held_out_colour"]),
        "held_out_pair_class_min": (held_out["class_min"], held_out["class_min"] >= TARGETS["held_out_pair_class_min"]),
        "phrasing_gap": (
            max(seen["class"] - phrasings["class"], seen["colour"] - phrasings["colour"]),
            max(seen["class"] - phrasings["class"], seen["colour"] - phrasings["colour"]) <= TARGETS["phrasing_gap"],
        ),
        "spread": (results["spread"]["ratio"], low <= results["spread"]["ratio"] <= high),
    }
    return {name: {"value": round(float(value), 4), "met": bool(met)} for name, (value, met) in checks.items()}


def format_table(results):
    """The results as a plain-text table for a terminal."""
    ceiling = results["real_test_images"]
    lines = [
        f"{'prompts':<34} {'class':>6} {'colour':>7} {'images':>7}",
        f"{'real test images (the ceiling)':<34} {ceiling['class']:>6.3f} {ceiling['colour']:>7.3f} {ceiling['images']:>7}",
    ]
    for key, title in (("seen", "seen pairs"), ("held_out_pairs", "held-out pairs"), ("held_out_phrasings", "held-out phrasings")):
        row = results[key]
        lines.append(f"{title:<34} {row['class']:>6.3f} {row['colour']:>7.3f} {row['images']:>7}")
    for pair, row in results["held_out_per_pair"].items():
        lines.append(f"{'  ' + pair:<34} {row['class']:>6.3f} {row['colour']:>7.3f} {row['images']:>7}   (real: {row['real']['class']:.3f} / {row['real']['colour']:.3f})")
    spread_row = results["spread"]
    lines.append(f"spread of samples per caption: {spread_row['ratio']:.3f}× the real one ({spread_row['samples_pixel_std']:.4f} vs {spread_row['real_pixel_std']:.4f})")
    met = [name for name, check in results["targets"].items() if check["met"]]
    missed = [f"{name} ({check['value']})" for name, check in results["targets"].items() if not check["met"]]
    lines.append(f"targets met: {', '.join(met) or 'none'}; missed: {', '.join(missed) or 'none'}")
    return "\n".join(lines)


def open_source(source):
    """A text-to-image model or `zoo.runtime.Generator` from an artifact folder, .onnx or .keras file, or a published name."""
    from zoo import metrics

    if isinstance(source, (str, Path)) and not Path(source).exists() and len(Path(source).parts) == 1:
        from zoo import runtime

        return runtime.load(str(source))  # a published name: fetched and checked
    return metrics.open_generator(source)


def evaluate_source(source, judge=None, seed=0, data_dir=None):
    """Opens `source` (see `open_source`) and evaluates it."""
    generator = open_source(source)
    judge = judge if judge is not None and not isinstance(judge, (str, Path)) else load_judge(judge, data_dir=data_dir)
    return evaluate(generator, judge, seed, data_dir)


def is_text_to_image(source):
    """Whether `source` (a path, model or generator) takes captions."""
    if hasattr(source, "tokenizer"):
        return True
    path = Path(source)
    if not path.exists() and len(path.parts) == 1 and path.suffix not in (".onnx", ".keras"):
        from zoo import registry

        try:
            return registry.entry(str(source)).get("family") == "t2i"
        except ValueError:
            return False
    card = path / "card.json" if path.is_dir() else path.with_name("card.json") if path.suffix == ".onnx" else None
    if card is not None and card.is_file():
        return json.loads(card.read_text()).get("family") == "t2i" or "tokenizer" in json.loads(card.read_text())
    if path.suffix == ".keras" and path.is_file():
        import zipfile

        with zipfile.ZipFile(path) as archive:
            return '"TextToImageGAN"' in archive.read("config.json").decode("utf-8", "replace")
    return False


# Prompts of the sample sheet (docs/images/t2i_samples.png): seen pairs, held-out pairs, held-out phrasings.
SHEET_PROMPTS = (
    ("a red dress", "seen pair"),
    ("green trousers", "seen pair"),
    ("ankle boot, pink", "seen pair"),
    ("a blue dress", "held-out pair"),
    ("a red sneaker", "held-out pair"),
    ("a yellow bag", "held-out pair"),
    ("a pink coat", "held-out pair"),
    ("a purple ankle boot", "held-out pair"),
    ("a photo of a white coat", "held-out phrasing"),
    ("my pullover is orange", "held-out phrasing"),
    ("trousers that is blue", "held-out phrasing"),
)


def check_figure_path(path):
    """Raises ValueError, before anything is drawn, when `path` cannot take the sample sheet: its
    name does not end in .png (the sheet is a PNG), it is a folder, or it is an existing file that
    is not a picture (notes, say), which would be replaced by the PNG."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"--figure {path}: the sample sheet is a PNG; give a file name ending in .png.")
    if path.is_dir():
        raise ValueError(f"--figure {path} is a folder; give a .png file name in it.")
    if path.exists():
        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
            raise ValueError(f"--figure {path} exists and is not a picture; not replaced. Give another name, or delete it first.") from None


def draw_sheet(generator, path, prompts=SHEET_PROMPTS, per_prompt=8, seed=0, scale=3):
    """A PNG: one row of `per_prompt` samples per (prompt, kind), labelled on the left. `path` is
    checked first (`check_figure_path`)."""
    from PIL import Image, ImageDraw

    from zoo.images import make_grid

    check_figure_path(path)
    rows = []
    for prompt, kind in prompts:
        grid = Image.fromarray(make_grid(draw(generator, [prompt] * per_prompt, seed), columns=per_prompt))
        rows.append((f"{prompt}", f"({kind})", grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)))
    label_width, row_height = 230, rows[0][2].height
    sheet = Image.new("RGB", (label_width + rows[0][2].width, row_height * len(rows)), "white")
    canvas = ImageDraw.Draw(sheet)
    for index, (text, kind, grid) in enumerate(rows):
        sheet.paste(grid, (label_width, index * row_height))
        middle = index * row_height + row_height // 2
        canvas.text((8, middle - 14), text, fill="black")
        canvas.text((8, middle + 2), kind, fill=(90, 90, 90))
    return atomic_write(path, lambda tmp: sheet.save(tmp, format="PNG"))


def card_quality(results):
    """The `quality` of a text-to-image card.json from `evaluate`'s results."""
    return {
        "metric": "class and colour accuracy of generated images under an independent attribute judge",
        "value": {key: results[key] for key in ("seen", "held_out_pairs", "held_out_phrasings")},
        "held_out_per_pair": results["held_out_per_pair"],
        "ceiling": results["real_test_images"],
        "spread": results["spread"],
        "targets": results["targets"],
        "how": results["how"],
        "measured_with": "zoo.t2i_metrics.evaluate (python -m zoo eval)",
    }
