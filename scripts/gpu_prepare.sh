#!/usr/bin/env bash
# Fills .gpu/ (ignored by git) with what the GPU machine lacks, to carry in the device call (docs/gpu.md):
#   .gpu/wheels/          for its Python 3.12 on x86-64, from PyPI, at this venv's versions: Keras and
#                         the two of its needs that the machine's image does not hold (namex, optree),
#                         and jsonschema with its needs (zoo.runtime checks cards with it);
#   .gpu/fashion-mnist/   the Fashion-MNIST training split's two IDX .gz files (the machine has no copy).
# Then prints what the call would send, against the device tool's 64 MiB.
set -eu -o pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
# The machine's image has Keras's other needs and the project's (numpy, h5py, ml-dtypes, rich,
# absl-py, pillow, scikit-image, scipy, onnx, onnxruntime, requests, attrs): only these travel.
WHEELS="keras namex optree jsonschema referencing jsonschema-specifications rpds-py"
pinned=$("$PYTHON" -c 'import importlib.metadata as m, sys; print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))' $WHEELS)
DATA=${GANZOO_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

rm -rf .gpu/wheels
mkdir -p .gpu/wheels .gpu/fashion-mnist
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .gpu/wheels $pinned
rm -f .gpu/fashion-mnist/t10k-*  # the test split (4.2 MiB) is not read there: the scores are measured here
cp "$DATA"/train-images-idx3-ubyte.gz "$DATA"/train-labels-idx1-ubyte.gz .gpu/fashion-mnist/

# What travels: tracked files, untracked files git does not ignore, and the carried .gpu/.
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s + 0}')
carried=$(du -sb .gpu | cut -f1)
total=$((tree + carried))
limit=$((64 << 20))
echo "wheels: $(cd .gpu/wheels && echo *.whl)"
echo "sends: working tree $((tree >> 20)) MiB + .gpu $((carried >> 20)) MiB = $((total >> 20)) MiB of the 64 MiB a call may carry"
if [ "$total" -gt "$limit" ]; then
    echo "too large: the device call would be refused" >&2
    exit 1
fi
