"""The backend-specific code of the models: gradients, JAX state, PyTorch autograd, tf.distribute.

`BaseGAN.train_step` is written once, with stateful Keras calls. What each backend needs to run
it lives here, so that the algorithm reads without it:

- `minimize` takes one optimizer step on a network against a loss: `tf.GradientTape` on
  TensorFlow, `jax.value_and_grad` on JAX, `torch.autograd.grad` on PyTorch; `minimize_pair`
  one step on each of two networks against two losses of one forward pass; `minimize_in_turn`
  one step on each in turn, both on the samples of one generator pass;
- `input_gradient` is the gradient of a score with respect to its input (WGAN-GP's penalty);
- `run_stateless` runs the stateful step on JAX's explicit state;
- `replicas_in_sync`, `replica_share` and `has_strategy` keep a `tf.distribute` run the same
  training as one device on the global batch.
"""

import keras
from keras import ops


def minimize(model, compute_loss, network, optimizer):
    """Takes one optimizer step on `network`'s weights against `compute_loss()`.

    `compute_loss` returns `(loss, extras)`; this returns the same pair. Under a
    `tf.distribute` strategy each replica's loss is a mean over its share of the batch and the
    optimizer sums the replicas' gradients, so the loss is divided by the number of replicas:
    the step is then the one a single device takes on the global batch. On JAX the gradient is
    `jax.value_and_grad` of the loss as a function of the weights' values (see `run_stateless`).
    """
    if keras.backend.backend() == "jax":
        return jax_minimize(model, compute_loss, network, optimizer)
    if keras.backend.backend() == "torch":
        return torch_minimize(compute_loss, network, optimizer)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss, extras = compute_loss()
        scaled_loss = optimizer.scale_loss(loss / replicas_in_sync())
    gradients = tape.gradient(scaled_loss, network.trainable_weights)
    optimizer.apply(gradients, network.trainable_weights)
    return loss, extras


def minimize_pair(model, compute_losses, first, second):
    """Takes one optimizer step on each of two networks against two losses of one forward pass.

    `compute_losses()` returns `((first_loss, second_loss), extras)`; `first` and `second` are
    `(network, optimizer)` pairs. Both gradients are taken at the current weights before either
    network changes, from the same forward pass (the update of TensorFlow's DCGAN tutorial: one
    discriminator pass over the generated batch serves both losses). Returns what
    `compute_losses` returned. Losses are scaled for a `tf.distribute` strategy as in `minimize`.
    """
    if keras.backend.backend() == "jax":
        return jax_minimize_pair(model, compute_losses, first, second)
    if keras.backend.backend() == "torch":
        return torch_minimize_pair(compute_losses, first, second)
    import tensorflow as tf

    with tf.GradientTape() as first_tape, tf.GradientTape() as second_tape:
        (losses, extras) = compute_losses()
        scaled = [optimizer.scale_loss(loss / replicas_in_sync()) for loss, (_, optimizer) in zip(losses, (first, second))]
    gradients = [
        tape.gradient(loss, network.trainable_weights) for tape, loss, (network, _) in zip((first_tape, second_tape), scaled, (first, second))
    ]
    for grads, (network, optimizer) in zip(gradients, (first, second)):
        optimizer.apply(grads, network.trainable_weights)
    return losses, extras


def minimize_in_turn(model, generate, first_loss, second_loss, first, second):
    """Steps `first` against `first_loss(samples)`, then `second` against `second_loss(samples)`,
    where `samples = generate()` is computed once.

    `first` and `second` are `(network, optimizer)` pairs; each loss function returns
    `(loss, extras)`, and both pairs are returned. `first` sees the samples as constants; the
    gradient of `second_loss` (computed after `first` has stepped) reaches `second`'s weights
    back through the recorded `generate()` pass, which is valid because `first`'s step does not
    change `second`. Losses are scaled for a `tf.distribute` strategy as in `minimize`.
    """
    if keras.backend.backend() == "jax":
        return jax_minimize_in_turn(model, generate, first_loss, second_loss, first, second)
    if keras.backend.backend() == "torch":
        return torch_minimize_in_turn(generate, first_loss, second_loss, first, second)
    import tensorflow as tf

    (network, optimizer) = second
    with tf.GradientTape() as tape:
        samples = generate()
        with tape.stop_recording():
            first_result = minimize(model, lambda: first_loss(tf.stop_gradient(samples)), *first)
        loss, extras = second_loss(samples)
        scaled_loss = optimizer.scale_loss(loss / replicas_in_sync())
    optimizer.apply(tape.gradient(scaled_loss, network.trainable_weights), network.trainable_weights)
    return first_result, (loss, extras)


def input_gradient(model, score, x):
    """∇ₓ Σ score(x), kept differentiable so that a penalty on it trains `score`'s weights.

    Called inside `minimize`'s loss (JAX: inside the function it differentiates).
    """
    if keras.backend.backend() == "jax":
        return jax_input_gradient(model, score, x)
    if keras.backend.backend() == "torch":
        return torch_input_gradient(score, x)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = score(x)
    return tape.gradient(scores, x)


# ----- tf.distribute --------------------------------------------------------------------


def replicas_in_sync():
    """Replicas training in step under a `tf.distribute` strategy (1 outside of one)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


def check_even_split(model, batch_sizes):
    """Refuses, before any step, batches of `batch_sizes()` that would not split evenly across the
    replicas of the strategy `model` was built under: Keras fails at the first such batch
    (adding the replicas' unequal shares), and a step on unequal shares would not be the one
    device's step (`replica_share` and the loss scaling of `minimize` take equal shares)."""
    strategy = getattr(model, "distribute_strategy", None) if keras.backend.backend() == "tensorflow" else None
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if replicas == 1:
        return
    uneven = [size for size in batch_sizes() if size % replicas]
    if uneven:
        raise ValueError(uneven_split_message(f"A batch of {uneven[0]} images", replicas))


def uneven_split_message(what, replicas):
    return (
        f"{what} does not split evenly across the strategy's {replicas} replicas: under tf.distribute each "
        f"batch (the global batch) must be a multiple of {replicas}. Choose such a batch size and drop the last incomplete "
        "batch (dataset.batch(batch_size, drop_remainder=True); zoo.data's loaders drop it), or trim the arrays to a "
        "multiple of the batch size."
    )


def replica_share(draw, batch_size):
    """Returns `draw(batch_size)`, or this replica's rows of `draw(global batch)` under a strategy.

    Every replica draws the same global batch from the shared seed state and keeps its own
    slice, so noise on N devices is the noise one device would draw for the global batch.
    """
    replicas = replicas_in_sync()
    if replicas == 1:
        return draw(batch_size)
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    # A batch known only as it comes (a dataset's last, incomplete one) is checked here: unequal
    # shares would draw overlapping noise (`check_even_split` refuses the batches known before).
    whole = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(batch_size, "int32"))
    even = tf.debugging.assert_equal(whole, tf.cast(batch_size, "int32") * replicas, message=uneven_split_message("This step's batch", replicas))
    with tf.control_dependencies([even]):  # no update of the step runs before the check: it needs this noise
        replica = context.replica_id_in_sync_group
        return draw(batch_size * replicas)[replica * batch_size : (replica + 1) * batch_size]


def has_strategy():
    """Whether layers are being built under a `tf.distribute` strategy (always False off TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy()


# ----- JAX --------------------------------------------------------------------------------
# `fit` calls the stateless `train_step(state, data)` with the values of every variable
# (trainable, non-trainable, `model.optimizer.variables`, metrics) and wants them back updated.
# `run_stateless` runs the same stateful step inside a `keras.StatelessScope` holding those
# values, so every `assign` (optimizer steps, batch-norm statistics, the seed generator, the
# moving average, the trackers) lands in the scope, and reads the new values out of it.


class OptimizerPair:
    """Stands in `model.optimizer` on JAX so that `fit` carries both optimizers' variables in its state."""

    built = True

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def variables(self):
        return self.d_optimizer.variables + self.g_optimizer.variables


def attach_optimizers(model):
    """On JAX, makes `model.optimizer` carry both of the model's optimizers (see `OptimizerPair`)."""
    if keras.backend.backend() == "jax":
        model.optimizer = OptimizerPair(model.d_optimizer, model.g_optimizer)


def state_variables(model):
    """The variables of the JAX trainer's state, in its order."""
    optimizer = getattr(model, "optimizer", None)  # an OptimizerPair once compiled
    return (model.trainable_variables, model.non_trainable_variables, optimizer.variables if optimizer else [], model.metrics_variables)


def run_stateless(model, step, state, data):
    """Runs the stateful `step(data)` on `state`'s values; returns `(logs, new state)`."""
    groups = state_variables(model)
    mapping = [(variable, value) for variables, values in zip(groups, state) for variable, value in zip(variables, values)]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    return logs, tuple([scope.get_current_value(variable) for variable in variables] for variables in groups)


def with_values(model, compute, values):
    """Runs `compute()` in a scope where `values` ((variable, value) pairs) replace current values.

    Returns `compute()`'s result and the new values of the model's non-trainable variables
    (batch-norm statistics, seed generators), for the caller to assign outside the function
    that JAX differentiates: values made inside it may not leave it otherwise.
    """
    replaced = {id(variable): value for variable, value in values}
    mapping = [(v, replaced.get(id(v), v.value)) for variables in state_variables(model) for v in variables]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        result = compute()
    return result, [scope.get_current_value(variable) for variable in model.non_trainable_variables]


def assign_all(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)


def jax_minimize(model, compute_loss, network, optimizer):
    """`minimize` on JAX: `jax.value_and_grad` over `network`'s trainable values."""
    import jax

    weights = network.trainable_variables

    def scaled_loss(values):
        (loss, extras), updates = with_values(model, compute_loss, zip(weights, values))
        return optimizer.scale_loss(loss), (loss, extras, updates)

    (_, (loss, extras, updates)), gradients = jax.value_and_grad(scaled_loss, has_aux=True)([w.value for w in weights])
    assign_all(model.non_trainable_variables, updates)
    optimizer.apply(gradients, weights)
    return loss, extras


def jax_minimize_pair(model, compute_losses, first, second):
    """`minimize_pair` on JAX: one `jax.vjp` of both losses, pulled back once per loss."""
    import jax

    weights = [network.trainable_variables for network, _ in (first, second)]

    def scaled_losses(first_values, second_values):
        values = [*zip(weights[0], first_values), *zip(weights[1], second_values)]
        (losses, extras), updates = with_values(model, compute_losses, values)
        scaled = tuple(optimizer.scale_loss(loss) for loss, (_, optimizer) in zip(losses, (first, second)))
        return scaled, (losses, extras, updates)

    scaled, pull_back, (losses, extras, updates) = jax.vjp(scaled_losses, *([w.value for w in group] for group in weights), has_aux=True)
    ones, zeros = ops.ones_like(scaled[0]), ops.zeros_like(scaled[0])
    first_gradients, _ = pull_back((ones, zeros))
    _, second_gradients = pull_back((zeros, ones))
    assign_all(model.non_trainable_variables, updates)
    for gradients, group, (_, optimizer) in zip((first_gradients, second_gradients), weights, (first, second)):
        optimizer.apply(gradients, group)
    return losses, extras


def jax_minimize_in_turn(model, generate, first_loss, second_loss, first, second):
    """`minimize_in_turn` on JAX: a `jax.vjp` of the generating pass, pulled back once the
    gradient of the second loss with respect to the samples is known."""
    import jax

    (network, optimizer) = second
    weights = network.trainable_variables

    def generate_with(values):
        return with_values(model, generate, zip(weights, values))

    samples, pull_back, updates = jax.vjp(generate_with, [w.value for w in weights], has_aux=True)
    assign_all(model.non_trainable_variables, updates)
    first_result = jax_minimize(model, lambda: first_loss(jax.lax.stop_gradient(samples)), *first)

    def scaled_loss(samples):
        (loss, extras), updates = with_values(model, lambda: second_loss(samples), ())
        return optimizer.scale_loss(loss), (loss, extras, updates)

    (_, (loss, extras, updates)), sample_gradient = jax.value_and_grad(scaled_loss, has_aux=True)(samples)
    assign_all(model.non_trainable_variables, updates)
    (gradients,) = pull_back(sample_gradient)
    optimizer.apply(gradients, weights)
    return first_result, (loss, extras)


def jax_input_gradient(model, score, x):
    """`input_gradient` on JAX, keeping `score`'s variable updates."""
    import jax

    def total(x):
        scores, updates = with_values(model, lambda: score(x), ())
        return ops.sum(scores), updates

    gradient, updates = jax.grad(total, has_aux=True)(x)
    assign_all(model.non_trainable_variables, updates)
    return gradient


# ----- PyTorch ----------------------------------------------------------------------------
# `fit` calls `train_step(data)` statefully, as TensorFlow does; gradients come from
# `torch.autograd.grad` on the loss built in `compute_loss`.


def torch_minimize(compute_loss, network, optimizer):
    """`minimize` on PyTorch."""
    import torch

    weights = network.trainable_variables
    loss, extras = compute_loss()
    gradients = torch.autograd.grad(optimizer.scale_loss(loss), [w.value for w in weights])
    with torch.no_grad():
        optimizer.apply(list(gradients), weights)
    return loss, extras


def torch_minimize_pair(compute_losses, first, second):
    """`minimize_pair` on PyTorch: both gradients from one graph, then both updates."""
    import torch

    losses, extras = compute_losses()
    gradients = []
    for index, (loss, (network, optimizer)) in enumerate(zip(losses, (first, second))):
        weights = [w.value for w in network.trainable_variables]
        gradients.append(torch.autograd.grad(optimizer.scale_loss(loss), weights, retain_graph=index == 0))
    with torch.no_grad():
        for grads, (network, optimizer) in zip(gradients, (first, second)):
            optimizer.apply(list(grads), network.trainable_variables)
    return losses, extras


def torch_minimize_in_turn(generate, first_loss, second_loss, first, second):
    """`minimize_in_turn` on PyTorch: the generating pass's graph is kept for the second step."""
    import torch

    (network, optimizer) = second
    samples = generate()
    first_result = torch_minimize(lambda: first_loss(samples.detach()), *first)
    loss, extras = second_loss(samples)
    gradients = torch.autograd.grad(optimizer.scale_loss(loss), [w.value for w in network.trainable_variables])
    with torch.no_grad():
        optimizer.apply(list(gradients), network.trainable_variables)
    return first_result, (loss, extras)


def torch_input_gradient(score, x):
    """`input_gradient` on PyTorch, kept differentiable (create_graph) for the penalty's own gradient."""
    import torch

    x = x.detach().requires_grad_(True)  # the critic's weights are all that the penalty trains
    (gradient,) = torch.autograd.grad(ops.sum(score(x)), x, create_graph=True)
    return gradient
