"""Parity with nbgrader itself: nbgrader's own example course (its docs' `ps1`, with the submissions of
bitdiddle and hacker) and the autograde test notebooks shipped inside the nbgrader package, graded by
plain `nbgrader autograde` in one course directory and by `autograder grade` in another. Where the
course adds nothing (no late tiers apply, no NO LOOPS declarations), every cell's score must agree.

The files are read from the installed nbgrader package; nothing of nbgrader's is copied into this
repository.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbgrader
import pytest
from nbgrader.api import Gradebook

NBGRADER = Path(nbgrader.__file__).resolve().parent
EXAMPLE = NBGRADER / "docs" / "source" / "user_guide"
FILES = NBGRADER / "tests" / "apps" / "files"
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "nbgrader_config.py"
pytestmark = pytest.mark.slow  # grades two courses twice (about 4 min on 2 cores)

DUE = "2015-02-02 14:58:23.948203 America/Los_Angeles"  # nbgrader's own form, as its tests use it

PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "parity"
c.Execute.timeout = 30
"""
# Another course adopting the autograder: the project's pipeline, none of assignment2's settings.
OURS_CONFIG = """c = get_config()
load_subconfig({project!r})
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "parity"
c.CoursePolicy.due_dates = {{}}
c.Execute.timeout = 30
c.Sandbox.preload = ["IPython", "ipykernel.kernelapp", "ipykernel.ipkernel"]
"""

# assignment -> (source files {name in course: file}, submissions {student: {name: file}})
EXAMPLE_SOURCE = {name: EXAMPLE / "source" / "ps1" / name for name in ("problem1.ipynb", "problem2.ipynb",
                                                                        "jupyter.png")}
EXAMPLE_SUBMITTED = {student: {path.name: path for path in (EXAMPLE / "submitted" / student / "ps1").iterdir()
                               if path.name != "timestamp.txt" and path.suffix == ".ipynb"}
                     for student in ("bitdiddle", "hacker")}
FILES_SOURCE = {"p1.ipynb": FILES / "submitted-unchanged.ipynb", "relative.ipynb": FILES / "open_relative_file.ipynb",
                "data.txt": FILES / "data.txt", "effects.ipynb": FILES / "side-effects.ipynb"}
FILES_SUBMITTED = {
    student: {"p1.ipynb": FILES / f"{variant}.ipynb", "relative.ipynb": FILES / "open_relative_file.ipynb",
              "effects.ipynb": FILES / "side-effects.ipynb"}
    for student, variant in (("unchanged", "submitted-unchanged"), ("changed", "submitted-changed"),
                             ("cheat", "submitted-cheat-attempt"),
                             ("cheat_alternative", "submitted-cheat-attempt-alternative"),
                             ("grade_cell_changed", "submitted-grade-cell-changed"),
                             ("locked_cell_changed", "submitted-locked-cell-changed"))
}
ASSIGNMENTS = {"ps1": (EXAMPLE_SOURCE, EXAMPLE_SUBMITTED), "files": (FILES_SOURCE, FILES_SUBMITTED)}


def nbgrader_cli(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, check=True, capture_output=True, text=True)


def make_course(root: Path, config: str) -> Path:
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(config.format(root=str(root), project=str(PROJECT_CONFIG)))
    for assignment, (sources, submissions) in ASSIGNMENTS.items():
        for name, path in sources.items():
            target = root / "source" / assignment / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        nbgrader_cli(root, "db", "assignment", "add", assignment, "--duedate", DUE)
        nbgrader_cli(root, "generate_assignment", assignment, "--force")
        for student, files in submissions.items():
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            for name, path in files.items():
                shutil.copyfile(path, folder / name)
            (folder / "timestamp.txt").write_text("2015-02-02 14:00:00.000000 America/Los_Angeles")
    for student in {s for _, submissions in ASSIGNMENTS.values() for s in submissions}:
        nbgrader_cli(root, "db", "student", "add", student)
    return root


def cell_scores(root: Path) -> dict[tuple[str, str, str, str], float | None]:
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for assignment in ASSIGNMENTS:
            for submission in gradebook.assignment_submissions(assignment):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        key = (assignment, submission.student.id, notebook.name, grade.name)
                        scores[key] = grade.auto_score
    return scores


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("parity")
    plain = make_course(base / "plain", PLAIN_CONFIG)
    ours = make_course(base / "ours", OURS_CONFIG)
    for assignment in ASSIGNMENTS:
        nbgrader_cli(plain, "autograde", assignment)
        subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, "--workers", "2", "--quiet"],
                       cwd=ours, check=True, capture_output=True, text=True)
    return plain, ours


def read_grades(root: Path, assignment: str) -> dict[str, dict]:
    with (root / "reports" / assignment / "grades.csv").open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_every_cell_scores_as_nbgrader_scores_it(graded):
    plain, ours = graded
    expected, got = cell_scores(plain), cell_scores(ours)
    assert expected, "plain nbgrader graded nothing"
    assert set(got) == set(expected)
    assert {key: got[key] for key in expected if got[key] != expected[key]} == {}


def test_the_example_course_earns_what_nbgrader_gives_it(graded):
    plain, ours = graded
    rows = read_grades(ours, "ps1")
    assert {rows[student]["status"] for student in EXAMPLE_SUBMITTED} == {"graded"}
    assert {row["status"] for student, row in rows.items() if student not in EXAMPLE_SUBMITTED} == {"missing"}
    assert all(rows[student]["late_penalty_pct"] == "0.0" for student in EXAMPLE_SUBMITTED), rows  # on time
    assert rows["bitdiddle"]["raw_score"] != rows["hacker"]["raw_score"]


def test_release_files_reach_the_kernel_and_side_effects_stay_in_autograded(graded):
    plain, ours = graded
    for root in (plain, ours):
        assert (root / "autograded" / "unchanged" / "files" / "side-effect.txt").is_file()
        assert not (root / "submitted" / "unchanged" / "files" / "side-effect.txt").exists()
    assert cell_scores(ours)[("files", "unchanged", "relative", "open_file")] == 10  # data.txt was there
    rows = read_grades(ours, "files")
    assert not any("stray" in row["flags"] for row in rows.values()), rows


def test_gradebook_due_date_is_kept(graded):
    _, ours = graded
    with Gradebook(f"sqlite:///{ours / 'gradebook.db'}") as gradebook:
        assert str(gradebook.find_assignment("ps1").duedate).startswith("2015-02-02 22:58:23")
