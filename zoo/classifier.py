"""The Fashion-MNIST classifier whose features the zoo's FID and KID are computed on.

FID (Heusel et al. 2017) is defined on the pool features of an ImageNet InceptionV3, whose
weights cannot be fetched everywhere the zoo runs. The zoo ships its own small CNN trained on
the real Fashion-MNIST train split instead (`scripts/train_classifier.py`): its 128 penultimate
activations are the features, its logits give the class accuracy of conditional samples. Scores
on these features compare models of this zoo with each other, not with published Inception FIDs.

    exports/classifier-fashion-mnist/
      classifier.keras   the trained model (load with safe mode)
      classifier.onnx    the same network for onnxruntime: input `image`, outputs `features` and
                         `logits` (what `python -m zoo eval` runs, with no TensorFlow installed)
      classifier.json    architecture, training command, test accuracy, sha256 of both files

It is published beside the generators (`zoo.registry`, asset `classifier-fashion-mnist`), so an
installed package finds it the way it finds a published generator.
"""

import json
from pathlib import Path

import numpy as np

from zoo.files import atomic_write, sha256

NAME = "classifier-fashion-mnist"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "exports" / NAME  # in a source checkout
MODEL_FILE = "classifier.keras"
ONNX_FILE = "classifier.onnx"
CARD_FILE = "classifier.json"
FEATURES_LAYER = "features"
PARITY_ATOL = 1e-4


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


def export_onnx(model, path, layer=FEATURES_LAYER, atol=PARITY_ATOL):
    """Writes the classifier as ONNX (input `image`, outputs `features` and `logits`), checked
    against Keras on real-looking inputs within `atol`; returns the path."""
    import keras
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    both = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    signature = [tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name="image")]
    serve = tf.function(lambda image: dict(zip(("features", "logits"), both(image, training=False))), input_signature=signature)
    proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=17)
    for value in list(proto.graph.input) + list(proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "ganzoo"
    onnx.checker.check_model(proto, full_check=True)
    examples = np.random.default_rng(0).uniform(-1, 1, (16, *model.input.shape[1:])).astype(np.float32)
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for name, expected, actual in zip(("features", "logits"), both(examples), session.run(["features", "logits"], {"image": examples})):
        difference = float(np.max(np.abs(np.asarray(expected) - actual)))
        if not difference <= atol:
            raise ValueError(f"The ONNX classifier's {name} differ from Keras by up to {difference:.3g} (allowed {atol:g}).")
    return atomic_write(path, lambda tmp: onnx.save(proto, tmp))


def classifier_folder():
    """The folder of the shipped classifier: this checkout's, the installed `ganzoo-models`', the
    cache's or a download, each checked against the registry (`zoo.registry.fetch`)."""
    from zoo import registry

    return registry.fetch(NAME)


def read_card(directory, *file_names):
    """The classifier's card, after checking the sha256 of `file_names` against it."""
    directory = Path(directory)
    card_path = directory / CARD_FILE
    if not card_path.is_file() or not all((directory / name).is_file() for name in file_names):
        raise FileNotFoundError(
            f"No feature classifier in {directory} (expected {', '.join(file_names)} and {CARD_FILE}); "
            "train one with `python scripts/train_classifier.py`, or pass your own feature extractor."
        )
    card = json.loads(card_path.read_text())
    for name in file_names:
        expected, actual = card.get("files", {}).get(name), sha256(directory / name)
        if expected != actual:
            raise ValueError(f"{directory / name} has sha256 {actual}, but {card_path} lists {expected}: the file was altered or is partial.")
    return card


def load_classifier(directory=None):
    """Loads the shipped classifier as Keras (safe mode), after checking its sha256 against its card."""
    from zoo.saving import load_model

    directory = Path(directory) if directory is not None else classifier_folder()
    card = read_card(directory, MODEL_FILE)
    return load_model(directory / MODEL_FILE), card


class ClassifierFeatures:
    """A feature extractor from a classifier: images in [-1, 1] -> (features, logits) as numpy.

    `features_and_logits(images)` gives the activations of layer `layer` (the shipped
    classifier's 128 penultimate ReLU units) and the class scores; calling it gives the features.

    Args:
        model: a Keras classifier taking NHWC images in [-1, 1]; default: the shipped one,
            run through onnxruntime (`classifier.onnx`: no TensorFlow needed).
        layer: the name of the layer whose output are the features (Keras models).
        batch_size: images per forward pass.
        directory: the shipped classifier's folder (default: `classifier_folder()`).
    """

    def __init__(self, model=None, layer=FEATURES_LAYER, batch_size=500, directory=None):
        self.card = None
        self.batch_size = batch_size
        if model is None:
            import onnxruntime

            directory = Path(directory) if directory is not None else classifier_folder()
            self.card = read_card(directory, ONNX_FILE)
            self.session = onnxruntime.InferenceSession(str(directory / ONNX_FILE), providers=["CPUExecutionProvider"])
            self.name = self.card["name"]
            self.image_shape = tuple(self.session.get_inputs()[0].shape[1:])
            self._run = lambda batch: self.session.run(["features", "logits"], {"image": batch})
        else:
            import keras

            both = keras.Model(model.input, [model.get_layer(layer).output, model.output])
            self.name = model.name
            self.image_shape = tuple(model.input_shape[1:])
            self._run = lambda batch: both(batch, training=False)

    def features_and_logits(self, images):
        images = np.asarray(images, np.float32)
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            f, l = self._run(images[start : start + self.batch_size])
            features.append(np.asarray(f, np.float64))
            logits.append(np.asarray(l, np.float64))
        return np.concatenate(features), np.concatenate(logits)

    def __call__(self, images):
        return self.features_and_logits(images)[0]

    def logits(self, images):
        return self.features_and_logits(images)[1]
