"""Lookups over an ONNX graph that the graph rewrites (`zoo.onnx_tuning`, `zoo.winograd`) share."""


def index(model):
    """(initializers by name, the node that makes each tensor, how many node inputs read each tensor)."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    producers = {name: node for node in model.graph.node for name in node.output}
    readers = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    return initializers, producers, readers
