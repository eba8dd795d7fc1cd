"""Submissions by a student who wants points without the work, one per kind of attack.

Each kind puts the attacking code below at the start of answer cells of the release (or of
the solutions, for an honest student who also attacks). The attacks are the ones the course's
grading must withstand (README, "What grading protects against"); run against nbgrader's
own in-kernel grading, the forging kinds score points they did not earn, which
``tests/test_hostile_submissions.py`` shows before it shows that the course's grading
gives each of them exactly what its honest work earns.

Placeholders filled in per class: ``{course}`` (the course folder), ``{marker}`` (a string
that names this test run's leftover processes), ``{port}`` (a TCP port on the grader's
loopback that records any connection) and ``{other}`` (another student).
"""

from __future__ import annotations

#: Put first in a notebook's answer cells, so the attack runs before every test cell.
_FIRST_ANSWER = {
    "1_gates": "ex1_lstm_answer",
    "2_gru8": "ex2_build_answer",
    "3_stacked_lstm": "ex3_build_answer",
}

#: The course folder, which a student may well know (it is where nbgrader's own grading runs).
_COURSE = "from pathlib import Path\ncourse = Path('{course}')\n"

FORGE_CHECKS = """\
# Replace every check the test cells import with one that always passes.
import autograder.checks as checks
for name in dir(checks):
    if name.startswith("check_"):
        setattr(checks, name, lambda *args, **kwargs: None)
lstm_gates = gru_gates = gru32_parameters = model = None
"""

FORGE_LIBRARIES = """\
# No recurrent layer, no training: make Keras, NumPy and builtins report what the checks want.
import builtins
import keras
import numpy as np
model = keras.Sequential([keras.Input((12, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
keras.Model.count_params = lambda self: {parameters}
type(model.optimizer.iterations).numpy = lambda self: 1
np.sqrt = lambda value: 0.0
_sorted = builtins.sorted
builtins.sorted = lambda items, **kw: _sorted(
    ["forget", "input", "output"] if len(list(items)) == 3 else ["reset", "update"]
)
lstm_gates, gru_gates, gru32_parameters = {"a", "b", "c"}, {"a", "b"}, 3000
"""

LOOKALIKE_MODEL = """\
# A Keras model that claims to be the one asked for: its `layers` show a GRU(8) and its
# parameter count is right, but what it computes is one Dense layer.
import keras
import numpy as np
class LookAlike(keras.Sequential):
    @property
    def layers(self):
        return [keras.layers.GRU(8)]
    def count_params(self):
        return 425
model = LookAlike([keras.Input((12, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(np.ones((4, 12, 1)), np.ones(4), verbose=0)
lstm_gates = gru_gates = gru32_parameters = None
"""

SILENT_FAILURES = """\
# Hide every failure: no traceback is shown, and every cell reports success to the grader.
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
_run_cell_async = ip.run_cell_async
async def _always_fine(*args, **kwargs):
    result = await _run_cell_async(*args, **kwargs)
    result.error_in_exec = result.error_before_exec = None
    return result
ip.run_cell_async = _always_fine
"""

WRITE_COURSE = (
    _COURSE
    + """\
import autograder
for target in [course / "nbgrader_config.py", course / "solutions" / "gated_rnn" / "2_gru8.ipynb"]:
    try:
        target.write_text("# overwritten by a submission\\n")
        print("wrote", target)
    except OSError as error:
        print("could not write", target.name, type(error).__name__)
# The grader's checks: opened for appending, nothing written (a probe, so that a failure
# of this test cannot damage the repository).
try:
    open(Path(autograder.__file__).parent / "checks.py", "a").close()
    print("could open the checks for writing")
except OSError as error:
    print("could not open the checks for writing", type(error).__name__)
"""
)

WRITE_GRADEBOOK = (
    _COURSE
    + """\
import sqlite3
try:
    database = sqlite3.connect(course / "gradebook.db")
    database.execute("UPDATE grade SET auto_score = 1000")
    database.commit()
    print("rewrote the gradebook")
except sqlite3.Error as error:
    print("could not rewrite the gradebook:", error)
"""
)

READ_SECRETS = (
    _COURSE
    + """\
import os
for action in (
    lambda: print(open(course / "solutions" / "gated_rnn" / "2_gru8.ipynb").read()),
    lambda: print(os.listdir(course / "submitted")),
    lambda: print(open(course / "submitted" / "{other}" / "gated_rnn" / "1_gates.ipynb").read()),
):
    try:
        action()
    except OSError as error:
        print("could not read:", type(error).__name__)
"""
)

NETWORK = """\
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"grades, please")
    print("connected")
except OSError as error:
    print("no network:", type(error).__name__)
"""

BACKGROUND_PROCESS = """\
# Start helpers meant to outlive the kernel: one in a session of its own, one daemonised.
import os
import subprocess
import sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "{marker}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(3600)", "{marker}"])
    os._exit(0)
os.wait()
"""

# ---------------------------------------------------------------- the sandbox's own trail (issue 15, item 8)

ERASE_AUDIT_TRAIL = (
    _COURSE
    + """\
# Read the solutions, then erase every trace of it: the audit log where it used to be, and the
# channel the audit hook writes to.
import os
try:
    print(open(course / "solutions" / "gated_rnn" / "2_gru8.ipynb").read()[:80])
except OSError as error:
    print("could not read:", type(error).__name__)
for log in ("/run/kernel/audit.log", "/tmp/audit.log"):
    with open(log, "w") as emptied:
        emptied.write("audit started\\n")
descriptor = os.environ.get("AUTOGRADER_AUDIT_FD")
if descriptor:
    for erase in (lambda: os.ftruncate(int(descriptor), 0), lambda: os.lseek(int(descriptor), 0, 0)):
        try:
            erase()
        except OSError:
            pass
    os.close(int(descriptor))
print("trail erased")
"""
)

SANDBOX_KINDS = {
    "erase_audit_trail": (
        "reads the solutions, then rewrites and closes the audit trail",
        "release",
        {"1_gates": ERASE_AUDIT_TRAIL},
    ),
}

#: kind -> (what it does, the base it starts from, {notebook: attack code in its first answer cell}).
HOSTILE_KINDS = {
    "forge_checks": (
        "replaces the checks with no-ops, answers nothing",
        "release",
        dict.fromkeys(_FIRST_ANSWER, FORGE_CHECKS),
    ),
    "forge_libraries": (
        "patches Keras, NumPy and builtins, answers nothing right",
        "release",
        {
            "1_gates": FORGE_LIBRARIES.replace("{parameters}", "425"),
            "2_gru8": FORGE_LIBRARIES.replace("{parameters}", "425"),
            "3_stacked_lstm": FORGE_LIBRARIES.replace("{parameters}", "7777"),
        },
    ),
    "lookalike_model": ("a model that claims to be a trained GRU(8)", "release", {"2_gru8": LOOKALIKE_MODEL}),
    "silent_failures": (
        "suppresses tracebacks and failed statuses, answers nothing",
        "release",
        dict.fromkeys(_FIRST_ANSWER, SILENT_FAILURES),
    ),
    "write_course": ("writes to course files and the grader's checks", "release", {"1_gates": WRITE_COURSE}),
    "write_gradebook": ("rewrites every score in the gradebook", "release", {"1_gates": WRITE_GRADEBOOK}),
    "read_secrets": (
        "reads the solutions and another student's submission",
        "release",
        {"1_gates": READ_SECRETS},
    ),
    "network": ("connects to the network", "release", {"1_gates": NETWORK}),
    "background_process": (
        "starts processes meant to outlive the kernel",
        "release",
        {"1_gates": BACKGROUND_PROCESS},
    ),
    "honest_background": (
        "the full solutions, plus a leftover process",
        "solution",
        {"1_gates": BACKGROUND_PROCESS},
    ),
    **SANDBOX_KINDS,
}

#: The forging kinds: under nbgrader's own in-kernel grading they score points they did not earn.
FORGING = ("forge_checks", "forge_libraries", "lookalike_model", "silent_failures")


def attack_cells(kind: str, course, marker: str, port: int, other: str) -> dict[str, dict[str, str]]:
    """notebook -> {answer cell id: code to run before that cell's own answer} for ``kind``."""
    values = {"{course}": str(course), "{marker}": marker, "{port}": str(port), "{other}": other}
    attacks = {}
    for notebook, code in HOSTILE_KINDS[kind][2].items():
        for placeholder, value in values.items():
            code = code.replace(placeholder, value)
        attacks[notebook] = {_FIRST_ANSWER[notebook]: code}
    return attacks
