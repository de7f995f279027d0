"""Training through tf.distribute.MirroredStrategy on two logical CPU devices."""

import json
import subprocess
import sys
import textwrap

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
