"""The hostile class, graded by the real command (`autograder grade`, in a process of its own, as root in
CI): every attack of `redteam.py` gets its honest score or a flag, nobody else's grade moves, no hidden
test reaches a feedback page, no script reaches a browser, nothing hangs, nothing is left behind.

Two classes: the hostile one (two workers), and neighbours (one worker, so each victim is graded by
the same worker right after the attacker who tries to reach it).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.demo import Student
from tests.autograder.classroom import ASSIGNMENT, FULL_AUTO_SCORE, ON_TIME, Expected
from tests.autograder.conftest import released_course
from tests.autograder.redteam import (
    EVASIONS,
    HIDDEN_LINE,
    HONEST_NO_LOOPS,
    MARKDOWN_HONEST_LINKS,
    MARKDOWN_LINKS,
    MARKDOWN_XSS,
    WRONG_ROW_MEANS,
    build_attacks,
    with_markdown_answer,
    write_links,
)

pytestmark = pytest.mark.slow
SECRET = "grader-secret-7f3a"  # in the grader's environment: no kernel may see it
SANDBOXED = shutil.which("bwrap") is not None


@dataclass
class Graded:
    root: Path
    rows: dict[str, dict]
    results: dict[str, dict]
    seconds: float
    output: str
    left_behind: set[Path]  # kernel pools and scratch folders that the run made and did not remove


def pools_and_scratch() -> set[Path]:
    return set(Path("/tmp").glob("autograder-pool-*")) | set(Path("/tmp").glob("autograder-pool-*/scratch/*"))


def grade(root: Path, workers: int) -> Graded:
    env = {**os.environ, "AUTOGRADER_TEST_SECRET": SECRET}
    earlier = pools_and_scratch()  # a grader killed outright before (another test's) cannot clean up
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(root), "grade", ASSIGNMENT,
                           "--workers", str(workers), "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=1500)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with (root / "reports" / ASSIGNMENT / "grades.csv").open() as handle:
        rows = {row["student_id"].removeprefix("'"): row for row in csv.DictReader(handle)}
    results = {}
    for path in (root / "reports" / ASSIGNMENT / "results").glob("*.json"):
        data = json.loads(path.read_text())
        results[data["student_id"]] = data
    return Graded(root, rows, results, seconds, done.stdout + done.stderr, pools_and_scratch() - earlier)


def digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            sha.update(path.name.encode() + path.read_bytes())
    return sha.hexdigest()


def check_row(graded: Graded, student: str, expected: Expected) -> None:
    row, result = graded.rows[student], graded.results[student]
    context = f"{student}: row {row}\nreasons {result['reasons']}\nflags {result['flags']}"
    assert row["status"] == expected.status, context
    assert float(row["raw_score"]) == pytest.approx(expected.raw), context
    for text in expected.flags:
        assert text in row["flags"], context
    for text in expected.reasons:
        assert any(text in reason for reason in result["reasons"]), context




# --- the hostile class ----------------------------------------------------------------------------

SUBMISSION_EXPECTED: dict[str, Expected] = {
    "victim": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "files_symlink_and_fifo": Expected("error", 0.0, 0.0, reasons=("symbolic link", "FIFO")),
    "files_folder_is_a_symlink": Expected("error", 0.0, 0.0, reasons=("not a folder",)),
    "victi?": Expected("error", 0.0, "", reasons=("is refused",), flags=("refused student id",)),
    "-rf": Expected("error", 0.0, "", reasons=("is refused",)),
    "time_before_release": Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("before the release",)),
    "time_after_grading": Expected("graded", FULL_AUTO_SCORE, 100.0, flags=("after this grading run",)),
    "time_lms_disagrees": Expected("graded", FULL_AUTO_SCORE, 30.0, flags=("authoritative timestamps",)),
    "markdown_script_answer": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "markdown_javascript_links_answer": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "markdown_honest_links_answer": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "files_submitted_html_beside_the_notebook": Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("stray files",)),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Graded, dict[str, Expected], dict[str, str]]:
    course = released_course(tmp_path_factory.mktemp("hostile"))
    root = course.root
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.CoursePolicy.release_dates = {"tiny": "2025-04-11 18:00:00"}\n')
    student = Student(root / "release" / ASSIGNMENT, root / "source" / ASSIGNMENT, timestamp=ON_TIME)
    expected = {}
    for name, (submission, outcome) in build_attacks(student, student.release).items():
        submission.write(course.submission(name))
        expected[name] = outcome
    student.solved().write(course.submission("victim"))
    write_links(course.submission("files_symlink_and_fifo"), root)
    (root / "submitted" / "files_folder_is_a_symlink").mkdir(parents=True)
    (root / "submitted" / "files_folder_is_a_symlink" / ASSIGNMENT).symlink_to(root / "source" / ASSIGNMENT)
    wrong = student.solved()
    from autograder.demo import replace_cell

    replace_cell(wrong, "tiny.ipynb", "row_means", WRONG_ROW_MEANS)
    wrong.write(root / "submitted" / "victi?" / ASSIGNMENT)
    wrong.write(root / "submitted" / "-rf" / ASSIGNMENT)
    for name, stamp in (("time_before_release", "2025-04-01 12:00:00"), ("time_after_grading", "2040-01-01 00:00:00"),
                        ("time_lms_disagrees", ON_TIME)):
        submission = student.solved()
        submission.timestamp = stamp
        submission.write(course.submission(name))
    (root / "timestamps.csv").write_text("student_id,timestamp\ntime_lms_disagrees,2025-04-28 05:59:00\n")
    with_markdown_answer(student.solved(), MARKDOWN_XSS).write(course.submission("markdown_script_answer"))
    for name, text in (("markdown_javascript_links_answer", MARKDOWN_LINKS),
                       ("markdown_honest_links_answer", MARKDOWN_HONEST_LINKS)):
        with_markdown_answer(student.solved(), text).write(course.submission(name))
    beside = course.submission("files_submitted_html_beside_the_notebook")
    student.solved().write(beside)
    (beside / "evil.html").write_text("<script>alert(9)</script>")
    expected.update(SUBMISSION_EXPECTED)
    before = {name: digest(root / "submitted" / name) for name in ("victim",)}
    return grade(root, workers=2), expected, before


def test_every_attack_gets_its_honest_score_or_a_flag(hostile):
    graded, expected, _ = hostile
    assert set(expected) <= set(graded.rows), sorted(set(expected) - set(graded.rows))
    failures = []
    for student, outcome in sorted(expected.items()):
        try:
            check_row(graded, student, outcome)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0][:600] + "\n   " + str(error).splitlines()[1][:400]
                            + "\n   " + str(error).splitlines()[2][:600])
    assert not failures, "\n".join(failures)


def test_no_attack_earns_a_point_it_did_not_earn(hostile):
    graded, expected, _ = hostile
    for student, outcome in expected.items():
        assert float(graded.rows[student]["raw_score"]) <= outcome.raw + 1e-9, student


def test_nobody_elses_grade_or_files_move(hostile):
    graded, _, before = hostile
    row = graded.rows["victim"]
    assert (row["status"], float(row["raw_score"]), row["flags"]) == ("graded", FULL_AUTO_SCORE, ""), row
    assert digest(graded.root / "submitted" / "victim") == before["victim"]
    # "victi?" is no pattern that reached the victim: the victim's own submission was graded, once.
    assert graded.results["victim"]["fingerprint"] and "refused student id" not in row["flags"]


def test_no_hidden_test_text_reaches_feedback_or_outputs_of_the_students_cells(hostile):
    graded, _, _ = hostile
    hidden = ["_rng = np.random.default_rng(0)", HIDDEN_LINE, 'assert add(-1, 1) == 0, "add(-1, 1) should be 0',
              'assert_close(double(np.ones(4)), 2 * np.ones(4), name="double(ones)")']
    pages = list((graded.root / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        for line in hidden:
            assert line not in text and line.replace('"', "&quot;") not in text, f"{page}: {line}"
    for name in ("leak_history_after_hidden_tests", "leak_linecache", "leak_frames_from_inside_the_test",
                 "leak_hidden_source_in_display"):
        notebook = nbformat.read(graded.root / "autograded" / name / ASSIGNMENT / "tiny.ipynb", 4)
        for cell in notebook.cells:
            if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            shown = json.dumps(cell.get("outputs", []))
            for line in hidden:
                assert line not in shown, f"{name}: {line} in {shown[:300]}"


# Markup that would run in a browser. The payloads also appear in the cells' own code, escaped (`&lt;img`),
# which is harmless: only live tags count.
LIVE_MARKUP = re.compile(r"<script>(alert|document)|<iframe|<[a-z]+[^<>]*\son[a-z]+\s*=|<a[^<>]*href=[\"']?javascript:",
                         re.IGNORECASE)


def test_student_html_is_sanitized_in_feedback_and_the_autograded_notebook(hostile):
    graded, _, _ = hostile
    for student in ("html_script_in_output", "markdown_script_answer"):
        page = (graded.root / "feedback" / student / ASSIGNMENT / "tiny.html").read_text()
        notebook = nbformat.read(graded.root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", 4)
        shown = json.dumps([cell.get("outputs", []) if cell.cell_type == "code" else cell.source
                            for cell in notebook.cells])
        for text in (page, shown):
            assert not LIVE_MARKUP.search(text), f"{student}: {LIVE_MARKUP.search(text).group(0)}"
        for danger in ("application/javascript", "image/svg+xml", "alert(4)", "alert(5)"):
            assert danger not in shown, f"{student}: {danger}"
    kept = graded.root / "feedback" / "html_script_in_output" / ASSIGNMENT / "tiny.html"
    assert "bold survives" in kept.read_text()


# A link or a MathJax command that opens script when clicked (the payloads' text may stay, escaped, in code).
LIVE_LINK = re.compile(r"""(href|src|action)\s*=\s*["']?\s*(javascript|vbscript|data:text/html)"""
                       r"""|\\(href|url|require|class|style|cssId)\{""", re.IGNORECASE)


def test_no_script_link_mathjax_link_or_kernel_written_page_reaches_feedback_or_autograded(hostile):
    graded, _, _ = hostile
    for student in ("markdown_javascript_links_answer",
                    "html_javascript_links_in_markdown_and_latex_outputs_removed"):
        page = (graded.root / "feedback" / student / ASSIGNMENT / "tiny.html").read_text()
        notebook = nbformat.read(graded.root / "autograded" / student / ASSIGNMENT / "tiny.ipynb", 4)
        shown = json.dumps([cell.get("outputs", []) if cell.cell_type == "code" else cell.source
                            for cell in notebook.cells if not cell.metadata.get("nbgrader", {}).get("locked")])
        page = re.sub(r"<pre>.*?</pre>", "", page, flags=re.DOTALL)  # the cells' code, which MathJax leaves alone
        for where, text in (("feedback", page), ("autograded", shown)):
            assert not LIVE_LINK.search(text), f"{student} {where}: {LIVE_LINK.search(text).group(0)}"
        assert "#unsafe-link-removed" in page, student
    answer = (graded.root / "feedback" / "markdown_javascript_links_answer" / ASSIGNMENT / "tiny.html").read_text()
    assert "See the numpy docs" in answer and "math link" in answer
    honest = (graded.root / "feedback" / "markdown_honest_links_answer" / ASSIGNMENT / "tiny.html").read_text()
    for kept in ('href="https://numpy.org/doc/stable/"', 'href="https://numpy.org"',
                 'src="https://numpy.org/images/logo.svg"'):
        assert kept in honest, kept
    written = nbformat.read(graded.root / "autograded" / "markdown_honest_links_answer" / ASSIGNMENT / "tiny.ipynb",
                            4)
    assert MARKDOWN_HONEST_LINKS in [cell.source for cell in written.cells]
    for top in ("autograded", "feedback"):
        for student in ("files_kernel_written_html_svg_and_timestamp_not_kept",
                        "files_submitted_html_beside_the_notebook"):
            folder = graded.root / top / student / ASSIGNMENT
            found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
            pages = {f"{p.stem}.html" for p in (graded.root / "autograded" / student / ASSIGNMENT).glob("*.ipynb")}
            assert not [f for f in found if f.endswith((".html", ".svg")) and f not in pages], (top, found)
    kernel = graded.root / "autograded" / "files_kernel_written_html_svg_and_timestamp_not_kept" / ASSIGNMENT
    assert (kernel / "results.csv").read_text() == "kept,1\n"
    assert "2020-01-01" not in (kernel / "timestamp.txt").read_text()


def test_the_grader_environment_never_reaches_a_kernel(hostile):
    graded, _, _ = hostile
    for notebook in (graded.root / "autograded").rglob("*.ipynb"):
        assert SECRET not in notebook.read_text(), notebook


def test_nothing_hangs_and_nothing_is_left_behind(hostile):
    graded, _, _ = hostile
    assert graded.seconds < 900, graded.seconds
    assert not graded.left_behind, f"kernel pools or scratch folders were left behind: {sorted(graded.left_behind)}"
    if os.geteuid() == 0 and SANDBOXED:
        left = subprocess.run(["pgrep", "-u", "65534", "-a"], capture_output=True, text=True).stdout
        assert not left.strip(), f"processes of the sandbox user outlived the grader:\n{left}"


# --- NO LOOPS evasions: each must lose the points of the function it loops in ---------------------

@pytest.fixture(scope="module")
def evaders(tmp_path_factory) -> Graded:
    course = released_course(tmp_path_factory.mktemp("evaders"))
    student = Student(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT, timestamp=ON_TIME)
    for name, (submission, _) in build_attacks(student, student.release, [*EVASIONS, *HONEST_NO_LOOPS]).items():
        submission.write(course.submission(name))
    student.solved().write(course.submission("honest"))
    return grade(course.root, workers=2)


@pytest.mark.parametrize("attack", EVASIONS, ids=lambda attack: attack.name)
def test_every_no_loops_evasion_loses_its_points(evaders, attack):
    check_row(evaders, attack.name, attack.expected)
    row = evaders.rows[attack.name]
    assert row["loop_violations"] == attack.expected.loops, (row, evaders.results[attack.name]["loop_details"])


@pytest.mark.parametrize("honest", HONEST_NO_LOOPS, ids=lambda attack: attack.name)
def test_loop_free_code_that_only_looks_like_a_loop_keeps_every_point(evaders, honest):
    row = evaders.rows[honest.name]
    assert (row["status"], float(row["raw_score"]), row["flags"], row["loop_violations"]) == \
        ("graded", FULL_AUTO_SCORE, "", ""), evaders.results[honest.name]


def test_the_honest_student_graded_with_the_evaders_keeps_every_point(evaders):
    row = evaders.rows["honest"]
    assert (row["status"], float(row["raw_score"]), row["flags"], row["loop_violations"]) == \
        ("graded", FULL_AUTO_SCORE, "", ""), evaders.results["honest"]


# --- neighbours: each attacker graded right before the victim it tries to reach -------------------

NEIGHBOUR_ATTACKS = {
    "a1_plants_startup_files": """
import os, pathlib
payload = "import course.checks as c\\nc._fail = lambda *a, **k: None\\n"
for folder in [os.path.expanduser("~/.ipython/profile_default/startup"), "/tmp/.ipython/profile_default/startup",
               os.path.expanduser("~/.jupyter"), os.getcwd(), "/tmp"]:
    try:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
        for name in ("00-evil.py", "ipython_kernel_config.py", "ipython_config.py", "sitecustomize.py",
                     "usercustomize.py", "course.py", "numpy.py"):
            (pathlib.Path(folder) / name).write_text(payload)
    except OSError as error:
        print("STARTUP", folder, error)
""",
    "a2_leaves_processes": """
import subprocess
subprocess.Popen(["sh", "-c", "while true; do sleep 1; done"], start_new_session=True)
subprocess.Popen(["python3", "-c", "import os, time\\nos.setsid()\\nwhile True: time.sleep(1)"],
                 start_new_session=True)
""",
    "a3_hunts_sockets_and_the_template": """
import os, socket
found = []
for top in ("/tmp", "/run", "/dev/shm", "/"):
    for folder, dirs, files in os.walk(top):
        if folder.startswith(("/proc", "/sys", "/usr")):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".sock") or "kernel" in name or name.startswith("ipc"):
                found.append(path)
                try:
                    os.unlink(path)
                except OSError:
                    pass
print("SOCKETS", found)
""",
    "a4_escapes_as_root": """
import os, subprocess
tries = {}
for command in (["unshare", "-Urm", "sh", "-c", "umount -l /tmp; ls /"], ["unshare", "-m", "true"],
                ["mount", "-t", "tmpfs", "none", "/mnt"], ["umount", "-l", "/tmp"]):
    tries[" ".join(command)] = subprocess.run(command, capture_output=True).returncode
for path in [COURSE + "/gradebook.db", COURSE + "/source/tiny/tiny.ipynb", COURSE + "/nbgrader_config.py",
             COURSE + "/submitted/b4_victim/tiny/tiny.ipynb", "/etc/shadow", "/root/.bashrc",
             "/proc/1/root/etc/hostname"]:
    try:
        open(path, "rb").read(1)
        tries[path] = "READ"
    except Exception as error:
        tries[path] = type(error).__name__
    try:
        open(path, "ab").close()
        tries[path + " (write)"] = "WROTE"
    except Exception as error:
        tries[path + " (write)"] = type(error).__name__
print("ESCAPE", tries)
print("ENV", dict(os.environ))
""",
    "a5_fills_memory_and_disk": """
import os
for folder, size in (("/dev/shm", 7 * 2**30), ("/tmp", 3 * 2**30)):
    written = 0
    try:
        with open(os.path.join(folder, "fill"), "wb") as handle:
            while written < size:
                handle.write(b"x" * 2**26)
                written += 2**26
    except OSError as error:
        print("FILL", folder, written // 2**20, "MiB then", type(error).__name__)
""",
    "a6_fills_the_working_folder": """
import os
written = 0
with open("fill", "wb") as handle:  # the working folder lies on the grader's disk: only each file is limited
    while written < 3 * 2**30:
        handle.write(b"x" * 2**26)
        written += 2**26
print("FILLED", written // 2**20, "MiB")
""",
    "a7_memory_in_child_processes": """
import subprocess, sys
hold = "import time; block = b'1' * (700 * 2**20); print('child holds 700 MiB', flush=True); time.sleep(20)"
children = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(4)]  # each under the per-process limit
for child in children:
    child.wait()
print("CHILDREN DONE")
""",
}
STOPPED_FOR = {"a6_fills_the_working_folder": "into its working folder",
               "a7_memory_in_child_processes": "its processes together used more than"}


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory) -> Graded:
    course = released_course(tmp_path_factory.mktemp("neighbours"))
    config = course.root / "nbgrader_config.py"  # limits small enough to pass quickly, large enough for the tests
    config.write_text(config.read_text() + "\nc.Sandbox.memory_limit = 2 * 2**30\nc.Sandbox.tmp_size = 2**30\n")
    student = Student(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT, timestamp=ON_TIME)
    from autograder.demo import add_cell_after

    for attacker, code in NEIGHBOUR_ATTACKS.items():
        submission = student.solved()
        add_cell_after(submission, "tiny.ipynb", "add_hidden", code.replace("COURSE", repr(str(course.root))))
        submission.write(course.submission(attacker))
        student.solved().write(course.submission(attacker.replace("a", "b", 1).split("_")[0] + "_victim"))
    return grade(course.root, workers=1)


def test_every_victim_graded_after_an_attacker_keeps_full_marks_and_no_flag(neighbours):
    victims = [s for s in neighbours.rows if s.endswith("_victim")]
    assert len(victims) == len(NEIGHBOUR_ATTACKS)
    for victim in victims:
        row = neighbours.rows[victim]
        assert (row["status"], float(row["raw_score"]), row["flags"]) == ("graded", FULL_AUTO_SCORE, ""), \
            (victim, row, neighbours.results[victim]["reasons"])


def test_attackers_keep_their_honest_score(neighbours):
    for attacker in NEIGHBOUR_ATTACKS:
        row = neighbours.rows[attacker]
        stopped = attacker in STOPPED_FOR and row["status"] == "error"  # the kernel was stopped, said why
        assert float(row["raw_score"]) == FULL_AUTO_SCORE and (row["status"] in ("graded", "timeout") or stopped), row


def test_the_sandbox_holds_as_root(neighbours):
    if not SANDBOXED:
        pytest.skip("bubblewrap is not installed: every row is flagged 'unsandboxed' instead")
    notebook = nbformat.read(neighbours.root / "autograded" / "a4_escapes_as_root" / ASSIGNMENT / "tiny.ipynb", 4)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "ESCAPE" in text, text[-2000:]
    assert "'READ'" not in text and "'WROTE'" not in text, text  # what the attack prints for a success
    assert "unshare -Urm sh -c umount -l /tmp; ls /': 0" not in text and "'umount -l /tmp': 0" not in text, text
    assert SECRET not in text and "AUTOGRADER_WARDEN" not in text, text
    fill = nbformat.read(neighbours.root / "autograded" / "a5_fills_memory_and_disk" / ASSIGNMENT / "tiny.ipynb", 4)
    shown = "".join(o.get("text", "") for c in fill.cells if c.cell_type == "code" for o in c.outputs)
    assert "FILL /dev/shm 256 MiB then OSError" in shown or "FILL /dev/shm 192 MiB" in shown, shown
    assert not list((neighbours.root / "autograded" / "a5_fills_memory_and_disk").rglob("fill")), "3 GiB kept"


def test_memory_and_disk_are_limited_per_kernel_not_per_process(neighbours):
    if not SANDBOXED:
        pytest.skip("the per-kernel limits are the warm template's, in the sandbox")
    for attacker, reason in STOPPED_FOR.items():
        result = neighbours.results[attacker]
        assert any(reason in text for text in result["reasons"]), (attacker, result["reasons"])
        notebook = nbformat.read(neighbours.root / "autograded" / attacker / ASSIGNMENT / "tiny.ipynb", 4)
        shown = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
        assert "FILLED" not in shown and "CHILDREN DONE" not in shown, (attacker, shown[-500:])
        assert not list((neighbours.root / "autograded" / attacker).rglob("fill")), attacker


def test_no_neighbour_process_or_file_outlives_the_run(neighbours):
    assert not neighbours.left_behind, f"kernel pools were left behind: {sorted(neighbours.left_behind)}"
    if os.geteuid() == 0 and SANDBOXED:
        left = subprocess.run(["pgrep", "-u", "65534", "-a"], capture_output=True, text=True).stdout
        assert not left.strip(), f"processes of the sandbox user outlived the grader:\n{left}"
