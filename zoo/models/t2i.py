"""Text-to-image GANs: compositional text conditioning, and GAN-INT-CLS (Reed et al. 2016) as the baseline.

A caption is tokenized (`zoo.text.Tokenizer`, plain rules shipped in card.json) and encoded by
a small text encoder, pretrained to recognise what captions describe and then frozen, as
StackGAN, AttnGAN and DF-GAN do with theirs. The text embedding then conditions both networks.
`TextToImageGAN()` builds the model whose samples follow the caption; each part can be switched
off (the ablation of docs/t2i.md), and `TextToImageGAN.gan_int_cls(...)` builds the paper's
baseline:

| part | this model | GAN-INT-CLS (Reed et al. 2016) |
| --- | --- | --- |
| text encoder | attention-weighted mean of word vectors: (near) additive in the words | word vectors → Conv1D(3) → mean → Dense |
| generator | affine modulation of every block by the text (DF-GAN, Tao et al. 2022) | text concatenated with `z` only |
| discriminator | projection on the text (Miyato & Koyama 2018) | text replicated and depth-concatenated at 7×7 |
| attribute heads | class and colour heads on D (AC-GAN, Odena et al. 2017) | none |
| composed captions | the generator also draws captions of any (class, colour) pair | none |

Both keep the matching-aware discriminator (CLS), manifold interpolation (INT) and a
mode-seeking term (Mao et al. 2019) in the generator's loss, so that `z` keeps mattering. For
long runs this model also normalises its discriminator per image (layer norm, not batch norm)
and caps the mode-seeking ratio at about real garments' own: with batch norm and an uncapped
term, a first 2-hour run collapsed after ~6,000 steps (the generator added noise that the
discriminator then rejected outright).

Why these parts compose. The text embedding e is (near) a weighted sum of word vectors, so
"blue dress" is e(blue) + e(dress) up to weights. Each generator block computes
x·(1 + γ(e)) + β(e) with γ, β linear in e, and the projection discriminator scores
ψ(φ(x)) + (Ve)ᵀφ(x), also linear in e: "blue" and "dress" are judged separately, so a pair
never seen together is still judged, and drawn, word by word.

The exported generator takes `z` float32 [batch, latent_dim] and `tokens` int64 [batch, T]:
the text encoder is inside the graph, so an app needs only the tokenizer spec of card.json.
"""

import keras
import numpy as np
from keras import layers, ops

from zoo import layers as convolutions
from zoo.latent import sample_latent
from zoo.layers import LeakyReLU
from zoo.models.base import BaseGAN
from zoo.models.dcgan import KERNEL_SIZE, upsample_to_image, upsampling_plan
from zoo.lexicon import GOLDEN_CAPTIONS
from zoo.text import PAD_ID, UNK_ID, Tokenizer, prompt_sequence
from zoo.validation import check_int, check_number

TEXT_POOLINGS = ("attention", "conv")
# Fixed captions of the sample grid drawn after each epoch: seen pairs, held-out pairs, held-out phrasings.
PREVIEW_PROMPTS = ("a red dress", "green trousers", "a blue dress", "a red sneaker", "a yellow bag", "a pink coat", "a photo of a white coat", "my pullover is orange")


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMean(layers.Layer):
    """Mean of `features` (batch, T, d) over the positions whose token is not padding (id 0).

    Plain arithmetic (multiply, sum, divide) rather than a Keras mask in front of an RNN,
    which converts to ONNX `Loop` ops (tensorflow-onnx#1871). An all-padding row gives zeros.
    """

    def call(self, features, tokens):
        mask = ops.cast(ops.not_equal(tokens, PAD_ID), features.dtype)[..., None]
        return ops.sum(features * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def compute_output_shape(self, features_shape, tokens_shape):
        return (features_shape[0], features_shape[2])


@keras.saving.register_keras_serializable(package="zoo")
class AttentionMean(layers.Layer):
    """Σₜ αₜ vₜ with αₜ = softmax over the caption's words of a learned score per word.

    Word vectors `vectors` (batch, T, d) and scores `scores` (batch, T, 1) come from two
    embeddings of the same tokens; padding (id 0) gets no weight. The result is a weighted sum
    of word vectors, additive in the words up to the weights, and the scores let words that
    say nothing about the image ("a", "the", "is", unknown words) weigh little, so new
    phrasings give (nearly) the embedding of the training ones. Exp, sum and divide only: no
    string ops, no loops in ONNX.
    """

    def call(self, vectors, scores, tokens):
        mask = ops.cast(ops.not_equal(tokens, PAD_ID), vectors.dtype)[..., None]
        scores = scores - ops.max(scores * mask - 1e4 * (1.0 - mask), axis=1, keepdims=True)
        weights = ops.exp(ops.minimum(scores, 0.0)) * mask
        return ops.sum(vectors * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1e-6)

    def compute_output_shape(self, vectors_shape, scores_shape, tokens_shape):
        return (vectors_shape[0], vectors_shape[2])


@keras.saving.register_keras_serializable(package="zoo")
class AffineModulation(layers.Layer):
    """x·(1 + γ(e)) + β(e), channel-wise, with γ and β linear in the text embedding e.

    The affine transformation of DF-GAN's fusion blocks (Tao et al. 2022, equation 1, with
    γ, β predicted from the sentence vector), applied after a normalisation without its own
    scale and offset (as conditional batch norm does). γ and β start at zero: the block starts
    as a plain one and learns what the text should change.
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.scale = layers.Dense(channels, kernel_initializer="zeros", name="scale")
        self.shift = layers.Dense(channels, kernel_initializer="zeros", name="shift")

    def build(self, x_shape, embedding_shape):
        self.scale.build(embedding_shape)
        self.shift.build(embedding_shape)

    def call(self, x, embedding):
        scale = ops.reshape(self.scale(embedding), (-1, 1, 1, self.channels))
        shift = ops.reshape(self.shift(embedding), (-1, 1, 1, self.channels))
        return x * (1.0 + scale) + shift

    def compute_output_shape(self, x_shape, embedding_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def build_text_encoder(vocabulary_size, max_length, embedding_dim=128, word_dim=64, pooling="attention"):
    """tokens (batch, T) int64 -> (batch, embedding_dim).

    `pooling="attention"`: word vectors → `AttentionMean` (near additive in the words).
    `pooling="conv"` (Reed et al.'s baseline here): Embedding → Conv1D(3) → masked mean → Dense.
    """
    tokens = keras.Input((max_length,), dtype="int64", name="tokens")
    if pooling == "attention":
        vectors = layers.Embedding(vocabulary_size, embedding_dim, name="word_vectors")(tokens)
        scores = layers.Embedding(vocabulary_size, 1, embeddings_initializer="zeros", name="word_scores")(tokens)
        embedding = AttentionMean(name="text_embedding")(vectors, scores, tokens)
    else:
        x = layers.Embedding(vocabulary_size, word_dim)(tokens)
        x = layers.Conv1D(embedding_dim, 3, padding="same", activation="relu")(x)
        x = MaskedMean()(x, tokens)
        embedding = layers.Dense(embedding_dim, name="text_embedding")(x)
    return keras.Model(tokens, embedding, name="text_encoder")


def build_generator(latent_dim, embedding_dim, condition_dim, image_shape, filters):
    """Reed et al.: [z, text embedding] -> concat(z, LeakyReLU(Dense(embedding))) -> DCGAN upsampling -> tanh image."""
    z = keras.Input((latent_dim,), name="z")
    embedding = keras.Input((embedding_dim,), name="text_embedding")
    condition = LeakyReLU(0.2)(layers.Dense(condition_dim)(embedding))
    x = layers.Concatenate()([z, condition])
    return keras.Model([z, embedding], upsample_to_image(x, image_shape, filters), name="generator")


def build_modulated_generator(latent_dim, embedding_dim, image_shape, filters):
    """[z, e] -> Dense -> small square; at every hidden size: BN (no affine of its own) ->
    x·(1 + γ(e)) + β(e) -> ReLU, doubled by stride-2 transposed convolutions; the last one
    gives tanh pixels. DCGAN's widths (`upsample_to_image`), with the text in every block.
    """
    height, _, channels = image_shape
    start, steps = upsampling_plan(height)
    z = keras.Input((latent_dim,), name="z")
    embedding = keras.Input((embedding_dim,), name="text_embedding")
    width = filters * 2 ** (steps - 1)
    x = layers.Dense(start * start * width, use_bias=False)(layers.Concatenate()([z, embedding]))
    x = layers.Reshape((start, start, width))(x)
    for step in range(steps):
        x = layers.BatchNormalization(center=False, scale=False)(x)
        x = layers.ReLU()(AffineModulation(width)(x, embedding))
        if step < steps - 1:
            width //= 2
            x = convolutions.Conv2DTranspose(width, KERNEL_SIZE, 2, "same", use_bias=False)(x)
    image = convolutions.Conv2DTranspose(channels, KERNEL_SIZE, 2, "same", activation="tanh", dtype="float32")(x)
    return keras.Model([z, embedding], image, name="generator")


def build_discriminator(image_shape, embedding_dim, condition_dim, filters, projection=True, attributes=None, normalization="layer"):
    """[image, text embedding] -> [logit, *attribute logits].

    Strided convolutions to the smallest square give the image's features φ(x) (flattened).
    `projection=True`: logit = ψ(φ(x)) + (V e)ᵀ φ(x) (Miyato & Koyama 2018, equation 3, with
    the text embedding in place of the class embedding). Otherwise Reed et al.'s: the text,
    projected and replicated, is depth-concatenated with the smallest feature map, then a 1×1
    convolution and a Dense give the logit. `attributes` ({name: number of values}): a softmax
    head per attribute on φ(x), as AC-GAN's auxiliary classifier (Odena et al. 2017).
    `normalization`: "batch" (DCGAN's, Reed et al.'s) or "layer" (per image: the score of an image
    does not depend on the rest of its batch, which differs between D's and G's steps here).
    """
    normalize = layers.BatchNormalization if normalization == "batch" else layers.LayerNormalization
    image = keras.Input(image_shape, name="image")
    embedding = keras.Input((embedding_dim,), name="text_embedding")
    _, steps = upsampling_plan(image_shape[0])
    x = image
    for step in range(steps):
        x = convolutions.Conv2D(filters * 2**step, KERNEL_SIZE, 2, "same", use_bias=step == 0)(x)
        if step > 0:
            x = normalize()(x)
        x = LeakyReLU(0.2)(x)
    features = layers.Flatten()(x)
    if projection:
        projected = layers.Dot(axes=1)([layers.Dense(features.shape[-1], use_bias=False, name="text_projection")(embedding), features])
        logit = layers.Add(dtype="float32", name="logit")([layers.Dense(1)(features), projected])
    else:
        side = image_shape[0] // 2**steps
        condition = LeakyReLU(0.2)(layers.Dense(condition_dim)(embedding))
        condition = layers.UpSampling2D(side)(layers.Reshape((1, 1, condition_dim))(condition))
        y = layers.Concatenate()([x, condition])
        y = layers.Conv2D(filters * 2 ** (steps - 1), 1, use_bias=False)(y)
        y = LeakyReLU(0.2)(normalize()(y))
        logit = layers.Dense(1, dtype="float32", name="logit")(layers.Flatten()(y))
    heads = [layers.Dense(size, dtype="float32", name=f"{name}_logits")(features) for name, size in (attributes or {}).items()]
    return keras.Model([image, embedding], [logit, *heads] if heads else logit, name="discriminator")


def pretrain_text_encoder(text_encoder, tokens, targets, epochs=3, batch_size=256, verbose=0, unknown_rate=0.3, seed=0):
    """Trains `text_encoder` to tell what captions describe, then freezes it.

    Args:
        text_encoder: from `build_text_encoder`.
        tokens: int64 (n, T) token ids of the training captions.
        targets: {name: (int ids (n,), number of values)}, e.g. {"class": (labels, 10),
            "colour": (colours, 8)}: one softmax head per attribute. Empty: the captions'
            own words are the target (a bag-of-words head), for data without attributes.
        unknown_rate: share of captions that get one unknown word (id 1) inserted at a random
            place, so that words the tokenizer does not know weigh little in new phrasings.
    Returns the `fit` history.
    """
    tokens = insert_unknown_words(np.asarray(tokens), unknown_rate, np.random.default_rng(seed))
    text_encoder.trainable = True
    embedding = text_encoder.output
    if targets:
        heads = {name: layers.Dense(size, name=name)(embedding) for name, (_, size) in targets.items()}
        y = {name: np.asarray(ids) for name, (ids, _) in targets.items()}
        loss = {name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in targets}
        metrics = {name: ["accuracy"] for name in targets}
    else:
        vocabulary_size = text_encoder.get_layer(index=1).input_dim
        heads = {"words": layers.Dense(vocabulary_size, name="words")(embedding)}
        bag = np.zeros((len(tokens), vocabulary_size), np.float32)
        np.put_along_axis(bag, tokens, 1.0, axis=1)
        bag[:, [PAD_ID, UNK_ID]] = 0.0
        y, loss, metrics = {"words": bag}, {"words": keras.losses.BinaryCrossentropy(from_logits=True)}, None
    trainer = keras.Model(text_encoder.input, heads)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    history = trainer.fit(tokens, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    text_encoder.trainable = False
    return history


def insert_unknown_words(tokens, rate, rng):
    """Inserts one unknown word (id 1) at a random place in a share `rate` of the rows that have room."""
    tokens = tokens.copy()
    lengths = np.sum(tokens != PAD_ID, axis=1)
    rows = np.flatnonzero((rng.random(len(tokens)) < rate) & (lengths < tokens.shape[1]))
    for row in rows:
        place = rng.integers(lengths[row] + 1)
        tokens[row, place + 1 : lengths[row] + 1] = tokens[row, place : lengths[row]]
        tokens[row, place] = UNK_ID
    return tokens


def mode_seeking_penalty(images, other_images, z, other_z, epsilon=1e-5, cap=None):
    """Mao et al. 2019 (MSGAN, https://arxiv.org/abs/1903.05628), equation 3, as a loss to minimise:
    1 / (mean|G(z₁, t) − G(z₂, t)| / mean|z₁ − z₂| + ε). Large when two noises give one image.

    `cap`: the ratio is taken as min(ratio, cap), so that nothing rewards samples of one caption
    for differing more than `cap` (about real garments' own: 0.19 on colourised Fashion-MNIST,
    mean|x₁ − x₂| of two garments of one pair over mean|z₁ − z₂|); uncapped, the generator
    learned to add noise that set the discriminator winning after ~6,000 steps.
    """
    ratio = ops.mean(ops.abs(images - other_images)) / ops.mean(ops.abs(z - other_z))
    if cap is not None:
        ratio = ops.minimum(ratio, cap)
    return 1.0 / (ratio + epsilon)


def matching_aware_discriminator_loss(loss_fn, real_logits, mismatch_logits, fake_logits):
    """Reed et al. 2016, Algorithm 1: L_D = s_r + ½(s_w + s_f) in the loss `loss_fn`.

    `loss_fn.discriminator_loss(real, fakes)` averages over its "fake" scores, so passing the
    mismatched pairs and the generated images together (equal batches) weighs each by ½:
    BCE(real, right) + ½·BCE(real, wrong → fake) + ½·BCE(fake, right → fake).
    """
    return loss_fn.discriminator_loss(real_logits, ops.concatenate([mismatch_logits, fake_logits], axis=0))


def attribute_loss(logits, ids):
    """Mean softmax cross-entropy of attribute logits (n, k) against int ids (n,)."""
    return ops.mean(ops.sparse_categorical_crossentropy(ops.cast(ids, "int32"), logits, from_logits=True))


@keras.saving.register_keras_serializable(package="zoo")
class TextToImageGAN(BaseGAN):
    """Text-to-image GAN trained with `fit` on `zoo.captions.matching_batches`.

    Args:
        vocabulary: the tokenizer's words ("<pad>", "<unk>", ...), e.g. `Tokenizer.fit(captions).vocabulary`
            (or give `tokenizer`).
        max_length: T, token ids per caption.
        latent_dim: size of `z`.
        image_shape: `(side, side, channels)`, side 28, 32, 64, ...
        embedding_dim: size of the text embedding.
        condition_dim: size of the projected text where it is concatenated (Reed et al.'s
            generator and discriminator; the paper: 128).
        g_filters, d_filters: widths of the networks (as in `DCGAN`).
        text_pooling: "attention" (additive in the words) or "conv" (Reed et al.).
        modulation: affine modulation of every generator block by the text (DF-GAN); False:
            the text is concatenated with `z` only (Reed et al.).
        projection: projection discriminator (Miyato & Koyama 2018); False: Reed et al.'s
            depth concatenation.
        attributes: {name: number of values} of labelled attributes, e.g. {"class": 10,
            "colour": 8}: auxiliary heads on the discriminator, trained on real images, whose
            cross-entropy on generated images the generator minimises (AC-GAN). Batches then
            carry the attributes' ids under their names. None: no heads.
        attribute_weight: weight of the attribute cross-entropies in both losses.
        interpolation: INT (Reed et al., section 4.3): the generator step also sees β = 0.5
            averages of pairs of the batch's text embeddings.
        diversity_weight: λ of a mode-seeking term in the generator's loss (Mao et al. 2019);
            0 trains without it, which on this data learns to ignore `z`.
        diversity_cap: the mode-seeking ratio counts up to this (see `mode_seeking_penalty`); None: uncapped.
        d_normalization: the discriminator's "layer" (per image) or "batch" normalisation.
        seed: seed of the training noise.
        tokenizer: a `zoo.text.Tokenizer` or its `spec()` (synonyms, fillers, typo rules and all),
            instead of `vocabulary` and `max_length`.
        **kwargs: `ema_decay` and the rest of `BaseGAN`'s arguments.

    Batches are dicts {"images": (B, H, W, C) in [-1, 1], "tokens": (B, T) int64,
    "wrong_tokens": (B, T) int64 captions that do not describe the images}, plus each
    attribute's ids (B,) by name, and optionally "composed_tokens" (captions of sampled
    attribute combinations, without images) with their ids as "composed_<name>".

    Examples:

    ```python
    data = zoo.captions.colourised_fashion_mnist("train")
    tokenizer = zoo.text.Tokenizer.fit(data.captions, max_length=12, **zoo.lexicon.shopper_rules())
    gan = TextToImageGAN(tokenizer=tokenizer, attributes={"class": 10, "colour": 8})
    pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), {"class": (data.labels, 10), "colour": (data.colours, 8)})
    gan.compile()
    gan.fit(zoo.captions.matching_batches(data, tokenizer, compose=True), epochs=5)
    images = gan.generate(16, seed=0, prompt="a red dress")  # (16, 28, 28, 3) in [-1, 1]
    baseline = TextToImageGAN.gan_int_cls(tokenizer=tokenizer)  # Reed et al. 2016
    ```
    """

    family = "t2i"
    updates = ("alternating",)  # Reed et al.'s Algorithm 1
    takes_gradient_penalty = False  # a text-conditioned, matching-aware critic: no WGAN-GP here
    reported = ("mismatch",)  # D's mean belief that real images with wrong captions are real
    paper = (
        "Reed, Akata, Yan, Logeswaran, Schiele & Lee 2016, Generative Adversarial Text to Image Synthesis (GAN-INT-CLS), "
        "https://arxiv.org/abs/1605.05396; with affine text modulation (Tao et al. 2022, DF-GAN, https://arxiv.org/abs/2008.05865), "
        "a projection discriminator (Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637) and auxiliary attribute heads "
        "(Odena et al. 2017, AC-GAN, https://arxiv.org/abs/1610.09585)"
    )

    def __init__(
        self,
        vocabulary=None,
        max_length=None,
        latent_dim=64,
        image_shape=(28, 28, 3),
        embedding_dim=128,
        condition_dim=64,
        g_filters=32,
        d_filters=32,
        text_pooling="attention",
        modulation=True,
        projection=True,
        attributes=None,
        attribute_weight=1.0,
        interpolation=True,
        diversity_weight=1.0,
        diversity_cap=0.2,
        d_normalization="layer",
        seed=None,
        tokenizer=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, seed=seed, **kwargs)
        if self.image_shape[0] != self.image_shape[1]:
            raise ValueError(f"TextToImageGAN needs square images, got image_shape={self.image_shape}.")
        self.tokenizer = make_tokenizer(tokenizer, vocabulary, max_length)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1, 4096)
        self.condition_dim = check_int("condition_dim", condition_dim, 1, 4096)
        self.g_filters = check_int("g_filters", g_filters, 1, 4096)
        self.d_filters = check_int("d_filters", d_filters, 1, 4096)
        if text_pooling not in TEXT_POOLINGS:
            raise ValueError(f"`text_pooling` must be one of {TEXT_POOLINGS}, got {text_pooling!r}.")
        self.text_pooling = text_pooling
        self.modulation, self.projection, self.interpolation = bool(modulation), bool(projection), bool(interpolation)
        self.attributes = check_attributes(attributes)
        self.attribute_weight = check_number("attribute_weight", attribute_weight, 0, 1000, high_open=True)
        self.diversity_weight = check_number("diversity_weight", diversity_weight, 0, 1000, high_open=True)
        self.diversity_cap = None if diversity_cap is None else check_number("diversity_cap", diversity_cap, 0, 1000, low_open=True)
        if d_normalization not in ("layer", "batch"):
            raise ValueError(f"`d_normalization` must be 'layer' or 'batch', got {d_normalization!r}.")
        self.d_normalization = d_normalization
        self.text_encoder = build_text_encoder(self.tokenizer.vocabulary_size, self.tokenizer.max_length, self.embedding_dim, pooling=text_pooling)
        self.text_encoder.trainable = False  # frozen in the GAN; `pretrain_text_encoder` trains it before
        if self.modulation:
            generator = build_modulated_generator(self.latent_dim, self.embedding_dim, self.image_shape, self.g_filters)
        else:
            generator = build_generator(self.latent_dim, self.embedding_dim, self.condition_dim, self.image_shape, self.g_filters)
        discriminator = build_discriminator(
            self.image_shape, self.embedding_dim, self.condition_dim, self.d_filters, self.projection, self.attributes, self.d_normalization
        )
        self.set_networks(generator, discriminator)

    @classmethod
    def from_config(cls, config):
        if "text_pooling" not in config:  # saved before the parts below existed: a GAN-INT-CLS model
            config = {**config, "text_pooling": "conv", "modulation": False, "projection": False, "attributes": None, "diversity_cap": None, "d_normalization": "batch"}
        return super().from_config(config)

    @classmethod
    def gan_int_cls(cls, vocabulary=None, max_length=None, **kwargs):
        """Reed et al. 2016's GAN-INT-CLS (the paper's baseline, and this zoo's first text-to-image model):
        Conv1D text encoder, text concatenated in both networks, no attribute heads."""
        options = {"text_pooling": "conv", "modulation": False, "projection": False, "attributes": None, "diversity_cap": None, "d_normalization": "batch", **kwargs}
        return cls(vocabulary, max_length, **options)

    # ----- training: hooks of BaseGAN.train_step ----------------------------------------

    def unpack_batch(self, data):
        """A batch dict -> (images, condition): the frozen text encoder's embeddings of the right,
        wrong (and composed) captions, and the attribute ids."""
        if not isinstance(data, dict) or not {"images", "tokens", "wrong_tokens"} <= set(data):
            raise ValueError(
                "TextToImageGAN trains on dicts with 'images', 'tokens' and 'wrong_tokens' (zoo.captions.matching_batches); "
                f"got {type(data).__name__}{' with keys ' + str(sorted(data)) if isinstance(data, dict) else ''}."
            )
        condition = {"text": self.text_encoder(data["tokens"], training=False), "wrong": self.text_encoder(data["wrong_tokens"], training=False)}
        for name in self.attributes:
            if name not in data:
                raise ValueError(f"This model has an attribute head {name!r}: its batches need the ids under {name!r}.")
            condition[name] = data[name]
        if "composed_tokens" in data:
            condition["composed_text"] = self.text_encoder(data["composed_tokens"], training=False)
            for name in self.attributes:
                condition[f"composed_{name}"] = data[f"composed_{name}"]
        return ops.convert_to_tensor(data["images"]), condition

    def conditioned(self, x, condition):
        """A network's input: [x, the right captions' embedding]."""
        return [x, condition["text"]]

    def score(self, images, text):
        """The discriminator on (images, text embeddings): (logit, {attribute: logits})."""
        outputs = self.discriminator([images, text], training=True)
        if not self.attributes:
            return outputs, {}
        return outputs[0], dict(zip(self.attributes, outputs[1:]))

    def discriminator_objective(self, real_images, fake_images, condition):
        """Reed et al.'s matching-aware loss (real, right) / (real, wrong) / (fake, right), plus the
        attribute heads' cross-entropy on real images; returns `(loss, (real_logits, fake_logits))`."""
        real_logits, real_attributes = self.score(real_images, condition["text"])
        mismatch_logits, _ = self.score(real_images, condition["wrong"])
        fake_logits, _ = self.score(fake_images, condition["text"])
        loss = matching_aware_discriminator_loss(self.loss_fn, real_logits, mismatch_logits, fake_logits)
        for name, logits in real_attributes.items():
            loss += self.attribute_weight * attribute_loss(logits, condition[name])
        return loss, (real_logits, fake_logits, {"mismatch": mismatch_logits})

    def generator_objective(self, batch_size, condition):
        """The generator's loss on fresh samples for the batch's captions, INT interpolations of
        them and composed captions: fool D, be recognised by the attribute heads as the caption's
        attributes, and differ across noise (mode seeking). Returns `(loss, the batch's samples)`."""
        right = condition["text"]
        half = batch_size // 2
        texts = [right]
        if self.interpolation:
            texts.append(0.5 * (right[:half] + right[half : 2 * half]))
        composed = condition.get("composed_text")
        if composed is not None:
            texts.append(composed)
        texts = ops.concatenate(texts, axis=0) if len(texts) > 1 else right
        z = self.sample_z(ops.shape(texts)[0])
        fake_images = self.generator([z, texts], training=True)
        logits, attributes = self.score(fake_images, texts)
        loss = self.loss_fn.generator_loss(logits)
        for name, attribute_logits in attributes.items():
            term = attribute_loss(attribute_logits[:batch_size], condition[name])
            if composed is not None:
                term = 0.5 * (term + attribute_loss(attribute_logits[-ops.shape(composed)[0] :], condition[f"composed_{name}"]))
            loss += self.attribute_weight * term
        if self.diversity_weight:  # the same texts from other noise must give other images
            z_other = self.sample_z(half)
            others = self.generator([z_other, right[:half]], training=True)
            loss += self.diversity_weight * mode_seeking_penalty(fake_images[:half], others, z[:half], z_other, cap=self.diversity_cap)
        return loss, fake_images[:batch_size]

    # ----- generating -----------------------------------------------------------------

    def call(self, inputs, training=False):
        z, tokens = inputs
        return self.generator([z, self.text_encoder(tokens, training=False)], training=training)

    def generate(self, n=None, seed=None, z=None, prompt=None, batch_size=256, labels=None, truncation=None):
        """Returns images for `prompt` (one caption, or a list of one per image) as numpy in [-1, 1].

        The noise is `zoo.latent.sample_latent(n, latent_dim, seed, truncation)` and the tokens
        `self.tokenizer(prompts)`, the same that `zoo.runtime` uses, so ONNX gives the same images.
        """
        if labels is not None:
            raise ValueError(f"{type(self).__name__} draws what its prompt says: it takes no `labels`.")
        z = self._latent_input(n, seed, z, truncation)
        return self.generate_from({"z": z, "tokens": self.tokens_for(prompt, len(z))}, batch_size)

    def preview(self, z):
        """The per-epoch sample grid's images: `PREVIEW_PROMPTS` (seen pairs, held-out pairs,
        held-out phrasings) in turn over the rows of `z`, where the tokenizer knows their words."""
        prompts = [prompt for prompt in PREVIEW_PROMPTS if self._knows_a_word_of(prompt)] or [self.tokenizer.vocabulary[-1]]
        columns = max(1, len(z) // len(prompts))
        return self.generate(z=z, prompt=[prompts[min(row // columns, len(prompts) - 1)] for row in range(len(z))])

    def _knows_a_word_of(self, prompt):
        try:
            return bool(np.any(self.tokenizer([prompt]) > UNK_ID))
        except ValueError:
            return False

    def tokens_for(self, prompt, n):
        """Token ids (n, T) for one caption repeated `n` times, or for a list of `n` captions."""
        if prompt is None:
            raise ValueError("A text-to-image model needs a prompt, e.g. prompt='a red dress'.")
        prompts = prompt_sequence(prompt)
        prompts = [prompts] * n if isinstance(prompts, str) else prompts
        if len(prompts) != n:
            raise ValueError(f"Got {len(prompts)} prompts for {n} images: pass one prompt, or one per image.")
        return self.tokenizer(prompts)

    # ----- export hooks ---------------------------------------------------------------

    def export_inputs(self):
        return {"z": ((None, self.latent_dim), "float32"), "tokens": ((None, self.tokenizer.max_length), "int64")}

    def export_call(self, inputs):
        embedding = self.text_encoder(ops.convert_to_tensor(inputs["tokens"], "int64"), training=False)
        return self.sampling_generator([ops.convert_to_tensor(inputs["z"], "float32"), embedding], training=False)

    def export_example(self, n, seed=None):
        """Noise and random captions: 1 to T word ids (unknown words included), padded with 0."""
        rng = np.random.default_rng(seed)
        lengths = rng.integers(1, self.tokenizer.max_length + 1, size=n)
        ids = rng.integers(1, self.tokenizer.vocabulary_size, size=(n, self.tokenizer.max_length))
        tokens = np.where(np.arange(self.tokenizer.max_length) < lengths[:, None], ids, PAD_ID).astype(np.int64)
        return {"z": sample_latent(n, self.latent_dim, seed), "tokens": tokens}

    def sampling_networks(self):
        return {**super().sampling_networks(), "text_encoder": self.text_encoder}

    def card(self):
        card = super().card()
        card["parameters"]["text_encoder"] = int(self.text_encoder.count_params())
        card["text_encoder"] = "inside generator.onnx: input `tokens` int64 [batch, max_length] from the tokenizer below"
        card["tokenizer"] = self.tokenizer.spec(GOLDEN_CAPTIONS)
        card["conditioning"] = {
            "text_pooling": self.text_pooling,
            "generator": "affine modulation of every block (DF-GAN)" if self.modulation else "text concatenated with z (Reed et al.)",
            "discriminator": "projection (Miyato & Koyama 2018)" if self.projection else "depth concatenation (Reed et al.)",
            "attribute_heads": dict(self.attributes),
        }
        return card

    # ----- configuration --------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": self.tokenizer.spec(),
                "embedding_dim": self.embedding_dim,
                "condition_dim": self.condition_dim,
                "g_filters": self.g_filters,
                "d_filters": self.d_filters,
                "text_pooling": self.text_pooling,
                "modulation": self.modulation,
                "projection": self.projection,
                "attributes": dict(self.attributes),
                "attribute_weight": self.attribute_weight,
                "interpolation": self.interpolation,
                "diversity_weight": self.diversity_weight,
                "diversity_cap": self.diversity_cap,
                "d_normalization": self.d_normalization,
            }
        )
        return config


def make_tokenizer(tokenizer, vocabulary, max_length):
    """The model's tokenizer: `tokenizer` (a `zoo.text.Tokenizer` or its spec, as card.json and the
    model's config hold it), or the plain rules over `vocabulary` and `max_length`."""
    if tokenizer is None:
        if vocabulary is None or max_length is None:
            raise ValueError("TextToImageGAN needs its tokenizer: `tokenizer=` (a zoo.text.Tokenizer or its spec), or `vocabulary` and `max_length`.")
        return Tokenizer(vocabulary, max_length)
    tokenizer = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer.from_spec(tokenizer)
    if vocabulary is not None and list(vocabulary) != list(tokenizer.vocabulary):
        raise ValueError("`vocabulary` differs from the tokenizer's: pass one of them.")
    if max_length is not None and max_length != tokenizer.max_length:
        raise ValueError(f"`max_length`={max_length} differs from the tokenizer's {tokenizer.max_length}.")
    return tokenizer


def check_attributes(attributes):
    """{name: number of values} (names of letters, digits and _), or {} for None."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise ValueError(f"`attributes` must be a dict {{name: number of values}} such as {{'class': 10}}, got {attributes!r}.")
    checked = {}
    for name, size in attributes.items():
        if not isinstance(name, str) or not name.isidentifier() or name in ("images", "tokens", "wrong_tokens", "text", "wrong") or name.startswith("composed"):
            raise ValueError(f"Attribute name {name!r} must be a plain identifier other than the batch's own keys.")
        checked[name] = check_int(f"attributes[{name!r}]", size, 1, 100_000)
    return checked

