"""A class of many small submissions (the tiny course), graded end to end by the real command, with
what grows with the class measured: each student's execution, the cadence at which results are saved
(the gradebook's saves), the grader's memory, and the time of `autograder report` afterwards."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.demo import Student
from tests.autograder.classroom import ASSIGNMENT, ON_TIME
from tests.autograder.conftest import released_course


@dataclass
class ScaleRun:
    students: int
    seconds: float  # the whole `autograder grade`
    execution: list[float]  # each student's execution (their results' `seconds`), in the order saved
    save_gaps: list[float]  # seconds between consecutive saves of results
    peak_rss_mib: float  # the grading command's own process (not its workers)
    report_seconds: float  # `autograder report` on the graded class

    def fifths(self, values: list[float]) -> tuple[float, float]:
        """Median of the first and of the last fifth."""
        fifth = max(1, len(values) // 5)
        return statistics.median(values[:fifth]), statistics.median(values[-fifth:])


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def grade_a_class(folder: Path, students: int, workers: int = 2) -> ScaleRun:
    course = released_course(folder)
    student = Student(course.root / "release" / ASSIGNMENT, course.root / "source" / ASSIGNMENT, timestamp=ON_TIME)
    solved = student.solved()
    for index in range(students):
        solved.write(course.submission(f"s{index:04d}"))
    command = [sys.executable, "-m", "autograder", "--course", str(course.root), "grade", ASSIGNMENT,
               "--workers", str(workers), "--device", "cpu", "--quiet"]
    started = time.monotonic()
    grader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def watch():
        while grader.poll() is None:
            peak[0] = max(peak[0], rss_mib(grader.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    output, _ = grader.communicate(timeout=3600)
    seconds = time.monotonic() - started
    watcher.join()
    assert grader.returncode == 0, output[-3000:]
    saved = sorted((path.stat().st_mtime, json.loads(path.read_text())) for path in course.results.glob("*.json"))
    assert len(saved) == students and all(r["status"] == "graded" for _, r in saved), output[-3000:]
    started = time.monotonic()
    report = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course.root), "report", ASSIGNMENT],
                            capture_output=True, text=True, timeout=1800)
    report_seconds = time.monotonic() - started
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    return ScaleRun(students, seconds, [r["seconds"] for _, r in saved],
                    [b[0] - a[0] for a, b in zip(saved, saved[1:], strict=False)], peak[0], report_seconds)
