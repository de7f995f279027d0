"""The same model code on Keras's JAX and TensorFlow backends.

The backend is fixed when Keras is imported, so the other backend runs in a process of its own.
From the same starting weights and the same noise, one `fit` step on JAX (and on PyTorch, when
it is installed) gives the weights, batch-norm statistics and losses that it gives on
TensorFlow, and the model it trained, saved as `.keras`, loads on TensorFlow and exports.
`make test` also runs every test marked `backend` under JAX.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests import harness
from zoo.models import DCGAN, GAN

# Loads a model, trains it one step on the first 32 images with the noise given, saves it.
ONE_STEP = textwrap.dedent("""
    import json, sys
    import keras, numpy as np
    from zoo import data, models  # models: registers the classes the file names
    gan = keras.models.load_model(sys.argv[1], safe_mode=True)
    z = np.load(sys.argv[2])
    gan.sample_z = lambda n: z[:n]
    history = gan.fit(data.load_fashion_mnist(batch_size=32, limit=32, shuffle=False), epochs=1, verbose=0)
    gan.save(sys.argv[3])
    print(json.dumps({"backend": keras.backend.backend(), **{k: v[-1] for k, v in history.history.items()}}))
""")


def one_step_on(backend, start, z, end):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", ONE_STEP, str(start), str(z), str(end)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="compares another backend's process with this TensorFlow one")
@pytest.mark.parametrize("backend", ["jax", "torch"])  # torch: when installed (not in requirements.txt)
def test_one_step_on_another_backend_is_the_tensorflow_step_and_its_model_exports_from_tensorflow(backend, real_batches, tmp_path):
    pytest.importorskip(backend)
    gan = DCGAN(latent_dim=16, g_filters=8, d_filters=8, seed=0)
    # Plain SGD keeps the comparison sharp: Adam's first step is lr·sign(g), which magnifies
    # the rounding of gradients near zero.
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    gan.save(tmp_path / "start.keras")
    z = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)

    on_other = one_step_on(backend, tmp_path / "start.keras", tmp_path / "z.npy", tmp_path / "other.keras")
    assert on_other["backend"] == backend
    gan.sample_z = lambda n: z[:n]
    before = {network: [np.array(w) for w in getattr(gan, network).weights] for network in ("generator", "discriminator")}
    history = gan.fit(real_batches.take(1), epochs=1, verbose=0)

    from_other = keras.models.load_model(tmp_path / "other.keras", safe_mode=True)
    for key in ("d_loss", "g_loss", "p_real", "p_fake"):
        assert on_other[key] == pytest.approx(history.history[key][-1], rel=1e-4, abs=1e-6), key
    for network in ("generator", "discriminator"):
        mine, theirs = getattr(gan, network).weights, getattr(from_other, network).weights
        assert len(mine) == len(theirs)
        for start, a, b in zip(before[network], mine, theirs):  # trainable weights and batch-norm statistics alike
            # The step each backend took agrees to 5% of its size. Not elementwise to 1e-5: on some
            # CPUs one backend's gradient kernels round differently, and a GAN's gradients are sums that
            # mostly cancel (seen in CI: up to 2.4e-4 on single weights of a step as large as 2.2e-2; in
            # one full run of the suite on 2 busy cores the generator's first kernel 2.4% apart in norm,
            # within 1% in each of eight runs of the test outside the suite); a wrong step (a missed update, a factor) is off by ~100%.
            step, their_step = np.array(a) - start, np.array(b) - start
            assert np.linalg.norm(their_step - step) <= 5e-2 * np.linalg.norm(step) + 1e-7, f"{network} {a.path}"
    assert int(from_other.d_optimizer.iterations) == int(from_other.g_optimizer.iterations) == 1
    harness.check_export(from_other, tmp_path / "artifact", batch_sizes=(1, 5))  # SavedModel + ONNX from TensorFlow


@pytest.mark.backend
def test_fit_carries_both_optimizers_state_on_every_backend(real_batches):
    """JAX's `fit` passes `model.optimizer.variables` through its state: there, both optimizers'."""
    gan = GAN(latent_dim=8, g_units=(16,), d_units=(16,), d_steps=2, seed=0)
    gan.compile()
    gan.fit(real_batches.take(1), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 1
    if keras.backend.backend() == "jax":
        assert gan.optimizer.variables == gan.d_optimizer.variables + gan.g_optimizer.variables


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="loads the JAX process's model in this TensorFlow one")
def test_a_model_trained_on_jax_loads_on_tensorflow_without_a_warning_about_an_optimizer_it_never_had(tmp_path, recwarn):
    """Keras's default optimizer (an RMSprop that stepped nothing) is not made: it was saved with
    every model and, loading one saved on JAX, warned "Skipping variable loading for optimizer"."""
    pytest.importorskip("jax")
    gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
    gan.compile()
    gan.save(tmp_path / "start.keras")
    np.save(tmp_path / "z.npy", np.random.default_rng(0).standard_normal((32, 8)).astype(np.float32))
    one_step_on("jax", tmp_path / "start.keras", tmp_path / "z.npy", tmp_path / "jax.keras")
    recwarn.clear()
    from_jax = keras.models.load_model(tmp_path / "jax.keras", safe_mode=True)
    assert [str(warning.message) for warning in recwarn if "optimizer" in str(warning.message)] == []
    assert int(from_jax.d_optimizer.iterations) == int(from_jax.g_optimizer.iterations) == 1  # its own optimizers' state is all there
    assert from_jax.optimizer is None


# The text-to-image model: one step on colourised, captioned batches (numpy, no tf.data), with
# the noise given: a distinct slice per draw, so that the mode-seeking pair differs.
ONE_STEP_T2I = textwrap.dedent("""
    import json, sys
    import keras, numpy as np
    from zoo import captions, models  # models: registers the classes the file names
    gan = keras.models.load_model(sys.argv[1], safe_mode=True)
    z = keras.ops.convert_to_tensor(np.load(sys.argv[2]))
    gan.sample_z = lambda n: z[z.shape[0] - n:]
    data = captions.colourised_fashion_mnist("train", limit=64, seed=0)
    batches = captions.matching_batches(data, gan.tokenizer, batch_size=16, seed=0, attributes=True, compose=True)
    history = gan.fit(batches, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    gan.save(sys.argv[3])
    print(json.dumps({"backend": keras.backend.backend(), **{k: v[-1] for k, v in history.history.items()}}))
""")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="compares the JAX process with this TensorFlow one")
def test_one_text_to_image_step_on_jax_is_the_tensorflow_step(fashion_dir, tmp_path):
    pytest.importorskip("jax")
    from zoo import captions
    from zoo.models import TextToImageGAN
    from zoo.text import Tokenizer

    data = captions.colourised_fashion_mnist("train", limit=64, seed=0)
    tokenizer = Tokenizer.fit(data.captions, max_length=8)
    gan = TextToImageGAN(tokenizer.vocabulary, 8, latent_dim=8, embedding_dim=16, g_filters=4, d_filters=4, attributes={"class": 10, "colour": 8}, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
    gan.save(tmp_path / "start.keras")
    z = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)

    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", ONE_STEP_T2I, str(tmp_path / "start.keras"), str(tmp_path / "z.npy"), str(tmp_path / "jax.keras")],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    on_jax = json.loads(result.stdout.strip().splitlines()[-1])
    assert on_jax["backend"] == "jax"

    z_tensor = keras.ops.convert_to_tensor(z)
    gan.sample_z = lambda n: z_tensor[z_tensor.shape[0] - n :]
    batches = captions.matching_batches(data, gan.tokenizer, batch_size=16, seed=0, attributes=True, compose=True)
    history = gan.fit(batches, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    for key in ("d_loss", "g_loss", "p_real", "p_fake", "p_mismatch"):
        assert on_jax[key] == pytest.approx(history.history[key][-1], rel=1e-4, abs=1e-6), key
    from_jax = keras.models.load_model(tmp_path / "jax.keras", safe_mode=True)
    for network in ("generator", "discriminator", "text_encoder"):
        mine, theirs = getattr(gan, network).weights, getattr(from_jax, network).weights
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(np.array(b), np.array(a), atol=1e-5, err_msg=f"{network} {a.path}")
    assert int(from_jax.d_optimizer.iterations) == int(from_jax.g_optimizer.iterations) == 1
