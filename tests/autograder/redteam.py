"""A hostile class: one real submission per attack on the grader, each named by what it tries, with the
row it must get beside it. Every attack must end with the student's honest score or a flag (most get
both), never with points not earned, another student's changed grade, a leaked hidden test, a hang
or a file left behind.

The honest score is what the submission's own code earns: `WRONG_ROW_MEANS` students hand in a
`row_means` that returns zeros (its 3 points lost) and everything else solved, so 4 of the 7 automatic
points; `UNSOLVED` students hand in the stubs, 0 points.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from autograder.cells import cell_with_id
from autograder.demo import Student, Submission, replace_cell
from autograder.demo import add_cell_after as add_cell
from tests.autograder.classroom import FULL_AUTO_SCORE, ON_TIME, Expected

WRONG = FULL_AUTO_SCORE - 3
WRONG_ROW_MEANS = "def row_means(x):\n    return np.zeros(x.shape[0])\n"
HIDDEN_LINE = 'assert_close(row_means(_x), _x.mean(axis=1), name="row_means(5x7)")'  # from tiny's hidden test


@dataclass
class Attack:
    name: str
    base: str  # "solved", "wrong" (row_means returns zeros) or "unsolved" (the stubs)
    cells: list[tuple[str, str, str]] = field(default_factory=list)  # (notebook, after grade_id, code)
    expected: Expected | None = None
    why: str = ""
    locked: bool = False  # its cells claim to be the instructor's (locked metadata, a grade id of their own)


def _attack(name, base, code, expected, why, notebook="tiny.ipynb", after="row_means"):
    return Attack(name, base, [(notebook, after, code)], expected, why)


FORGE = [
    _attack("forge_input_transformer_blanks_asserts", "wrong", """
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: [] if any("assert" in l for l in lines) else lines)
ip.input_transformers_post.append(lambda lines: [] if any("assert" in l for l in lines) else lines)
""", Expected("graded", WRONG, 0.0, flags=("get_ipython",)), "blank every cell that asserts"),
    _attack("forge_pre_run_cell_emits_partial_credit", "wrong", """
ip = get_ipython()
ip.events.register("pre_run_cell", lambda info: ip.display_pub.publish({"text/plain": "3"}))
ip.events.register("post_run_cell", lambda result: ip.displayhook(3.0))
""", Expected("graded", WRONG, 0.0, flags=("get_ipython",)), "emit a number nbgrader would read as credit"),
    _attack("forge_custom_exception_handler_swallows_failures", "wrong", """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
""", Expected("graded", WRONG, 0.0, flags=("set_custom_exc",)), "hide every failing test's error"),
    _attack("forge_showtraceback_replaced", "wrong", """
shell = get_ipython()
shell._showtraceback = lambda *args, **kwargs: None
shell.showtraceback = lambda *args, **kwargs: None
""", Expected("graded", WRONG, 0.0, flags=("showtraceback",)), "no error output reaches the notebook"),
    _attack("forge_ast_transformer_drops_asserts", "wrong", """
import ast
class NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Call(self, node):
        return ast.Constant(None) if getattr(node.func, "id", "") == "assert_close" else node
get_ipython().ast_transformers.append(NoAsserts())
""", Expected("graded", WRONG, 0.0, flags=("ast_transformers",)), "rewrite the tests' code before it runs"),
    _attack("forge_noop_course_checks_internals", "wrong", """
import course.checks as checks
checks._fail = lambda *args, **kwargs: None
checks._compare_tensors = lambda *args, **kwargs: None
""", Expected("graded", WRONG, 0.0, flags=("course.checks._fail",)), "disable the comparison helpers"),
    Attack("forge_patch_during_test_restore_after", "wrong", [("tiny.ipynb", "row_means", """
import course.checks as _checks
_genuine = _checks._fail
def row_means(x):
    _checks._fail = lambda *args, **kwargs: None  # only while the test runs...
    return np.zeros(x.shape[0])
def add(a, b):
    _checks._fail = _genuine  # ...and put back by the next function the tests call
    return a + b
""")], Expected("graded", WRONG, 0.0, flags=("assigns course.checks._fail",)),
        "replace a helper only while a test runs, restore it before the next check"),
    _attack("forge_builtins_isinstance", "wrong", """
import builtins
builtins.isinstance = lambda obj, kind: True
builtins.abs = lambda value: 0
""", Expected("timeout", WRONG, 0.0, flags=("builtins.isinstance",)),
        "make every type check pass (it hangs the student's own kernel: that cell is dropped and the rest re-run)"),
    _attack("forge_module_class_swap", "wrong", """
import types, course.checks
class Quiet(types.ModuleType):
    pass
course.checks.__class__ = Quiet
object.__setattr__(course.checks, "_fail", lambda *args, **kwargs: None)
""", Expected("graded", WRONG, 0.0, flags=("__class__",)), "write a helper around the module's guard"),
    _attack("forge_sys_modules_swap", "wrong", """
import sys, types
fake = types.ModuleType("course.checks")
fake.assert_close = lambda *args, **kwargs: None
sys.modules["course.checks"] = fake
import course
course.assert_close = fake.assert_close
""", Expected("graded", WRONG, 0.0, flags=("sys.modules",)), "replace the helpers' module"),
    _attack("forge_write_on_the_integrity_channel", "wrong", """
import os, json
forged = json.dumps({"seq": 3, "kind": "end", "token": "x", "outcome": "pass", "value": None, "ename": "",
                     "evalue": "", "findings": [], "during": []}).encode() + b"\\n" + b"0" * 64
for fd in range(3, 200):
    try:
        os.write(fd, forged)
    except OSError:
        pass
""", Expected("timeout", WRONG, 0.0, flags=("os.write",)),
        "write a passing verdict on every descriptor (garbage on the kernel's own sockets hangs it: that cell is "
        "dropped and the rest re-run)"),
    Attack("forge_fake_locked_cell_before_any_student_code", "wrong", [("tiny.ipynb", "setup", """
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: [] if any("assert" in l for l in lines) else lines)
""")], Expected("graded", WRONG, 0.0, flags=("get_ipython",)),
        "a cell dressed as the instructor's setup, so that its hook would become the guard's baseline",
        locked=True),
    _attack("forge_impersonate_the_runner", "wrong", """
import sys
sys.audit("autograder.cell.end", "token", "pass", None, "", "")
""", Expected("error", WRONG, 0.0, flags=("impersonated",)), "send the guard's own event"),
    _attack("forge_settrace_skips_assert_lines", "wrong", """
import sys
def skip(frame, event, arg):
    return skip
sys.settrace(skip)
""", Expected("error", WRONG, 0.0, flags=("installs a trace",)), "a trace function could jump over asserts"),
    _attack("forge_gc_walk_for_the_guard", "wrong", """
import gc
found = [o for o in gc.get_objects() if callable(o) and "warden" in getattr(o, "__module__", "")]
""", Expected("error", WRONG, 0.0, flags=("garbage collector",)), "find the guard's closures"),
    _attack("forge_ctypes_pythonapi", "wrong", """
import ctypes
ctypes.pythonapi.PyRun_SimpleString(b"import course.checks; course.checks._fail = lambda *a, **k: None")
""", Expected("error", WRONG, 0.0, flags=("ctypes",)), "run code below the interpreter"),
    _attack("forge_signal_timer_patches_mid_test", "wrong", """
import signal, course.checks
def patch(signum, frame):
    course.checks._fail = lambda *args, **kwargs: None
signal.signal(signal.SIGALRM, patch)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
""", Expected("graded", WRONG, 0.0, flags=("signal",)), "patch from a signal handler while tests run"),
    _attack("forge_thread_keeps_patching", "wrong", """
import threading, time, course.checks
def keep_patching():
    while True:
        course.checks._fail = lambda *args, **kwargs: None
        time.sleep(0.001)
threading.Thread(target=keep_patching, daemon=True).start()
""", Expected("graded", WRONG - 2, 0.0, flags=("threading", "a thread")),
        "a thread patches the helpers all along: the tests that run while it does earn nothing"),
    _attack("forge_object_with_eq_always_true", "wrong", """
class Anything(np.ndarray):
    def __eq__(self, other):
        return True
    def __array_ufunc__(self, *args, **kwargs):
        return True
def row_means(x):
    return np.zeros(x.shape[0]).view(Anything)
""", Expected("graded", WRONG, 0.0), "an array subclass that claims to equal everything"),
    _attack("forge_getattr_obfuscated", "wrong", """
target = __import__("course.che" + "cks", fromlist=["x"])
setattr(target, "_f" + "ail", lambda *args, **kwargs: None)
""", Expected("graded", WRONG, 0.0, flags=("computed name",)), "reach the helpers by computed names"),
    _attack("forge_exec_string", "wrong", """
exec("import course.checks as c\\nc._fail = lambda *a, **k: None")
""", Expected("graded", WRONG, 0.0, flags=("exec",)), "code the static scan cannot read"),
    _attack("forge_keyword_defaults_by_resolve_name", "wrong", """
import pkgutil
for path in ("course.checks:assert_close.__kwdefaults__", "course.checks:assert_close.__wrapped__.__kwdefaults__"):
    pkgutil.resolve_name(path)["atol"] = 1e9  # a library reads it: no frame of the notebook does
""", Expected("graded", WRONG, 0.0, flags=("keyword defaults",)), "widen the tolerance of assert_close in place"),
    Attack("forge_mock_patch_put_back_by_del", "wrong", [("tiny.ipynb", "row_means", """
from unittest import mock
_patcher = mock.patch("course.checks._fail", lambda *args, **kwargs: None)
_switch = {"on": _patcher.start, "off": _patcher.stop}

class _Means(np.ndarray):
    def __del__(self):
        _switch["off"]()

def row_means(x):
    _switch["on"]()  # unittest.mock writes the module, not a frame of the notebook
    return np.zeros(x.shape[0]).view(_Means)
""")], Expected("graded", WRONG, 0.0, flags=("through",)), "patch a helper inside the test and put it back "
           "before the test ends"),
    Attack("forge_namespace_rebound_inside_the_test", "wrong", [("tiny.ipynb", "row_means", """
def row_means(x):
    globals()["assert_close"] = lambda *args, **kwargs: None  # for the test's next line
    return np.zeros(x.shape[0])
"""), ("tiny.ipynb", "row_means_hidden", """
from course.checks import assert_close  # put back before the guard looks
""")], Expected("graded", WRONG, 0.0, flags=("globals",)), "rebind the test's helper between two of its lines"),
    Attack("forge_answers_every_comparison", "solved", [("tiny.ipynb", "add", """
class Number(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

def add(a, b):
    return Number(0)
""")], Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("defines `__eq__`",)),
           "an integer that equals whatever a plain `==` test compares it with"),
    _attack("forge_kill_kernel_during_test", "unsolved", """
import os
def row_means(x):
    os._exit(0)
""", Expected("error", 0.0, 0.0, flags=("os._exit",)), "end the kernel in the middle of a test"),
]

LEAKS = [
    _attack("leak_history_after_hidden_tests", "wrong", """
print("LEAK", _i, _ii, _iii, In[-4:])
print("LEAK", [v for k, v in globals().items() if k.startswith("_i")])
""", Expected("graded", WRONG, 0.0, flags=("uses `In`",)), "print the history of the hidden test cells",
        after="row_means_hidden"),
    _attack("leak_linecache", "wrong", """
import linecache
print("LEAK", {name: "".join(lines) for name, (_, _, lines, _) in linecache.cache.items()})
""", Expected("graded", WRONG, 0.0, flags=("linecache",)), "print every source IPython cached",
        after="row_means_hidden"),
    _attack("leak_frames_from_inside_the_test", "wrong", """
import inspect, dis
def row_means(x):
    for frame in inspect.stack():
        print("LEAK", frame.filename, frame.code_context, frame.frame.f_code.co_consts)
    raise ValueError("LEAK " + repr([f.frame.f_code.co_consts for f in inspect.stack()]))
""", Expected("error", WRONG, 0.0, flags=("inspect", "reads the code of a test")),
        "read the hidden test's code from its frame (the guard stops the kernel)"),
    _attack("leak_hidden_source_in_display", "wrong", f"""
from IPython.display import display, HTML
line = {HIDDEN_LINE[::-1]!r}[::-1]  # as code that read it from the hidden test would have it
display(HTML("<pre>" + line + "</pre>"))
print(line)
""", Expected("graded", WRONG, 0.0, flags=("showed hidden-test code",)), "print the hidden test's own text"),
    Attack("leak_runner_frame_through_resolve_name", "wrong", [("tiny.ipynb", "row_means", """
import pkgutil
_seen = []
def row_means(x):
    global _error
    try:
        raise ValueError("x")
    except ValueError as error:
        _error = error
    runner = pkgutil.resolve_name("__main__:_error.__traceback__.tb_frame.f_back.f_back")
    _seen.append(repr(runner.f_locals))
    return np.zeros(x.shape[0])
"""), ("tiny.ipynb", "row_means_hidden", """
for _text in _seen:
    print("REV", _text[::-1])
    print("UP", _text.upper())
""")], Expected("graded", WRONG, 0.0, flags=("tb_frame",)), "read the test runner's locals, printed encoded"),
    Attack("leak_test_code_through_frames", "wrong", [("tiny.ipynb", "row_means", """
import pkgutil
_seen = []
def row_means(x):
    global _error
    try:
        raise ValueError("x")
    except ValueError as error:
        _error = error
    _seen.append(repr(pkgutil.resolve_name("__main__:_error.__traceback__.tb_frame.f_back.f_code.co_consts")))
    return np.zeros(x.shape[0])
"""), ("tiny.ipynb", "row_means_hidden", """
for _text in _seen:
    print("REV", _text[::-1])
""")], Expected("error", WRONG, 0.0, flags=("reads the code of a test",)),
           "read the hidden test's compiled code through a library (the guard stops the kernel)"),
]

HTML = [
    _attack("html_script_in_output", "solved", """
from IPython.display import display, HTML, Javascript, SVG
display(HTML('<b>bold survives</b><script>document.title="PWNED"</script><img src=x onerror="alert(1)">'
             '<iframe src="javascript:alert(2)"></iframe><a href="javascript:alert(3)">link</a>'))
display(Javascript("alert(4)"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(5)</script></svg>'))
""", Expected("graded", FULL_AUTO_SCORE, 0.0), "run script in the instructor's browser"),
    _attack("html_javascript_links_in_markdown_and_latex_outputs_removed", "solved", r"""
from IPython.display import display
display({"text/markdown": "[output link](javascript:alert(5)) <javascript:alert(1)> [v](vbscript:msgbox(1))"
         " [d](data:text/html;base64,PHNjcmlwdD4=) [e](&#x6A;avascript:alert(2)) ![i](JaVaScRiPt:alert(3))",
         "text/plain": "md"}, raw=True)
display({"text/latex": r"$\href{javascript:alert(6)}{latex link} \url{javascript:alert(7)} \require{html}$",
         "text/plain": "tex"}, raw=True)
""", Expected("graded", FULL_AUTO_SCORE, 0.0), "a link the instructor clicks runs script"),
    _attack("files_kernel_written_html_svg_and_timestamp_not_kept", "solved", """
import os
with open("report.html", "w") as f:
    f.write("<html><body><script>alert(document.domain)</script></body></html>")
with open("timestamp.txt", "w") as f:
    f.write("2020-01-01 00:00:00\\n")
os.makedirs("sub", exist_ok=True)
with open("sub/page.svg", "w") as f:
    f.write('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(7)"/>')
with open("results.csv", "w") as f:
    f.write("kept,1\\n")
""", Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("file not kept: report.html", "file not kept: sub/page.svg",
                                                      "file not kept: timestamp.txt")),
            "a page of the student's that runs script, and an earlier submission time"),
]


# NO LOOPS evasions: each `row_means` returns the right means, but iterates over the rows in Python. Every
# one must lose row_means's 3 points with the reason in `loop_violations` (some are flagged as well).
LOOPED = Expected("graded", WRONG, 0.0, loops="tiny.row_means")


def _evasion(name, code, why, expected=LOOPED):
    return Attack(name, "evasion", [("tiny.ipynb", "row_means", code)], expected, why)


EVASIONS = [
    _evasion("evade_loop_behind_functools_wraps", """
import functools
def rowwise(f):
    @functools.wraps(f)
    def wrapper(x):
        return np.array([f(row) for row in x])
    return wrapper

@rowwise
def row_means(x):
    return x.mean()
""", "the loop sits in a decorator's wrapper"),
    _evasion("evade_helper_module_written_to_tmp", """
import sys
with open("/tmp/rowhelp.py", "w") as handle:
    handle.write("def means(x):\\n    out = []\\n    for row in x:\\n"
                 "        out.append(row.mean())\\n    return out\\n")
sys.path.insert(0, "/tmp")
import rowhelp

def row_means(x):
    return np.array(rowhelp.means(x))
""", "the loop is in a module the notebook writes, which the static check cannot read"),
    _evasion("evade_exec_reached_by_computed_name", """
import builtins
run = getattr(builtins, "ex" + "ec")

def row_means(x):
    found = {"x": x}
    run("means = [row.mean() for row in x]", found)
    return np.array(found["means"])
""", "exec under a computed name"),
    _evasion("evade_map_rebound_in_builtins", """
import builtins
each = builtins.map

def row_means(x):
    return np.array(list(each(lambda row: row.mean(), x)))
""", "map under another name, taken from builtins"),
    _evasion("evade_def_inside_an_if", """
if np.__name__ == "numpy":
    def row_means(x):
        out = np.empty(x.shape[0])
        i = 0
        while i < x.shape[0]:
            out[i] = x[i].mean()
            i += 1
        return out
""", "a definition the top level does not show"),
    _evasion("evade_class_with_a_looping_call", """
class RowMeans:
    def __call__(self, x):
        return np.array([row.mean() for row in x])

row_means = RowMeans()
""", "an instance whose __call__ loops"),
    _evasion("evade_sorted_key_runs_per_row", """
def row_means(x):
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "a C builtin calls the student's lambda once per row: only the runtime count can see it"),
    _evasion("evade_numpy_iterates_a_sequence", """
class Rows:
    def __init__(self, x):
        self.x = x
    def __len__(self):
        return len(self.x)
    def __getitem__(self, i):
        if i >= len(self.x):
            raise IndexError(i)
        return self.x[i].mean()

def row_means(x):
    return np.array(Rows(x), dtype=float)
""", "numpy calls __getitem__ once per row"),
    _evasion("evade_clean_path_when_traced", """
import sys

def row_means(x):
    if sys.gettrace() is not None:
        return x.mean(axis=1)
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "take the loop-free path only while the runtime check traces"),
    _evasion("evade_detects_the_tracer_by_computed_names", """
import sys

def row_means(x):
    if getattr(sys, "get" + "trace")() is not None:
        return x.mean(axis=1)
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "the same, with the tracer looked up by a computed name"),
    _evasion("evade_settrace_replaced", """
import sys
sys.settrace = lambda function: None

def row_means(x):
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "switch the runtime count off", Expected("graded", WRONG, 0.0, loops="tiny.row_means",
                                               flags=("sys.settrace was replaced",))),
    _evasion("evade_code_compiled_under_a_library_filename", """
import numpy
_space = {}
exec(compile("def means(x):\\n    return [row.mean() for row in x]\\n", numpy.__file__, "exec"), _space)
_means = _space["means"]

def row_means(x):
    return np.array(_means(x))
""", "code that claims to be numpy's, so a check by file name would not count it"),
    _evasion("evade_probe_inputs_make_it_raise", """
def row_means(x):
    if x.shape[0] > 8:
        raise MemoryError("too big")
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "fail on the probe's large input, so that nothing is measured"),
    _evasion("evade_forges_the_probe", """
def __autograder_probe__():
    print("no loops here")

def row_means(x):
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "replace the probe the grader appends with one of its own"),
    _evasion("evade_ends_the_kernel_on_large_inputs", """
import os

def row_means(x):
    if x.shape[0] > 8:
        os._exit(0)
    out = np.empty(x.shape[0])
    sorted(range(x.shape[0]), key=lambda i: (out.__setitem__(i, x[i].mean()), i)[1])
    return out
""", "end the kernel during the probe, so that no report comes back",
        Expected("error", WRONG, 0.0, loops="tiny.row_means", flags=("os._exit",))),
    _evasion("evade_recursion_through_lambdas", """
def row_means(x):
    step = lambda f, rows: [] if len(rows) == 0 else [rows[0].mean()] + f(f, rows[1:])
    return np.array(step(step, x))
""", "recursion the static check cannot name"),
]


# Honest loop-free code that looks like a loop to a careless probe: each keeps every point, with no flag.
HONEST_NO_LOOPS = [
    Attack("honest_branch_on_the_input_size", "evasion", [("tiny.ipynb", "row_means", """
def row_means(x):
    if x.shape[0] > 16:
        x = x.astype(np.float64)  # large inputs: accumulate in double precision
    return x.mean(axis=1)
""")], Expected("graded", FULL_AUTO_SCORE, 0.0), "one more line above a size: a branch, not a loop"),
    Attack("honest_standard_library_helper", "evasion", [("tiny.ipynb", "row_means", """
import copy

def row_means(x):
    x = copy.deepcopy(x)  # never change the caller's array
    return x.mean(axis=1)
""")], Expected("graded", FULL_AUTO_SCORE, 0.0), "the standard library loops inside copy.deepcopy, not the student"),
]


def build_attacks(student: Student, release: dict, attacks: list[Attack] | None = None
                  ) -> dict[str, tuple[Submission, Expected]]:
    """Every attack of the tables above (or of `attacks`) as a real submission."""
    built = {}
    for attack in attacks or [*FORGE, *LEAKS, *HTML]:
        if attack.base == "unsolved":
            submission = Submission({n: copy.deepcopy(nb) for n, nb in release.items()}, timestamp=ON_TIME)
        else:
            submission = student.solved()
            if attack.base == "wrong":
                replace_cell(submission, "tiny.ipynb", "row_means", WRONG_ROW_MEANS)
        for notebook, after, code in attack.cells:
            if attack.base == "evasion":  # the evasion is the student's answer
                replace_cell(submission, notebook, after, code.strip() + "\n")
            else:
                add_cell(submission, notebook, after, code.strip() + "\n")
            if attack.locked:
                index, _ = cell_with_id(submission.notebooks[notebook], after)
                added = submission.notebooks[notebook].cells[index + 1]
                added.metadata["nbgrader"] = {"grade": False, "grade_id": f"fake_{after}", "locked": True,
                                              "schema_version": 3, "solution": False, "task": False}
        built[attack.name] = (submission, attack.expected)
    return built


MARKDOWN_XSS = '<script>alert("answer")</script><img src=x onerror=alert(1)> Vectorized code runs in C.'
# Markdown links bleach does not see (the red team's, and their tricks): "markdown_javascript_links_answer"
# must keep its text and lose every destination; "markdown_honest_links_answer" keeps its links and image.
MARKDOWN_LINKS = ("Whole-array operations run in compiled code. [See the numpy docs](javascript:alert(document.cookie))"
                  " [ref][r] and [entity](&#106;avascript:alert(2)) <javascript:alert(1)> [c](JaVaScRiPt:alert(1))"
                  " ![x](javascript:alert(8)) [d](data:text/html;base64,PHNjcmlwdD4=) [v](vbscript:msgbox(1))\n\n"
                  "[r]: javascript:alert(3)\n\n$\\href{javascript:alert(4)}{math link}$ $\\class{x}{y}\\cssId{i}{z}$")
MARKDOWN_HONEST_LINKS = ("Vectorized code runs in C: see [the NumPy docs](https://numpy.org/doc/stable/) and "
                         "<https://numpy.org>.\n\n![a plot](https://numpy.org/images/logo.svg)")


def with_markdown_answer(submission: Submission, text: str) -> Submission:
    for cell in submission.notebooks["tiny.ipynb"].cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "why_vectorize":
            cell.source = text
    return submission


def write_links(folder: Path, course_root: Path) -> None:
    """Symbolic links and a FIFO where the notebooks should be."""
    import os

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.ipynb").symlink_to(course_root / "source" / "tiny" / "tiny.ipynb")
    os.mkfifo(folder / "second.ipynb")
    (folder / "timestamp.txt").write_text(ON_TIME + "\n")
