"""What the models share lives once, in BaseGAN: every model file holds only its networks."""

import inspect

import keras
import pytest

import zoo
from zoo.models import MODELS, BaseGAN, TextToImageGAN

SHARED = ("train_step", "compile", "metrics", "minimize", "update_trackers", "gradient_penalty", "update_ema", "sample_z")
PLUMBING = ("GradientTape", "import tensorflow", ".apply(", "update_state(", "scale_loss", "tracker")
# Every model family of the zoo: those `zoo train` offers, text to image included.
FAMILIES = [pytest.param(MODELS[family], id=family) for family in sorted(MODELS)]


@pytest.mark.parametrize("model_class", FAMILIES)
def test_no_model_redefines_the_shared_training_plumbing(model_class):
    assert issubclass(model_class, BaseGAN)
    assert not [name for name in SHARED if name in vars(model_class)]
    source = inspect.getsource(inspect.getmodule(model_class))
    assert not [word for word in PLUMBING if word in source]


def test_the_registry_and_the_package_name_the_same_classes():
    assert MODELS == {"gan": zoo.GAN, "dcgan": zoo.DCGAN, "cgan": zoo.ConditionalGAN, "t2i": TextToImageGAN}
    assert [MODELS[family].conditional for family in ("gan", "dcgan", "cgan", "t2i")] == [False, False, True, False]


@pytest.mark.parametrize("family", sorted(MODELS))
def test_every_model_takes_the_shared_arguments(family):
    needs = {"t2i": {"vocabulary": ["<pad>", "<unk>", "red", "dress"], "max_length": 4}}  # its tokenizer
    model = MODELS[family](latent_dim=8, seed=3, ema_decay=0.5, **needs.get(family, {}))
    config = model.get_config()
    assert (config["latent_dim"], config["seed"], config["ema_decay"]) == (8, 3, 0.5)
    assert model.sampling_generator is model.ema_generator and model.ema_generator is not model.generator


@pytest.mark.parametrize("family", ["gan", "dcgan"])
def test_an_unconditional_model_refuses_labels_clearly(family):
    with pytest.raises(ValueError, match="not class-conditional"):
        MODELS[family](latent_dim=8).generate(2, labels="dress")


def test_a_simultaneous_step_is_the_tensorflow_tutorials_step(real_batches):
    """update="simultaneous": one batch of samples, both gradients at the same weights (G_t, D_t)."""
    import keras
    import numpy as np
    import tensorflow as tf

    gan = zoo.DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1), update="simultaneous")
    generator, discriminator = (keras.models.clone_model(network) for network in (gan.generator, gan.discriminator))
    generator.set_weights(gan.generator.get_weights())
    discriminator.set_weights(gan.discriminator.get_weights())
    images = next(iter(real_batches))
    z = np.random.default_rng(0).standard_normal((32, 16)).astype("float32")

    # The tutorial's step, written out: one forward pass under two tapes, then both updates.
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake_images = generator(z, training=True)
        real_logits, fake_logits = discriminator(images, training=True), discriminator(fake_images, training=True)
        g_loss = gan.loss_fn.generator_loss(fake_logits)
        d_loss = gan.loss_fn.discriminator_loss(real_logits, fake_logits)
    for tape, loss, network in ((g_tape, g_loss, generator), (d_tape, d_loss, discriminator)):
        keras.optimizers.SGD(0.1).apply(tape.gradient(loss, network.trainable_variables), network.trainable_variables)

    gan.sample_z = lambda n: z[:n]
    history = gan.fit(real_batches.take(1), epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["g_loss"][0], float(g_loss), rtol=1e-5)
    np.testing.assert_allclose(history.history["d_loss"][0], float(d_loss), rtol=1e-5)
    for ours, theirs in ((gan.generator, generator), (gan.discriminator, discriminator)):
        for a, b in zip(ours.trainable_weights, theirs.trainable_weights):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def sgd_dcgan(update, z):
    """A small DCGAN (seed 0) stepping by SGD(0.1) with `update`, drawing the noise `z` in training."""
    import keras
    from keras import ops

    gan = zoo.DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1), update=update)
    gan.sample_z = lambda n: ops.convert_to_tensor(z[:n])
    return gan


def assert_same_step(gan, reference, history, d_loss, g_loss, atol):
    """`gan`'s one-step `fit` (its `history`) reported `reference`'s losses and left its weights."""
    import numpy as np
    from keras import ops

    np.testing.assert_allclose(history.history["d_loss"][0], float(d_loss), rtol=1e-5)
    np.testing.assert_allclose(history.history["g_loss"][0], float(g_loss), rtol=1e-5)
    for ours, theirs in ((gan.generator, reference.generator), (gan.discriminator, reference.discriminator)):
        for a, b in zip(ours.trainable_weights, theirs.trainable_weights):
            np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=atol)


def largest_difference(first, second):
    import numpy as np
    from keras import ops

    return max(np.abs(ops.convert_to_numpy(a) - ops.convert_to_numpy(b)).max() for a, b in zip(first.trainable_weights, second.trainable_weights))


@pytest.mark.backend
def test_one_forward_pass_gives_both_simultaneous_gradients_on_every_backend(real_batches):
    """The one-pass step (3G + 6D) takes the same update as two single-network steps at (G_t, D_t)
    on the same samples (the earlier 3G + 9D form), with each backend's own gradients."""
    import numpy as np
    from keras import ops

    z = np.random.default_rng(0).standard_normal((32, 16)).astype("float32")
    gan, reference = sgd_dcgan("simultaneous", z), sgd_dcgan("alternating", z)
    reference.set_weights(gan.get_weights())
    before = [np.array(w) for w in gan.generator.get_weights()]
    images = next(iter(real_batches))

    fake_images = ops.stop_gradient(reference.generator(z, training=True))  # made at G_t
    g_loss, _ = reference.minimize(lambda: reference.generator_objective(32, None), reference.generator, reference.g_optimizer)
    d_loss, _ = reference.minimize(lambda: reference.discriminator_objective(images, fake_images, None), reference.discriminator, reference.d_optimizer)

    assert_same_step(gan, reference, gan.fit(real_batches.take(1), epochs=1, verbose=0), d_loss, g_loss, atol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(gan.generator.get_weights(), before)) > 1e-3  # the step changed the weights


@pytest.mark.backend
def test_a_reuse_step_is_algorithm_1_on_one_batch_of_samples_on_every_backend(real_batches):
    """update="reuse": the discriminator steps on G_t(z), then the generator steps against the
    updated discriminator on the same G_t(z), its gradient through the one generator pass:
    the alternating step of Algorithm 1 with the same noise drawn for both, with each backend's
    own gradients."""
    import numpy as np
    from keras import ops

    z = np.random.default_rng(0).standard_normal((32, 16)).astype("float32")
    gan, reference = sgd_dcgan("reuse", z), sgd_dcgan("alternating", z)
    reference.set_weights(gan.get_weights())
    simultaneous = sgd_dcgan("simultaneous", z)  # the same weights before the step, G's gradient at D_t
    simultaneous.set_weights(gan.get_weights())
    images = next(iter(real_batches))

    # Algorithm 1 written out with single-network steps: D on G_t(z), then G against D_{t+1} on G_t(z).
    fake_images = ops.stop_gradient(reference.generator(z, training=True))
    d_loss, _ = reference.minimize(lambda: reference.discriminator_objective(images, fake_images, None), reference.discriminator, reference.d_optimizer)
    g_loss, _ = reference.minimize(lambda: reference.generator_objective(32, None), reference.generator, reference.g_optimizer)

    # Within 1e-5 on TensorFlow; on JAX one run in three or four differs by up to 3e-4 (rounding
    # through two batch norms in training mode), far below what another update moves (below).
    assert_same_step(gan, reference, gan.fit(real_batches.take(1), epochs=1, verbose=0), d_loss, g_loss, atol=1e-3)
    simultaneous.fit(real_batches.take(1), epochs=1, verbose=0)
    # the generator stepped against the updated discriminator, not D_t: 0.09 apart on TensorFlow,
    # 0.35 on JAX (each backend draws its own initial weights), 10× the tolerance above and more
    assert largest_difference(gan.generator, simultaneous.generator) > 0.01


@pytest.mark.backend
@pytest.mark.parametrize("update", ["simultaneous", "reuse"])
def test_a_one_pass_step_trains_and_is_saved_with_the_model(real_batches, tmp_path, update):
    from tests import harness

    gan = zoo.DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    gan.compile(update=update)
    harness.check_trains(gan, real_batches, steps=2)
    assert harness.check_save_load(gan, tmp_path / "gan.keras").update == update


@pytest.mark.inputs
@pytest.mark.parametrize("update", ["simultaneous", "reuse"])
def test_one_pass_updates_need_one_discriminator_step(update):
    with pytest.raises(ValueError, match=f"update='{update}' takes one discriminator step"):
        zoo.DCGAN(latent_dim=8).compile(loss_fn="wgan_gp", update=update)  # n_critic 5
    with pytest.raises(ValueError, match="one discriminator step"):
        zoo.GAN(latent_dim=8, d_steps=2).compile(update=update)
    with pytest.raises(ValueError, match="alternating"):
        zoo.DCGAN(latent_dim=8).compile(update="sometimes")


@pytest.mark.inputs
def test_a_count_that_cannot_fit_in_memory_is_refused_before_any_batch_runs():
    import time

    from zoo.images import available_memory

    gan = zoo.DCGAN(latent_dim=100, g_filters=8, d_filters=8, seed=0)
    too_many = available_memory() // (28 * 28 * 4)  # one copy of the images alone fills the memory
    started = time.monotonic()
    with pytest.raises(ValueError, match=f"{too_many:,} images of 28×28×1 would need about .* of memory"):
        gan.generate(too_many, seed=0)
    with pytest.raises(ValueError, match="1,000,000,000 images of 28×28×1 would need about"):
        gan.generate(10**9, seed=0)  # its noise alone, 100 float64 values an image, would not fit: refused before it is drawn
    assert time.monotonic() - started < 30
    assert gan.generate(3, seed=0).shape == (3, 28, 28, 1)


# ----- what training accepts: fit, train_on_batch ----------------------------------------


def tiny_dcgan(**kwargs):
    """The smallest DCGAN worth a training step, compiled."""
    gan = zoo.DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0, **kwargs)
    gan.compile()
    return gan


def tiny_cgan():
    """The smallest class-conditional GAN, of 3 classes, compiled."""
    gan = zoo.ConditionalGAN(latent_dim=8, g_filters=8, d_filters=8, num_classes=3, seed=0)
    gan.compile()
    return gan


def real_images(n=32):
    """`n` real Fashion-MNIST test images in [-1, 1] and their class ids folded into 3 classes."""
    from zoo import data

    images, labels = data.load_arrays("test")
    return data.to_unit_range(images[:n]), (labels[:n] % 3).astype("int32")


class Ending(keras.utils.PyDataset):
    """2 batches of 16 of `images`, then IndexError, as a sequence past its end; its length is
    unknown (num_batches None, which Keras reads as endless) unless given as `num_batches`."""

    def __init__(self, images, num_batches=None):
        super().__init__()
        self.images, self.length, self.read = images, num_batches, []

    @property
    def num_batches(self):
        return self.length

    def __getitem__(self, index):
        if index >= 2:
            raise IndexError(f"no batch {index}")
        self.read.append(index)
        return (self.images[index * 16 : (index + 1) * 16],)


@pytest.mark.inputs
@pytest.mark.backend
def test_images_scaled_to_0_1_are_refused_with_the_way_to_map_them(fashion_dir):
    images, _ = real_images()
    unit_interval = (images + 1) / 2  # x / 255: inside [-1, 1], but the model would learn grey garments on grey
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"values from 0 to 1 only, as images scaled to \[0, 1\].*x \* 2 - 1"):
        gan.fit(unit_interval, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"scaled to \[0, 1\]"):
        gan.train_on_batch(unit_interval)
    assert int(gan.g_optimizer.iterations) == 0


@pytest.mark.inputs
@pytest.mark.backend
def test_a_few_bright_real_images_are_not_taken_for_0_1_images(fashion_dir):
    import numpy as np

    images, _ = real_images(4)
    bright = np.maximum(images, 0.2)  # white garments on white: no pixel below 0, but fewer than 16 images
    gan = tiny_dcgan()
    gan.train_on_batch(bright)
    assert int(gan.g_optimizer.iterations) == 1


@pytest.mark.inputs
def test_0_1_images_in_small_batches_are_judged_on_their_first_16_images(fashion_dir):
    import tensorflow as tf

    images, _ = real_images()
    unit_interval = (images + 1) / 2
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"first 16 images \(8 in the first batch\).*scaled to \[0, 1\]"):
        gan.fit(tf.data.Dataset.from_tensor_slices(unit_interval).batch(8), epochs=1, verbose=0)
    dark_second_batch = tf.data.Dataset.from_tensor_slices(tf.concat([unit_interval[:8], images[8:24]], 0)).batch(8)
    gan.fit(dark_second_batch, epochs=1, verbose=0)  # a pixel below 0 within the first 16: [-1, 1] images, trained on
    assert int(gan.g_optimizer.iterations) == 3


@pytest.mark.inputs
@pytest.mark.backend
def test_a_model_told_its_images_are_bright_trains_on_them(fashion_dir):
    import numpy as np

    images, _ = real_images()
    bright = np.maximum(images, 0.2)  # [-1, 1] garments none darker than mid-grey: taken for [0, 1] images unless told
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match="set model.allow_nonnegative_images = True"):
        gan.fit(bright, batch_size=16, epochs=1, verbose=0)
    gan.allow_nonnegative_images = True
    gan.fit(bright, batch_size=16, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.inputs
@pytest.mark.backend
def test_train_on_batch_and_a_tuple_x_are_checked_like_fit(fashion_dir):
    import numpy as np

    from zoo import data

    pixels = data.load_arrays("test")[0][:32]  # uint8 0..255
    with pytest.raises(ValueError, match=r"values from 0 to 255 \(0..255 pixels\)"):
        tiny_dcgan().train_on_batch(pixels)
    with pytest.raises(ValueError, match=r"values from 0 to 255"):
        tiny_dcgan().fit((pixels,), batch_size=16, epochs=1, verbose=0)
    images, labels = real_images()
    with pytest.raises(ValueError, match=r"`labels` holds class ids outside \[0, 2\]: 7"):
        tiny_cgan().train_on_batch(images, np.full(32, 7, "int32"))
    with pytest.raises(ValueError, match=r"`labels` holds class ids outside \[0, 2\]"):
        tiny_cgan().fit((images, labels + 5), batch_size=16, epochs=1, verbose=0)
    cgan = tiny_cgan()
    cgan.fit((images, labels), batch_size=16, epochs=1, verbose=0)  # a tuple x is (images, labels), as a dataset's batches
    cgan.train_on_batch(images, labels)
    assert int(cgan.g_optimizer.iterations) == 3


@pytest.mark.inputs
@pytest.mark.backend
def test_keras_scoring_and_weights_are_refused_with_where_a_gan_is_scored(fashion_dir):
    import numpy as np

    images, _ = real_images()
    gan = tiny_dcgan()
    scored = r"score the generator's samples with zoo.metrics.evaluate or `python -m zoo eval`"
    with pytest.raises(ValueError, match=f"fit takes no validation_data or validation_split: .*{scored}"):
        gan.fit(images, batch_size=16, epochs=1, verbose=0, validation_data=images)
    with pytest.raises(ValueError, match=scored):
        gan.fit(images, None, 16, 1, 0, None, 0.5)  # validation_split, given by position
    with pytest.raises(ValueError, match=f"DCGAN.evaluate is not supported: .*{scored}"):
        gan.evaluate(images, verbose=0)
    with pytest.raises(ValueError, match=scored):
        gan.test_on_batch(images)
    with pytest.raises(ValueError, match="takes no class_weight"):
        gan.fit(images, batch_size=16, epochs=1, verbose=0, class_weight={0: 1.0})
    with pytest.raises(ValueError, match="takes no sample_weight"):  # Keras would ignore it
        gan.fit(images, batch_size=16, epochs=1, verbose=0, sample_weight=np.ones(32))
    with pytest.raises(ValueError, match="takes no sample_weight"):
        gan.train_on_batch(images, sample_weight=np.ones(32))
    assert int(gan.g_optimizer.iterations) == 0


@pytest.mark.inputs
@pytest.mark.backend
def test_each_network_needs_an_optimizer_of_its_own(fashion_dir):
    import keras

    gan = zoo.DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    adam = keras.optimizers.Adam(2e-4, beta_1=0.5)
    with pytest.raises(ValueError, match="d_optimizer and g_optimizer are the same Adam object; each network needs an optimizer of its own"):
        gan.compile(d_optimizer=adam, g_optimizer=adam)
    gan.compile(d_optimizer=adam, g_optimizer=keras.optimizers.Adam.from_config(adam.get_config()))  # as the message says
    other = zoo.DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=1)
    with pytest.raises(ValueError, match="d_optimizer \\(Adam\\) was already built for other variables than the discriminator's"):
        other.compile(d_optimizer=gan.d_optimizer)  # built by gan.compile for gan's discriminator
    gan.compile(d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer)  # compiling again with its own: welcome
    images, _ = real_images(16)
    gan.train_on_batch(images)
    assert int(gan.g_optimizer.iterations) == 1


@pytest.mark.inputs
@pytest.mark.backend
def test_one_hot_labels_are_refused_with_the_class_ids_to_pass(fashion_dir):
    import numpy as np

    images, labels = real_images()
    gan = tiny_cgan()
    for one_hot in (np.eye(3, dtype="int32")[labels], np.eye(3, dtype="float32")[labels]):
        with pytest.raises(ValueError, match=r"one class id per image, shaped \(batch,\); got labels shaped \(32, 3\). They look one-hot .* labels.argmax\(axis=1\)"):
            gan.fit(images, one_hot, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels.reshape\(-1\)"):
        gan.train_on_batch(images, labels[:, None])
    gan.fit(images, np.eye(3, dtype="int32")[labels].argmax(axis=1), batch_size=16, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 2


def dict_batches(arrays, batch_size=16):
    """A `keras.utils.PyDataset` of dict batches of `arrays` (name -> array), in order."""
    import keras

    class DictBatches(keras.utils.PyDataset):
        def __len__(self):
            return len(next(iter(arrays.values()))) // batch_size

        def __getitem__(self, index):
            return {name: array[index * batch_size : (index + 1) * batch_size] for name, array in arrays.items()}

    return DictBatches()


@pytest.mark.inputs
@pytest.mark.backend
def test_batches_may_be_dicts_of_images_and_labels(fashion_dir):
    images, labels = real_images()
    dcgan, cgan = tiny_dcgan(), tiny_cgan()
    dcgan.fit(dict_batches({"images": images}), epochs=1, verbose=0)
    cgan.fit(dict_batches({"images": images, "labels": labels}), epochs=1, verbose=0)
    cgan.fit({"images": images, "labels": labels}, batch_size=16, epochs=1, verbose=0)
    assert (int(dcgan.g_optimizer.iterations), int(cgan.g_optimizer.iterations)) == (2, 4)
    with pytest.raises(ValueError, match=r"trains on \(images, labels\) batches \(or dicts with 'images' and 'labels'\)"):
        cgan.fit(dict_batches({"images": images}), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"must hold the images under 'images' .*; got the keys \['image', 'label'\]"):
        cgan.fit(dict_batches({"image": images, "label": labels}), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`labels` holds class ids outside \[0, 2\]"):
        cgan.fit(dict_batches({"images": images, "labels": labels + 3}), epochs=1, verbose=0)


@pytest.mark.inputs
def test_a_tf_data_pipeline_of_dicts_trains_too(fashion_dir):
    import tensorflow as tf

    images, labels = real_images()
    dcgan, cgan = tiny_dcgan(), tiny_cgan()
    dcgan.fit(tf.data.Dataset.from_tensor_slices({"images": images}).batch(16), epochs=1, verbose=0)
    cgan.fit(tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels}).batch(16), epochs=1, verbose=0)
    assert (int(dcgan.g_optimizer.iterations), int(cgan.g_optimizer.iterations)) == (2, 2)


@pytest.mark.inputs
@pytest.mark.backend
def test_a_missing_batch_or_channel_axis_is_named_with_its_fix(fashion_dir):
    images, _ = real_images()
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"shaped \(28, 28\) per image, without a channel axis; .* add the axis with x\[\.\.\., None\]"):
        gan.fit(images[..., 0], batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"np.repeat\(x\[\.\.\., None\], 3, axis=-1\)"):
        zoo.DCGAN(latent_dim=8, g_filters=8, d_filters=8, image_shape=(28, 28, 3)).train_on_batch(images[..., 0])
    with pytest.raises(ValueError, match=r"must be shaped \(batch, height, width, channels\), got \(32, 784\)"):
        gan.fit(images.reshape(32, -1), batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"shaped \(20, 28, 1\) per image, but this DCGAN makes \(28, 28, 1\) .*: resize or convert them\.$"):
        gan.fit(images[:, :20], batch_size=16, epochs=1, verbose=0)  # not told to build a model of non-square images
    gan.fit(images[..., 0][..., None], batch_size=16, epochs=1, verbose=0)  # as the message says
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.inputs
def test_an_unbatched_dataset_is_told_to_batch(fashion_dir):
    import tensorflow as tf

    images, _ = real_images()
    with pytest.raises(ValueError, match=r"yields single images shaped \(28, 28, 1\), not batches of them: batch it first \(dataset.batch"):
        tiny_dcgan().fit(tf.data.Dataset.from_tensor_slices(images), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"got \(32, 32, 3\).*needs .batch\(batch_size\)"):  # single images of another size
        tiny_dcgan().fit(tf.data.Dataset.from_tensor_slices(tf.zeros((4, 32, 32, 3))), epochs=1, verbose=0)


@pytest.mark.inputs
@pytest.mark.backend
def test_training_data_of_no_batch_is_refused_not_trained_for_no_step(fashion_dir):
    from zoo.batches import ArrayBatches

    images, _ = real_images()
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"yields no batch \(an array of 0 images\): fit would end at once without a step"):
        gan.fit(images[:0], batch_size=16, epochs=1, verbose=0)  # Keras returned an empty history
    with pytest.raises(ValueError, match=r"yields no batch \(a keras.utils.PyDataset of 0 batches, ArrayBatches\)"):
        gan.fit(ArrayBatches(images, 16).take(0), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"yields no batch"):
        gan.train_on_batch(images[:0])
    assert int(gan.g_optimizer.iterations) == 0


@pytest.mark.inputs
@pytest.mark.backend
def test_compile_refuses_an_optimizer_that_would_train_neither_network():
    import keras

    with pytest.raises(ValueError, match="DCGAN.compile takes d_optimizer and g_optimizer, one per network, not `optimizer`"):
        zoo.DCGAN(latent_dim=8).compile(optimizer=keras.optimizers.Adam())


@pytest.mark.inputs
@pytest.mark.backend
def test_data_of_unknown_length_that_yields_no_batch_is_refused_naming_it(fashion_dir):
    import keras

    class Stream(keras.utils.PyDataset):
        """Batches of 16 of `images`, over and over, of unknown length (num_batches None: Keras reads it
        as endless); with no images, every index raises `error`, as a sequence past its end does."""

        def __init__(self, images, error=IndexError):
            super().__init__()
            self.images, self.error = images, error

        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            if not len(self.images):
                raise self.error(f"no batch {index}")
            start = index * 16 % len(self.images)
            return (self.images[start:start + 16],)

    def no_images():
        yield from ()

    images, _ = real_images()
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"yields no batch \(a keras.utils.PyDataset of unknown length, Stream, whose batch 0 raises IndexError\): "
                                         r"fit would take it for endless and stop with that IndexError\. Give it at least one batch"):
        gan.fit(Stream(images[:0]), steps_per_epoch=2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"yields no batch \(.*Stream, whose batch 0 raises StopIteration\)"):
        gan.fit(Stream(images[:0], StopIteration), steps_per_epoch=2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\].*0\.\.255 pixels"):  # its first batch is looked at, as any PyDataset's
        gan.fit(Stream((images + 1) * 127.5), steps_per_epoch=2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"yields no batch \(a Python generator that yielded none\)"):
        gan.fit(no_images(), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 0
    gan.fit(Stream(images), steps_per_epoch=2, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.inputs
@pytest.mark.backend
def test_data_of_unknown_length_without_steps_per_epoch_is_refused_before_a_checkpoint_is_touched(fashion_dir, tmp_path):
    from zoo.callbacks import GANCheckpoint

    images, _ = real_images()
    gan, checkpoints = tiny_dcgan(), tmp_path / "checkpoints"
    gan.fit(images, batch_size=16, epochs=1, verbose=0, callbacks=[GANCheckpoint(checkpoints)])
    written = {path.name: path.read_bytes() for path in checkpoints.iterdir()}
    ending = Ending(images)
    # Keras would train on its 2 batches, then stop with its IndexError (an UnknownError on TensorFlow).
    with pytest.raises(ValueError, match=r"a keras.utils.PyDataset of unknown length, Ending \(its num_batches is None\), without steps_per_epoch: "
                                         r"Keras reads such a dataset as endless.* Give the dataset num_batches .* pass fit steps_per_epoch\.$"):
        gan.fit(ending, epochs=2, verbose=0, callbacks=[GANCheckpoint(checkpoints)])
    assert ending.read == [] and int(gan.g_optimizer.iterations) == 2
    assert {path.name: path.read_bytes() for path in checkpoints.iterdir()} == written
    gan.fit(Ending(images, num_batches=2), epochs=2, verbose=0, callbacks=[GANCheckpoint(checkpoints)])  # as the message says
    assert int(gan.g_optimizer.iterations) == 4 and sorted(path.name for path in checkpoints.glob("*.h5")) == ["epoch_0002.weights.h5"]


@pytest.mark.inputs
@pytest.mark.backend
def test_data_of_unknown_length_that_ends_before_steps_per_epoch_runs_out_is_refused_before_a_step(fashion_dir):
    images, _ = real_images()
    gan, ending = tiny_dcgan(), Ending(images)
    # Keras would read batches 0, 1, 2, ... for the 3 steps of each of 2 epochs, train on the 2 the
    # dataset has, then stop mid-epoch with its IndexError (an UnknownError on TensorFlow).
    with pytest.raises(ValueError, match=r"a keras.utils.PyDataset of unknown length, Ending \(its num_batches is None\), with steps_per_epoch=3 "
                                         r"for 2 epochs: .* read batches 0 to 5, but batch 5 raises IndexError: training would stop at its first "
                                         r"missing batch, mid-epoch\. Give the dataset num_batches .* or pass a smaller steps_per_epoch or fewer epochs\.$"):
        gan.fit(ending, steps_per_epoch=3, epochs=2, verbose=0)
    assert int(gan.g_optimizer.iterations) == 0
    gan.fit(Ending(images), steps_per_epoch=1, epochs=2, verbose=0)  # as the message says: batch 0, then batch 1
    assert int(gan.g_optimizer.iterations) == 2


@pytest.mark.inputs
@pytest.mark.backend
def test_a_python_generator_may_yield_images_alone_and_its_first_batch_is_checked(fashion_dir):
    import numpy as np

    images, labels = real_images(64)
    read = []

    def batches(pixels, with_labels=False):
        for start in range(0, 64, 16):
            read.append(start)
            yield (pixels[start:start + 16], labels[start:start + 16]) if with_labels else pixels[start:start + 16]

    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\].*0\.\.255 pixels"):
        gan.fit(batches((images + 1) * 127.5), epochs=1, verbose=0)
    assert read == [0] and int(gan.g_optimizer.iterations) == 0  # refused on its first batch
    read.clear()
    history = gan.fit(batches(images), epochs=1, verbose=0)  # images alone, which Keras's fit takes only as (images,)
    # Every batch trained on (Keras on TensorFlow counts a generator's end as one more optimizer iteration).
    assert read == [0, 16, 32, 48] and int(gan.g_optimizer.iterations) >= 4
    assert all(np.isfinite(values[-1]) for values in history.history.values())

    cgan = tiny_cgan()
    with pytest.raises(ValueError, match=r"trains on \(images, labels\) batches"):
        cgan.fit(batches(images), epochs=1, verbose=0)
    cgan.fit(batches(images, with_labels=True), epochs=1, verbose=0)
    assert int(cgan.g_optimizer.iterations) >= 4


@pytest.mark.inputs
def test_a_tf_data_pipeline_of_no_batch_is_refused(fashion_dir):
    import tensorflow as tf

    images, _ = real_images()
    gan = tiny_dcgan()
    with pytest.raises(ValueError, match=r"yields no batch \(a tf.data.Dataset of 0 batches, its cardinality\)"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(100, drop_remainder=True), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"yields no batch \(a dataset that yielded none\)"):  # cardinality unknown, read at no cost
        gan.fit(tf.data.Dataset.from_tensor_slices(images).filter(lambda image: False).batch(16), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 0
