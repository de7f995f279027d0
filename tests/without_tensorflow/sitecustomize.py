"""Put this folder first on PYTHONPATH and Python starts without TensorFlow, as the GPU machine does.

Python imports `sitecustomize` at start-up, before any user code. This one marks the modules
that the GPU machine lacks (TensorFlow and what needs it, and nltk) as absent in `sys.modules`:
`import tensorflow` then raises ModuleNotFoundError and `importlib.util.find_spec("tensorflow")`
returns None, as where it is not installed, in this process and in every subprocess that
inherits PYTHONPATH. Tests use it to check that training on JAX needs none of them.
"""

import sys

HIDDEN = ("tensorflow", "tf2onnx", "tensorflow_datasets", "tf_keras", "nltk")

for name in HIDDEN:
    sys.modules[name] = None
