"""Grading throughput: plain `nbgrader autograde` against `autograder grade`, on the same submissions.

    python bench/grading.py [--students 4] [--workers 2] [--sizes 2,4,8] [--device cpu]

Builds a scratch course from this repository's configuration and source notebooks, hands in N
full-marks submissions made from the release (the instructor's solutions), then times, each on a
fresh copy of that class:

- `nbgrader autograde assignment2 --force` (nbgrader alone, one student after the other, with the
  course's configuration: the same pipeline, sandbox and limits);
- `autograder grade assignment2 --workers W` (feedback and reports included).

Prints one table: seconds per submission for each and the ratio; with --sizes, how the time of
`autograder grade` grows with the class size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.demo import Student  # noqa: E402
from autograder.release import generate_release  # noqa: E402

ASSIGNMENT = "assignment2"


def make_class(folder: Path, students: int) -> Path:
    """A course directory with `students` full-marks submissions, released and ready to grade."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / ASSIGNMENT, folder / "source" / ASSIGNMENT)
    generate_release(folder, ASSIGNMENT)
    student = Student(folder / "release" / ASSIGNMENT, folder / "source" / ASSIGNMENT, timestamp="2025-04-26 20:00:00")
    for index in range(students):
        student.solved().write(folder / "submitted" / f"student{index:03d}" / ASSIGNMENT)
    return folder


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", default="", help="comma-separated class sizes for the scaling table")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", COURSE_DEVICE=args.device)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        template = make_class(Path(scratch) / "template", args.students)

        def fresh(name: str) -> Path:
            copy = Path(scratch) / name
            shutil.copytree(template, copy)
            return copy

        plain = timed([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT, "--force"], fresh("plain"), env)
        ours = timed([str(bin_dir / "autograder"), "grade", ASSIGNMENT, "--workers", str(args.workers), "--force",
                      "--quiet", "--device", args.device], fresh("ours"), env)
        n = args.students
        print(f"{os.cpu_count()} CPUs, device {args.device}, {n} full-marks submissions (both notebooks each)")
        print(f"{'command':<52} {'total s':>8} {'s/submission':>13}")
        print(f"{'nbgrader autograde (sequential)':<52} {plain:8.1f} {plain / n:13.1f}")
        label = f"autograder grade --workers {args.workers} (with reports)"
        print(f"{label:<52} {ours:8.1f} {ours / n:13.1f}")
        print(f"speed-up: {plain / ours:.2f}x")
        if args.sizes:
            print(f"\nclass size -> autograder grade --workers {args.workers}")
            print(f"{'students':>8} {'total s':>8} {'s/submission':>13}")
            for size in (int(s) for s in args.sizes.split(",")):
                folder = make_class(Path(scratch) / f"size{size}", size)
                seconds = timed([str(bin_dir / "autograder"), "grade", ASSIGNMENT, "--workers", str(args.workers),
                                 "--quiet", "--device", args.device], folder, env)
                print(f"{size:8d} {seconds:8.1f} {seconds / size:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
