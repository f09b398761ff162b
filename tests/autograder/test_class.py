"""The test class graded end to end: every way a submission can go gets its expected row."""

import csv

import nbformat
import pytest

from autograder.demo import outcome_mismatch
from autograder.report import COLUMNS
from tests.autograder.classroom import EXPECTED

pytestmark = pytest.mark.slow


def test_grades_csv_has_exactly_the_contract_columns(graded_class):
    with (graded_class.course.reports / "grades.csv").open() as handle:
        assert next(csv.reader(handle)) == COLUMNS
    assert set(graded_class.rows) == set(EXPECTED) | {"never_submitted"}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_student_gets_the_expected_outcome(graded_class, student):
    row, result = graded_class.rows[student], graded_class.results[student]
    assert float(row["max_score"]) == 8.0
    problem = outcome_mismatch(EXPECTED[student], row, result)
    assert not problem, f"{student}: {problem}\nrow {row}\nreasons {result.reasons}\nflags {result.flags}"


def test_a_student_without_submission_is_missing_with_zero(graded_class):
    row = graded_class.rows["never_submitted"]
    assert (row["status"], row["raw_score"], row["final_score"]) == ("missing", "0.0", "0.0")


def test_loop_violation_zeroes_exactly_the_guarded_cells_and_says_where(graded_class):
    result = graded_class.results["loop_in_row_means"]
    assert any("for loop at line 4 of `row_means`" in d for d in result.loop_details), result.loop_details
    notebook = nbformat.read(graded_class.course.root / "autograded" / "loop_in_row_means" / "tiny" / "tiny.ipynb", 4)
    errors = {c.metadata["nbgrader"]["grade_id"]: [o.ename for o in c.outputs if o.output_type == "error"]
              for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
              and c.cell_type == "code"}
    assert "LoopViolation" in errors["row_means_visible"] and "LoopViolation" in errors["row_means_hidden"]
    assert errors["add_visible"] == [] and errors["add_hidden"] == []
    hidden = graded_class.results["hidden_loop"].loop_details
    assert any("iterates over its input" in d for d in hidden), hidden


def test_feedback_names_failed_checks_without_hidden_test_text(graded_class):
    page = (graded_class.course.root / "feedback" / "partial" / "tiny" / "tiny.html").read_text()
    assert "row_means" in page and "AssertionError" in page
    assert "BEGIN HIDDEN TESTS" not in page and "default_rng(0)" not in page and "_x.mean(axis=1)" not in page
    looped = (graded_class.course.root / "feedback" / "loop_in_row_means" / "tiny" / "tiny.html").read_text()
    assert "NO LOOPS rule" in looped and "for i in range(x.shape[0]):" in looped


def test_summary_for_the_instructor(graded_class):
    reports = graded_class.course.reports
    assert (reports / "score_histogram.png").stat().st_size > 1000
    summary = (reports / "summary.md").read_text()
    assert "row_means_hidden" in summary and "missing" in summary
    with (reports / "exercise_means.csv").open() as handle:
        means = {row["grade_id"]: row for row in csv.DictReader(handle)}
    assert float(means["add_visible"]["mean_score"]) > 0.5


def test_sandbox_hides_the_course_and_the_network(graded_class):
    import shutil

    notebook = nbformat.read(graded_class.course.root / "autograded" / "sandbox_probe" / "tiny" / "tiny.ipynb", 4)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    if shutil.which("bwrap") is None:
        assert "unsandboxed" in graded_class.rows["sandbox_probe"]["flags"]
        pytest.skip("bubblewrap is not installed: the unconfined run is flagged, as required")
    assert "SANDBOX network: blocked" in text, text
    assert text.count(" hidden") == 4 and "VISIBLE" not in text, text
    assert "/scratch/scratch-" in text and "['timestamp.txt']" in text, text


def test_points_still_to_grade_by_hand_are_shown(graded_class):
    # tiny's written answer (1 point) waits for a grader in every submission that has it; nothing to grade
    # for a student who handed in nothing.
    assert graded_class.rows["on_time"]["needs_manual_grading"] == "1.0"
    assert graded_class.rows["never_submitted"]["needs_manual_grading"] == "0.0"


def test_report_remakes_only_the_feedback_that_a_manual_grade_changed(graded_class, tmp_path):
    import shutil

    from nbgrader.api import Gradebook

    from autograder.course import Course
    from autograder.report import build_reports

    root = tmp_path / "course"
    shutil.copytree(graded_class.course.root, root, symlinks=True)
    course = Course(root, "tiny")
    pages = {s: root / "feedback" / s / "tiny" / "tiny.html" for s in ("on_time", "partial")}
    made = {s: page.stat().st_mtime_ns for s, page in pages.items()}
    build_reports(course)
    assert {s: page.stat().st_mtime_ns for s, page in pages.items()} == made, "nothing changed: nothing remade"
    with Gradebook(course.db_url) as gradebook:
        answer = gradebook.find_grade("why_vectorize", "tiny", "tiny", "partial")
        answer.manual_score, answer.needs_manual_grade = 1.0, False  # as formgrader saves a grade
        gradebook.db.commit()
    build_reports(course)
    assert pages["partial"].stat().st_mtime_ns != made["partial"], "the graded answer's page is remade"
    assert pages["on_time"].stat().st_mtime_ns == made["on_time"]
    with (course.reports / "grades.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["student_id"] == "partial")
    assert (row["needs_manual_grading"], row["raw_score"]) == ("0.0", "5.0"), row
