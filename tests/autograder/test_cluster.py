"""Grading on a real Dask cluster: `dask scheduler` and two `dask worker` processes, each in a folder of
its own, talking over 127.0.0.1, driven by `autograder grade --scheduler tcp://...`. One worker is
killed while it grades: its student is graded again on the other worker (or reported), nobody is lost,
and the gradebook agrees with grades.csv."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.demo import Student
from tests.autograder.classroom import ASSIGNMENT, FULL_AUTO_SCORE, ON_TIME
from tests.autograder.conftest import released_course

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")
STUDENTS = [f"student{index}" for index in range(6)]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start(command: list[str], folder: Path, log: str) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(command, cwd=folder, stdout=(folder / log).open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def workers_of(address_file: Path) -> int:
    from distributed import Client

    with Client(scheduler_file=str(address_file), timeout=10) as client:
        return len(client.scheduler_info()["workers"])


def test_a_killed_worker_loses_no_student(tmp_path):
    course = released_course(tmp_path / "course")
    student = Student(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT, timestamp=ON_TIME)
    for name in STUDENTS:
        student.solved().write(course.submission(name))
    address_file = tmp_path / "scheduler" / "scheduler.json"
    processes = [start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(address_file)], tmp_path / "scheduler", "scheduler.log")]
    try:
        wait_for(address_file.exists, 60, "the scheduler")
        for index in (1, 2):
            folder = tmp_path / f"worker{index}"
            processes.append(start([str(DASK), "worker", "--scheduler-file", str(address_file), "--nthreads", "1",
                                    "--no-nanny", "--no-dashboard", "--local-directory", str(folder / "dask"),
                                    "--name", f"worker{index}"], folder, "worker.log"))
        wait_for(lambda: workers_of(address_file) == 2, 120, "two workers")
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--scheduler", address,
                                   "--quiet"], cwd=course.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        # Kill the first worker as soon as it is executing a submission (its work folder exists).
        victim = processes[1]
        wait_for(lambda: any(course.work.glob("student*/submitted")) and victim.poll() is None, 300,
                 "a submission to start")
        time.sleep(2)
        os.killpg(victim.pid, signal.SIGKILL)
        output, _ = grader.communicate(timeout=900)
        assert grader.returncode == 0, output
    finally:
        for process in reversed(processes):
            stop(process)
    with (course.reports / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == STUDENTS, output
    for name, row in rows.items():
        reasons = json.loads((course.results / f"{name}.json").read_text())["reasons"]
        lost = row["status"] == "error" and any("Dask task failed" in reason for reason in reasons)
        assert row["status"] == "graded" and float(row["raw_score"]) == FULL_AUTO_SCORE or lost, (name, row)
    with Gradebook(course.db_url) as gradebook:
        for name, row in rows.items():
            assert float(gradebook.find_submission(ASSIGNMENT, name).score) == float(row["raw_score"]), name
    assert victim.returncode is not None
