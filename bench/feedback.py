"""Feedback pages: nbconvert's HTMLExporter against the course's FeedbackHTMLExporter, same students.

    python bench/feedback.py [--students 2] [--repeat 3]

Grades a scratch class of full-marks submissions once (`autograder grade`), then writes every
student's feedback (both notebooks) with nbgrader's GenerateFeedback, in turn with each exporter,
`--repeat` times. Prints seconds per student (min / median / max over every student and round) and
checks that both exporters wrote the same document (compared through BeautifulSoup).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bs4 import BeautifulSoup  # noqa: E402
from grading import ASSIGNMENT, make_class  # noqa: E402
from nbconvert.exporters import HTMLExporter  # noqa: E402

from autograder.batch import Course  # noqa: E402
from autograder.exporters import FeedbackHTMLExporter  # noqa: E402
from autograder.report import generate_feedback  # noqa: E402

EXPORTERS = {"nbconvert HTMLExporter": HTMLExporter, "FeedbackHTMLExporter": FeedbackHTMLExporter}


def pages(course: Course, student: str) -> dict[str, str]:
    folder = course.root / "feedback" / student / ASSIGNMENT
    return {path.name: path.read_text() for path in sorted(folder.glob("*.html"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", COURSE_DEVICE="cpu")
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as scratch:
        root = make_class(Path(scratch) / "class", args.students)
        subprocess.run([str(bin_dir / "autograder"), "grade", ASSIGNMENT, "--workers", "1", "--quiet", "--device",
                        "cpu"], cwd=root, env=env, check=True, capture_output=True)
        course = Course(root, ASSIGNMENT)
        students = sorted(p.name for p in (root / "autograded").iterdir())
        seconds: dict[str, list[float]] = {name: [] for name in EXPORTERS}
        written: dict[str, dict[str, str]] = {}
        generate_feedback(course, students[:1])  # imports and templates, outside the timings
        for _ in range(args.repeat):
            for name, exporter in EXPORTERS.items():
                course.config.GenerateFeedback.exporter_class = exporter
                for student in students:
                    started = time.perf_counter()
                    failed = generate_feedback(course, [student])
                    seconds[name].append(time.perf_counter() - started)
                    if failed:
                        raise SystemExit(f"feedback for {student} failed with {name}")
                written[name] = pages(course, students[-1])
        print(f"{os.cpu_count()} CPUs, {len(students)} full-marks students (both notebooks each), {args.repeat} rounds")
        print(f"{'exporter':<24} {'min s':>7} {'median s':>9} {'max s':>7}  per student")
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        for name, values in seconds.items():
            print(f"{name:<24} {min(values):7.2f} {medians[name]:9.2f} {max(values):7.2f}")
        theirs, ours = written.values()
        same = theirs.keys() == ours.keys() and all(
            str(BeautifulSoup(ours[page], features="html.parser")) == theirs[page] for page in theirs)
        stock, ours_median = medians.values()
        print(f"speed-up {stock / ours_median:.1f}x; same documents: {'yes' if same else 'NO'}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
