"""Measures a trained text-to-image GAN with an independent attribute classifier, and exports it.

    .venv/bin/python scripts/eval_t2i.py runs/t2i/model.keras \\
        --export exports/t2i-fashion-mnist --figure docs/images/t2i-samples.png

The judge is a small CNN with two heads (Fashion-MNIST class, colour) trained here on real
colourised garments of every (class, colour) pair, held-out pairs included, drawn with
another seed than the GAN's data; its own accuracy on the real test split is reported beside
the GAN's. Generated images are scored on three prompt sets:

- seen: the (class, colour) pairs of training, in the training phrasings;
- held-out combination: the pairs of `zoo.captions.HELD_OUT_COMBINATIONS`, never seen in
  training, in the training phrasings (compositional generalisation);
- held-out phrasing: seen pairs in the phrasings of `HELD_OUT_TEMPLATES` (new wording).

Accuracy is the share of generated images whose predicted class (colour) is the prompt's.
Diversity is the per-pixel spread of many samples of one caption against real garments'.
With `--export`, the generator is exported (`zoo.export`) with these figures in card.json;
with `--figure`, a PNG of samples for a few prompts is drawn through the exported ONNX file.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

from zoo import captions
from zoo.data import to_unit_range
from zoo.files import atomic_write, atomic_write_json
from zoo.latent import sample_latent

FIGURE_PROMPTS = (
    ("a red dress", "seen"),
    ("a blue dress", "held-out combination"),
    ("a red sneaker", "held-out combination"),
    ("a yellow bag", "held-out combination"),
    ("green trousers", "seen"),
    ("a photo of a white coat", "held-out phrasing"),
    ("ankle boot, pink", "seen"),
    ("my pullover is orange", "held-out phrasing"),
)


def build_attribute_classifier(image_shape, classes=len(captions.CLASS_NAMES), colours=len(captions.COLOUR_NAMES)):
    """Image in [-1, 1] -> {"class": logits, "colour": logits}: three conv blocks, two heads."""
    image = keras.Input(image_shape)
    x = image
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(image, {"class": layers.Dense(classes, name="class")(x), "colour": layers.Dense(colours, name="colour")(x)})


def train_attribute_classifier(path, epochs=3, seed=123):
    """Trains the judge on real colourised garments of every pair (or loads it from `path`)."""
    path = Path(path)
    if path.is_file():
        return keras.models.load_model(path, safe_mode=True)
    data = captions.colourised_fashion_mnist("train", combos="all", seed=seed)
    classifier = build_attribute_classifier(data.images.shape[1:])
    classifier.compile(
        optimizer="adam",
        loss={name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in ("class", "colour")},
        metrics={name: ["accuracy"] for name in ("class", "colour")},
    )
    classifier.fit(to_unit_range(data.images), {"class": data.labels, "colour": data.colours}, epochs=epochs, batch_size=128, verbose=2)
    atomic_write(path, classifier.save)
    return classifier


def accuracies(classifier, images, labels, colours):
    """Share of `images` whose predicted class and colour are `labels` and `colours`."""
    predicted = classifier.predict(images, batch_size=512, verbose=0)
    return {
        "class": round(float(np.mean(np.argmax(predicted["class"], -1) == labels)), 4),
        "colour": round(float(np.mean(np.argmax(predicted["colour"], -1) == colours)), 4),
        "images": int(len(images)),
    }


def prompt_set(pairs, templates, images_per_caption, rng):
    """(captions, labels, colours): every pair in every template, synonyms drawn at random."""
    rows = [
        (captions.caption(label, colour, template, int(rng.integers(6))), label, colour)
        for label, colour in pairs
        for template in templates
        for _ in range(images_per_caption)
    ]
    texts, labels, colours = zip(*rows)
    return list(texts), np.array(labels), np.array(colours)


def evaluate(model, classifier, seed=0):
    """The accuracies of `model`'s samples on the three prompt sets, and of the judge on real test images."""
    rng = np.random.default_rng(seed)
    sets = {
        "seen": prompt_set(captions.combinations(held_out=False), captions.TRAIN_TEMPLATES, 2, rng),
        "held_out_combination": prompt_set(captions.combinations(held_out=True), captions.TRAIN_TEMPLATES, 8, rng),
        "held_out_phrasing": prompt_set(captions.combinations(held_out=False), captions.HELD_OUT_TEMPLATES, 3, rng),
    }
    results = {}
    for name, (texts, labels, colours) in sets.items():
        images = model.generate(z=sample_latent(len(texts), model.latent_dim, seed), prompt=texts)
        results[name] = accuracies(classifier, images, labels, colours)
    real = captions.colourised_fashion_mnist("test", combos="all", seed=seed + 7)
    results["real_test_images"] = accuracies(classifier, to_unit_range(real.images), real.labels, real.colours)
    results["diversity"] = diversity(model, real, seed)
    return results


def diversity(model, real, seed=0, per_pair=16):
    """Mean per-pixel standard deviation over `per_pair` samples of one caption, averaged over
    the seen pairs, beside the same over real test garments of each pair (1.0 = as varied as real)."""
    generated, reference = [], []
    for label, colour in captions.combinations(held_out=False):
        text = captions.caption(label, colour, captions.TRAIN_TEMPLATES[0])
        generated.append(model.generate(per_pair, seed=seed, prompt=text).std(axis=0).mean())
        rows = np.flatnonzero((real.labels == label) & (real.colours == colour))[:per_pair]
        reference.append(to_unit_range(real.images[rows]).std(axis=0).mean())
    samples, real_std = float(np.mean(generated)), float(np.mean(reference))
    return {"samples_pixel_std": round(samples, 4), "real_pixel_std": round(real_std, 4), "ratio": round(samples / real_std, 3)}


def draw_figure(generator, path, per_prompt=8, seed=0, scale=3):
    """A PNG: one row of `per_prompt` samples per prompt of `FIGURE_PROMPTS`, captioned on the left."""
    from PIL import Image, ImageDraw

    from zoo.images import make_grid

    rows = []
    for prompt, kind in FIGURE_PROMPTS:
        grid = Image.fromarray(make_grid(generator.generate(per_prompt, seed=seed, prompt=prompt), columns=per_prompt))
        rows.append((f"{prompt}  ({kind})", grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)))
    label_width, row_height = 300, rows[0][1].height
    figure = Image.new("RGB", (label_width + rows[0][1].width, row_height * len(rows)), "white")
    draw = ImageDraw.Draw(figure)
    for index, (text, grid) in enumerate(rows):
        figure.paste(grid, (label_width, index * row_height))
        draw.text((8, index * row_height + row_height // 2 - 6), text, fill="black")
    return atomic_write(path, lambda tmp: figure.save(tmp, format="PNG"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_file", help="the .keras file of scripts/train_t2i.py")
    parser.add_argument("--classifier", default="runs/t2i/attribute_classifier.keras", help="the judge (trained if missing)")
    parser.add_argument("--export", help="artifact folder to export to, with the measured accuracies in card.json")
    parser.add_argument("--figure", help="PNG of samples for a few prompts (through the exported ONNX file)")
    args = parser.parse_args(argv)

    from zoo.saving import load_model

    model = load_model(args.model_file)
    started = time.perf_counter()
    classifier = train_attribute_classifier(args.classifier)
    results = evaluate(model, classifier)
    print(json.dumps(results, indent=2), flush=True)
    out = Path(args.model_file).with_name("quality.json")
    atomic_write_json(out, results)
    print(f"Measured in {time.perf_counter() - started:.0f} s; written to {out}")
    if args.export:
        export(model, args.export, results, Path(args.model_file).with_name("training.json"))
    if args.figure:
        from zoo import runtime

        source = args.export or args.model_file
        generator = runtime.load(source) if args.export else model
        print(f"Figure: {draw_figure(generator, args.figure)} (through {'onnxruntime' if args.export else 'Keras'}, {source})")


def export(model, directory, results, training_record):
    from zoo.export import export_generator

    training = json.loads(training_record.read_text()) if training_record.is_file() else {}
    card = export_generator(
        model,
        directory,
        overwrite=True,  # re-exporting replaces the artifact (a folder that is not one is still refused)
        card={
            "description": "Caption to 28×28 colour garment (GAN-INT-CLS on colourised, captioned Fashion-MNIST)",
            "dataset": training.get("dataset"),
            "classes": list(captions.CLASS_NAMES),
            "class_nouns": [list(nouns) for nouns in captions.CLASS_NOUNS],
            "colours": {name: list(rgb) for name, rgb in captions.COLOURS.items()},
            "caption_templates": {"training": list(captions.TRAIN_TEMPLATES), "held_out": list(captions.HELD_OUT_TEMPLATES)},
            "held_out_combinations": [list(pair) for pair in captions.HELD_OUT_COMBINATIONS],
            "quality": {
                "metric": "class and colour accuracy of generated images under an independent attribute classifier",
                "value": {key: value for key, value in results.items() if key not in ("real_test_images", "diversity")},
                "diversity": results["diversity"],
                "how": (
                    "scripts/eval_t2i.py: a CNN trained on real colourised Fashion-MNIST (all class-colour pairs) "
                    "classifies samples for seen pairs, held-out pairs and held-out phrasings; "
                    f"its own accuracy on real test images: {results['real_test_images']}"
                ),
            },
            "training": training,
        },
    )
    print(f"Exported to {directory}: {sorted(card['files'])}")
    return card


if __name__ == "__main__":
    main()
