# The course's commands. Each target sets up .venv first if it is missing or stale.
#   make run    the main job: executes the course headless and prints a summary
#   make test   lint, then every test (CI runs exactly this)
#   make test-fast  the tests not marked slow, for the edit-test loop (about a minute)
#   make lint   ruff: lint and format check, Python files and notebooks; make format applies it
#   make lab    JupyterLab for a student: own working folder, lessons, assignments
#   make lab-instructor   JupyterLab for the instructor: the course, with Formgrader
#   make hub    a class on JupyterHub, one account per person (root; README, "Running a class on JupyterHub")
#   make bench  speed and accuracy figures
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev

# nbgrader runs alembic through PATH, so the environment's bin must be on it.
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup setup-dev sandbox run test test-fast lint format lab lab-instructor hub hub-users screenshots bench memory-horizon horizon-probes rolling-origin constraints clean

setup: $(INSTALLED)
	@command -v bwrap >/dev/null || $(MAKE) --no-print-directory sandbox

$(INSTALLED): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11, or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned packages into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -c constraints.txt -e . > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1; }
	@touch $@

# Tests and tooling (requirements-dev.txt), on top of the course's packages.
setup-dev: setup $(DEV_INSTALLED)

$(DEV_INSTALLED): $(INSTALLED) requirements-dev.txt
	@echo "Installing the test and tooling packages into $(VENV) (log: $(VENV)/install-dev.log) ..."
	@$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt -c constraints.txt > $(VENV)/install-dev.log 2>&1 \
		|| { tail -n 30 $(VENV)/install-dev.log; echo "pip install failed: see $(VENV)/install-dev.log"; exit 1; }
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

# A lint finding fails the test command before any test runs. Two pytest-xdist workers, each
# running whole test modules (a lesson's cells run in order in one kernel; a module's fixtures
# are made once): the grading tests mostly wait on one kernel at a time, so two of them share
# the 2 cores well (CONTRIBUTING, "What the suite costs, and why"). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest --durations=25 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

# Skips the tests marked slow (real nbgrader grading, the browser, lesson 3's training).
test-fast: setup-dev
	$(BIN)/python -m pytest -m "not slow"

lint: setup-dev
	$(BIN)/ruff check
	$(BIN)/ruff format --check

format: setup-dev
	$(BIN)/ruff check --fix
	$(BIN)/ruff format

# The student's view works in WORKSPACE (copies of the lessons, fetched assignments; ignored
# by git); the instructor's serves the course directory with Formgrader. autograder/tools/lab.py
# writes each view's Jupyter configuration (README, "The assignment loop"). LAB_FLAGS go to
# jupyter lab, e.g. LAB_FLAGS="--no-browser --port 8890".
# Jupyter refuses to start as root unless told; containers often run as root.
WORKSPACE ?= workspace
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: setup
	$(BIN)/python -m autograder.tools.lab student --workspace "$(WORKSPACE)" $(ALLOW_ROOT) $(LAB_FLAGS)

lab-instructor: setup
	$(BIN)/python -m autograder.tools.lab instructor $(ALLOW_ROOT) $(LAB_FLAGS)

# A class on one server: JupyterHub with a Unix account per person, PAM logins, nbgrader's shared
# exchange (autograder/tools/hub.py; README, "Running a class on JupyterHub"). As root:
#   make hub-users INSTRUCTOR=ada STUDENTS="ana ben"   the accounts; prints each new one's password
#   make hub INSTRUCTOR=ada                             sets the class up in HUB_DIR and runs the hub
# It listens on HUB_IP:HUB_PORT (this machine only by default) and uses the next two ports inside.
HUB_DIR ?= /srv/gated-rnn-hub
HUB_IP ?= 127.0.0.1
HUB_PORT ?= 8000
HUB_GROUP ?= gated-rnn-students
INSTRUCTOR ?= instructor
STUDENTS ?=
PROXY ?= $(shell command -v configurable-http-proxy)

hub: setup
	$(BIN)/python -m autograder.tools.hub start --hub-dir "$(HUB_DIR)" --instructor "$(INSTRUCTOR)" --group "$(HUB_GROUP)" \
		--ip "$(HUB_IP)" --port $(HUB_PORT) --proxy "$(or $(PROXY),configurable-http-proxy)"

hub-users: setup
	$(BIN)/python -m autograder.tools.hub users --instructor "$(INSTRUCTOR)" --group "$(HUB_GROUP)" $(STUDENTS)

# The browser test (Chromium driving both views) saves its screenshots in build/screenshots/;
# this runs it and copies them to docs/screenshots/, which the README shows.
SCREENSHOTS := student-start lesson-figure assignments validate submit submitted formgrader report
screenshots: setup-dev
	$(BIN)/python -m pytest tests/test_browser.py tests/test_student_path_browser.py \
		tests/test_class_report.py::test_the_report_opens_in_chromium_with_every_figure_drawn
	mkdir -p docs/screenshots
	cp $(SCREENSHOTS:%=build/screenshots/%.png) docs/screenshots/

bench: setup
	$(BIN)/python benchmarks/models.py
	$(BIN)/python benchmarks/notebooks.py
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/outputs.py
	$(BIN)/python benchmarks/autograde_per_student.py
	$(BIN)/python benchmarks/class_grading.py
	$(BIN)/python benchmarks/report.py

# Lesson 4's memory horizon: the adding problem at several lengths, 3 cells, 5 seeds (about 25
# minutes on 2 cores). Rewrites results/memory_horizon.json and the models lesson 4 opens.
memory-horizon: setup
	$(BIN)/python -m rnn_forecast.memory_horizon

# Lesson 3's rolling-origin evaluation: 3 cells x 5 seeds x 5 test blocks x 4 training settings,
# early stopping on validation windows (20-40 minutes on 2 cores). Rewrites results/rolling_origin.json.
rolling-origin: setup
	$(BIN)/python -m rnn_forecast.rolling_origin

# Lesson 4's probes of that horizon: the same task with more epochs, other learning rates and
# clipping (about an hour on 2 busy cores). Rewrites results/horizon_probes.json.
horizon-probes: setup
	$(BIN)/python -m rnn_forecast.horizon_probes

# Instructor commands (README, "The assignment loop" and "For instructors"). The repository
# root is the nbgrader course directory (nbgrader_config.py); student work stays out of git.
#   make release          solutions/ -> exercises/ (commit it), the assignment into gradebook.db,
#                         and published to the exchange for students to fetch
#   make collect          the students' latest submissions -> submitted/ (UPDATE=1: newer ones too)
#   make autograde        grade every submission under submitted/ (new ones; FORCE=1 regrades all)
#   make grade            the same in parallel, with time and memory limits and a progress bar
#   make doctor           check that grading can run here (sandbox, a student kernel, the verifier)
#   make feedback         feedback/ (HTML per student and notebook)
#   make release-feedback publish the feedback to the exchange for students to fetch
#   make export           grades.csv (LMS=canvas or LMS=moodle: the file that LMS's gradebook imports)
#   make report           build/report.html: the class at a glance, one file that opens offline
#   make calibrate        retrain the reference solutions over 10 seeds -> autograder/calibration.json
ASSIGNMENT := gated_rnn
NBGRADER := $(BIN)/nbgrader
.PHONY: release collect gradebook autograde preflight doctor grade feedback release-feedback export report calibrate

# A student studying alone runs it too: nbgrader's INFO and WARNING lines ("Removing existing
# assignment", "Creating exchange directory") are routine here, so only its errors are shown,
# then one line of what was done.
release: setup
	@$(NBGRADER) generate_assignment $(ASSIGNMENT) --force --log-level=ERROR
	@$(NBGRADER) release_assignment $(ASSIGNMENT) --force --log-level=ERROR
	@echo "Released $(ASSIGNMENT): exercises/$(ASSIGNMENT)/ made from solutions/ and published to the exchange; fetch it in JupyterLab's Assignments tab (make lab)."

# The exchange keeps every submission; without UPDATE=1 a student already collected is left
# as collected (regrade with FORCE=1 after collecting newer ones).
collect: setup
	$(NBGRADER) collect $(ASSIGNMENT) $(if $(UPDATE),--update)

# Grading needs the assignment (its tests, hidden ones included) in the gradebook; a
# fresh clone has no gradebook, so it is registered first, from solutions/.
gradebook: setup
	@$(NBGRADER) db assignment list 2>/dev/null | grep -q '^$(ASSIGNMENT) ' \
		|| $(NBGRADER) generate_assignment $(ASSIGNMENT) --force

# nbgrader's own autograde, one student at a time, on a copy of each submission read without
# following links (autograder/engine/checked.py): a broken submission stops only itself.
autograde: gradebook preflight
	$(BIN)/python -m autograder.engine.checked autograde $(ASSIGNMENT) $(if $(FORCE),--force)

# Before any student is graded, one sandboxed student kernel and one verifier start here
# with the course's configuration; if either cannot, grading stops with the cause and what
# to do (make grade runs the same checks itself). make doctor prints every check.
preflight: setup
	@$(BIN)/python -m autograder.engine.doctor --preflight

doctor: setup
	$(BIN)/python -m autograder.engine.doctor

# The whole class in parallel, with limits and progress (README, "Grading a whole class").
#   make grade GRADE_FLAGS="--workers 4 --timeout 600 --memory-limit 3072 --student ana"
#   make grade GRADE_FLAGS="--scheduler tcp://HOST:8786"   on a Dask cluster ("Grading beyond one machine")
grade: gradebook
	$(BIN)/python -m autograder.engine.grade_class $(ASSIGNMENT) $(GRADE_FLAGS)

# nbgrader's generate_feedback on the autograded notebooks alone (autograder/engine/checked.py).
feedback: setup
	$(BIN)/python -m autograder.engine.checked feedback $(ASSIGNMENT) $(if $(FORCE),--force)

release-feedback: setup
	$(NBGRADER) release_feedback $(ASSIGNMENT)

# LMS=canvas or LMS=moodle: build/grades-LMS.csv for that LMS's gradebook import, and beside it
# build/grades-LMS.csv.txt naming every student the LMS may not match (autograder/engine/lms_export.py).
LMS_EXPORTER_canvas := CanvasExport
LMS_EXPORTER_moodle := MoodleExport
export: setup
ifeq ($(LMS),)
	$(NBGRADER) export
	@echo "Wrote grades.csv"
else
	@test -n "$(LMS_EXPORTER_$(LMS))" || { echo "LMS=$(LMS) is not known: use LMS=canvas or LMS=moodle"; exit 2; }
	$(NBGRADER) export --exporter=autograder.engine.lms_export.$(LMS_EXPORTER_$(LMS)) --to build/grades-$(LMS).csv
	@cat build/grades-$(LMS).csv.txt
endif

calibrate: setup
	$(BIN)/python -m autograder.calibrate

# The class report (README, "The class report"): scores, tests, the sentences students got,
# the RMSE reached against the calibration, flags, cost, answers that look copied.
# REPORT_FLAGS="--similarity 0.5 --output elsewhere.html"
REPORT := build/report.html
RMSE_TARGETS := 2_gru8:ex2_rmse_test:ex2_reported_rmse_test:gru8 3_stacked_lstm:ex3_rmse_test:ex3_reported_rmse_test:stacked_lstm
report: setup
	$(BIN)/python -m autograder.engine.class_report $(ASSIGNMENT) --output $(REPORT) \
		--calibration autograder/calibration.json $(RMSE_TARGETS:%=--rmse %) $(REPORT_FLAGS)

# Rewrites constraints.txt from what .venv holds now (after editing a requirements file).
constraints: setup-dev
	@{ echo "# Every package the course installs, at the version tested on Linux x86-64 with Python 3.11."; \
	   echo "# Regenerate after changing requirements.txt or requirements-dev.txt: make constraints"; \
	   $(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check; } > constraints.txt

clean:
	rm -rf $(VENV) build
