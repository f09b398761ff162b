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
""", Expected("graded", WRONG, 0.0, flags=("inspect",)), "read the hidden test's code from its frame"),
    _attack("leak_hidden_source_in_display", "wrong", f"""
from IPython.display import display, HTML
line = {HIDDEN_LINE[::-1]!r}[::-1]  # as code that read it from the hidden test would have it
display(HTML("<pre>" + line + "</pre>"))
print(line)
""", Expected("graded", WRONG, 0.0, flags=("showed hidden-test code",)), "print the hidden test's own text"),
]

HTML = [
    _attack("html_script_in_output", "solved", """
from IPython.display import display, HTML, Javascript, SVG
display(HTML('<b>bold survives</b><script>document.title="PWNED"</script><img src=x onerror="alert(1)">'
             '<iframe src="javascript:alert(2)"></iframe><a href="javascript:alert(3)">link</a>'))
display(Javascript("alert(4)"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(5)</script></svg>'))
""", Expected("graded", FULL_AUTO_SCORE, 0.0), "run script in the instructor's browser"),
]


def build_attacks(student: Student, release: dict) -> dict[str, tuple[Submission, Expected]]:
    """Every attack of the tables above as a real submission."""
    built = {}
    for attack in [*FORGE, *LEAKS, *HTML]:
        if attack.base == "unsolved":
            submission = Submission({n: copy.deepcopy(nb) for n, nb in release.items()}, timestamp=ON_TIME)
        else:
            submission = student.solved()
            if attack.base == "wrong":
                replace_cell(submission, "tiny.ipynb", "row_means", WRONG_ROW_MEANS)
        for notebook, after, code in attack.cells:
            add_cell(submission, notebook, after, code.strip() + "\n")
        built[attack.name] = (submission, attack.expected)
    return built


MARKDOWN_XSS = '<script>alert("answer")</script><img src=x onerror=alert(1)> Vectorized code runs in C.'


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
