"""How good a generator is: FID, KID, precision/recall, density/coverage and class accuracy, on one set of features.

```python
from zoo import metrics
results = metrics.evaluate("exports/dcgan-fashion-mnist", n=10_000)  # or a zoo model, or a .keras file
print(metrics.format_table([results]))
```

Every score compares generated images with real Fashion-MNIST images through a feature
extractor: by default the zoo's own classifier (`zoo.classifier`, 128 features, trained on the
real train split); any callable mapping NHWC images in [-1, 1] to an (n, d) array can replace
it, e.g. `metrics.inception_features()` where the ImageNet weights can be downloaded. Each FID
comes with its floor: the FID between real train and real test images on the same features and
sample size, the best a generator can be expected to reach.

- FID, Heusel et al. 2017 (https://arxiv.org/abs/1706.08500), equation 6:
  ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), the square root by `scipy.linalg.sqrtm`.
- KID, Bińkowski et al. 2018 (https://arxiv.org/abs/1801.01401), section 3: the unbiased MMD²
  with the kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets.
- Precision and recall, Kynkäänniemi et al. 2019 (https://arxiv.org/abs/1904.06991), equations
  1–3: the share of generated samples inside the real manifold (each real sample's ball out to
  its k-th nearest real neighbour, k = 3) and the share of real samples inside the generated one.
- Density and coverage, Naeem et al. 2020 (https://arxiv.org/abs/2002.09797), equations 5–6, as
  StudioGAN and the authors' `prdc` compute them (k = 5, strict inequalities): density counts how
  many real balls hold each generated sample, divided by k (about 1 for real images; unbounded);
  coverage is the share of real balls that hold at least one generated sample. Built from the
  real samples alone, they are not fooled where precision and recall are: a real outlier's large
  ball lets a constant generator score precision 1.0, but only density 1/k.
- Class accuracy of a class-conditional generator: how often the classifier names the class
  that was asked for.
"""

import json
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg

from zoo.validation import check_int

DEFAULT_N = 10_000
KID_SUBSET_SIZE = 1_000
KID_SUBSETS = 50
PR_NEIGHBOURS = 3
DC_NEIGHBOURS = 5


# ----- the metrics on features ------------------------------------------------------------


def check_features(features, name="features", min_rows=2):
    """Returns `features` as a finite float64 (n, d) array, or raises ValueError naming the problem."""
    features = np.asarray(features)
    if features.dtype.kind not in "fiu":
        raise ValueError(f"`{name}` must hold numbers, got dtype {features.dtype}.")
    if features.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-d array (samples, features), got shape {features.shape}.")
    if features.shape[0] < min_rows or features.shape[1] == 0:
        raise ValueError(f"`{name}` needs at least {min_rows} samples of at least one feature, got shape {features.shape}.")
    features = features.astype(np.float64)
    if not np.all(np.isfinite(features)):
        raise ValueError(f"`{name}` holds NaN or infinite values.")
    return features


def _check_pair(real, fake, min_rows=2):
    real, fake = check_features(real, "real", min_rows), check_features(fake, "fake", min_rows)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"`real` has {real.shape[1]} features per sample but `fake` has {fake.shape[1]}.")
    return real, fake


def feature_statistics(features):
    """(μ, Σ): the mean and covariance (n − 1 normalised) of the rows of `features`."""
    features = check_features(features)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) (Heusel et al. 2017, equation 6).

    Where Σ₁Σ₂ is singular enough for `sqrtm` to fail, a tiny multiple of the identity is
    added to both covariances, as the reference implementation (bioinf-jku/TTUR) does.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"Statistics do not match: means {mu1.shape} and {mu2.shape}, covariances {sigma1.shape} and {sigma2.shape}.")
    with warnings.catch_warnings():
        # Features that never fire (dead ReLUs) make Σ singular, and sqrtm warns; the result
        # is checked below instead (finite, negligible imaginary part).
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(len(mu1)) * 1e-6
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        # Round-off gives tiny imaginary parts; large ones mean the statistics are broken.
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
            raise ValueError(f"sqrtm(Σ₁Σ₂) has a large imaginary part ({np.abs(covmean.imag).max():.3g}).")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(real, fake):
    """The Fréchet distance between two sets of features, each an (n, d) array."""
    real, fake = _check_pair(real, fake)
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


def kid(real, fake, subset_size=KID_SUBSET_SIZE, subsets=KID_SUBSETS, seed=0):
    """Kernel Inception Distance: (mean, std) of the unbiased MMD² over `subsets` random subsets.

    Bińkowski et al. 2018, section 3, with the cubic polynomial kernel (xᵀy / d + 1)³; each
    subset draws `subset_size` rows (at most the smaller set's size) of each set, without
    replacement. Unlike FID, it is unbiased: its expectation is 0 when both sets come from one
    distribution, so small samples do not inflate it (and it can be slightly negative).
    When a subset must be the whole of both sets, there is one estimate and its std is None.
    """
    real, fake = _check_pair(real, fake)
    m = min(subset_size, len(real), len(fake))
    d = real.shape[1]
    rng = np.random.default_rng(seed)
    whole = m == len(real) == len(fake)
    estimates = []
    for _ in range(1 if whole else subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        k_xx, k_yy, k_xy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates.append(within - 2.0 * k_xy.mean())
    return float(np.mean(estimates)), None if whole else float(np.std(estimates))


# Bound on the round-off of |x|² + |y|² − 2x·y in float64, as a share of |x|² + |y|² (it is about
# the feature count times 1.1e-16: 2e-13 for Inception's 2,048); pairs nearer a ball's sphere than
# that are decided by the exact distance.
TIE_TOLERANCE = 1e-9


def exact_distances(a, b):
    """√Σ(aᵢ − bᵢ)² of paired rows of `a` and `b`: the same bits whichever row is `a` or `b`, so a
    point and a copy of it are at exactly the same distance from a centre."""
    difference = a - b
    return np.sqrt(np.sum(difference * difference, axis=-1))


def _distance_chunks(points, centres, rows=1024):
    """For each chunk of `rows` rows of `points`: (its start, the rows, their squared distances to
    every row of `centres` as |x|² + |y|² − 2x·y, one matrix product computed in place, and for
    each row a bound on their round-off: `TIE_TOLERANCE` times its |x|² plus the largest |y|²)."""
    centre_norms = np.einsum("ij,ij->i", centres, centres)
    for start in range(0, len(points), rows):
        block = points[start : start + rows]
        norms = np.einsum("ij,ij->i", block, block)
        squared = block @ centres.T
        squared *= -2.0
        squared += norms[:, None]
        squared += centre_norms[None, :]
        yield start, block, squared, TIE_TOLERANCE * (norms + centre_norms.max())


def manifold_radii(features, k):
    """NND_k: the distance from each row to its k-th nearest other row (the row itself excluded),
    exact (`exact_distances`): a row whose order round-off could change is measured exactly
    against the rows tied with its k-th (those nearer for sure are counted), once for each
    different row (a collapsed generator's 10,000 copies of one image share one radius)."""
    radii = np.empty(len(features))
    resolved = {}  # a tied row's bytes: its radius
    for start, block, squared, bound in _distance_chunks(features, features):
        rows = np.arange(len(block))
        nearest = np.argpartition(squared, k, axis=1)[:, k]  # the row itself is the nearest, so column k is the k-th other
        radii[start : start + len(block)] = exact_distances(block, features[nearest])
        squared -= squared[rows, nearest][:, None]  # from here: how far each distance² is from the k-th's
        slack = 2 * bound[:, None]
        near = (squared <= slack) & (squared >= -slack)
        for row in np.flatnonzero(near.sum(axis=1) > 1):  # near-ties with the k-th (rare but for copies)
            key = block[row].tobytes()
            if key not in resolved:  # the k-th: of the tied rows by exact distance, after those nearer for sure
                nearer = np.count_nonzero(squared[row] < -slack[row])
                tied = exact_distances(block[row], features[near[row]])
                resolved[key] = np.partition(tied, k - nearer)[k - nearer]
            radii[start + row] = resolved[key]
    return radii


def ball_counts(points, centres, radii, strict=False):
    """(for each row of `points`, how many of the balls (`centres`, `radii`) hold it; for each
    ball, how many rows of `points` it holds).

    A ball holds a point at distance ≤ its radius (`strict`: < its radius). The distances are
    one matrix product per chunk of rows (bounded memory); a point within round-off of a sphere
    is decided by its exact distance (`exact_distances`, as the radii are measured), so the
    point on a sphere, or a copy of it, is on it, not inside by a rounding.
    """
    inside = np.less if strict else np.less_equal
    per_point, per_ball = [], np.zeros(len(centres), np.int64)
    squared_radii = radii**2
    for start, block, gap, bound in _distance_chunks(points, centres):
        gap -= squared_radii[None, :]  # distance² less radius²: below 0 inside, above outside
        held = gap < -bound[:, None]
        unsure = np.abs(gap, out=gap) <= bound[:, None]
        if unsure.any():  # rare but for copies and ties
            rows, balls = np.nonzero(unsure)
            held[rows, balls] = inside(exact_distances(block[rows], centres[balls]), radii[balls])
        per_point.append(held.sum(axis=1))
        per_ball += held.sum(axis=0)
    return np.concatenate(per_point), per_ball


def precision_recall(real, fake, k=PR_NEIGHBOURS, real_radii=None):
    """Improved precision and recall (Kynkäänniemi et al. 2019, equations 1–3), as a dict.

    precision: the share of `fake` rows inside the real manifold, the union of balls around
    each real row reaching its k-th nearest real neighbour (quality: are samples realistic?).
    recall: the share of `real` rows inside the fake manifold, built the same way from the
    generated rows (coverage: is every kind of real image generated?).
    A ball holds the points at distance ≤ its radius, as in equation 1 and the authors' code;
    the `prdc` package tests <, which differs only where a point lies exactly on a sphere
    (duplicated rows, features on a grid). `real_radii`: `manifold_radii(real, k)`, when already
    measured (an `Evaluator` measures its real rows' once for every generator it scores).
    """
    k = check_int("k", k)
    real, fake = _check_pair(real, fake, min_rows=k + 1)
    precision = np.mean(ball_counts(fake, real, _radii(real, k, real_radii))[0] > 0)
    recall = np.mean(ball_counts(real, fake, manifold_radii(fake, k))[0] > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real, fake, k=DC_NEIGHBOURS, real_radii=None):
    """Density and coverage (Naeem et al. 2020, equations 5–6), as a dict.

    With B(xᵢ, NND_k(xᵢ)) the ball around real row xᵢ reaching its k-th nearest real neighbour:
    density = 1/(kM) Σⱼ Σᵢ 1[yⱼ ∈ B(xᵢ, NND_k(xᵢ))] over the M `fake` rows yⱼ (fidelity: about
    1 when fakes are as close to the real rows as real rows are, above 1 when they crowd into
    dense real regions), and coverage = 1/N Σᵢ 1[∃ j: yⱼ ∈ B(xᵢ, NND_k(xᵢ))] over the N `real`
    rows (diversity: for two samples of one distribution, 1 − 2⁻ᵏ on average, 0.97 at k = 5).
    Both use only the real rows' balls, so real outliers and a collapsed generator's zero radii
    cannot inflate them; the inequalities are strict, as in the authors' `prdc` and StudioGAN.
    `real_radii`: `manifold_radii(real, k)`, when already measured.
    """
    k = check_int("k", k)
    real, fake = _check_pair(real, fake, min_rows=k + 1)
    per_fake, per_real_ball = ball_counts(fake, real, _radii(real, k, real_radii), strict=True)
    density = per_fake.sum() / (k * len(fake))
    coverage = np.mean(per_real_ball > 0)
    return {"density": float(density), "coverage": float(coverage)}


def _radii(real, k, radii=None):
    """`manifold_radii(real, k)`, or `radii` when given: measured before, one per real row."""
    if radii is None:
        return manifold_radii(real, k)
    radii = np.asarray(radii, np.float64)
    if radii.shape != (len(real),):
        raise ValueError(f"real_radii must hold one radius per real row, {len(real)}; got shape {radii.shape}.")
    return radii


def class_accuracy(logits, labels):
    """The share of samples whose highest logit is the class in `labels`."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"Expected logits (n, classes) and labels (n,), got {logits.shape} and {labels.shape}.")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


# ----- feature extractors -----------------------------------------------------------------


def default_extractor():
    """The zoo's Fashion-MNIST classifier as a feature extractor (loaded once per process)."""
    global _DEFAULT_EXTRACTOR
    if _DEFAULT_EXTRACTOR is None:
        from zoo.classifier import ClassifierFeatures

        _DEFAULT_EXTRACTOR = ClassifierFeatures()
    return _DEFAULT_EXTRACTOR


_DEFAULT_EXTRACTOR = None


def inception_features(weights="imagenet", size=299, batch_size=64):
    """InceptionV3's 2,048 pool features (the FID of the literature) as a feature extractor.

    Grey images are repeated to three channels and resized to `size`×`size`; [-1, 1] is already
    InceptionV3's input range. `weights="imagenet"` downloads the ImageNet weights through Keras
    (needs internet once); `weights=None` gives an untrained network, for tests only.
    """
    import keras

    network = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights, input_shape=(size, size, 3))

    def extract(images):
        images = np.asarray(images, np.float32)
        rows = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            if batch.shape[-1] == 1:
                batch = np.repeat(batch, 3, axis=-1)
            batch = keras.ops.image.resize(batch, (size, size), interpolation="bilinear")
            rows.append(np.asarray(network(batch, training=False), np.float64))
        return np.concatenate(rows)

    extract.name = f"InceptionV3 ({weights or 'untrained'}, pool 2048, {size}px)"
    return extract


def extract_features(extractor, images):
    """Runs `extractor` (a `ClassifierFeatures`, a Keras model or a callable) on images in [-1, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"Expected NHWC images, got shape {images.shape}.")
    if hasattr(extractor, "predict") and not hasattr(extractor, "features_and_logits"):
        features = extractor.predict(images, batch_size=500, verbose=0)
    else:
        features = extractor(images)
    features = np.asarray(features)
    if features.ndim > 2:
        features = features.reshape(len(features), -1)
    return check_features(features, "extracted features")


def extractor_name(extractor):
    return getattr(extractor, "name", None) or type(extractor).__name__


# ----- evaluating a generator -------------------------------------------------------------


def real_images(split, n, seed=0, data_dir=None):
    """`n` real Fashion-MNIST images of `split` in [-1, 1] (a random subset), and their labels."""
    from zoo import data

    images, labels = data.load_arrays(split, data_dir)
    if n > len(images):
        raise ValueError(f"Asked for {n} real {split} images; the split has {len(images)}.")
    index = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
    return data.to_unit_range(images[index]), labels[index]


def open_generator(source):
    """A zoo model, a `zoo.runtime.Generator`, the path of an artifact folder, .onnx or .keras
    file, or a published name (`zoo.list_models()`)."""
    if not isinstance(source, (str, Path)):
        return source
    path = Path(source)
    if not path.exists():
        from zoo import registry

        if str(source) in registry.names():
            from zoo import runtime

            return runtime.load(str(source))
        raise FileNotFoundError(f"Nothing to evaluate at {path}: give an artifact folder, a generator.onnx, a .keras file or a published name.")
    if path.suffix == ".keras":
        from zoo.saving import load_model

        return load_model(path)
    from zoo import runtime

    return runtime.load(path)


def classifier_ids(class_names):
    """The classifier's (Fashion-MNIST's) id of each of a generator's class names, matched by name
    (case aside), or None when any name is not a Fashion-MNIST class: a class accuracy needs the
    classifier to know what each generated image was asked to be."""
    from zoo.data import CLASS_NAMES

    known = {name.lower(): index for index, name in enumerate(CLASS_NAMES)}
    ids = [known.get(str(name).lower()) for name in class_names]
    return None if None in ids else np.array(ids, np.int64)


def generate_images(generator, n, seed=0):
    """`n` images from `generator` (Keras or onnxruntime) and the classifier's ids of the classes
    asked for (None for an unconditional generator, or one whose classes are not Fashion-MNIST's).

    A class-conditional generator is asked for every class in turn (ids `i % classes`); its class
    names say which of the classifier's classes each is (`classifier_ids`), in whatever order.
    """
    if hasattr(generator, "session") and set(generator.inputs) - {"z", "label"}:  # zoo.runtime.Generator
        raise ValueError(f"{generator.path} takes the inputs {sorted(generator.inputs)}; only z and z + label generators are evaluated.")
    if not hasattr(generator, "generate") or not hasattr(generator, "latent_dim"):
        raise ValueError(f"Cannot evaluate a {type(generator).__name__}: expected a zoo model, a runtime.Generator or a path.")
    if getattr(generator, "conditional", False):  # Keras and onnxruntime generators take the same call
        labels = np.arange(n, dtype=np.int64) % generator.num_classes
        names = getattr(generator, "class_names", None)  # none: a stand-in that asks by the classifier's ids
        ids = np.arange(generator.num_classes) if names is None else classifier_ids(names)
        return generator.generate(n, seed=seed, labels=labels), None if ids is None else ids[labels]
    return generator.generate(n, seed=seed), None


class Evaluator:
    """Real-data features computed once, against which any number of generators are scored.

    Args:
        n: images per set: real train, real test and generated (FID is biased upwards at small
            `n`, so only scores at the same `n` compare; the floor shows the bias).
        extractor: the feature extractor (default: the zoo's classifier).
        seed: seed of the real subsets and of the generated noise.
        data_dir: folder of the Fashion-MNIST IDX files.
    """

    def __init__(self, n=DEFAULT_N, extractor=None, seed=0, data_dir=None):
        self.n = check_int("n", n, DC_NEIGHBOURS + 1)  # density and coverage need k + 1 images
        self.extractor = extractor or default_extractor()
        self.seed = seed
        self.real_train = extract_features(self.extractor, real_images("train", self.n, seed, data_dir)[0])
        self.real_test = extract_features(self.extractor, real_images("test", self.n, seed, data_dir)[0])
        self.train_statistics = feature_statistics(self.real_train)
        self.floor = {
            "fid": frechet_distance(*self.train_statistics, *feature_statistics(self.real_test)),
            "kid": kid(self.real_train, self.real_test, seed=seed)[0],
        }
        # The real rows' k-NN radii, the same for every generator scored (a tenth of n = 10,000's scoring time each).
        self.real_radii = {k: manifold_radii(self.real_train, k) for k in (PR_NEIGHBOURS, DC_NEIGHBOURS)}
        # What real test images score on the measures where higher is better: the top to compare with.
        self.real_reference = self.manifold_scores(self.real_test)

    def check_scores(self, image_shape):
        """Refuses, before any image is made, a generator whose images the feature extractor
        cannot take: the classifier reads Fashion-MNIST's 28×28×1, the images every score here
        compares with (a generator of other data has nothing to be compared with here)."""
        takes = getattr(self.extractor, "image_shape", None)
        if takes is not None and tuple(image_shape) != tuple(takes):
            raise ValueError(
                f"This generator makes {'×'.join(map(str, image_shape))} images; zoo.metrics scores Fashion-MNIST generators, "
                f"of {'×'.join(map(str, takes))} images, against real Fashion-MNIST ({self.extractor.name} reads those only)."
            )

    def monitor_scores(self, images):
        """FID, density and coverage of `images`: the cheap measures `FIDMonitor` logs during training."""
        features = extract_features(self.extractor, images)
        return {
            "fid": frechet_distance(*self.train_statistics, *feature_statistics(features)),
            **density_coverage(self.real_train, features, real_radii=self.real_radii[DC_NEIGHBOURS]),
        }

    def manifold_scores(self, features):
        """Precision, recall, density and coverage of `features` against the real train rows."""
        return {
            **precision_recall(self.real_train, features, real_radii=self.real_radii[PR_NEIGHBOURS]),
            **density_coverage(self.real_train, features, real_radii=self.real_radii[DC_NEIGHBOURS]),
        }

    def score(self, images, labels=None):
        """All the metrics of a set of generated images (and the class ids they were asked for)."""
        if hasattr(self.extractor, "features_and_logits"):
            features, logits = self.extractor.features_and_logits(np.asarray(images, np.float32))
            features = check_features(features, "extracted features")
        else:
            features, logits = extract_features(self.extractor, images), None
        kid_mean, kid_std = kid(self.real_train, features, seed=self.seed)
        results = {
            "fid": frechet_distance(*self.train_statistics, *feature_statistics(features)),
            "fid_floor": self.floor["fid"],
            "kid": kid_mean,
            "kid_std": kid_std,
            "kid_floor": self.floor["kid"],
            **self.manifold_scores(features),
        }
        if labels is not None:
            if logits is None:
                raise ValueError("Class accuracy needs a classifier's logits; the feature extractor gives none.")
            results["class_accuracy"] = class_accuracy(logits, labels)
        return results

    def evaluate(self, source, name=None):
        """Generates `n` images from `source` (see `open_generator`) and scores them; returns a dict."""
        generator = open_generator(source)
        if getattr(generator, "image_shape", None) is not None:  # a stand-in may not say
            self.check_scores(generator.image_shape)
        started = time.perf_counter()
        images, labels = generate_images(generator, self.n, self.seed)
        results = {"name": name or _source_name(source, generator), **self.score(images, labels)}
        results["seconds"] = round(time.perf_counter() - started, 1)
        results["how"] = self.description()
        if getattr(generator, "conditional", False) and labels is None:
            results["how"]["class_accuracy"] = "not measured: the generator's classes are not Fashion-MNIST's, which the classifier knows"
        return results

    def description(self):
        return {
            "n": self.n,
            "features": extractor_name(self.extractor),
            "real": f"{self.n} random Fashion-MNIST train images (seed {self.seed})",
            "floor": f"real train against {self.n} real test images, same features",
            "kid": (f"{KID_SUBSETS} subsets of {KID_SUBSET_SIZE}" if self.n > KID_SUBSET_SIZE else f"one estimate on all {self.n}") + ", kernel (x·y/d + 1)^3",
            "precision_recall": f"k = {PR_NEIGHBOURS} nearest neighbours",
            "density_coverage": f"k = {DC_NEIGHBOURS} nearest neighbours (Naeem et al. 2020, as StudioGAN)",
            "real_test": {key: round(value, 4) for key, value in self.real_reference.items()},
        }


def path_name(source):
    """The name a generator at `source` is reported under: its folder's for an exported artifact's
    generator.onnx or a run's model.keras, the file's stem for another file, else the folder's."""
    path = Path(source)
    return path.parent.name if path.name in ("generator.onnx", "model.keras") else path.stem if path.is_file() else path.name


def _source_name(source, generator):
    if isinstance(source, (str, Path)):
        return path_name(source)
    card = getattr(generator, "card", None)
    return (card() if callable(card) else card or {}).get("name") or type(generator).__name__


def evaluate(source, n=DEFAULT_N, extractor=None, seed=0, data_dir=None, name=None):
    """Scores one generator (a zoo model, a `runtime.Generator`, or a path); see `Evaluator`."""
    check_int("n", n)
    generator = open_generator(source)  # a missing or broken file fails before the real features are computed
    return Evaluator(n, extractor, seed, data_dir).evaluate(generator, name or _source_name(source, generator))


def measure(model, n=DEFAULT_N):
    """The quality facts `card.json` carries (used by `scripts/publish.py`)."""
    results = evaluate(model, n=n)
    keys = ("fid", "fid_floor", "kid", "kid_floor", "precision", "recall", "density", "coverage", "class_accuracy")
    return {
        **{key: round(results[key], 4) for key in keys if key in results},
        "how": results["how"],
        "measured_with": "zoo.metrics.evaluate",
    }


# ----- reporting --------------------------------------------------------------------------

COLUMNS = (
    ("name", "generator", "{}"),
    ("fid", "FID ↓", "{:.2f}"),
    ("fid_floor", "FID floor", "{:.2f}"),
    ("kid", "KID ↓", None),
    ("precision", "precision ↑", "{:.3f}"),
    ("recall", "recall ↑", "{:.3f}"),
    ("density", "density ↑", "{:.3f}"),
    ("coverage", "coverage ↑", "{:.3f}"),
    ("class_accuracy", "class acc. ↑", "{:.3f}"),
)


def table_rows(results):
    """The rows of the quality table: a header and one row of strings per result."""
    header = [title for _, title, _ in COLUMNS]
    rows = []
    for result in results:
        row = []
        for key, _, fmt in COLUMNS:
            if key == "kid":
                spread = "" if result.get("kid_std") is None else f" ± {result['kid_std']:.2g}"
                row.append(f"{result['kid']:.4g}{spread} (floor {result['kid_floor']:.2g})")
            elif key not in result or result[key] is None:
                row.append("–")
            else:
                row.append(fmt.format(result[key]))
        rows.append(row)
    return header, rows


def format_table(results):
    """The results as a plain-text table for a terminal."""
    header, rows = table_rows(results)
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    how = results[0]["how"] if results else {}
    if how:
        lines.append(f"n = {how['n']} per set; features: {how['features']}; floor: {how['floor']}.")
        if how.get("real_test"):
            lines.append(f"Real test images score {real_reference_text(how['real_test'])} (the top).")
    return "\n".join(lines)


def real_reference_text(reference):
    """`precision 0.887, recall 0.890, density 1.00, coverage 0.97`: what real test images score."""
    return ", ".join(f"{key} {value:.3f}" for key, value in reference.items())


def check_report_path(path):
    """Raises, before an evaluation runs, unless `path` is a place for its JSON report: a `.json`
    file name that is new or holds an earlier report of `eval` (a JSON object with its "fid", or a
    text-to-image report's "targets"), which it replaces. Anything else there, a card.json or a
    user's file, is kept: a typo in `-o` loses nothing."""
    from zoo.files import check_output_file

    path = Path(path)
    if path.suffix.lower() != ".json":
        raise ValueError(f"-o {path}: eval writes JSON; give a file name ending in .json.")
    check_output_file(path)
    if path.exists() or path.is_symlink():
        try:
            earlier = json.loads(path.read_text())
        except (OSError, ValueError):
            earlier = None
        if not (isinstance(earlier, dict) and ("fid" in earlier or "targets" in earlier) and "files" not in earlier):
            raise FileExistsError(f"-o {path} exists and is not an earlier eval report; eval does not replace it. Choose another file name.")


def write_json(results, path):
    """Writes the results (a dict or a list of dicts) to `path` atomically, where
    `check_report_path` allows it."""
    from zoo.files import atomic_write_json

    check_report_path(path)
    return atomic_write_json(path, results)
