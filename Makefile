# The course's commands. Each target sets up .venv first if it is missing or stale.
#   make run    the main job: executes the course headless and prints a summary
#   make test   every test (CI runs exactly this)
#   make lab    JupyterLab on the lessons, for students
#   make bench  speed and accuracy figures
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# nbgrader runs alembic through PATH, so the environment's bin must be on it.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test lab bench constraints clean

setup: $(INSTALLED)

$(INSTALLED): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned packages into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -c constraints.txt -e . > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1; }
	@touch $@

run: setup
	$(BIN)/python -m rnn_forecast.course

test: setup
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab lessons/

bench: setup
	$(BIN)/python benchmarks/models.py

# Rewrites constraints.txt from what .venv holds now (after editing requirements.txt).
constraints: setup
	@{ echo "# Every package the course installs, at the version tested on Linux x86-64 with Python 3.11."; \
	   echo "# Regenerate after changing requirements.txt: make constraints"; \
	   $(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check; } > constraints.txt

clean:
	rm -rf $(VENV) build
