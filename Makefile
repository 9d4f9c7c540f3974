# `make demo` and `make test` each do the whole set-up first: a fresh Debian
# machine with Python 3.11 needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The core install is what `lint` needs; tests and the demo's later steps add extras.
STAMP_CORE := $(VENV)/.installed-core
STAMP_KERAS := $(VENV)/.installed-keras
STAMP_FIT := $(VENV)/.installed-fit
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: demo test test-fast bench clean help graphviz

help:
	@echo "make demo    set up, lint the article's broken examples, summarize, draw and build every spec,"
	@echo "             then train two specs on generated data and explain one"
	@echo "make test    set up (with the tensorflow and test extras), then run the whole test suite (what CI runs),"
	@echo "             and the kernel-dependent Keras cases again under the other oneDNN setting"
	@echo "make test-fast  ruff and the tests that need neither TensorFlow nor pre-commit environments (under a minute)"
	@echo "make bench   run the benchmarks (prints ratios against Keras)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP_KERAS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[tensorflow]'
	@touch $@ $(STAMP_CORE)

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,fit,jax,export,tune,lsp]'
	@touch $@ $(STAMP_CORE) $(STAMP_KERAS) $(STAMP_FIT)

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,fit,jax,export,tune,lsp,bench]'
	@touch $@ $(STAMP_CORE) $(STAMP_KERAS) $(STAMP_FIT) $(STAMP_TEST)

graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else echo "note: Graphviz's 'dot' is missing; install it with: sudo apt-get install graphviz"; fi; }

$(STAMP_FIT): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[fit]'
	@touch $@ $(STAMP_CORE) $(STAMP_KERAS)

demo: $(STAMP_FIT) graphviz
	@echo "== The seed article's broken examples, as written (errors expected) =="
	@$(BIN)/mspec lint tests/cases/seed_shared_layer.toml tests/cases/seed_interaction.toml; \
	  echo "(exit status $$?: 1 means errors found, as expected here)"
	@echo
	@echo "== Every spec in specs/ =="
	$(BIN)/mspec lint specs/
	@for spec in $$(find specs -name '*.toml' -o -name '*.json' | sort); do \
	  echo; echo "== $$spec"; $(BIN)/mspec summary $$spec || exit 1; done
	@echo
	@echo "== Diagrams of every spec, in diagrams/ (SVG), and one PNG for the README =="
	$(BIN)/mspec draw specs -o diagrams
	$(BIN)/mspec draw specs/siamese_text.json --format png -o diagrams/siamese_text.png
	@echo
	@echo "== Keras source and saved models of every spec, in build/ =="
	$(BIN)/mspec build specs -o build
	@echo
	@echo "== Training: the article's first example and the churn model on generated data (build/data) =="
	$(BIN)/python specs/data/make_data.py -o build/data
	$(BIN)/mspec lint specs/seed/concat_independent.toml --data build/data/concat_independent.npz
	$(BIN)/mspec fit specs/seed/concat_independent.toml --data build/data/concat_independent.npz -o build --epochs 5 -q
	$(BIN)/mspec fit specs/churn.toml --data build/data/churn.parquet -o build -q
	@echo
	@echo "== Which input drives the churn model =="
	$(BIN)/mspec explain specs/churn.toml --model build/churn.keras --data build/data/churn.parquet -o build/churn.explain.png

# TensorFlow turns oneDNN on by default only on CPUs with the instructions it wants, and some
# configurations run on one setting only (see MS305). The whole suite runs under this machine's
# setting (or TF_ENABLE_ONEDNN_OPTS as given); the cases marked `kernels` run again under the other.
ONEDNN_OTHER = if [ -n "$$TF_ENABLE_ONEDNN_OPTS" ]; then \
	  if [ "$$TF_ENABLE_ONEDNN_OPTS" = 0 ]; then echo 1; else echo 0; fi; \
	else cd tests && $(abspath $(BIN))/python -c 'from support import keras_oracle; print(0 if keras_oracle.onednn_enabled() else 1)'; fi

test: $(STAMP_TEST) graphviz
	$(BIN)/ruff check compiler tests benchmarks specs
	$(BIN)/python -m pytest -q
	@other=$$($(ONEDNN_OTHER)) && \
	  echo "== Kernel-dependent Keras cases again, with TF_ENABLE_ONEDNN_OPTS=$$other ==" && \
	  TF_ENABLE_ONEDNN_OPTS=$$other $(BIN)/python -m pytest -q -m kernels

test-fast: $(STAMP_TEST)
	$(BIN)/ruff check compiler tests benchmarks specs
	$(BIN)/python -m pytest -q -m "not keras and not slow"

bench: $(STAMP_BENCH) graphviz
	$(BIN)/python benchmarks/lint_vs_keras.py
	$(BIN)/python benchmarks/diff_vs_lint.py
	$(BIN)/python benchmarks/build_vs_keras.py
	$(BIN)/python benchmarks/draw_vs_keras.py
	$(BIN)/python benchmarks/fit_vs_keras.py
	$(BIN)/python benchmarks/explain_vs_loop.py
	$(BIN)/python benchmarks/predict_vs_keras.py
	$(BIN)/python benchmarks/export_applications.py
	$(BIN)/python benchmarks/tune_vs_optuna.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
