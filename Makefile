# Two commands set everything up on a fresh machine:
#   make book   create .venv, install, build the website into _build/html
#   make test   the same, then lint, unit tests, nbval over every notebook, the
#               site in a real browser (offline), its links, and a Colab-like install
# Python packages go into .venv and the website's scripts into web/node_modules;
# the browser tests need Debian's chromium and a CJK font, which `make test` installs
# with apt-get when they are missing (the one step outside the repository; it needs
# root or sudo).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := web/node_modules/.package-lock.json
# Debian's chromium for the browser tests, and a CJK font so that the Chinese
# terms beside the English ones render in its screenshots.
export CHROMIUM ?= /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SITE   := _build/html
NOTEBOOKS := $(sort $(wildcard book/[0-9]*.ipynb))

.PHONY: help install book test lint notebooks notebook-times sweeps benchmark serve clean

help:
	@echo "make book            build the website into _build/html (creates .venv)"
	@echo "make test            lint, unit tests, nbval, browser and link tests of the site, Colab-like install"
	@echo "make notebooks       re-execute every notebook in place and print its time"
	@echo "make notebook-times  execute every notebook in a fresh kernel, print times only"
	@echo "make sweeps          recompute the widgets' precomputed sweeps"
	@echo "make benchmark       widget latency; DQN against Stable-Baselines3; sine regression;"
	@echo "                     env throughput; MAML-RL on point navigation; RL^2 and bandit baselines;"
	@echo "                     meta-DQN on held-out CartPoles; pendulum adaptation; maze levels;"
	@echo "                     drifting-user recommendation; 10-seed variance"
	@echo "make serve           serve the built site on http://127.0.0.1:8000"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The website's own copies of MathJax, mermaid, require.js, the widget manager and
# Vega, pinned by web/package-lock.json (see web/offline_assets.py).
$(NODE_STAMP): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends chromium

$(CJK_FONT): | $(CHROMIUM)
	$(SUDO) apt-get install -y -qq --no-install-recommends fonts-noto-cjk

install: $(STAMP) $(NODE_STAMP)

book: install
	$(VENV)/bin/jupyter-book build . -W --keep-going

# One pytest run: unit tests, nbval over the notebooks, then the built site
# (browser, links) and the Colab-like install; its temporary files stay in _build/.
test: lint book $(CHROMIUM) $(CJK_FONT)
	mkdir -p _build/tmp
	TMPDIR=$(CURDIR)/_build/tmp $(VENV)/bin/pytest tests $(NOTEBOOKS) \
		--nbval --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg \
		-p no:cacheprovider --basetemp=_build/pytest

lint: install
	$(VENV)/bin/ruff check metarl_lite tests benchmarks scripts web
	$(VENV)/bin/ruff format --check metarl_lite tests benchmarks scripts web

notebooks: install
	$(PY) scripts/run_notebooks.py --inplace $(NOTEBOOKS)

notebook-times: install
	$(PY) scripts/run_notebooks.py $(NOTEBOOKS)

sweeps: install
	$(PY) -m metarl_lite.sweeps --all

benchmark: install
	$(PY) benchmarks/widget_latency.py
	$(PY) benchmarks/dqn_cartpole.py
	$(PY) benchmarks/sine_regression.py
	$(PY) benchmarks/env_throughput.py
	$(PY) benchmarks/maml_navigation.py
	$(PY) benchmarks/bandits_rl2.py
	$(PY) benchmarks/meta_dqn.py
	$(PY) benchmarks/pendulum_adaptation.py
	$(PY) benchmarks/maze_levels.py
	$(PY) benchmarks/recommendation.py
	$(PY) benchmarks/seed_variance.py
	$(PY) scripts/benchmark_report.py

serve: book
	@echo "Serving $(SITE) on http://127.0.0.1:8000 (works offline; Ctrl-C stops it)"
	$(PY) -m http.server --bind 127.0.0.1 --directory $(SITE) 8000

clean:
	rm -rf _build
