"""The main job: the demo class of the real assignment grades exactly as expected."""

import csv

import pytest

from autograder.batch import BatchOptions, Course, grade_assignment
from autograder.demo import build_demo, outcome_mismatch
from autograder.report import load_results
from tests.notebooks import ASSIGNMENT, ROOT

pytestmark = pytest.mark.slow


def test_demo_class_grades_as_expected(tmp_path):
    expected = build_demo(ROOT, ASSIGNMENT, tmp_path / "demo")
    assert {"full_marks", "late_20h", "late_30h", "late_50h", "partial", "looped", "hanging", "crashing",
            "malformed", "tampering", "no_submission"} <= set(expected)
    course = Course(tmp_path / "demo", ASSIGNMENT)
    grade_assignment(course, BatchOptions(workers=2, device="cpu", progress=False))
    with (course.reports / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    results = load_results(course)
    problems = {name: outcome_mismatch(outcome, rows.get(name), results.get(name))
                for name, outcome in expected.items()}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}
