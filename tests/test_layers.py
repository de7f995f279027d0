"""`zoo.layers`: Keras's convolutions computed another way, with the same values and gradients."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from zoo import layers

pytestmark = pytest.mark.backend

# (input side, channels, filters, kernel, stride): the zoo's shapes (4×4 and the tutorial's 5×5),
# odd sides and a stride of 3, whose phases and padding are the unusual cases.
CASES = [(7, 16, 8, 5, 1), (7, 16, 8, 5, 2), (14, 8, 1, 5, 2), (7, 8, 4, 4, 2), (5, 4, 3, 3, 2), (4, 4, 2, 4, 3), (5, 3, 2, 3, 1)]
# Conv2D computes its input gradient as stride-1 convolutions on TensorFlow only (JAX's own is one already).
CONV2D_FAST_PATH = keras.backend.backend() == "tensorflow"


@contextlib.contextmanager
def counting_phase_calls():
    """Counts the calls of `zoo.layers.transposed_conv_as_phases`, the stride-1 form the layers exist for.

    Without this, a layer that stopped taking it would be Keras compared with itself, and pass.
    """
    calls = []
    original = layers.transposed_conv_as_phases

    def counted(*args, **kwargs):
        calls.append(args[1].shape)
        return original(*args, **kwargs)

    layers.transposed_conv_as_phases = counted
    try:
        yield calls
    finally:
        layers.transposed_conv_as_phases = original


def values_and_gradients(layer, x):
    """The layer's output and the gradients of a fixed function of it, with respect to its input and weights."""
    weights = [w.value for w in layer.trainable_weights]
    if keras.backend.backend() == "jax":
        import jax

        def loss(x, values):
            y, _ = layer.stateless_call(values, [], x)
            return keras.ops.sum(keras.ops.sin(y)), y

        (_, y), grads = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(x, weights)
        return [y, grads[0], *grads[1]]
    if keras.backend.backend() == "torch":
        import torch

        x = x.clone().requires_grad_(True)
        y = layer(x)
        grads = torch.autograd.grad(keras.ops.sum(keras.ops.sin(y)), [x, *weights])
        return [y, *grads]
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.sin(y))
    return [y, *tape.gradient(loss, [x, *weights])]


def compare(zoo_layer, keras_layer, input_shape, seed, fast_path):
    """The zoo layer against Keras's on one input; `fast_path`: whether the zoo layer must compute
    through the stride-1 phases (True) or fall back to Keras's own computation (False)."""
    x = keras.ops.convert_to_tensor(np.random.default_rng(seed).standard_normal(input_shape).astype("float32"))
    keras_layer.build(input_shape)
    zoo_layer.build(input_shape)
    zoo_layer.set_weights([np.random.default_rng(seed + 1).standard_normal(w.shape).astype("float32") for w in keras_layer.weights])
    keras_layer.set_weights(zoo_layer.get_weights())
    with counting_phase_calls() as calls:
        zoo_results = values_and_gradients(zoo_layer, x)
    assert bool(calls) == fast_path, f"{zoo_layer.name} {'did not take' if fast_path else 'took'} the stride-1 path: {calls}"
    for ours, theirs in zip(zoo_results, values_and_gradients(keras_layer, x)):
        ours, theirs = keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("side,channels,filters,kernel,stride", CASES)
def test_transposed_convolution_matches_keras_in_values_and_gradients(side, channels, filters, kernel, stride):
    options = dict(filters=filters, kernel_size=kernel, strides=stride, padding="same", use_bias=True, activation="tanh")
    compare(layers.Conv2DTranspose(**options), keras.layers.Conv2DTranspose(**options), (2, side, side, channels), seed=side * kernel, fast_path=True)


@pytest.mark.parametrize("side,channels,filters,kernel,stride", CASES + [(15, 4, 3, 5, 2), (28, 1, 4, 5, 2)])
def test_convolution_matches_keras_in_values_and_gradients(side, channels, filters, kernel, stride):
    options = dict(filters=filters, kernel_size=kernel, strides=stride, padding="same", use_bias=True)
    compare(layers.Conv2D(**options), keras.layers.Conv2D(**options), (2, side * stride, side * stride, channels), seed=side + kernel, fast_path=CONV2D_FAST_PATH)
    if stride > 1:  # an input side that the stride does not divide: "same" pads it unevenly
        compare(layers.Conv2D(**options), keras.layers.Conv2D(**options), (2, side * stride + 1, side * stride + 1, channels), seed=side, fast_path=CONV2D_FAST_PATH)


def test_other_settings_fall_back_to_keras_and_weights_move_between_the_two(tmp_path):
    valid = dict(filters=3, kernel_size=3, strides=2, padding="valid")
    compare(layers.Conv2DTranspose(**valid), keras.layers.Conv2DTranspose(**valid), (2, 5, 5, 4), seed=0, fast_path=False)
    compare(layers.Conv2D(**valid), keras.layers.Conv2D(**valid), (2, 9, 9, 4), seed=0, fast_path=False)

    def network(module):
        x = keras.Input((7, 7, 4))
        y = module.Conv2DTranspose(2, 4, 2, "same")(module.Conv2D(4, 3, 1, "same")(x))
        return keras.Model(x, y)

    ours, theirs = network(layers), network(keras.layers)
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours.load_weights(tmp_path / "keras.weights.h5")
    x = np.random.default_rng(0).standard_normal((3, 7, 7, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    assert type(keras.layers.deserialize(keras.layers.serialize(ours.layers[2]))) is layers.Conv2DTranspose


def traced_op_types(function, inputs, jit_compile=False):
    """The TensorFlow op types in the graph `tf.function` traces of `function` on `inputs` (a
    tensor or `tf.TensorSpec`): which kernels a layer's computation runs."""
    import tensorflow as tf

    return {op.type for op in tf.function(function, jit_compile=jit_compile).get_concrete_function(inputs).graph.get_operations()}


def test_the_implementation_is_chosen_per_trace_and_restored():
    """`implementation("keras")` makes the layers compute as Keras's own (TensorFlow's
    Conv2DBackpropInput for a transposed convolution), with the same values; the default is the
    phase form, and an unknown name is refused."""
    layer = layers.Conv2DTranspose(4, 4, 2, "same")
    x = np.random.default_rng(0).standard_normal((2, 7, 7, 3)).astype("float32")
    phases = keras.ops.convert_to_numpy(layer(x))
    assert layers.get_implementation() == "phases"
    with layers.implementation("keras"):
        assert layers.get_implementation() == "keras"
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), phases, atol=1e-5)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            ops_run = traced_op_types(layer, tf.TensorSpec((2, 7, 7, 3)))
            assert "Conv2DBackpropInput" in ops_run
    assert layers.get_implementation() == "phases"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        ops_run = traced_op_types(layer, tf.TensorSpec((2, 7, 7, 3)))
        assert "Conv2DBackpropInput" not in ops_run and "Conv2D" in ops_run
    with pytest.raises(ValueError, match="phases"):
        layers.set_implementation("fast")


@contextlib.contextmanager
def counting_winograd_calls():
    """Counts the calls of `zoo.layers.same_convolution_as_winograd` (as `counting_phase_calls`)."""
    calls = []
    original = layers.same_convolution_as_winograd

    def counted(x, kernel):
        calls.append(tuple(kernel.shape))
        return original(x, kernel)

    layers.same_convolution_as_winograd = counted
    try:
        yield calls
    finally:
        layers.same_convolution_as_winograd = original


@pytest.mark.parametrize("module_layer", ["Conv2DTranspose", "Conv2D"])
@pytest.mark.parametrize("height,width", [(7, 7), (5, 5), (8, 8), (4, 7)])
def test_winograd_matches_keras_in_values_and_gradients_on_small_maps(module_layer, height, width):
    """implementation("winograd"): 5×5 stride-1 convolutions of small maps (the TF tutorial
    generator's first layer, here with fewer channels; 4×7: one tile row, two tile columns) in
    Winograd's form, Keras's own elsewhere."""
    options = dict(filters=24, kernel_size=5, strides=1, padding="same", use_bias=True, activation="tanh")
    x = keras.ops.convert_to_tensor(np.random.default_rng(height * width).standard_normal((3, height, width, 32)).astype("float32"))
    ours, theirs = getattr(layers, module_layer)(**options), getattr(keras.layers, module_layer)(**options)
    ours.build(x.shape)
    theirs.build(x.shape)
    ours.set_weights([np.random.default_rng(1).standard_normal(w.shape).astype("float32") * 0.1 for w in theirs.weights])
    theirs.set_weights(ours.get_weights())
    with layers.implementation("winograd"), counting_winograd_calls() as calls:
        results = values_and_gradients(ours, x)
    assert calls == [(5, 5, 32, 24)]  # the convolution's kernel (a transposed one's flipped, channels swapped)
    for mine, keras_own in zip(results, values_and_gradients(theirs, x)):
        mine, keras_own = keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(keras_own)
        np.testing.assert_allclose(mine, keras_own, rtol=1e-4, atol=1e-4 * np.abs(keras_own).max())


def test_winograd_in_bfloat16_is_as_near_float32_as_keras_own_bfloat16_convolution():
    """Winograd's transforms amplify rounding: in `mixed_bfloat16` the form computes in float32 from
    the layer's bfloat16 inputs and returns bfloat16, as near the float32 convolution as Keras's
    own bfloat16 one (computed in bfloat16 throughout it missed by about 20 times as much)."""
    x = np.random.default_rng(0).standard_normal((4, 7, 7, 64)).astype("float32")
    options = dict(filters=32, kernel_size=5, strides=1, padding="same", use_bias=False)
    reference = keras.layers.Conv2D(**options)
    keras_bfloat16 = keras.layers.Conv2D(**options, dtype="mixed_bfloat16")
    ours = layers.Conv2D(**options, dtype="mixed_bfloat16")
    for layer in (reference, keras_bfloat16, ours):
        layer.build(x.shape)
    kernel = np.random.default_rng(1).standard_normal(reference.kernel.shape).astype("float32") / 40
    for layer in (reference, keras_bfloat16, ours):
        layer.set_weights([kernel])
    exact = keras.ops.convert_to_numpy(reference(x)).astype("float64")

    def error(layer):
        y = layer(x)
        assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
        y = keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")).astype("float64")
        return np.linalg.norm(y - exact) / np.linalg.norm(exact)

    with layers.implementation("winograd"), counting_winograd_calls() as calls:
        ours_error = error(ours)
    assert calls == [(5, 5, 64, 32)]
    keras_error = error(keras_bfloat16)
    assert 0 < keras_error < 0.01 and ours_error < 1.5 * keras_error, (ours_error, keras_error)


def test_winograd_leaves_other_convolutions_to_keras():
    x = np.random.default_rng(0).standard_normal((2, 14, 14, 32)).astype("float32")
    cases = [
        (layers.Conv2DTranspose(24, 5, 2, "same"), x[:, :7, :7]),  # strided
        (layers.Conv2D(24, 3, 1, "same"), x[:, :7, :7]),  # 3×3
        (layers.Conv2D(24, 5, 1, "same"), x),  # a 14×14 map
        (layers.Conv2D(8, 5, 1, "same"), x[:, :7, :7]),  # few filters
        (layers.Conv2D(24, 5, 1, "valid"), x[:, :7, :7]),
    ]
    for layer, inputs in cases:
        with layers.implementation("winograd"), counting_winograd_calls() as calls, counting_phase_calls() as phases:
            layer(inputs)
        assert calls == [] and phases == [], layer.get_config()


# ----- Dropout ----------------------------------------------------------------------------------

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"


def dropped(layer, x, training=True):
    return keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x), training=training))


def test_dropout_keeps_each_element_with_probability_one_minus_rate_and_keeps_the_mean():
    """Over a million elements: the kept fraction and the mean within five standard errors,
    kept values scaled by 65536 / (65536 − round(0.3 · 65536)) (on TensorFlow, where the mask
    comes from 16-bit draws; Keras's 1 / 0.7 elsewhere), neighbours (the two halves of one
    random word) uncorrelated, a new mask per call, and the input itself outside training."""
    x = np.ones((256, 64, 64), "float32")
    layer = layers.Dropout(0.3, seed=1)
    y = dropped(layer, x)
    kept = y != 0
    standard_error = np.sqrt(0.3 * 0.7 / x.size)
    assert abs(kept.mean() - 0.7) < 5 * standard_error
    scale = np.float32(65536 / (65536 - 19661)) if ON_TENSORFLOW else np.float32(1 / 0.7)
    np.testing.assert_array_equal(np.unique(y[kept]), [scale])
    assert abs(y.mean() - 1.0) < 5 * standard_error * scale
    pairs = kept.reshape(-1, 2).astype("float64")
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 5 / np.sqrt(pairs.shape[0])
    assert 0.4 < (dropped(layer, x) != y).mean() < 0.44  # 2 · 0.7 · 0.3 = 0.42 for independent masks
    np.testing.assert_array_equal(dropped(layer, x, training=False), x)
    np.testing.assert_array_equal(dropped(layers.Dropout(0.3, seed=1), x), y)  # the seed fixes the masks


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the 16-bit draws are TensorFlow's; other backends run Keras's own dropout")
def test_dropout_gradient_is_its_mask_times_its_scale_with_and_without_xla():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).standard_normal((64, 7, 7, 5)).astype("float32"))
    weights = tf.constant(np.random.default_rng(1).standard_normal(x.shape).astype("float32"))
    for jit_compile in (False, True):
        layer = layers.Dropout(0.3, seed=2)

        @tf.function(jit_compile=jit_compile)
        def value_and_gradient(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * weights)
            return y, tape.gradient(loss, x)

        y, gradient = (t.numpy() for t in value_and_gradient(x))
        scale = np.float32(65536 / (65536 - 19661))
        mask = y != 0
        np.testing.assert_allclose(y[mask], x.numpy()[mask] * scale, rtol=1e-6)
        np.testing.assert_allclose(gradient, np.where(mask, weights.numpy() * scale, 0), rtol=1e-6)
        assert 0.6 < mask.mean() < 0.8, jit_compile


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the 16-bit draws are TensorFlow's; other backends run Keras's own dropout")
def test_dropout_in_bfloat16_and_rates_too_fine_for_16_bits_fall_back_to_keras():
    y = dropped(layers.Dropout(0.5, seed=3, dtype="mixed_bfloat16"), np.ones((1000, 99), "float32"))
    assert str(y.dtype) == "bfloat16" and set(np.unique(y.astype("float32"))) == {0.0, 2.0}
    tiny = dropped(layers.Dropout(1e-6, seed=3), np.ones((1000, 1000), "float32"))  # 0 of 65536 levels: Keras's own
    assert (tiny == 0).sum() < 10 and set(np.unique(tiny[tiny != 0])) == {np.float32(1 / (1 - 1e-6))}


def test_dropout_is_the_tutorial_discriminators_with_zoo_layers_and_serialises():
    from zoo.models.tutorial import make_discriminator_model

    ours = [type(layer) for layer in make_discriminator_model(convolutions=layers).layers if isinstance(layer, keras.layers.Dropout)]
    theirs = [type(layer) for layer in make_discriminator_model().layers if isinstance(layer, keras.layers.Dropout)]
    assert ours == [layers.Dropout] * 2 and theirs == [keras.layers.Dropout] * 2
    restored = keras.layers.deserialize(keras.layers.serialize(layers.Dropout(0.25, seed=4)))
    assert type(restored) is layers.Dropout and restored.rate == 0.25 and restored.seed == 4


def training_step(layer, x, weights, jit_compile, variables=()):
    """One traced training call of `layer` on `x` (TensorFlow): its output and the gradients of
    sum(output · weights) with respect to `x` and `variables`, as float32 arrays."""
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * weights)
        return [y, *tape.gradient(loss, [x, *variables])]

    return [t.numpy().astype("float32") for t in step(x)]


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the gradient from the output is TensorFlow's; other backends run Keras's own LeakyReLU")
@pytest.mark.parametrize("slope", [0.3, 0.2, 0.0, 0.01, 1.5])
def test_leaky_relu_matches_keras_in_values_and_gradients_with_and_without_xla(slope):
    """Equal to Keras's layer bit for bit, in float32 and bfloat16, on inputs with exact zeros and
    values whose negative output underflows (where the output's sign is the input's or zero)."""
    import tensorflow as tf

    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 33)).astype("float32")
    x[0, :4] = [0.0, -0.0, -1e-45, 1e-45]
    weights = tf.constant(rng.standard_normal(x.shape).astype("float32"))
    for dtype in ("float32", "mixed_bfloat16"):
        for jit_compile in (False, True):
            results = []
            for layer in (layers.LeakyReLU(slope, dtype=dtype), keras.layers.LeakyReLU(slope, dtype=dtype)):
                results.append(training_step(layer, tf.constant(x), weights, jit_compile))
            (ours, our_gradient), (theirs, their_gradient) = results
            np.testing.assert_array_equal(ours, theirs)
            np.testing.assert_array_equal(our_gradient, their_gradient)
            assert np.any(our_gradient != weights.numpy())  # the slope did act on the gradient


@pytest.mark.skipif(not ON_TENSORFLOW, reason="Grappler's remapper is TensorFlow's graph optimiser")
def test_leaky_relu_lets_tensorflow_fuse_the_convolution_bias_and_activation(tmp_path):
    """`fit` on Conv2D → LeakyReLU: with Keras's LeakyReLU TensorFlow's graph optimiser logs that its
    remapper failed (the gradient reads the bias add it fused away); with the zoo's it does not."""
    script = tmp_path / "fit.py"
    script.write_text(
        "import sys, keras, numpy as np\n"
        "from zoo import layers\n"
        "module = layers if sys.argv[1] == 'zoo' else keras.layers\n"
        "model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, 2, 'same'), module.LeakyReLU(0.2),"
        " keras.layers.Flatten(), keras.layers.Dense(1)])\n"
        "model.compile('sgd', 'mse')\n"
        "model.fit(np.zeros((8, 8, 8, 1), 'float32'), np.zeros((8, 1), 'float32'), epochs=1, verbose=0)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    logs = {
        module: subprocess.run([sys.executable, str(script), module], env=env, capture_output=True, text=True, timeout=300)
        for module in ("keras", "zoo")
    }
    assert all(run.returncode == 0 for run in logs.values()), {m: run.stderr[-2000:] for m, run in logs.items()}
    assert "remapper failed" in logs["keras"].stderr and "LeakyReluGrad" in logs["keras"].stderr
    assert "remapper failed" not in logs["zoo"].stderr


def test_leaky_relu_is_the_zoo_models_and_serialises():
    from zoo import DCGAN
    from zoo.models.tutorial import make_discriminator_model, make_generator_model

    def leaky_types(model):
        return {type(layer) for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)}

    assert leaky_types(make_discriminator_model(convolutions=layers)) == leaky_types(make_generator_model(convolutions=layers)) == {layers.LeakyReLU}
    assert leaky_types(make_discriminator_model()) == {keras.layers.LeakyReLU}
    assert leaky_types(DCGAN(image_shape=(28, 28, 1)).discriminator) == {layers.LeakyReLU}
    restored = keras.layers.deserialize(keras.layers.serialize(layers.LeakyReLU(0.1)))
    assert type(restored) is layers.LeakyReLU and restored.negative_slope == 0.1


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the fused batch norm is TensorFlow's; other backends run Keras's own layer")
@pytest.mark.parametrize("shape", [(64, 7, 7, 16), (32, 50)])
def test_batch_normalization_matches_keras_in_values_gradients_and_moving_statistics(shape):
    """Training steps of the zoo's layer and Keras's from the same weights: the same outputs, input and
    weight gradients and moving mean and variance (float32 to 1e-5, bfloat16 to its rounding), with
    and without XLA; outside training both use the moving statistics."""
    import tensorflow as tf

    rng = np.random.default_rng(6)
    x = tf.constant((3 + 2 * rng.standard_normal(shape)).astype("float32"))
    weights = tf.constant(rng.standard_normal(shape).astype("float32"))
    for dtype, tolerance in (("float32", 1e-5), ("mixed_bfloat16", 2e-2)):
        for jit_compile in (False, True):
            results = []
            for cls in (layers.BatchNormalization, keras.layers.BatchNormalization):
                layer = cls(momentum=0.9, dtype=dtype)
                layer.build(shape)
                layer.set_weights([np.linspace(0.5, 1.5, shape[-1]), np.linspace(-1, 1, shape[-1]), np.zeros(shape[-1]), np.ones(shape[-1])])
                values = training_step(layer, x, weights, jit_compile, [layer.gamma, layer.beta])
                values += [layer.moving_mean.numpy(), layer.moving_variance.numpy()]
                values.append(keras.ops.convert_to_numpy(layer(x, training=False)).astype("float32"))
                results.append(values)
            for name, ours, theirs in zip(["outputs", "input gradient", "gamma gradient", "beta gradient", "moving mean", "moving variance", "inference"], *results):
                np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance * np.abs(theirs).max(), err_msg=f"{name}, {dtype}, XLA {jit_compile}")
            assert np.abs(results[0][5] - 1.0).max() > 0.1  # the moving variance moved towards the batch's (4)


@pytest.mark.skipif(not ON_TENSORFLOW, reason="the fused batch norm is TensorFlow's; other backends run Keras's own layer")
def test_batch_normalization_runs_the_fused_kernel_only_where_it_computes_keras_function():
    import tensorflow as tf

    x = tf.zeros((4, 3, 3, 2))

    def op_types(layer, inputs, jit_compile=False):
        return traced_op_types(lambda t: layer(t, training=True), inputs, jit_compile)

    assert "FusedBatchNormV3" in op_types(layers.BatchNormalization(), x)
    assert "FusedBatchNormV3" not in op_types(layers.BatchNormalization(), x, jit_compile=True)  # XLA's expansion of it trained 2.5-3x slower
    assert "FusedBatchNormV3" not in op_types(layers.BatchNormalization(synchronized=True), x)
    assert "FusedBatchNormV3" not in op_types(layers.BatchNormalization(center=False), x)
    assert "FusedBatchNormV3" not in op_types(layers.BatchNormalization(axis=1), x)
    assert "FusedBatchNormV3" not in op_types(layers.BatchNormalization(), tf.zeros((4, 3, 2)))  # 3-D
    restored = keras.layers.deserialize(keras.layers.serialize(layers.BatchNormalization(momentum=0.8)))
    assert type(restored) is layers.BatchNormalization and restored.momentum == 0.8
    from zoo.models.tutorial import make_generator_model

    norms = {type(layer) for layer in make_generator_model(convolutions=layers).layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert norms == {layers.BatchNormalization}
