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

.PHONY: setup sandbox run test lab bench constraints clean

setup: $(INSTALLED)

$(INSTALLED): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned packages into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -c constraints.txt -e . > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1; }
	@command -v bwrap >/dev/null || $(MAKE) --no-print-directory sandbox
	@touch $@

# Grading runs student code inside bubblewrap (README, "What grading protects against").
# As root with apt it is installed here; otherwise this says what to install.
sandbox:
	@if command -v bwrap >/dev/null; then echo "bubblewrap is installed: $$(bwrap --version)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing bubblewrap, the sandbox grading runs student code in ..."; \
		{ apt-get install -y -q bubblewrap || { apt-get update -q && apt-get install -y -q bubblewrap; }; } >/dev/null; \
	else echo "Note: grading needs the sandbox bubblewrap, which is not installed. Install it with"; \
		echo "      sudo apt-get install bubblewrap   (Debian, Ubuntu; dnf/pacman: package bubblewrap)"; fi

run: setup
	$(BIN)/python -m rnn_forecast.course

test: setup
	$(BIN)/python -m pytest

# Jupyter refuses to start as root unless told; containers often run as root.
lab: setup
	$(BIN)/jupyter lab --ServerApp.default_url=/lab/tree/lessons $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	$(BIN)/python benchmarks/models.py
	$(BIN)/python benchmarks/notebooks.py
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/class_grading.py

# Instructor commands (README, "For instructors: exercises and grading"). The repository
# root is the nbgrader course directory (nbgrader_config.py); student work stays out of git.
#   make release    solutions/ -> exercises/ (commit it) and the assignment into gradebook.db
#   make autograde  grade every submission under submitted/ (new ones; FORCE=1 regrades all)
#   make grade      the same in parallel, with time and memory limits and a progress bar
#   make feedback   feedback/ (HTML per student and notebook)
#   make export     grades.csv
#   make calibrate  retrain the reference solutions over 10 seeds -> autograder/calibration.json
ASSIGNMENT := gated_rnn
NBGRADER := $(BIN)/nbgrader
.PHONY: release gradebook autograde grade feedback export calibrate

release: setup
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force

# Grading needs the assignment (its tests, hidden ones included) in the gradebook; a
# fresh clone has no gradebook, so it is registered first, from solutions/.
gradebook: setup
	@$(NBGRADER) db assignment list 2>/dev/null | grep -q '^$(ASSIGNMENT) ' \
		|| $(NBGRADER) generate_assignment $(ASSIGNMENT) --force

autograde: gradebook
	$(NBGRADER) autograde $(ASSIGNMENT) $(if $(FORCE),--force)

# The whole class in parallel, with limits and progress (README, "Grading a whole class").
#   make grade GRADE_FLAGS="--workers 4 --timeout 600 --memory-limit 3072 --student ana"
#   make grade GRADE_FLAGS="--scheduler tcp://HOST:8786"   on a Dask cluster ("Grading beyond one machine")
grade: gradebook
	$(BIN)/python -m autograder.grade_class $(ASSIGNMENT) $(GRADE_FLAGS)

feedback: setup
	$(NBGRADER) generate_feedback $(ASSIGNMENT) $(if $(FORCE),--force)

export: setup
	$(NBGRADER) export
	@echo "Wrote grades.csv"

calibrate: setup
	$(BIN)/python -m autograder.calibrate

# Rewrites constraints.txt from what .venv holds now (after editing requirements.txt).
constraints: setup
	@{ echo "# Every package the course installs, at the version tested on Linux x86-64 with Python 3.11."; \
	   echo "# Regenerate after changing requirements.txt: make constraints"; \
	   $(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check; } > constraints.txt

clean:
	rm -rf $(VENV) build
