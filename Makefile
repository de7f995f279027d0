# ganzoo: `make demo` installs everything and samples the published DCGAN; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
WORDNET := /usr/share/wordnet/data.noun
# The apps in other languages (apps/node, apps/web) and their tests: Node.js and Debian's Chromium.
NODE := $(or $(shell command -v node),/usr/bin/node)
CHROMIUM := /usr/bin/chromium
NODE_APPS := apps/node/node_modules/.installed apps/web/node_modules/.installed

.PHONY: demo test setup clean results dist bench training-paths

demo: setup
	$(PY) -m zoo sample dcgan-fashion-mnist -n 64 -o samples.png

# Every test on TensorFlow, then the tests marked `backend` (needing only Keras) again on JAX,
# and on PyTorch where torch is installed (it is not in requirements.txt: a ~190 MB wheel).
# Two worker processes (pytest-xdist), one per core of CI's two: much of the suite waits on
# subprocesses, imports and files, so two take 0.62× the time of one on TensorFlow and 0.80× on
# JAX (2-core Xeon, 2026-11-29, side by side: 1,001 → 625 s and 331 → 263 s). A worker that runs
# out of tests takes some of the other's (`--dist worksteal`: 590 s there, against 625 and 663 s
# in two runs with xdist's default split; three workers: 649 s).
XDIST = -n 2 --dist worksteal
test: setup
	$(PY) -m pytest -q $(XDIST)
	KERAS_BACKEND=jax $(PY) -m pytest -q $(XDIST) -m backend
	@if $(PY) -c "import torch" 2>/dev/null; then KERAS_BACKEND=torch $(PY) -m pytest -q $(XDIST) -m backend; \
	else echo "torch is not installed: the PyTorch backend session is skipped"; fi

setup: $(VENV)/.installed $(DATA) $(WORDNET) $(CHROMIUM) $(NODE_APPS)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(DATA) $(WORDNET) $(CHROMIUM) $(NODE):
	scripts/install_system_packages.sh

# npm ci installs exactly the lock file; apps/node/.npmrc keeps onnxruntime-node from
# downloading CUDA binaries (the CPU ones ship in the package). No test tool downloads a browser.
apps/%/node_modules/.installed: apps/%/package.json apps/%/package-lock.json | $(NODE)
	cd apps/$* && npm ci --no-audit --no-fund
	touch $@

# Measures quality (exports/*), benchmark and training speed and the reliability checks, then rewrites
# every measured section of the README (scripts/update_readme_results.py; takes a while).
results: setup
	$(PY) scripts/update_readme_results.py --measure

# The two wheels a user installs: ganzoo (code) and ganzoo-models (exports/, sha256-checked).
dist: $(VENV)/.installed
	$(VENV)/bin/pip wheel -q --no-deps -w dist .
	$(PY) scripts/build_models_wheel.py --out dist

# Speed only, on an idle machine (about 15 minutes on 2 cores): this machine kind's training and
# inference tables (scripts/bench_train.py, scripts/bench_infer.py), then the README's results;
# and the largest layer of the tutorial generator in every form onnxruntime takes
# (scripts/bench_conv_forms.py, docs/results/bench_conv_forms.json).
bench: setup
	$(PY) scripts/update_readme_results.py --measure train,infer
	$(PY) scripts/bench_conv_forms.py

# Quality per epoch along each training path (alternating/reuse/simultaneous, float32/bfloat16: FID
# after 3 epochs, 2 seeds each; about 55 minutes on 2 cores): docs/results/training_paths.json.
training-paths: setup
	$(PY) scripts/compare_training_paths.py

clean:
	rm -rf runs .pytest_cache build dist
