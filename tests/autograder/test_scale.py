"""A big class grades with a flat cost per student: the run's last students cost what its first did,
the grader's memory stays bounded, and the reports of the whole class rebuild in seconds. CI grades 40
students; the 500-student class is `-m scale` (bench/scale.py prints the table of docs/benchmarks.md)."""

import pytest

from tests.autograder.scale import grade_a_class

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("students", [40, pytest.param(500, marks=pytest.mark.scale)])
def test_a_class_grades_with_a_flat_cost_per_student(tmp_path, students):
    run = grade_a_class(tmp_path / "course", students)
    first, last = run.fifths(run.execution)
    assert last <= 1.5 * first + 0.5, f"a student's execution grew from {first:.2f} s to {last:.2f} s"
    first_gap, last_gap = run.fifths(run.save_gaps)
    assert last_gap <= 1.5 * first_gap + 0.5, f"saves slowed down: {first_gap:.2f} s apart, then {last_gap:.2f} s"
    assert run.peak_rss_mib < 600, f"the grading command used {run.peak_rss_mib:.0f} MiB"
    assert run.report_seconds < 30 + students * 0.05, f"report took {run.report_seconds:.1f} s"
