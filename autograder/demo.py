"""A demo class for an assignment: real submissions made from the release, one per kind of outcome.

`autograder demo ASSIGNMENT --into DIR` copies the course's configuration, source and release into
DIR, hands in a submission for each demo student and records the outcome each must get, so that
grading the demo class shows (and tests) the whole pipeline: full marks, a partial answer, every
late tier, a loop in a NO LOOPS function, a hanging and a crashing notebook, a broken file,
tampering with the tests, and a student who handed in nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from .cells import cell_with_id, grade_id, is_graded
from .config import CONFIG_FILE, CoursePolicy, load_config
from .declarations import read_declaration
from .release import generate_release

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)[ \t]*### END SOLUTION", re.S)
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\n", re.M)
# A stub nbgrader leaves in place of one solution region, at that region's indentation.
STUB_AT = re.compile(r"^([ \t]*)# YOUR CODE HERE\n\1raise NotImplementedError\(\)", re.M)


@dataclass
class Submission:
    """One student's hand-in: notebooks (or raw bytes), extra files, and the timestamp text."""

    notebooks: dict[str, nbformat.NotebookNode | bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.notebooks.items():
            if isinstance(content, bytes):
                (folder / name).write_bytes(content)
            else:
                nbformat.write(content, folder / name)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        if self.timestamp is not None:
            (folder / "timestamp.txt").write_text(self.timestamp + "\n")


class Student:
    """Makes submissions from the release notebooks, solving stubs with the instructor's solutions."""

    def __init__(self, release_dir: Path, source_dir: Path, timestamp: str | None = None):
        self.release = {p.name: nbformat.read(p, 4) for p in sorted(release_dir.glob("*.ipynb"))}
        self.source = {p.name: nbformat.read(p, 4) for p in sorted(source_dir.glob("*.ipynb"))}
        self.answers = {  # every solution region of a cell, in order (a class has one per method)
            grade_id(cell): regions
            for notebook in self.source.values()
            for cell in notebook.cells
            if (regions := SOLUTION.findall(cell.source))
        }
        self.timestamp = timestamp

    def solved(self) -> Submission:
        """Every stub replaced by the instructor's solution (a full-marks submission)."""
        submission = Submission({n: copy.deepcopy(nb) for n, nb in self.release.items()}, timestamp=self.timestamp)
        for notebook in submission.notebooks.values():
            for cell in notebook.cells:
                answers = self.answers.get(grade_id(cell))
                if answers is None:
                    continue
                if cell.cell_type == "markdown":
                    cell.source = answers[0]
                    continue
                cell.source = _fill_stubs(cell.source, answers)
        return submission


def _fill_stubs(source: str, answers: list[str]) -> str:
    """Replace the stubs of a cell, in order, by the solution regions of its source cell."""
    regions = iter(answers)
    return STUB_AT.sub(lambda _: next(regions).rstrip("\n"), source)


def replace_cell(submission: Submission, notebook: str, grade: str, code: str) -> None:
    _, cell = cell_with_id(submission.notebooks[notebook], grade)
    cell.source = code


def add_cell_after(submission: Submission, notebook: str, grade: str, code: str) -> None:
    nb = submission.notebooks[notebook]
    index, _ = cell_with_id(nb, grade)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))


def inject_loop(source: str, function: str) -> str:
    """Put a `for` loop at the top of a function's solution region, at the region's indentation."""
    pattern = re.compile(rf"(def {re.escape(function.split('.')[-1])}\(.*?\n)([ \t]*)### BEGIN SOLUTION\n", re.S)
    mutated, count = pattern.subn(
        lambda m: f"{m.group(1)}{m.group(2)}### BEGIN SOLUTION\n{m.group(2)}for _ in range(1):\n{m.group(2)}    pass\n",
        source, count=1,
    )
    if count != 1:
        raise ValueError(f"no solution region found for {function}")
    return mutated


@dataclass(frozen=True)
class Outcome:
    """The row grading must give a submission: the one table entry type of `autograder demo`, the test
    classes (tests/autograder/classroom.py, redteam.py) and the benchmarks."""

    status: str
    raw: float  # automatic points earned (written answers are graded by hand later)
    penalty: float | str = 0.0  # late penalty percent, "" when none can be computed
    loops: str = ""  # the loop_violations column
    flags: tuple[str, ...] = ()  # substrings the flags column must contain (none: no flag at all)
    reasons: tuple[str, ...] = ()  # substrings that some reason must contain


def build_demo(course_root: Path, assignment: str, target: Path, cell_timeout: int = 60) -> dict[str, Outcome]:
    """Create the demo course in `target` and return each demo student's expected outcome."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    config = (course_root / CONFIG_FILE).read_text()
    config += f"\n# Demo class: hanging notebooks are stopped sooner.\nc.Execute.timeout = {cell_timeout}\n"
    (target / CONFIG_FILE).write_text(config)
    shutil.copytree(course_root / "source" / assignment, target / "source" / assignment)
    generate_release(target, assignment)
    due = CoursePolicy(config=load_config(target)).due_date(assignment)
    if due is None:
        raise ValueError(f"the demo class needs a due date for {assignment} in CoursePolicy.due_dates")
    students = demo_cases(target / "release" / assignment, target / "source" / assignment, due)
    for name, (submission, _) in students.items():
        submission.write(target / "submitted" / name / assignment)
    with Gradebook(f"sqlite:///{target / 'gradebook.db'}") as gradebook:
        gradebook.add_student("no_submission")
    outcomes = {name: outcome for name, (_, outcome) in students.items()}
    outcomes["no_submission"] = Outcome("missing", 0.0)
    (target / "demo_expected.json").write_text(json.dumps({k: asdict(v) for k, v in outcomes.items()}, indent=1))
    return outcomes


# The cases of the table that cost no time limit or kernel restart: benchmarks may cycle through them.
FAST_CASES = ("full_marks", "late_20h", "late_30h", "late_50h", "partial", "looped", "malformed", "tampering")


def demo_cases(release_dir: Path, source_dir: Path, due: dt.datetime) -> dict[str, tuple[Submission, Outcome]]:
    """The table of test cases for any assignment, made from its release and its instructor's solutions:
    each case a submission and the row grading must give it (`autograder demo`, its test, the benchmarks)."""

    def stamp(hours: float) -> str:
        return (due + dt.timedelta(hours=hours)).isoformat(sep=" ")

    student = Student(release_dir, source_dir, timestamp=stamp(-1))
    first = sorted(student.release)[0]
    full = sum(_points(nb) for nb in student.source.values())
    students: dict[str, tuple[Submission, Outcome]] = {}
    students["full_marks"] = (student.solved(), Outcome("graded", full))

    for hours, percent in ((20, 15.0), (30, 30.0), (50, 100.0)):
        late = student.solved()
        late.timestamp = stamp(hours)
        students[f"late_{hours}h"] = (late, Outcome("graded", full, penalty=percent))

    partial = student.solved()
    last = _last_solution_id(student.source[first])
    replace_cell(partial, first, last, cell_with_id(student.release[first], last)[1].source)  # the stub again
    students["partial"] = (partial, Outcome("graded", full - _tests_after(student.source[first], last)))

    declared = read_declaration(student.source[first])
    if declared:
        function = declared[0]
        looped = student.solved()
        defines = re.compile(rf"^(def|class) {function.name.split('.')[0]}\b", re.M)
        source_cell = next(c for c in student.source[first].cells if c.cell_type == "code" and defines.search(c.source))
        replace_cell(looped, first, grade_id(source_cell),
                     SOLUTION_MARKERS.sub("", inject_loop(source_cell.source, function.name)))
        students["looped"] = (looped, Outcome(
            "graded", full - _points(student.source[first], function.guards),
            loops=f"{first.removesuffix('.ipynb')}.{function.name}"))

    hanging = student.solved()
    add_cell_after(hanging, first, last, "while True:\n    pass\n")
    students["hanging"] = (hanging, Outcome("timeout", full, reasons=("was interrupted",)))

    crashing = student.solved()
    add_cell_after(crashing, first, last, "import os\nos._exit(1)\n")
    students["crashing"] = (crashing, Outcome("error", full, reasons=("kernel died",), flags=("uses os._exit",)))

    malformed = student.solved()
    malformed.notebooks[first] = b'{"cells": [{"cell_type": "code", "source": '
    students["malformed"] = (malformed, Outcome("error", full - _points(student.source[first]),
                                                    reasons=("is not a valid notebook",)))

    tampering = student.solved()
    add_cell_after(tampering, first, last, "assert_close = lambda *args, **kwargs: None\n")
    students["tampering"] = (tampering, Outcome("graded", full, flags=("rebinds `assert_close`",)))

    return students


def _points(notebook: nbformat.NotebookNode, only: tuple[str, ...] | None = None) -> float:
    """Automatic points of a notebook's test cells (or of the listed ones)."""
    return float(sum(c.metadata["nbgrader"]["points"] for c in notebook.cells
                     if is_graded(c) and c.cell_type == "code" and (only is None or grade_id(c) in only)))


def _last_solution_id(notebook: nbformat.NotebookNode) -> str:
    """The last exercise of a notebook: no later exercise depends on it."""
    return [grade_id(c) for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")
            and c.cell_type == "code"][-1]


def _tests_after(notebook: nbformat.NotebookNode, solution: str) -> float:
    """Automatic points of the test cells between a solution cell and the next solution cell."""
    start, _ = cell_with_id(notebook, solution)
    points = 0.0
    for cell in notebook.cells[start + 1:]:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            break
        if meta.get("grade") and cell.cell_type == "code":
            points += meta["points"]
    return points


def outcome_mismatch(outcome: Outcome, row: dict | None, result) -> str:
    """'' when a grades.csv row (and the student's result) is what `outcome` says, else what differs."""
    if row is None:
        return "no row in grades.csv"
    problems = []
    if row["status"] != outcome.status:
        problems.append(f"status {row['status']} != {outcome.status}")
    if abs(float(row["raw_score"]) - outcome.raw) > 1e-6:
        problems.append(f"raw {row['raw_score']} != {outcome.raw}")
    if outcome.penalty == "":
        if row["late_penalty_pct"] != "" or row["final_score"] != "":
            problems.append(f"penalty {row['late_penalty_pct']!r} and final {row['final_score']!r}, expected none")
    elif row["late_penalty_pct"] == "" or abs(float(row["late_penalty_pct"]) - float(outcome.penalty)) > 1e-6:
        problems.append(f"penalty {row['late_penalty_pct']} != {outcome.penalty}")
    elif abs(float(row["final_score"]) - outcome.raw * (1 - float(outcome.penalty) / 100)) > 1e-6:
        problems.append(f"final {row['final_score']} is not raw less {outcome.penalty}%")
    if row["loop_violations"] != outcome.loops:
        problems.append(f"loops {row['loop_violations']!r} != {outcome.loops!r}")
    missing = [text for text in outcome.flags if text not in row["flags"]]
    if missing or (not outcome.flags and row["flags"]):
        problems.append(f"flags {row['flags']!r}, expected {list(outcome.flags) or 'none'}")
    reasons = result.reasons if result else []
    for text in outcome.reasons:
        if not any(text in reason for reason in reasons):
            problems.append(f"no reason mentions {text!r}")
    return "; ".join(problems)
