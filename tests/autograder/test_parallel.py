"""The same class graded sequentially, by worker processes and on a local Dask cluster: equal grades."""

import datetime as dt
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from autograder.batch import BatchOptions, _from_future, grade_assignment, resolve_devices
from autograder.grading import GradingJob
from autograder.results import ERROR, classify
from tests.autograder.classroom import ASSIGNMENT, build_class
from tests.autograder.conftest import hand_in, read_grades, released_course

STUDENTS = ["on_time", "late_30h", "partial", "loop_in_row_means", "os_exit", "invalid_json"]


def graded(root, **options):
    course = released_course(root)
    everyone = build_class(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT)
    hand_in(course, {name: everyone[name] for name in STUDENTS})
    grade_assignment(course, BatchOptions(device="cpu", progress=False, **options))
    return read_grades(course)


@pytest.mark.slow
def test_sequential_parallel_and_dask_grades_are_equal(tmp_path):
    sequential = graded(tmp_path / "sequential", workers=1)
    parallel = graded(tmp_path / "parallel", workers=2)
    on_dask = graded(tmp_path / "dask", scheduler="local")
    assert set(sequential) == set(STUDENTS)
    assert parallel == sequential
    assert on_dask == sequential


def test_devices():
    assert resolve_devices("cpu") == ["cpu"]
    devices = resolve_devices("auto")
    assert devices == ["cpu"] or all(d.startswith("cuda:") for d in devices)


def test_a_dead_worker_is_the_students_error_not_a_missing_submission():
    future = Future()
    future.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    job = GradingJob("/course", ASSIGNMENT, "alice", {"tiny": ["a"]}, "/snapshot.db", "/work/alice")
    result = classify("alice", ASSIGNMENT, _from_future(future, job), None, "", dt.timezone.utc)
    assert result.status == ERROR
    assert result.reasons == ["the grader failed on this submission: the grading worker failed: BrokenProcessPool: "
                              "A process in the process pool was terminated abruptly"]
