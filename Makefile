# The kit's entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
# make test-compat sets another
REQUIREMENTS ?= requirements.txt

.PHONY: setup demo test test-fast test-gpu test-compat coverage mutants bench clean

$(VENV)/.installed: $(REQUIREMENTS) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r $(REQUIREMENTS)
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

setup: $(VENV)/.installed

demo: setup                ## build the demo data and run the whole notebook chain
	$(PY) -m utils.pipeline --profile demo

# `make test` and `make test-fast` run one pytest worker per core, each on one thread (torch's
# own threads would fight over the cores), and keep each test file on one worker so that a
# file's chain fixture runs once. On 2 cores, against one process on both: 1.44x for the
# whole suite, about 1.4x for the fast tests (BENCHMARKS.md).
TEST_WORKERS ?= auto

test: setup                ## unit tests + the papermill chain on the demo profile
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-fast: setup           ## unit tests only (no notebook chain)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow" $(PYTEST_ARGS)

test-gpu: setup            ## on a GPU box: bf16 autocast, channels-last, same weights twice
	$(PY) -m pytest -q -m gpu -rs

# The GPU box has torch 2.11 and timm 1.0.29, not the pins, and the kit must run with both:
# `make test-compat` runs `make test-fast` in a second venv with those versions and every other
# pin as in requirements.txt (torch 2.11 brings its CUDA libraries: the venv takes 5.4 GB). CI runs
# it after `make test`. `make test-compat COMPAT_TARGET=test` runs every test there.
COMPAT_VENV   ?= .venv-compat
COMPAT_TARGET ?= test-fast

$(COMPAT_VENV)/requirements.txt: requirements.txt
	mkdir -p $(COMPAT_VENV)
	sed -E 's/^torch==.*/torch==2.11.0/; s/^torchvision==.*/torchvision==0.26.0/; s/^timm==.*/timm==1.0.29/' $< > $@

test-compat: $(COMPAT_VENV)/requirements.txt  ## the tests with the GPU box's torch and timm versions
	$(MAKE) $(COMPAT_TARGET) VENV=$(COMPAT_VENV) REQUIREMENTS=$(COMPAT_VENV)/requirements.txt

# Which lines of utils/ no fast test runs: each is a place a bug can hide unseen. The two
# packages go into the venv on first use; neither the kit nor its tests need them.
COVERAGE_PINS = coverage==7.18.0 pytest-cov==7.1.0

coverage: setup            ## the fast tests' line coverage of utils/, with the lines never run
	$(PY) -m pip install -q $(COVERAGE_PINS)
	$(MAKE) test-fast PYTEST_ARGS="--cov=utils --cov-report=term-missing:skip-covered"

mutants: setup            ## plant known bugs one at a time; fail if the tests miss any
	$(PY) tests/mutants.py

bench: setup
	$(PY) benchmarks/loader_throughput.py
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf runs data/demo
