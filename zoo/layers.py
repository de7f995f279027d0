"""Keras's `Conv2DTranspose` and `Conv2D`, computed with stride-1 convolutions where those are faster.

Drop-in subclasses: the same arguments, weights, outputs (to float rounding) and gradients as
Keras's layers, and the same layer names, so weights and checkpoints move between the two.
What changes is the kernel the backend runs.

A stride-s transposed convolution with "same" padding is s² stride-1 convolutions of its
input, one per output phase, interleaved (Shi et al. 2016, "Is the deconvolution layer the
same as a convolutional layer?", https://arxiv.org/abs/1609.07009), each reading only the kernel
taps of its phase, so the FLOPs are those of the transposed convolution. On CPU, TensorFlow's
transposed convolution (`Conv2DBackpropInput`) runs at about 40% of the machine's peak where
`Conv2D` runs at about 80% (README, "Training speed"; `scripts/bench_train.py`), so the layers use the
phase form wherever TensorFlow would run `Conv2DBackpropInput`:

- `Conv2DTranspose`: the forward pass (its input gradient is already a `Conv2D`);
- `Conv2D`: the input gradient (the transposed convolution of the output gradient), through
  `tf.custom_gradient`; the forward pass is TensorFlow's own.

Other backends differentiate the phase form themselves (JAX's gradient of a stride-1
convolution is again a stride-1 convolution). Layers with "valid" padding, dilation,
`output_padding`, unequal strides or channels-first data keep Keras's own computation.

`Dropout` is Keras's dropout drawing its mask from half the random bits on TensorFlow (two
16-bit draws per 32-bit word: the same expected output, the rate to 1/131072), and `LeakyReLU`
Keras's activation with its gradient read from its output (the same values; it lets TensorFlow's
graph optimiser fuse the bias add and activation into the convolution before it), and
`BatchNormalization` Keras's layer trained through TensorFlow's fused batch norm (one kernel
forward and one backward instead of separate moments and normalisation), whatever the
implementation chosen below. `spectrally_normalized` wraps any of the discriminators' weight
layers in Keras's `SpectralNormalization` when a model asks for it.

A third implementation, "winograd", computes Keras's way except for the stride-1 5×5
convolutions of small maps (`zoo.winograd.eligible`; the TF tutorial generator's first layer,
78% of its FLOPs), which run as Winograd's F(4×4, 5×5) (Lavin & Gray 2016) in matrix products
over the whole batch (each transform one axis of the map at a time): 4.8× fewer multiplications,
the same function to float rounding, differentiated by the backend like any matrix product (the
layer's forward and backward passes 1.9× faster than TensorFlow's convolution on one core of the
2-core Xeon, with one product per transform; one axis at a time, 3–8% faster again at batch 256
on both cores).

Which computation is faster depends on the machine: on a 2-core AMD EPYC (AVX2) the phase form
trained the TF tutorial's DCGAN 1.4× faster, on a 2-core Intel Xeon (AVX-512), whose oneDNN
kernels run `Conv2DBackpropInput` well, Keras's own was faster (README, "Training speed").
`set_implementation("keras")` (or `with implementation("keras"):`) makes these layers compute
exactly as Keras's do, from the next trace of the function that calls them; `zoo.speed` measures
both on the machine it runs on and picks one.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from zoo import winograd

IMPLEMENTATIONS = ("phases", "keras", "winograd")
_implementation = "phases"


def set_implementation(name):
    """Chooses how `Conv2D` and `Conv2DTranspose` compute: "phases" (stride-1 convolutions, the
    default), "keras" (Keras's own computation) or "winograd" (Keras's, but Winograd's form for
    5×5 stride-1 convolutions of small maps). Takes effect when a function calling the
    layers is next traced (build or compile the model after setting it)."""
    global _implementation
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"The convolution implementation must be one of {IMPLEMENTATIONS}, got {name!r}.")
    _implementation = name


def get_implementation():
    """How `Conv2D` and `Conv2DTranspose` compute now: "phases", "keras" or "winograd"."""
    return _implementation


@contextlib.contextmanager
def implementation(name):
    """`set_implementation(name)` for the duration of a `with` block."""
    previous = _implementation
    set_implementation(name)
    try:
        yield
    finally:
        set_implementation(previous)


def phase_taps(kernel_size, stride, pad_before, phase):
    """The kernel taps that output phase `phase` reads, and the input offset of the first.

    A transposed convolution writes input row i through kernel tap a to output row
    r = s·i + a − pad_before, so output row r = s·m + p (phase p) reads input rows m + j,
    j = first, first + 1, ..., through taps a = p + pad_before − s·j.
    """
    offsets = [j for j in range(-kernel_size, kernel_size + 1) if 0 <= phase + pad_before - stride * j < kernel_size]
    return np.array([phase + pad_before - stride * j for j in offsets], dtype="int32"), offsets[0]


def transposed_conv_as_phases(x, kernel, stride, output_size):
    """`ops.conv_transpose(x, kernel, stride, "same")` cropped to `output_size`, as s² stride-1
    convolutions (one per output phase, each with only the taps that phase reads) interleaved.

    `kernel` has Keras's transposed-convolution layout (height, width, filters, channels).
    `output_size` (height, width) is s·n for the layer itself, or a strided convolution's input
    size when this computes that convolution's input gradient ("same" pads by the input size).
    """
    kernel_height, kernel_width, filters, channels = kernel.shape
    _, height, width, _ = x.shape
    pads = [max((n - 1) * stride + k - size, 0) // 2 for n, k, size in ((height, kernel_height, output_size[0]), (width, kernel_width, output_size[1]))]
    rows = [phase_taps(kernel_height, stride, pads[0], p) for p in range(stride)]
    cols = [phase_taps(kernel_width, stride, pads[1], p) for p in range(stride)]
    top = min(first for _, first in rows)
    left = min(first for _, first in cols)
    bottom = max(first + len(taps) - 1 for taps, first in rows)
    right = max(first + len(taps) - 1 for taps, first in cols)
    x = ops.pad(x, [[0, 0], [-top, bottom], [-left, right], [0, 0]])
    phases = []
    for row_taps, row_first in rows:
        for col_taps, col_first in cols:
            taps = ops.take(ops.take(kernel, row_taps, axis=0), col_taps, axis=1)  # (rows, cols, filters, channels)
            window = x[:, row_first - top : row_first - top + height + len(row_taps) - 1, col_first - left : col_first - left + width + len(col_taps) - 1, :]
            phases.append(ops.conv(window, ops.transpose(taps, (0, 1, 3, 2)), strides=1, padding="valid"))
    if stride == 1:
        y = phases[0]
    else:  # interleave: phase (p_row, p_col) of position (m, n) -> pixel (s·m + p_row, s·n + p_col)
        y = ops.reshape(ops.stack(phases, axis=3), (-1, height, width, stride, stride, filters))
        y = ops.reshape(ops.transpose(y, (0, 1, 3, 2, 4, 5)), (-1, height * stride, width * stride, filters))
    return y[:, : output_size[0], : output_size[1], :]


def same_convolution_as_winograd(x, kernel):
    """`ops.conv(x, kernel, 1, "same")` for channels-last `x` (batch, height, width, channels) and
    a (r, r, channels, filters) kernel, as Winograd's F(4×4, r×r) (`zoo.winograd`): the input
    transform over the rows then the columns, the per-point products and the output transform
    over the columns then the rows, each one matrix product over the whole batch.

    In 16-bit policies (`mixed_bfloat16`, `mixed_float16`) the form computes in float32 and returns
    `x`'s dtype: its transforms amplify rounding, so in bfloat16 throughout it missed the direct
    convolution by 5.7% of the outputs' size (relative norm, the TF tutorial generator's layer) where
    bfloat16's own direct convolution misses by 0.29%; computed in float32 from the same bfloat16
    inputs it misses by the same 0.29%, and it still does 4.3× less work.
    """
    dtype = ops.dtype(x)
    if dtype in ("bfloat16", "float16"):
        x = ops.cast(x, "float32")
    _, height, width, channels = x.shape
    filters, r = kernel.shape[-1], kernel.shape[0]
    matrices = winograd.separable_transforms(height, width, r)
    rows_in, columns_in, columns_out, rows_out, g = (ops.cast(matrix, x.dtype) for matrix in matrices)
    n, tile_rows = g.shape[0], rows_in.shape[0] // g.shape[0]
    # The kernel's transform g K gᵀ as two matrix products (an einsum of the three ran 5× slower
    # forward and backward on TensorFlow): over the rows' taps, then, g broadcast, the columns'.
    rows = ops.reshape(ops.matmul(g, ops.reshape(ops.cast(kernel, x.dtype), (r, -1))), (n, r, channels * filters))
    transformed = ops.reshape(ops.matmul(g, rows), (n, 1, n, channels, filters))  # broadcast over tile rows
    # i, j: points; a, b: tiles (the layout of `winograd.separable_transforms`).
    pixels = ops.reshape(ops.transpose(x, (1, 2, 0, 3)), (height, -1))  # H × (W, batch, channels)
    row_points = ops.reshape(ops.matmul(rows_in, pixels), (rows_in.shape[0], width, -1))  # (i, a) × W × (batch, channels)
    points = ops.reshape(ops.matmul(columns_in, row_points), (n, tile_rows, n, -1, channels))  # i, a, j, (b, batch), channels
    products = ops.reshape(ops.matmul(points, transformed), (rows_in.shape[0], columns_in.shape[0], -1))  # (i, a), (j, b), (batch, filters)
    column_outputs = ops.reshape(ops.matmul(columns_out, products), (rows_in.shape[0], -1))  # (i, a) × (W, batch, filters)
    outputs = ops.reshape(ops.matmul(rows_out, column_outputs), (height, width, -1, filters))
    return ops.cast(ops.transpose(outputs, (2, 0, 1, 3)), dtype)


def winograd_eligible(layer, input_shape):
    """Whether implementation "winograd" computes `layer` (a `Conv2D` or `Conv2DTranspose` of this
    module) on inputs of `input_shape` in Winograd's form (`zoo.winograd.eligible`)."""
    return (
        layer.data_format == "channels_last"
        and getattr(layer, "groups", 1) == 1
        and getattr(layer, "output_padding", None) is None
        and len(input_shape) == 4
        and winograd.eligible(layer.kernel_size, layer.strides, layer.padding, layer.dilation_rate, *input_shape[1:], layer.filters)
    )


def _uses_winograd(layer, inputs):
    return _implementation == "winograd" and winograd_eligible(layer, inputs.shape)


def _uses_phases(layer, inputs):
    return (
        _implementation == "phases"
        and layer.data_format == "channels_last"
        and None not in tuple(inputs.shape[1:3])
        and layer.padding == "same"
        and layer.strides[0] == layer.strides[1] <= min(layer.kernel_size)  # every phase reads at least one tap
        and tuple(layer.dilation_rate) == (1, 1)
        and getattr(layer, "output_padding", None) is None
    )


def _filter_gradient(inputs, kernel, output_gradient, stride):
    """TensorFlow's gradient of `conv2d(inputs, kernel, stride, "SAME")` with respect to `kernel`."""
    import tensorflow as tf

    return tf.raw_ops.Conv2DBackpropFilter(
        input=inputs, filter_sizes=tf.shape(kernel), out_backprop=output_gradient, strides=[1, stride, stride, 1], padding="SAME"
    )


@keras.saving.register_keras_serializable(package="zoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` whose forward pass runs as a stride-1 convolution (see module)."""

    def call(self, inputs):
        if _uses_winograd(self, inputs):  # stride 1: a convolution with the kernel flipped, channels swapped
            kernel = ops.transpose(ops.flip(ops.flip(ops.convert_to_tensor(self.kernel), 0), 1), (0, 1, 3, 2))
            outputs = same_convolution_as_winograd(inputs, kernel)
            if self.use_bias:
                outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
            return self.activation(outputs) if self.activation is not None else outputs
        if not _uses_phases(self, inputs):
            return super().call(inputs)
        stride = self.strides[0]
        output_size = (inputs.shape[1] * stride, inputs.shape[2] * stride)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            kernel = tf.convert_to_tensor(self.kernel)  # a tensor, not the variable: the gradient below is the kernel's

            @tf.custom_gradient
            def transposed_conv(x, kernel):
                def gradient(output_gradient):  # TensorFlow's own gradient of Conv2DBackpropInput
                    return (
                        tf.nn.conv2d(output_gradient, kernel, stride, "SAME"),
                        _filter_gradient(output_gradient, kernel, x, stride),
                    )

                return transposed_conv_as_phases(x, kernel, stride, output_size), gradient

            outputs = transposed_conv(inputs, kernel)
        else:
            outputs = transposed_conv_as_phases(inputs, ops.convert_to_tensor(self.kernel), stride, output_size)
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1, 1, 1, self.filters)))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="zoo")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose input gradient runs as a stride-1 convolution on TensorFlow (see module)."""

    def convolution_op(self, inputs, kernel):
        if _uses_winograd(self, inputs):
            return same_convolution_as_winograd(inputs, kernel)
        if keras.backend.backend() != "tensorflow" or not _uses_phases(self, inputs) or self.groups != 1:
            return super().convolution_op(inputs, kernel)
        import tensorflow as tf

        stride = self.strides[0]
        input_size = (inputs.shape[1], inputs.shape[2])

        @tf.custom_gradient
        def conv(x, kernel):
            def gradient(output_gradient):
                return (
                    transposed_conv_as_phases(output_gradient, kernel, stride, input_size),
                    _filter_gradient(x, kernel, output_gradient, stride),
                )

            return tf.nn.conv2d(x, kernel, stride, "SAME"), gradient

        return conv(inputs, tf.convert_to_tensor(kernel))


DROPOUT_LEVELS = 65536  # a 16-bit draw per element: two per 32-bit random word


@keras.saving.register_keras_serializable(package="zoo")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` drawing its mask from half the random bits on TensorFlow.

    Keras's dropout on TensorFlow (`tf.nn.experimental.stateless_dropout`) draws one 32-bit
    Philox uniform per element, and on CPUs that draw is most of its cost: the TF tutorial
    discriminator's two dropout layers took about a tenth of a training step's operator time
    on 2 cores (TensorFlow profiler, 2026-11-28). Here each 32-bit word gives two 16-bit draws:
    an element is kept when its draw is at least t = round(rate · 65536), and kept elements are
    scaled by 65536 / (65536 − t), so the expected output is the input exactly and the rate
    moves by at most 1/131072 (0.3 becomes 0.300003). The same arguments, seed handling,
    weights and config as Keras's layer; other backends, `noise_shape` and rates that round to
    0 or 1 use Keras's own computation.
    """

    def call(self, inputs, training=False):
        threshold = round(self.rate * DROPOUT_LEVELS)
        keras_own = keras.backend.backend() != "tensorflow" or self.noise_shape is not None or not 0 < threshold < DROPOUT_LEVELS
        if not training or keras_own:
            return super().call(inputs, training=training)
        import tensorflow as tf

        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), "int32")  # as Keras's TF backend casts it
        size = tf.size(inputs)
        words = tf.random.stateless_uniform([(size + 1) // 2], seed, minval=None, maxval=None, dtype=tf.uint32)
        draws = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:size]
        keep = tf.reshape(draws >= threshold, tf.shape(inputs))
        scale = ops.cast(DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros([], inputs.dtype))


@keras.saving.register_keras_serializable(package="zoo")
class LeakyReLU(keras.layers.LeakyReLU):
    """`keras.layers.LeakyReLU` whose gradient reads its output instead of its input on TensorFlow.

    TensorFlow's gradient of `LeakyRelu` reads the activation's input, the bias add before it.
    Grappler's remapper fuses convolution (or matrix product) + bias add + LeakyRelu into one
    oneDNN kernel, which removes that bias add, and then rejects its rewrite of the graph
    ("remapper failed: ... fanout LeakyReluGrad exist for missing node BiasAdd"), fusions and
    all. The slope is ≥ 0 (Keras refuses others), so the output is positive exactly where the
    input is and the gradient read from the output has the same values, and the remapper's
    fusions stay. The same arguments, config and outputs as Keras's layer; outside training (so
    in exported graphs) and on other backends it is Keras's own computation.
    """

    def call(self, inputs, training=False):
        if not training or keras.backend.backend() != "tensorflow":
            return super().call(inputs)
        import tensorflow as tf

        slope = self.negative_slope

        @tf.custom_gradient
        def leaky_relu(x):
            outputs = tf.nn.leaky_relu(x, slope)

            def gradient(output_gradient):
                return tf.raw_ops.LeakyReluGrad(gradients=output_gradient, features=outputs, alpha=slope)

            return outputs, gradient

        return leaky_relu(inputs)


@keras.saving.register_keras_serializable(package="zoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training pass is TensorFlow's fused batch norm.

    Keras's layer trains through separate operations (the moments, then the normalisation, each
    with its own gradient), seven or more passes over the activations; TensorFlow's
    `FusedBatchNormV3` and its gradient are one kernel each (oneDNN's on CPU). The same
    normalisation by the batch's mean and (biased) variance, the same moving statistics (the
    fused kernel's variance is Bessel-corrected; it is uncorrected here before the update, as
    Keras averages the biased one), the same weights and config. Inference, other backends,
    masks, `synchronized`, `renorm`, a layer without `center` or `scale`, an axis other than
    the last of a 2-D or 4-D input, and functions compiled by XLA (`jit_compile=True`: XLA
    expands the fused op into a batch norm of its own, which trained 2.5-3x slower than with
    Keras's operations) use Keras's own computation.
    """

    def _fused_in_training(self, inputs, mask):
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and self.trainable
            and rank in (2, 4)
            and self.axis in (-1, rank - 1)
            and inputs.shape[-1] is not None
            and self.center
            and self.scale
            and not self.synchronized
            and not self.renorm
            and not _compiling_with_xla()
        )

    def call(self, inputs, training=None, mask=None):
        if not training or not self._fused_in_training(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        images = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, (-1, 1, 1, channels))
        if images.dtype not in (tf.float16, tf.bfloat16, tf.float32):
            images = tf.cast(images, "float32")
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=images, scale=tf.convert_to_tensor(self.gamma), offset=tf.convert_to_tensor(self.beta),
            mean=tf.constant([], "float32"), variance=tf.constant([], "float32"),
            epsilon=self.epsilon, data_format="NHWC", is_training=True,
        )
        count = tf.cast(tf.size(images) // channels, "float32")
        variance = variance * (count - 1.0) / count  # the fused kernel's is Bessel-corrected; Keras averages the biased one
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(tf.reshape(outputs, tf.shape(inputs)), self.compute_dtype)


def _compiling_with_xla():
    """Whether TensorFlow is tracing a function for XLA (`tf.function(jit_compile=True)`, as Keras's
    `jit_compile=True` does). TensorFlow has no public API for this; its own control flow and the
    old `tf.keras` ask the same private helper. Should a TensorFlow release move it, the answer is
    "no": the fused kernel is correct under XLA too, only slower (a test notices)."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
    except ImportError:
        return False
    return GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def spectrally_normalized(layer, enabled=True):
    """`layer` in `keras.layers.SpectralNormalization` when `enabled` (Miyato et al. 2018,
    https://arxiv.org/abs/1802.05957): its kernel divided by its largest singular value, estimated
    by one power iteration per training call; else `layer` itself."""
    return keras.layers.SpectralNormalization(layer) if enabled else layer
