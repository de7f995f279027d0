#!/usr/bin/env bash
# The GPU machine's one call (docs/gpu.md): installs what .gpu/ carries, then scripts/gpu_run.py.
#
# On the device machine (JAX and onnxruntime, no TensorFlow, no package index), from the repo root,
# with `.gpu` carried (scripts/gpu_prepare.sh fills it here: wheels/ and fashion-mnist/):
#     bash scripts/gpu_run.sh                      # results in $OUT
# Dry run here, on the CPU, at toy sizes (tests/test_gpu_run.py runs it with TensorFlow hidden):
#     GANZOO_DRY_RUN=1 OUT=out/gpu-dry PYTHON=.venv/bin/python bash scripts/gpu_run.sh
# GANZOO_GPU_SECONDS (default 440) is the time the whole script may take; give the call's
# timeout_s some 40 s more.
set -u -o pipefail
started=$(date +%s)
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out/gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1  # all output also in run.log, which comes back with the results

PYTHON=${PYTHON:-python3}
dry=()
if [ -n "${GANZOO_DRY_RUN:-}" ] && [ "${GANZOO_DRY_RUN}" != 0 ]; then dry=(--dry-run); fi
site=${TMPDIR:-/tmp}/ganzoo-site
if [ ${#dry[@]} -gt 0 ]; then
    echo "Dry run: this Python's own packages (the carried wheels are for the GPU machine's Python 3.12)"
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
elif compgen -G ".gpu/wheels/*.whl" >/dev/null; then
    echo "Installing the carried wheels: $(cd .gpu/wheels && echo *.whl)"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .gpu/wheels/*.whl || exit 1
    export PYTHONPATH=$site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -d .gpu/fashion-mnist ]; then
    export GANZOO_FASHION_MNIST_DIR=$PWD/.gpu/fashion-mnist
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
export GANZOO_CACHE=${TMPDIR:-/tmp}/ganzoo-cache
# The recipes train in subprocesses while this one holds its timing models: JAX must not take
# 75% of the GPU's memory up front in each process (its default), but as it needs it.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
# The resumed recipe trainings compile the step their first call compiled: JAX's cache keeps it.
export JAX_COMPILATION_CACHE_DIR=${TMPDIR:-/tmp}/ganzoo-jax-cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0

nvidia-smi 2>/dev/null || echo "nvidia-smi: not here"
"$PYTHON" scripts/gpu_run.py --out "$OUT" --started "$started" --seconds "${GANZOO_GPU_SECONDS:-440}" "${dry[@]}" "$@"
