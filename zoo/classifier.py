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

from zoo.files import sha256

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


def load_classifier(directory=DEFAULT_DIR):
    """Loads the shipped classifier (safe mode), after checking its sha256 against its card."""
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
    """A feature extractor from a classifier: images in [-1, 1] -> features as numpy.

    Calling it on images gives the activations of layer `layer` (the shipped classifier's 128
    penultimate ReLU units); `features_and_logits(images)` gives those and the class scores
    in one pass (`zoo.metrics` uses the scores for the class accuracy of conditional samples).

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
