"""On a machine with a GPU: notebooks graded on CUDA get the same scores as on the CPU."""

import pytest

from autograder.batch import BatchOptions, grade_assignment, resolve_devices
from tests.autograder.classroom import ASSIGNMENT, build_class
from tests.autograder.conftest import hand_in, read_grades, released_course

pytestmark = [pytest.mark.needs_cuda, pytest.mark.slow]
STUDENTS = ["on_time", "partial", "loop_in_row_means", "hidden_loop", "late_30h"]


def test_cuda_and_cpu_scores_are_equal(tmp_path):
    grades = {}
    for device in ("cpu", "cuda"):
        course = released_course(tmp_path / device)
        everyone = build_class(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT)
        hand_in(course, {name: everyone[name] for name in STUDENTS})
        grade_assignment(course, BatchOptions(workers=2, device=device, progress=False))
        grades[device] = read_grades(course)
    assert grades["cuda"] == grades["cpu"]
    assert resolve_devices("cuda")[0].startswith("cuda:")
