"""The DCGAN of TensorFlow's tutorial (https://www.tensorflow.org/tutorials/generative/dcgan), as a baseline.

The tutorial's two networks and its hand-written `@tf.function` training loop, kept as the
tutorial writes them, so that `scripts/bench_train.py` can train the same networks on the same
batches through the tutorial's loop and through the zoo's `fit`, side by side. `TutorialDCGAN`
puts the networks on `BaseGAN`; with the tutorial's optimizers (Adam(1e-4) each, see
`compile_like_tutorial`) and the non-saturating BCE loss it trains the same game. The recipe
is a floor, not a target: use `zoo.DCGAN` for real models (its recipes and measured quality:
docs/recipes.md, docs/published_runs.md).
"""

import keras
from keras import layers

from zoo.models.base import BaseGAN

LATENT_DIM = 100
LEARNING_RATE = 1e-4


def make_generator_model(latent_dim=LATENT_DIM, convolutions=layers):
    """The tutorial's generator: Dense(7·7·256) → BN → LeakyReLU → three Conv2DTranspose(5×5).

    `convolutions`: the module whose `Conv2DTranspose`, `BatchNormalization` and `LeakyReLU` the
    generator uses: Keras's, as the tutorial, or `zoo.layers` (the same function, computed faster on CPU).
    """
    return keras.Sequential(
        [
            keras.Input((latent_dim,), name="z"),
            layers.Dense(7 * 7 * 256, use_bias=False),
            convolutions.BatchNormalization(),
            convolutions.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            convolutions.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
            convolutions.BatchNormalization(),
            convolutions.LeakyReLU(),
            convolutions.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
            convolutions.BatchNormalization(),
            convolutions.LeakyReLU(),
            convolutions.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"),
        ],
        name="generator",
    )


def make_discriminator_model(convolutions=layers):
    """The tutorial's discriminator: two Conv2D(5×5, stride 2) with LeakyReLU and dropout 0.3, then Dense(1).

    `convolutions`: the module whose `Conv2D`, `LeakyReLU` and `Dropout` it uses (Keras's, or `zoo.layers`).
    """
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            convolutions.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
            convolutions.LeakyReLU(),
            convolutions.Dropout(0.3),
            convolutions.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
            convolutions.LeakyReLU(),
            convolutions.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )


def make_tutorial_train_step(generator, discriminator, batch_size, latent_dim=LATENT_DIM, jit_compile=False):
    """The tutorial's `train_step`: one noise batch, two tapes, BCE from logits, Adam(1e-4) each.

    Returns `(train_step, (generator_optimizer, discriminator_optimizer))`; `train_step(images)`
    returns `(gen_loss, disc_loss)`. `jit_compile=True` adds XLA, which the tutorial does not use.
    """
    import tensorflow as tf

    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = keras.optimizers.Adam(LEARNING_RATE)
    discriminator_optimizer = keras.optimizers.Adam(LEARNING_RATE)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function(jit_compile=jit_compile)
    def train_step(images):
        noise = tf.random.normal([batch_size, latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step, (generator_optimizer, discriminator_optimizer)


@keras.saving.register_keras_serializable(package="zoo")
class TutorialDCGAN(BaseGAN):
    """The TensorFlow tutorial's networks trained by the zoo's `fit` (`BaseGAN.train_step`).

    Pass the networks to train (e.g. the very ones a tutorial loop trains, to compare the two
    loops on equal weights), or let it build fresh ones. Only 28×28×1 images, latent size 100.

    Example:

    ```python
    gan = TutorialDCGAN(seed=0)
    gan.compile_like_tutorial()
    gan.fit(zoo.data.load_fashion_mnist(batch_size=256), epochs=1)
    ```
    """

    family = "tf-tutorial-dcgan"
    paper = "TensorFlow tutorial DCGAN, https://www.tensorflow.org/tutorials/generative/dcgan"

    def __init__(self, generator=None, discriminator=None, seed=None, **kwargs):
        kwargs.pop("latent_dim", None)
        kwargs.pop("image_shape", None)
        super().__init__(latent_dim=LATENT_DIM, image_shape=(28, 28, 1), seed=seed, **kwargs)
        self.set_networks(generator or make_generator_model(), discriminator or make_discriminator_model())

    def compile_like_tutorial(self, **kwargs):
        """Adam(1e-4) for each network and BCE on logits (the non-saturating loss), as the tutorial."""
        self.compile(
            d_optimizer=keras.optimizers.Adam(LEARNING_RATE),
            g_optimizer=keras.optimizers.Adam(LEARNING_RATE),
            loss_fn="non_saturating",
            **kwargs,
        )
