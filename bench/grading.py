"""Grading throughput: plain `nbgrader autograde` against `autograder grade`, on the same submissions.

    python bench/grading.py [--students 4] [--workers 2] [--repeat 1] [--sizes 2,4,8] [--device cpu]
    python bench/grading.py --table 1,2,4,16,64 [--tiny-from 64] [--workers 2]

Builds a scratch course from this repository's configuration and source notebooks, hands in N
full-marks submissions made from the release (the instructor's solutions), then times, each on a
fresh copy of that class:

- `nbgrader autograde assignment2 --force` with nbgrader's own preprocessors (a fresh kernel per
  notebook, no sandbox, no loop or integrity checks) and the course's late policy and timeouts:
  what an instructor runs without this package;
- `nbgrader autograde assignment2 --force` with the course's configuration: the same pipeline,
  sandbox, warm kernels and limits as ours, one student after the other;
- `autograder grade assignment2 --workers W` (feedback and reports included).

With --repeat R the three commands run R times in turn, each on its own fresh copy, and the table
shows medians and every round, so that a change of the machine's speed during the run hits all three.

Prints one table: seconds per submission for each and the ratio; then where the time of one
submission goes in each (from the cell timings nbclient records in the autograded notebooks:
the setup cell's imports, the student's solution cells, the test cells, the demos, and what is
left outside the cells: kernel start, nbgrader's steps, feedback and reports); with --sizes, how
the time of `autograder grade` grows with the class size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from autograder.demo import Student  # noqa: E402
from autograder.release import generate_release  # noqa: E402

ASSIGNMENT = "assignment2"


def make_class(folder: Path, students: int, assignment: str = ASSIGNMENT, mix: str = "full") -> Path:
    """A course directory with `students` submissions, released and ready to grade: this course's
    assignment2, or the test suite's tiny course (`tiny`: two small notebooks); all full marks, or
    (`mix="fast"`) cycling through the fast cases of the demo's table of test cases."""
    if assignment == ASSIGNMENT:
        folder.mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
        shutil.copytree(ROOT / "source" / ASSIGNMENT, folder / "source" / ASSIGNMENT)
        stamp = "2025-04-26 20:00:00"
    else:
        from tests.autograder.classroom import ON_TIME, make_course

        make_course(folder)
        stamp = ON_TIME
    generate_release(folder, assignment)
    if mix == "fast":
        from autograder.config import CoursePolicy, load_config
        from autograder.demo import FAST_CASES, demo_cases

        due = CoursePolicy(config=load_config(folder)).due_date(assignment)
        cases = demo_cases(folder / "release" / assignment, folder / "source" / assignment, due)
        names = [name for name in FAST_CASES if name in cases]
        for index in range(students):
            cases[names[index % len(names)]][0].write(folder / "submitted" / f"student{index:03d}" / assignment)
        return folder
    student = Student(folder / "release" / assignment, folder / "source" / assignment, timestamp=stamp)
    for index in range(students):
        student.solved().write(folder / "submitted" / f"student{index:03d}" / assignment)
    return folder


# nbgrader 0.9.6's default preprocessor chains, appended to a scratch copy of the course configuration.
STOCK_NBGRADER = """
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec", "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
"""


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


CELL_KINDS = ("setup (imports)", "solutions", "tests", "demos")


def cell_kind(cell) -> str:
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("grade_id") == "setup":
        return CELL_KINDS[0]
    if nbgrader.get("solution"):
        return CELL_KINDS[1]
    if nbgrader.get("grade"):
        return CELL_KINDS[2]
    return CELL_KINDS[3]


def cell_seconds(cell) -> float:
    """How long the kernel was busy with a cell, from the timestamps nbclient records."""
    timing = cell.metadata.get("execution", {})
    try:
        busy, idle = (dt.datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                      for key in ("iopub.status.busy", "iopub.status.idle"))
    except KeyError:
        return 0.0
    return (idle - busy).total_seconds()


def time_in_cells(course: Path) -> dict[str, float]:
    """Seconds per submission (both notebooks) in each kind of cell, averaged over the graded students."""
    totals = dict.fromkeys(CELL_KINDS, 0.0)
    students = [p for p in (course / "autograded").iterdir() if p.is_dir()]
    for student in students:
        for path in (student / ASSIGNMENT).glob("*.ipynb"):
            for cell in nbformat.read(path, 4).cells:
                if cell.cell_type == "code":
                    totals[cell_kind(cell)] += cell_seconds(cell)
    return {kind: seconds / max(1, len(students)) for kind, seconds in totals.items()}


def execution_seconds(course: Path) -> float:
    """Mean seconds a worker spent on one student (`autograder grade` records it per student)."""
    results = list((course / "reports" / ASSIGNMENT / "results").glob("*.json"))
    return sum(json.loads(p.read_text())["seconds"] for p in results) / max(1, len(results))


def print_breakdown(plain: Path, plain_per_submission: float, ours: Path) -> None:
    columns = [("nbgrader autograde", time_in_cells(plain), plain_per_submission),
               ("autograder grade (one worker's view)", time_in_cells(ours), execution_seconds(ours))]
    print("\nwhere one submission's time goes (s, both notebooks)")
    print(f"{'':<22}" + "".join(f"{name:>40}" for name, _, _ in columns))
    for kind in CELL_KINDS:
        print(f"{kind:<22}" + "".join(f"{cells[kind]:40.1f}" for _, cells, _ in columns))
    outside = [total - sum(cells.values()) for _, cells, total in columns]
    print(f"{'outside the cells':<22}" + "".join(f"{seconds:40.1f}" for seconds in outside))
    print(f"{'total':<22}" + "".join(f"{total:40.1f}" for _, _, total in columns))


def commands_for(assignment: str, workers: int, device: str) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    return {
        "stock": [str(bin_dir / "nbgrader"), "autograde", assignment, "--force"],
        "plain": [str(bin_dir / "nbgrader"), "autograde", assignment, "--force"],
        "ours": [str(bin_dir / "autograder"), "grade", assignment, "--workers", str(workers), "--force",
                 "--quiet", "--device", device],
    }


def stock_copy(template: Path, folder: Path) -> Path:
    """A copy of a class whose configuration grades with nbgrader's own preprocessors."""
    shutil.copytree(template, folder)
    with (folder / "nbgrader_config.py").open("a") as config:
        config.write(STOCK_NBGRADER)
    return folder


def size_table(sizes: list[int], tiny_from: int, workers: int, device: str, env: dict, scratch: Path,
               mix: str = "full") -> None:
    """At each class size, one run of plain nbgrader (its defaults) and one of ours on copies of the same
    class, in turn; classes of `tiny_from` students and more are of the tiny course."""
    print(f"\nclass size: plain `nbgrader autograde` (nbgrader's defaults) against `autograder grade "
          f"--workers {workers}` (feedback and reports included), one run each, {os.cpu_count()} CPUs")
    print(f"{'students':>8} {'course':>12} {'nbgrader s':>11} {'ours s':>8} {'ours s/student':>15} {'ratio':>7}")
    for size in sizes:
        assignment = "tiny" if size >= tiny_from else ASSIGNMENT
        template = make_class(scratch / f"table{size}", size, assignment, mix)
        commands = commands_for(assignment, workers, device)
        plain = timed(commands["stock"], stock_copy(template, scratch / f"table{size}-nbgrader"), env)
        shutil.copytree(template, scratch / f"table{size}-ours")
        ours = timed(commands["ours"], scratch / f"table{size}-ours", env)
        print(f"{size:8d} {assignment:>12} {plain:11.1f} {ours:8.1f} {ours / size:15.2f} {plain / ours:6.2f}x",
              flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three commands, in turn (medians)")
    parser.add_argument("--sizes", default="", help="comma-separated class sizes for the scaling table")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--table", default="", help="comma-separated class sizes: plain nbgrader against ours "
                        "at each, one run each (e.g. 1,2,4,16,64); nothing else is measured")
    parser.add_argument("--mix", default="full", choices=("full", "fast"),
                        help="with --table: full-marks submissions, or the fast cases of the demo's table in turn")
    parser.add_argument("--tiny-from", type=int, default=64,
                        help="with --table, classes of this many students or more are of the tiny test course")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", COURSE_DEVICE=args.device)
    commands = commands_for(ASSIGNMENT, args.workers, args.device)
    if args.table:
        with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
            size_table([int(s) for s in args.table.split(",")], args.tiny_from, args.workers, args.device, env,
                       Path(scratch), args.mix)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        template = make_class(Path(scratch) / "template", args.students)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        courses: dict[str, Path] = {}
        for round_ in range(args.repeat):
            for name, command in commands.items():  # in turn, so a drift of the machine's speed hits all three
                course = Path(scratch) / f"{name}{round_}"
                if name == "stock":
                    stock_copy(template, course)
                else:
                    shutil.copytree(template, course)
                seconds[name].append(timed(command, course, env))
                courses[name] = course
        n = args.students
        medians = {name: median(values) for name, values in seconds.items()}
        stock, plain, ours = medians.values()
        print(f"{os.cpu_count()} CPUs, device {args.device}, {n} full-marks submissions (both notebooks each), "
              f"median of {args.repeat} round(s) of the three commands in turn")
        print(f"{'command':<52} {'total s':>8} {'s/submission':>13}  each round's total s")
        rows = [("nbgrader autograde, nbgrader defaults", "stock"),
                ("nbgrader autograde, course config (sequential)", "plain"),
                (f"autograder grade --workers {args.workers} (with reports)", "ours")]
        for label, name in rows:
            each = ", ".join(f"{value:.1f}" for value in seconds[name])
            print(f"{label:<52} {medians[name]:8.1f} {medians[name] / n:13.1f}  {each}")
        ratios = [a / b for a, b in zip(seconds["stock"], seconds["ours"], strict=True)]
        print(f"speed-up: {stock / ours:.2f}x over nbgrader's defaults (each round: "
              f"{', '.join(f'{r:.2f}x' for r in ratios)}), {plain / ours:.2f}x over the course config")
        print_breakdown(courses["plain"], plain / n, courses["ours"])
        if args.sizes:
            print(f"\nclass size -> autograder grade --workers {args.workers}")
            print(f"{'students':>8} {'total s':>8} {'s/submission':>13}")
            for size in (int(s) for s in args.sizes.split(",")):
                folder = make_class(Path(scratch) / f"size{size}", size)
                elapsed = timed(commands["ours"], folder, env)
                print(f"{size:8d} {elapsed:8.1f} {elapsed / size:13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
