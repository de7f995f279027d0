"""A NaN or infinite d_loss or g_loss stops training, names the loss and the step, keeps the last good checkpoint."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import losses
from zoo.callbacks import GANCheckpoint, StopOnNonFiniteLoss, TrainingDiverged
from zoo.models import GAN
from zoo.training import train


def tiny_gan():
    gan = GAN(latent_dim=8, g_units=(16,), d_units=(16,), seed=0)
    gan.compile()
    return gan


@pytest.fixture(scope="module")
def four_batches(real_batches):
    return np.stack([batch.numpy() for batch in real_batches.take(4)])


def batches_of(array):
    return tf.data.Dataset.from_tensor_slices(array)  # each element is one batch of 32 images


def with_a_nan_pixel_in_batch(batches, index):
    poisoned = batches.copy()
    poisoned[index, 0, 0, 0, 0] = np.nan
    return poisoned


@pytest.mark.faults
def test_a_nan_loss_stops_training_at_its_step_and_keeps_the_last_good_checkpoint(four_batches, tmp_path, capsys):
    tiny_gan().fit(batches_of(four_batches), epochs=1, verbose=0, callbacks=[StopOnNonFiniteLoss(), GANCheckpoint(tmp_path)])
    good = (tmp_path / "epoch_0001.weights.h5").read_bytes()

    gan, guard = tiny_gan(), StopOnNonFiniteLoss()
    gan.fit(batches_of(with_a_nan_pixel_in_batch(four_batches, 2)), epochs=3, verbose=0, callbacks=[guard, GANCheckpoint(tmp_path)])
    assert "d_loss is nan and g_loss is nan at epoch 2, step 3 of the epoch (generator step 7)" in guard.message
    assert guard.message in capsys.readouterr().out
    assert int(gan.g_optimizer.iterations) == 7  # resumed after epoch 1 (4 steps), stopped after step 3 of epoch 2
    assert [p.name for _, p in GANCheckpoint(tmp_path).checkpoints()] == ["epoch_0001.weights.h5"]
    assert (tmp_path / "epoch_0001.weights.h5").read_bytes() == good

    resumed = tiny_gan()  # a rerun on clean data starts from the good epoch
    resumed.fit(batches_of(four_batches), epochs=2, verbose=0, callbacks=[StopOnNonFiniteLoss(), GANCheckpoint(tmp_path)])
    assert all(np.all(np.isfinite(w)) for w in resumed.get_weights())
    assert int(resumed.g_optimizer.iterations) == 8


def test_keras_terminate_on_nan_does_not_see_gan_losses(four_batches):
    """Why the zoo needs its own guard: TerminateOnNaN reads only logs["loss"]."""
    history = tiny_gan().fit(
        batches_of(with_a_nan_pixel_in_batch(four_batches, 0)), epochs=2, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()]
    )
    assert len(history.history["d_loss"]) == 2 and np.isnan(history.history["d_loss"][-1])


class ExplodingGeneratorLoss(losses.NonSaturatingLoss):
    """A generator loss that overflows at once, as a far too large scale would."""

    name = "exploding"

    def generator_loss(self, fake_logits):
        return super().generator_loss(fake_logits) * np.float32(np.inf)


@pytest.mark.faults
def test_train_raises_naming_g_loss_and_writes_no_model(fashion_dir, tmp_path):
    with pytest.raises(TrainingDiverged, match=r"g_loss is inf at epoch 1, step 1 of the epoch") as raised:
        train(
            "gan", tmp_path / "run", epochs=2, batch_size=32, limit=96, loss=ExplodingGeneratorLoss(),
            model_kwargs={"latent_dim": 8, "g_units": (16,), "d_units": (16,)}, jit_compile=False, verbose=0,
        )
    assert "d_loss" not in str(raised.value).split(" at epoch")[0]  # d_loss was still finite
    assert not (tmp_path / "run" / "model.keras").exists()
    assert not list((tmp_path / "run" / "checkpoints").glob("*.weights.h5"))


def test_zoo_train_reuses_the_samples_where_it_can_and_a_resumed_run_keeps_its_update():
    import zoo
    from zoo.models import TextToImageGAN
    from zoo.training import default_update, takes_reuse

    assert default_update() == "reuse"  # Algorithm 1, the generator stepping on the discriminator step's samples
    assert default_update(takes_reuse=False) == "alternating"
    assert default_update({"sessions": [{"update": "simultaneous"}, {"status": "killed"}]}) == "simultaneous"
    assert default_update({"sessions": [{"update": "alternating"}]}) == "alternating"  # the published runs' update
    assert default_update({"sessions": []}) == "reuse"
    assert takes_reuse(zoo.DCGAN, "non_saturating", {}) and takes_reuse(zoo.ConditionalGAN, "hinge", {})
    assert not takes_reuse(zoo.DCGAN, "wgan_gp", {})  # n_critic 5
    assert not takes_reuse(zoo.GAN, "non_saturating", {"d_steps": 2})
    assert not takes_reuse(TextToImageGAN, "non_saturating", {})  # alternating only
