"""The Fashion-MNIST classifier whose features the zoo's FID and KID are computed on.

FID (Heusel et al. 2017) is defined on the pool features of an ImageNet InceptionV3, whose
weights cannot be fetched everywhere the zoo runs. The zoo ships its own small CNN trained on
the real Fashion-MNIST train split instead (`scripts/train_classifier.py`): its 128 penultimate
activations are the features, its logits give the class accuracy of conditional samples. Scores
on these features compare models of this zoo with each other, not with published Inception FIDs.

    exports/classifier-fashion-mnist/
      classifier.keras   the trained model (load with safe mode)
      classifier.json    architecture, training command, test accuracy, sha256 of the .keras file
"""

import json
from pathlib import Path

import numpy as np

from zoo.files import atomic_write, atomic_write_json

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "exports" / "classifier-fashion-mnist"
MODEL_FILE = "classifier.keras"
CARD_FILE = "classifier.json"
FEATURES_LAYER = "features"


def build_classifier(image_shape=(28, 28, 1), num_classes=10, feature_dim=128):
    """Images in [-1, 1] -> three conv blocks -> `features` (ReLU, `feature_dim`) -> class logits."""
    import keras
    from keras import layers

    image = keras.Input(image_shape, name="image")
    x = image
    for filters in (32, 64, 64):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURES_LAYER)(x)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.3)(features))
    return keras.Model(image, logits, name="fashion_mnist_classifier")


def train_classifier(out_dir=DEFAULT_DIR, epochs=5, batch_size=128, limit=None, data_dir=None, seed=0, verbose=2, command=None):
    """Trains the classifier on Fashion-MNIST train, measures it on test, writes it to `out_dir`.

    Returns the card (a dict) that is written beside the model as `classifier.json`.
    """
    import time

    import keras

    from zoo import data
    from zoo.export import sha256
    from zoo.training import machine_description

    keras.utils.set_random_seed(seed)
    train_images, train_labels = data.load_arrays("train", data_dir)
    test_images, test_labels = data.load_arrays("test", data_dir)
    if limit is not None:
        train_images, train_labels = train_images[:limit], train_labels[:limit]
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    model.fit(data.to_unit_range(train_images), train_labels, batch_size=batch_size, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(data.to_unit_range(test_images), test_labels, batch_size=512, verbose=0)
    out_dir = Path(out_dir)
    shipped = build_classifier()  # the same network without the optimizer's state: a third of the size
    shipped.set_weights(model.get_weights())
    path = atomic_write(out_dir / MODEL_FILE, shipped.save)  # the temporary name ends in .keras too
    card = {
        "name": "classifier-fashion-mnist",
        "kind": "feature classifier for FID, KID, precision/recall and class accuracy (not a generator)",
        "dataset": f"Fashion-MNIST train ({len(train_images)} images); accuracy on the 10,000 test images",
        "input": {"shape": [28, 28, 1], "range": [-1.0, 1.0], "layout": "NHWC"},
        "features": {"layer": FEATURES_LAYER, "dim": int(model.get_layer(FEATURES_LAYER).units)},
        "classes": list(data.CLASS_NAMES),
        "test_accuracy": round(float(test_accuracy), 4),
        "parameters": int(model.count_params()),
        "training": {
            "command": command,
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": "Adam(1e-3)",
            "seconds": round(seconds, 1),
            "machine": machine_description(),
        },
        "files": {MODEL_FILE: sha256(path)},
    }
    atomic_write_json(out_dir / CARD_FILE, card)
    return card


def load_classifier(directory=DEFAULT_DIR):
    """Loads the shipped classifier (safe mode), after checking its sha256 against its card."""
    from zoo.export import sha256
    from zoo.saving import load_model

    directory = Path(directory)
    card_path, model_path = directory / CARD_FILE, directory / MODEL_FILE
    if not card_path.is_file() or not model_path.is_file():
        raise FileNotFoundError(
            f"No feature classifier in {directory} (expected {MODEL_FILE} and {CARD_FILE}); "
            "train one with `python scripts/train_classifier.py`, or pass your own feature extractor."
        )
    card = json.loads(card_path.read_text())
    expected, actual = card.get("files", {}).get(MODEL_FILE), sha256(model_path)
    if expected != actual:
        raise ValueError(f"{model_path} has sha256 {actual}, but {card_path} lists {expected}: the file was altered or is partial.")
    return load_model(model_path), card


class ClassifierFeatures:
    """A feature extractor from a classifier: images in [-1, 1] -> (features, logits) as numpy.

    `features(images)` gives the activations of layer `layer` (the shipped classifier's 128
    penultimate ReLU units); `logits(images)` gives its class scores.

    Args:
        model: a Keras classifier taking NHWC images in [-1, 1]; default: the shipped one.
        layer: the name of the layer whose output are the features.
        batch_size: images per forward pass.
    """

    def __init__(self, model=None, layer=FEATURES_LAYER, batch_size=500):
        import keras

        self.card = None
        if model is None:
            model, self.card = load_classifier()
        self.model = model
        self.name = self.card["name"] if self.card else model.name
        self.batch_size = batch_size
        self._both = keras.Model(model.input, [model.get_layer(layer).output, model.output])

    def features_and_logits(self, images):
        images = np.asarray(images, np.float32)
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            f, l = self._both(images[start : start + self.batch_size], training=False)
            features.append(np.asarray(f, np.float64))
            logits.append(np.asarray(l, np.float64))
        return np.concatenate(features), np.concatenate(logits)

    def __call__(self, images):
        return self.features_and_logits(images)[0]

    def logits(self, images):
        return self.features_and_logits(images)[1]
