# mec_gym: every target sets up its own virtualenv (.venv) first; only Python 3.10+ and make
# are needed on the machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU build of torch; the pin must match pyproject.toml (an unpinned torch pulls the CUDA build)
TORCH := torch==2.13.0

.PHONY: venv demo test test-slow lint docs docs-frames bench performance benchmark clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
		|| { echo "mec_gym needs Python 3.10+ (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(TORCH)
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

demo: venv
	$(BIN)/python train/ppo.py --env MultiStepOffload-v1
	@echo "TensorBoard logs (agent/ and baseline_*/ per run) are under runs/MultiStepOffload-v1/."
	@echo "View them with:  $(BIN)/tensorboard --logdir runs   then open http://localhost:6006"

test: venv
	$(BIN)/python -m pytest -n 2 -q

test-slow: venv
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the documentation site in site/ (mkdocs.yml); --strict: a broken link, reference or docstring
# fails the build
docs: venv
	$(BIN)/mkdocs build --strict -d site

# docs/assets/frames/<ID>.png, the rendered frame of each environment's page (committed)
docs-frames: venv
	$(BIN)/python docs/gen_frames.py

bench: venv
	$(BIN)/python eval/bench_envs.py

# docs/PERFORMANCE.md: every speed target of the spec (step costs, batched envs, solvers) and
# the profiles; run it on an otherwise idle machine (ratios are measured in one process)
performance: venv
	$(BIN)/python eval/performance.py --out docs

# docs/RESULTS.md from scratch: every env x every algorithm that fits it (3 training seeds) x
# every baseline, the trainings and cells on Ray over this machine's cores; resumable (a killed
# run, started again, keeps every finished training run and benchmark cell); the training runs
# skip their own baseline evaluation (the benchmark compares every agent with every baseline)
benchmark: venv
	$(BIN)/pip install -e ".[ray]"
	$(BIN)/python eval/results.py --address local --logdir runs/results --out docs -- --no-baselines

# caches and build output; keeps .venv and the runs/ of past trainings
clean:
	rm -rf build site .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# also the virtualenv
distclean: clean
	rm -rf $(VENV)
