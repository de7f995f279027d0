"""Batches of in-memory arrays for `fit` on any Keras backend, without TensorFlow.

`zoo.data` hands `fit` a `tf.data.Dataset` on the TensorFlow backend (its fast path there) and
an `ArrayBatches` on the others, so that JAX and PyTorch train where TensorFlow is not
installed (a GPU machine with JAX alone, say). Both give the same batches: a new shuffle of the
examples every epoch, the last incomplete batch dropped if asked, `take(n)` for the first n.
"""

import copy
import math

import keras
import numpy as np

from zoo.validation import check_int


class ArrayBatches(keras.utils.PyDataset):
    """A `keras.utils.PyDataset` of batches of `arrays` (sliced along their first axis).

    Yields `arrays[0][rows]` alone when given one array, else the tuple of each array's
    rows (`(images, labels)`: `fit`'s x and y). The rows are shuffled again after every epoch
    (`on_epoch_end`), from a numpy generator seeded with `seed`.

    Args:
        arrays: one array, or a tuple of arrays with the same first dimension.
        batch_size: rows per batch.
        shuffle: shuffle the rows before the first epoch and after each one.
        seed: seed of the shuffles (None: different each run).
        drop_remainder: leave out the last batch when it is smaller than `batch_size`.
        batches: serve only the first `batches` batches of each epoch (see `take`).
    """

    def __init__(self, arrays, batch_size, shuffle=True, seed=None, drop_remainder=True, batches=None):
        super().__init__()
        self.single = not isinstance(arrays, (tuple, list))
        self.arrays = (arrays,) if self.single else tuple(arrays)
        rows = {len(array) for array in self.arrays}
        if len(rows) != 1:
            raise ValueError(f"The arrays must have as many rows each; got {[len(a) for a in self.arrays]}.")
        self.rows = rows.pop()
        self.batch_size = check_int("batch_size", batch_size)
        if drop_remainder and self.rows < self.batch_size:
            raise ValueError(f"batch_size={batch_size} is larger than the {self.rows} examples loaded.")
        self.shuffle, self.drop_remainder = shuffle, drop_remainder
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(self.rows) if shuffle else np.arange(self.rows)
        whole = self.rows // self.batch_size if drop_remainder else math.ceil(self.rows / self.batch_size)
        self.batches = whole if batches is None else min(whole, check_int("batches", batches, 0))

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        if not 0 <= index < self.batches:
            raise IndexError(f"Batch {index} out of range (0 to {self.batches - 1}).")
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = tuple(array[rows] for array in self.arrays)
        return batch[0] if self.single else batch

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(self.rows)

    def take(self, count):
        """The first `count` batches of each epoch (as `tf.data.Dataset.take`), over the same arrays and shuffles."""
        taken = copy.copy(self)
        taken.batches = min(self.batches, check_int("count", count, 0))
        return taken
