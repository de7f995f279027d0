"""What `fit` pays to get a batch of Fashion-MNIST: tf.data against zoo.batches.ArrayBatches, per backend.

    .venv/bin/python scripts/bench_loaders.py

`zoo.data.batched` hands `fit` a `tf.data.Dataset` on the TensorFlow backend and an
`ArrayBatches` (a `keras.utils.PyDataset` of numpy batches) on the others. This times both
through Keras's own data adapter, as `fit` reads them (TensorFlow: the adapter's `tf.data`
dataset; JAX: its iterator of arrays), over the second of two epochs of 468 shuffled batches of
128 images, with no model: the time is what the data side adds to each step. Keras fixes its
backend at import, so each backend runs in a subprocess. Prints a table and writes
`docs/results/loaders.json`; other work on the machine slows a run (the load average is recorded).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 128


def measure():
    """Runs in the subprocess: this backend's rows."""
    import keras
    import tensorflow as tf
    from keras.src.trainers.data_adapters import get_data_adapter  # what `fit` wraps its data in

    from zoo import data
    from zoo.batches import ArrayBatches

    images = data.to_unit_range(data.load_arrays("train")[0])
    backend = keras.backend.backend()
    loaders = {
        "tf.data": lambda: tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=0).batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE),
        "ArrayBatches": lambda: ArrayBatches(images, BATCH, seed=0),
    }
    rows = []
    for name, make in loaders.items():
        adapter = get_data_adapter(make())
        for _ in range(2):  # the second epoch is timed
            adapter.on_epoch_begin()
            started, batches = time.perf_counter(), 0
            for _ in adapter.get_tf_dataset() if backend == "tensorflow" else adapter.get_jax_iterator():
                batches += 1
            seconds = time.perf_counter() - started
            adapter.on_epoch_end()
        rows.append({"backend": backend, "loader": name, "batches": batches, "ms_per_batch": round(1e3 * seconds / batches, 3),
                     "images_per_second": round(batches * BATCH / seconds)})
    return rows


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    rows = []
    for backend in ("tensorflow", "jax"):
        load = os.getloadavg()[0]
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
        code = "import json, sys; sys.path.insert(0, 'scripts'); import bench_loaders; print(json.dumps(bench_loaders.measure()))"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode:
            raise SystemExit(result.stderr[-3000:])
        rows += [{**row, "load_average_before": round(load, 1)} for row in json.loads(result.stdout.strip().splitlines()[-1])]
    print(f"{'backend':<11} {'loader':<13} {'ms/batch':>9} {'images/s':>10} {'load':>5}")
    for row in rows:
        print(f"{row['backend']:<11} {row['loader']:<13} {row['ms_per_batch']:>9} {row['images_per_second']:>10,} {row['load_average_before']:>5}")
    from zoo.bench import machine_description
    from zoo.files import atomic_write_json

    path = atomic_write_json(ROOT / "docs" / "results" / "loaders.json", {
        "what": f"data side of fit: one epoch of {BATCH}-image batches of Fashion-MNIST through Keras's data adapter, no model",
        "command": "python scripts/bench_loaders.py",
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        "rows": rows,
    })
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
