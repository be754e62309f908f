# The executable LSTM book: `make book` builds it, `make test` tests it.
# Both bootstrap the project virtualenv .venv from requirements.txt (plus
# `pip install -e .` for lstmlib) when it is missing or older than the
# files that define it, so a fresh clone needs only python3 (3.11+) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two pytest workers; each keeps one BLAS/torch thread so they share the two
# cores instead of fighting over them.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1
CHAPTERS := chapters

.PHONY: all book test lint lab notebooks bench checkpoints clean venv

all: book

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# lstmlib.nn's C++ time loops (lstmlib/nn/native_loops.cpp): built now, or on first use; without a
	@# C++ compiler lstmlib warns once and runs its Python loops, so a failed build does not stop make
	$(BIN)/python -c "from lstmlib.nn import native; print('built', native.build())" \
	    || echo "note: lstmlib's C++ loops were not built (see above); lstmlib.nn will use its Python loops"
	touch $@

## book: build the HTML book into _build/html (committed outputs, no execution; warnings fail)
book: $(STAMP)
	$(BIN)/jupyter-book build . -W --keep-going
	@echo
	@echo "Open the book: file://$(CURDIR)/_build/html/index.html"
	@echo "or serve it (search then shows snippets, and the browser logs no CORS errors):"
	@echo "    $(PYTHON) -m http.server --directory _build/html 8000   # then open http://localhost:8000/"

## lint: ruff over the library, tests, scripts and benchmarks (settings in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .

## test: lint, then unit tests, every chapter under nbval, and the zero-warning book build, on 2 cores
test: lint
	$(TEST_ENV) $(BIN)/python -m pytest tests $(CHAPTERS) \
	    --nbval --nbval-current-env --nbval-sanitize-with nbval-sanitize.cfg \
	    -n 2 --dist loadfile -p no:cacheprovider

## lab: JupyterLab on the chapters (as root, e.g. in a container, with --allow-root: Jupyter refuses root otherwise)
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CHAPTERS) $(if $(filter 0,$(shell id -u)),--allow-root)

## notebooks: re-execute every chapter in place, storing widget state
## (one thread per kernel, as under `make test`, so the stored outputs are the ones nbval reproduces)
notebooks: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python scripts/execute_notebooks.py $(CHAPTERS)

## bench: lstmlib.nn against its peers (torch.nn, our LSTM, per-node recursion), as ratios measured in one run each
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_recurrent.py
	$(BIN)/python benchmarks/bench_tree_lstm.py
	$(BIN)/python benchmarks/bench_convlstm.py

## checkpoints: retrain every shipped checkpoint (scripts/train_*.py; slow: charlm alone is about half an hour)
## checkpoints NAME=charlm: retrain one (scripts/train_$(NAME).py); each updates lstmlib/checkpoints/manifest.json
CHECKPOINT_SCRIPTS = $(if $(NAME),scripts/train_$(NAME).py,$(sort $(wildcard scripts/train_*.py)))
checkpoints: $(STAMP)
	@for script in $(CHECKPOINT_SCRIPTS); do \
	    test -f $$script || { echo "no $$script; NAME is one of: $(patsubst scripts/train_%.py,%,$(wildcard scripts/train_*.py))"; exit 1; }; \
	    echo "== $$script"; OMP_NUM_THREADS=1 $(BIN)/python $$script || exit 1; \
	done

clean:
	rm -rf _build .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
