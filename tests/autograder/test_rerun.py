"""Grading again: a killed run resumes without regrading, manual grades reach the report, and plain
`nbgrader autograde` with the course configuration applies the same late policy and loop rule."""

import os
import signal
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from autograder.batch import BatchOptions, grade_assignment
from autograder.report import build_reports, load_results
from tests.autograder.classroom import ASSIGNMENT, build_class
from tests.autograder.conftest import hand_in, read_grades, released_course

pytestmark = pytest.mark.slow


def small_class(root, names):
    course = released_course(root)
    everyone = build_class(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT)
    hand_in(course, {name: everyone[name] for name in names})
    return course


def test_a_killed_run_resumes_without_regrading(tmp_path):
    names = ["on_time", "late_30h", "partial", "loop_in_row_means"]
    course = small_class(tmp_path, names)
    command = [sys.executable, "-m", "autograder.cli", "--course", str(course.root), "grade", ASSIGNMENT,
               "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(course.results.glob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem: p.stat().st_mtime_ns for p in course.results.glob("*.json")}
    assert 2 <= len(finished) < len(names), "the run should have been killed part way"

    grade_assignment(course, BatchOptions(workers=1, device="cpu", progress=False))
    after = {p.stem: p.stat().st_mtime_ns for p in course.results.glob("*.json")}
    assert set(after) == set(names)
    assert all(after[name] == mtime for name, mtime in finished.items()), "finished students were regraded"
    rows = read_grades(course)
    assert {n: rows[n]["raw_score"] for n in names} == {"on_time": "7.0", "late_30h": "7.0", "partial": "4.0",
                                                          "loop_in_row_means": "4.0"}
    assert not (course.reports / "work").exists()

    resubmitted = build_class(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT)["on_time"]
    resubmitted.timestamp = "2025-04-27 01:00:00"
    hand_in(course, {"partial": resubmitted})
    before = {p.stem: p.stat().st_mtime_ns for p in course.results.glob("*.json")}
    grade_assignment(course, BatchOptions(workers=1, device="cpu", progress=False))
    changed = {p.stem for p in course.results.glob("*.json") if p.stat().st_mtime_ns != before[p.stem]}
    assert changed == {"partial"}, "only the resubmission is graded again"
    row = read_grades(course)["partial"]
    assert (row["raw_score"], row["late_penalty_pct"], row["final_score"]) == ("7.0", "15.0", "5.95")


def test_manual_grades_count_and_the_late_penalty_applies_to_them(tmp_path):
    course = small_class(tmp_path, ["late_30h", "on_time"])
    grade_assignment(course, BatchOptions(workers=1, device="cpu", progress=False))
    assert read_grades(course)["late_30h"]["raw_score"] == "7.0"
    with Gradebook(course.db_url) as gradebook:
        grade = gradebook.find_grade("why_vectorize", "tiny", ASSIGNMENT, "late_30h")
        grade.manual_score = 1.0
        gradebook.db.commit()
    build_reports(course)
    row = read_grades(course)["late_30h"]
    assert (row["raw_score"], row["late_penalty_pct"], row["final_score"]) == ("8.0", "30.0", "5.6")
    with Gradebook(course.db_url) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "late_30h")
        assert submission.late_submission_penalty == pytest.approx(8.0 * 0.30)
    assert load_results(course)["late_30h"].status == "graded"


def test_plain_nbgrader_autograde_applies_the_same_policy(tmp_path):
    names = ["on_time", "late_10h_nbgrader_offset", "late_30h", "late_49h", "late_cst_as_nbgrader_writes",
             "loop_in_row_means"]
    course = small_class(tmp_path, names)
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", ASSIGNMENT,
                           "--force"], cwd=course.root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = {"on_time": 0, "late_10h_nbgrader_offset": 15, "late_30h": 30, "late_49h": 100,
                "late_cst_as_nbgrader_writes": 15, "loop_in_row_means": 0}
    with Gradebook(course.db_url) as gradebook:
        for name, percent in expected.items():
            submission = gradebook.find_submission(ASSIGNMENT, name)
            assert submission.late_submission_penalty == pytest.approx(submission.score * percent / 100), name
        assert gradebook.find_submission(ASSIGNMENT, "loop_in_row_means").score == pytest.approx(4.0)
