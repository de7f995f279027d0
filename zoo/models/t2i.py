"""Text-to-image GAN: GAN-INT-CLS (Reed et al. 2016, https://arxiv.org/abs/1605.05396).

A caption is tokenized (`zoo.text.Tokenizer`, plain rules shipped in card.json), encoded by a
small text encoder (word embeddings → Conv1D → masked mean → Dense), pretrained to recognise
what captions describe and then frozen, as StackGAN, AttnGAN and DF-GAN do with theirs. Both
networks see the text through a small conditioning vector, LeakyReLU(Dense(embedding)):

- the generator concatenates it with `z` (Reed et al., section 4);
- the discriminator replicates it spatially and depth-concatenates it with its image
  features at the last spatial size (7×7 for 28×28 images), then scores the pair.

Training (`train_step`) is Algorithm 1 of the paper with both of its additions:

- CLS, the matching-aware discriminator: a real image with a caption that does not describe
  it is scored as fake. D minimises BCE(real, right text) + ½·BCE(real, wrong text → fake)
  + ½·BCE(fake, right text → fake) (section 4.2; the reference code's weights);
- INT, manifold interpolation: the generator step also sees β = 0.5 averages of pairs of
  the batch's text embeddings (section 4.3), B real + B/2 interpolated.

One addition to the paper: a mode-seeking term in the generator's loss (Mao et al. 2019), so
that the noise `z` keeps mattering once the caption fixes class and colour.

The exported generator takes `z` float32 [batch, latent_dim] and `tokens` int64 [batch, T]:
the text encoder is inside the graph, so an app needs only the tokenizer spec of card.json.
"""

import keras
import numpy as np
from keras import layers, ops

from zoo import layers as convolutions
from zoo.latent import sample_latent
from zoo.models.base import BaseGAN
from zoo.models.dcgan import KERNEL_SIZE, upsample_to_image, upsampling_plan
from zoo.text import PAD_ID, Tokenizer
from zoo.validation import check_int, check_number

# Captions whose ids card.json lists, so that ports of the tokenizer can check themselves:
# upper case, punctuation, hyphens, unknown words and digits included.
GOLDEN_CAPTIONS = ("a red dress", "Ankle boot, BLUE!", "a t-shirt in green", "a zebra-striped hat", "dress #2 in pink")


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


def build_text_encoder(vocabulary_size, max_length, embedding_dim=128, word_dim=64):
    """tokens (batch, T) int64 -> Embedding -> Conv1D(3) -> masked mean -> Dense -> (batch, embedding_dim)."""
    tokens = keras.Input((max_length,), dtype="int64", name="tokens")
    x = layers.Embedding(vocabulary_size, word_dim)(tokens)
    x = layers.Conv1D(embedding_dim, 3, padding="same", activation="relu")(x)
    x = MaskedMean()(x, tokens)
    embedding = layers.Dense(embedding_dim, name="text_embedding")(x)
    return keras.Model(tokens, embedding, name="text_encoder")


def build_generator(latent_dim, embedding_dim, condition_dim, image_shape, filters):
    """[z, text embedding] -> concat(z, LeakyReLU(Dense(embedding))) -> DCGAN upsampling -> tanh image."""
    z = keras.Input((latent_dim,), name="z")
    embedding = keras.Input((embedding_dim,), name="text_embedding")
    condition = layers.LeakyReLU(0.2)(layers.Dense(condition_dim)(embedding))
    x = layers.Concatenate()([z, condition])
    return keras.Model([z, embedding], upsample_to_image(x, image_shape, filters), name="generator")


def build_discriminator(image_shape, embedding_dim, condition_dim, filters):
    """[image, text embedding] -> strided convs -> depth-concat the replicated condition -> 1 logit."""
    image = keras.Input(image_shape, name="image")
    embedding = keras.Input((embedding_dim,), name="text_embedding")
    _, steps = upsampling_plan(image_shape[0])
    x = image
    for step in range(steps):
        x = convolutions.Conv2D(filters * 2**step, KERNEL_SIZE, 2, "same", use_bias=step == 0)(x)
        if step > 0:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    side = image_shape[0] // 2**steps
    condition = layers.LeakyReLU(0.2)(layers.Dense(condition_dim)(embedding))
    condition = layers.UpSampling2D(side)(layers.Reshape((1, 1, condition_dim))(condition))
    x = layers.Concatenate()([x, condition])
    x = layers.Conv2D(filters * 2 ** (steps - 1), 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    logit = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    return keras.Model([image, embedding], logit, name="discriminator")


def pretrain_text_encoder(text_encoder, tokens, targets, epochs=3, batch_size=256, verbose=0):
    """Trains `text_encoder` to tell what captions describe, then freezes it.

    Args:
        text_encoder: from `build_text_encoder`.
        tokens: int64 (n, T) token ids of the training captions.
        targets: {name: (int ids (n,), number of values)}, e.g. {"class": (labels, 10),
            "colour": (colours, 8)}: one softmax head per attribute. Empty: the captions'
            own words are the target (a bag-of-words head), for data without attributes.
    Returns the `fit` history.
    """
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
        np.put_along_axis(bag, np.asarray(tokens), 1.0, axis=1)
        bag[:, PAD_ID] = 0.0
        y, loss, metrics = {"words": bag}, {"words": keras.losses.BinaryCrossentropy(from_logits=True)}, None
    trainer = keras.Model(text_encoder.input, heads)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    history = trainer.fit(np.asarray(tokens), y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    text_encoder.trainable = False
    return history


def mode_seeking_penalty(images, other_images, z, other_z, epsilon=1e-5):
    """Mao et al. 2019 (MSGAN, https://arxiv.org/abs/1903.05628), equation 3, as a loss to minimise:
    1 / (mean|G(z₁, t) − G(z₂, t)| / mean|z₁ − z₂| + ε). Large when two noises give one image."""
    ratio = ops.mean(ops.abs(images - other_images)) / ops.mean(ops.abs(z - other_z))
    return 1.0 / (ratio + epsilon)


def matching_aware_discriminator_loss(loss_fn, real_logits, mismatch_logits, fake_logits):
    """Reed et al. 2016, Algorithm 1: L_D = s_r + ½(s_w + s_f) in the loss `loss_fn`.

    `loss_fn.discriminator_loss(real, fakes)` averages over its "fake" scores, so passing the
    mismatched pairs and the generated images together (equal batches) weighs each by ½:
    BCE(real, right) + ½·BCE(real, wrong → fake) + ½·BCE(fake, right → fake).
    """
    return loss_fn.discriminator_loss(real_logits, ops.concatenate([mismatch_logits, fake_logits], axis=0))


@keras.saving.register_keras_serializable(package="zoo")
class TextToImageGAN(BaseGAN):
    """GAN-INT-CLS text-to-image GAN, trained with `fit` on `zoo.captions.matching_dataset`.

    Args:
        vocabulary: the tokenizer's words ("<pad>", "<unk>", ...), e.g. `Tokenizer.fit(captions).vocabulary`.
        max_length: T, token ids per caption.
        latent_dim: size of `z`.
        image_shape: `(side, side, channels)`, side 28, 32, 64, ...
        embedding_dim: size of the text embedding.
        condition_dim: size of the projected text (the paper: 128).
        g_filters, d_filters: widths of the networks, as in `DCGAN`.
        diversity_weight: λ of a mode-seeking term in the generator's loss (Mao et al. 2019);
            0 trains Reed et al.'s loss alone, which on this data learns to ignore `z` (one
            image per caption).
        seed: seed of the training noise.
        **kwargs: `ema_decay` and the rest of `BaseGAN`'s arguments.

    Batches are dicts {"images": (B, H, W, C) in [-1, 1], "tokens": (B, T) int64,
    "wrong_tokens": (B, T) int64 captions that do not describe the images}.

    Examples:

    ```python
    data = zoo.captions.colourised_fashion_mnist("train")
    tokenizer = zoo.text.Tokenizer.fit(data.captions, max_length=12)
    gan = TextToImageGAN(tokenizer.vocabulary, tokenizer.max_length, image_shape=(28, 28, 3))
    pretrain_text_encoder(gan.text_encoder, tokenizer(data.captions), {"class": (data.labels, 10), "colour": (data.colours, 8)})
    gan.compile()
    gan.fit(zoo.captions.matching_dataset(data, tokenizer), epochs=5)
    images = gan.generate(16, seed=0, prompt="a red dress")  # (16, 28, 28, 3) in [-1, 1]
    ```
    """

    family = "t2i"
    paper = "Reed, Akata, Yan, Logeswaran, Schiele & Lee 2016, Generative Adversarial Text to Image Synthesis (GAN-INT-CLS), https://arxiv.org/abs/1605.05396"

    def __init__(
        self,
        vocabulary,
        max_length,
        latent_dim=64,
        image_shape=(28, 28, 3),
        embedding_dim=128,
        condition_dim=64,
        g_filters=32,
        d_filters=32,
        diversity_weight=1.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, seed=seed, **kwargs)
        if self.image_shape[0] != self.image_shape[1]:
            raise ValueError(f"TextToImageGAN needs square images, got image_shape={self.image_shape}.")
        self.tokenizer = Tokenizer(vocabulary, max_length)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1, 4096)
        self.condition_dim = check_int("condition_dim", condition_dim, 1, 4096)
        self.g_filters = check_int("g_filters", g_filters, 1, 4096)
        self.d_filters = check_int("d_filters", d_filters, 1, 4096)
        self.diversity_weight = check_number("diversity_weight", diversity_weight, 0, 1000, high_open=True)
        self.text_encoder = build_text_encoder(self.tokenizer.vocabulary_size, self.tokenizer.max_length, self.embedding_dim)
        self.p_mismatch_tracker = keras.metrics.Mean(name="p_mismatch")
        self.set_networks(
            build_generator(self.latent_dim, self.embedding_dim, self.condition_dim, self.image_shape, self.g_filters),
            build_discriminator(self.image_shape, self.embedding_dim, self.condition_dim, self.d_filters),
        )

    @property
    def metrics(self):
        return [*super().metrics, self.p_mismatch_tracker]

    # ----- training -------------------------------------------------------------------

    def discriminator_loss(self, images, right, wrong, z):
        """L_D of the matching-aware discriminator on one batch of text embeddings; returns
        `(loss, (real_logits, mismatch_logits, fake_logits))`."""
        fake_images = self.generator([z, right], training=True)
        real_logits = self.discriminator([images, right], training=True)
        mismatch_logits = self.discriminator([images, wrong], training=True)
        fake_logits = self.discriminator([fake_images, right], training=True)
        loss = matching_aware_discriminator_loss(self.loss_fn, real_logits, mismatch_logits, fake_logits)
        return loss, (real_logits, mismatch_logits, fake_logits)

    def compile(self, *args, update="alternating", **kwargs):
        if update != "alternating":
            raise ValueError("TextToImageGAN trains with Reed et al.'s alternating steps only (update='alternating').")
        super().compile(*args, **kwargs)

    def train_step(self, data):
        """Reed et al. 2016, Algorithm 1 (GAN-CLS) with INT: one D step, then one G step."""
        images, tokens, wrong_tokens = data["images"], data["tokens"], data["wrong_tokens"]
        batch_size = ops.shape(images)[0]
        right = self.text_encoder(tokens, training=False)  # frozen, pretrained
        wrong = self.text_encoder(wrong_tokens, training=False)

        # 1. Discriminator: {real image, right text} real; {real image, wrong text} and {fake image, right text} fake.
        d_loss, (real_logits, mismatch_logits, fake_logits) = self.minimize(
            lambda: self.discriminator_loss(images, right, wrong, self.sample_z(batch_size)), self.discriminator, self.d_optimizer
        )

        # 2. Generator: fool D on the batch's texts and on β = 0.5 interpolations of pairs of them.
        half = batch_size // 2
        texts = ops.concatenate([right, 0.5 * (right[:half] + right[half : 2 * half])], axis=0)

        def generator_loss():
            z = self.sample_z(ops.shape(texts)[0])
            fake_images = self.generator([z, texts], training=True)
            loss = self.loss_fn.generator_loss(self.discriminator([fake_images, texts], training=True))
            if self.diversity_weight:  # the same texts from other noise must give other images
                z_other = self.sample_z(half)
                others = self.generator([z_other, right[:half]], training=True)
                loss += self.diversity_weight * mode_seeking_penalty(fake_images[:half], others, z[:half], z_other)
            return loss, None

        g_loss, _ = self.minimize(generator_loss, self.generator, self.g_optimizer)
        self.update_ema()

        # 3. Report, with D's mean belief that mismatched pairs are real.
        self.p_mismatch_tracker.update_state(ops.mean(ops.sigmoid(ops.cast(mismatch_logits, "float32"))))
        return self.update_trackers(d_loss, g_loss, real_logits, fake_logits)

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

    def tokens_for(self, prompt, n):
        """Token ids (n, T) for one caption repeated `n` times, or for a list of `n` captions."""
        if prompt is None:
            raise ValueError("A text-to-image model needs a prompt, e.g. prompt='a red dress'.")
        prompts = [prompt] * n if isinstance(prompt, str) else list(prompt)
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
        return card

    # ----- configuration --------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self.tokenizer.vocabulary),
                "max_length": self.tokenizer.max_length,
                "embedding_dim": self.embedding_dim,
                "condition_dim": self.condition_dim,
                "g_filters": self.g_filters,
                "d_filters": self.d_filters,
                "diversity_weight": self.diversity_weight,
            }
        )
        return config
