# ganzoo: `make demo` installs everything and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: demo test setup clean

demo: setup
	$(PY) -m zoo demo

test: setup
	$(PY) -m pytest -q

setup: $(VENV)/.installed $(DATA)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(DATA):
	scripts/install_system_packages.sh

clean:
	rm -rf runs .pytest_cache
