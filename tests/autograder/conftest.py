import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.batch import BatchOptions, Course, grade_assignment
from autograder.release import generate_release
from autograder.report import load_results
from tests.autograder.classroom import ASSIGNMENT, build_class, make_course


@dataclass
class GradedClass:
    course: Course
    rows: dict[str, dict]
    results: dict
    seconds: float


def read_grades(course: Course) -> dict[str, dict]:
    with (course.reports / "grades.csv").open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def released_course(root: Path) -> Course:
    make_course(root)
    generate_release(root, ASSIGNMENT)
    return Course(root, ASSIGNMENT)


def hand_in(course: Course, students: dict) -> None:
    for student, submission in students.items():
        submission.write(course.submission(student))


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> GradedClass:
    """The whole test class, graded once with two workers."""
    import time

    from nbgrader.api import Gradebook

    course = released_course(tmp_path_factory.mktemp("class"))
    hand_in(course, build_class(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT))
    with Gradebook(course.db_url) as gradebook:
        gradebook.add_student("never_submitted")
    started = time.monotonic()
    grade_assignment(course, BatchOptions(workers=2, device="cpu", progress=False))
    return GradedClass(course, read_grades(course), load_results(course), time.monotonic() - started)
