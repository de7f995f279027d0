"""Training through tf.distribute.MirroredStrategy on two logical CPU devices."""

import json
import subprocess
import sys
import textwrap

import pytest

# TensorFlow fixes its devices when it starts, so the two-device run has a process of its own.
TWO_DEVICES = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import json
    import keras
    import numpy as np
    from zoo import data
    from zoo.models import DCGAN

    batches = data.load_fashion_mnist(batch_size=32, limit=128, shuffle=False)  # global batch 32

    def train(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
            gan.compile()
        history = gan.fit(batches, epochs=1, verbose=0)
        return gan, history.history

    one, one_logs = train(tf.distribute.get_strategy())
    two, two_logs = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    pairs = list(zip(one.generator.weights + one.discriminator.weights, two.generator.weights + two.discriminator.weights))
    print(json.dumps({
        "replicas": two.distribute_strategy.num_replicas_in_sync,
        "max_weight_difference": max(float(np.max(np.abs(np.array(a) - np.array(b)))) for a, b in pairs),
        "steps": [int(np.array(one.g_optimizer.iterations)), int(np.array(two.g_optimizer.iterations))],
        "logs": [one_logs, two_logs],
    }))
""")


def test_two_devices_train_the_same_weights_as_one_device_on_the_same_global_batch():
    result = subprocess.run([sys.executable, "-c", TWO_DEVICES], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["steps"] == [4, 4]
    assert report["max_weight_difference"] < 1e-5, report
    one_logs, two_logs = report["logs"]
    for key in ("d_loss", "g_loss", "p_real", "p_fake"):
        assert abs(one_logs[key][0] - two_logs[key][0]) < 1e-4, (key, one_logs, two_logs)


# Batches that do not split evenly across two replicas: refused before training where they are
# known (Keras would fail at the first with "AddN ... must have the same size"), at their step
# where they come only later (a dataset's last, incomplete batch), never trained on silently.
UNEVEN = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import json
    import keras
    import numpy as np
    from zoo import data
    from zoo.models import DCGAN

    images = data.to_unit_range(data.load_arrays("train")[0][:99])
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = DCGAN(latent_dim=8, g_filters=8, d_filters=8, seed=0)
        gan.compile()

    def weights():
        return [np.array(w) for w in gan.generator.weights + gan.discriminator.weights]

    after_3_steps = []  # the weights after the dataset's 3 whole batches

    def refusal(fit):
        before = weights()
        try:
            fit()
        except Exception as error:
            changed = any(np.any(a != b) for a, b in zip(before, weights()))
            unchanged_since_3 = bool(after_3_steps) and all(np.array_equal(a, b) for a, b in zip(after_3_steps, weights()))
            return type(error).__name__, str(error), changed, unchanged_since_3
        return None

    keep = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: after_3_steps.extend(weights()) if batch == 2 else None)

    print(json.dumps({
        "batch of 33": refusal(lambda: gan.fit(data.batched(images[:66], 33, shuffle=False), epochs=1, verbose=0)),
        "arrays' last batch of 3": refusal(lambda: gan.fit(images, batch_size=32, epochs=1, verbose=0, shuffle=False)),
        "dataset's last batch of 3": refusal(lambda: gan.fit(
            tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0, callbacks=[keep])),
    }))
""")


@pytest.mark.inputs
def test_batches_that_do_not_split_evenly_across_replicas_are_refused_not_trained_on():
    result = subprocess.run([sys.executable, "-c", UNEVEN], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for case, (kind, message, changed, _) in report.items():
        assert "does not split evenly across the strategy" in message and "2 replicas" in message, (case, message)
    assert report["batch of 33"][:3] == ["ValueError", report["batch of 33"][1], False]  # refused before any step
    assert report["arrays' last batch of 3"][0] == "ValueError" and not report["arrays' last batch of 3"][2]
    assert "A batch of 33 images" in report["batch of 33"][1] and "A batch of 3 images" in report["arrays' last batch of 3"][1]
    kind, _, changed, unchanged_since_3 = report["dataset's last batch of 3"]
    assert kind == "InvalidArgumentError" and changed and unchanged_since_3  # 3 whole batches trained, the uneven one nothing


# A loss that becomes NaN under a strategy stops training with StopOnNonFiniteLoss's message,
# whose step count reads a mirrored variable (int() of one raised TypeError).
NAN_UNDER_STRATEGY = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import numpy as np
    from zoo import data
    from zoo.callbacks import StopOnNonFiniteLoss
    from zoo.models import GAN

    images = data.to_unit_range(data.load_arrays("train")[0][:64]).astype("float32")
    images[32:] = np.nan
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        gan = GAN(latent_dim=8, g_units=(16,), d_units=(16,), seed=0)
        gan.compile()
    guard = StopOnNonFiniteLoss()
    gan.fit(data.batched(images, 32, shuffle=False), epochs=1, verbose=0, callbacks=[guard])
    print(guard.message)
""")


@pytest.mark.faults
def test_a_non_finite_loss_under_a_strategy_stops_with_the_guards_message():
    result = subprocess.run([sys.executable, "-c", NAN_UNDER_STRATEGY], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "at epoch 1, step 2 of the epoch (generator step 2)" in result.stdout.strip().splitlines()[-1]
