# Two commands set everything up on a fresh machine:
#   make book   create .venv, install, build the website into _build/html
#   make test   create .venv, install, run the tests and validate every notebook
# Everything is installed into .venv; nothing is written outside the repository.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/[0-9]*.ipynb))

.PHONY: help install book test lint notebooks notebook-times sweeps benchmark serve clean

help:
	@echo "make book            build the website into _build/html (creates .venv)"
	@echo "make test            lint, unit tests and nbval over every notebook"
	@echo "make notebooks       re-execute every notebook in place and print its time"
	@echo "make notebook-times  execute every notebook in a fresh kernel, print times only"
	@echo "make sweeps          recompute the widgets' precomputed sweeps"
	@echo "make benchmark       DQN on CartPole-v1 against Stable-Baselines3"
	@echo "make serve           serve the built site on http://127.0.0.1:8000"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

book: install
	$(VENV)/bin/jupyter-book build . -W --keep-going

lint: install
	$(VENV)/bin/ruff check metarl_lite tests benchmarks scripts
	$(VENV)/bin/ruff format --check metarl_lite tests benchmarks scripts

test: lint
	$(VENV)/bin/pytest tests $(NOTEBOOKS) \
		--nbval --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg \
		-p no:cacheprovider

notebooks: install
	$(PY) scripts/run_notebooks.py --inplace $(NOTEBOOKS)

notebook-times: install
	$(PY) scripts/run_notebooks.py $(NOTEBOOKS)

sweeps: install
	$(PY) -m metarl_lite.sweeps --all

benchmark: install
	$(PY) benchmarks/dqn_cartpole.py

serve: book
	$(PY) -m http.server --bind 127.0.0.1 --directory _build/html 8000

clean:
	rm -rf _build
