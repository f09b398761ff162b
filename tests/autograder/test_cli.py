"""The command line's expected failures: one line on stderr that says what to fix, exit status 2, and
nothing graded or written (the extensions file is checked before any worker starts)."""

import subprocess
import sys

import pytest

from tests.autograder.classroom import ASSIGNMENT, ON_TIME, make_course
from tests.autograder.conftest import released_course


def autograder(root, *args):
    done = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=root, capture_output=True, text=True,
                          timeout=300)
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(code, stdout, stderr, *words):
    assert code == 2, (code, stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_grading_an_assignment_that_was_never_released(tmp_path):
    root = make_course(tmp_path / "course")
    code, out, err = autograder(root, "grade", ASSIGNMENT, "--quiet")
    assert_one_line_error(code, out, err, "not in the gradebook", "autograder release tiny")


def test_no_course_directory(tmp_path):
    code, out, err = autograder(tmp_path, "grade", ASSIGNMENT)
    assert_one_line_error(code, out, err, "no nbgrader_config.py")


@pytest.mark.parametrize(
    ("csv_text", "words"),
    [
        ("id,due\nalice,2025-04-28\n", ("extensions.csv", "header needs student_id")),
        ("student_id,extra_hours\nalice,lots\n", ("extensions.csv:2",)),
    ],
)
def test_a_bad_extensions_file_stops_the_run_before_anyone_is_graded(tmp_path, csv_text, words):
    course = released_course(tmp_path / "course")
    from autograder.demo import Student

    Student(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT,
            timestamp=ON_TIME).solved().write(course.submission("alice"))
    (course.root / "extensions.csv").write_text(csv_text)
    code, out, err = autograder(course.root, "grade", ASSIGNMENT, "--quiet")
    assert_one_line_error(code, out, err, *words)
    assert not course.results.exists() or not list(course.results.glob("*.json"))


def test_an_unreadable_due_date_is_one_line(tmp_path):
    course = released_course(tmp_path / "course")
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.CoursePolicy.due_dates = {"tiny": "next friday"}\n')
    code, out, err = autograder(course.root, "grade", ASSIGNMENT, "--quiet")
    assert_one_line_error(code, out, err, "CoursePolicy.due_dates['tiny']")
