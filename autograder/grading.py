"""Grading one student's submission: stage it, execute it (anywhere), save its grades (one place).

    stage_submission  -> a private, validated copy of what the student handed in
    execute_submission -> nbgrader's sanitize + execute steps on that copy (a worker process)
    save_submission    -> nbgrader's grade-writing steps into the class gradebook (the parent)

Nothing here raises for a bad submission: each problem becomes a reason in the student's result.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from .cells import grade_id
from .config import CoursePolicy, load_config
from .converters import CourseDirectoryWithTimestamps, ExecuteSubmission, SaveSubmission

log = logging.getLogger(__name__)

TIMESTAMP = "timestamp.txt"


@dataclass
class GradingJob:
    """Everything a worker needs to execute one submission; plain data, so it can travel."""

    course_root: str
    assignment: str
    student: str
    notebooks: dict[str, list[str]]  # the assignment's notebook names (no .ipynb) -> their grade ids
    snapshot: str  # a read-only copy of the gradebook
    work_dir: str  # private, removed when the job is saved
    device: str = "cpu"
    cell_timeout: int | None = None


@dataclass
class Staging:
    """What the submission folder held, once checked."""

    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    repaired: dict[str, str] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # expected name -> the file that looks like it


@dataclass
class Execution:
    """What a worker reports back about one submission."""

    student: str
    staging: Staging
    events: dict[str, list] = field(default_factory=dict)
    loop_violations: dict[str, dict] = field(default_factory=dict)
    crash: str = ""  # the grader itself failed on this submission
    seconds: float = 0.0
    work_dir: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Execution:
        return cls(**{**data, "staging": Staging(**data["staging"])})


def submission_dir(course_root: Path, assignment: str, student: str) -> Path:
    return course_root / "submitted" / student / assignment


def fingerprint(folder: Path) -> str:
    """A hash of every file handed in, so a resubmission is graded again on resume."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def stage_submission(source: Path, target: Path, expected: dict[str, list[str]]) -> Staging:
    """Copy the gradable files of `source` into `target`, repairing what nbformat can repair.

    `expected` maps each notebook name to its grade ids, which identify a renamed notebook.
    """
    staging = Staging()
    target.mkdir(parents=True, exist_ok=True)
    found = {p.name: p for p in source.iterdir()} if source.is_dir() else {}
    for name in expected:
        path = found.pop(f"{name}.ipynb", None)
        if path is None:
            staging.missing.append(name)
            continue
        notebook, problem, repair = read_notebook(path)
        if notebook is None:
            staging.unreadable[name] = problem
            continue
        if repair:
            staging.repaired[name] = repair
        nbformat.write(notebook, target / path.name)
        staging.present.append(name)
    if TIMESTAMP in found:
        shutil.copyfile(found.pop(TIMESTAMP), target / TIMESTAMP)
    staging.strays = sorted(found)
    for name in staging.missing:
        for stray, path in found.items():
            if stray.endswith(".ipynb") and _shares_grade_ids(path, set(expected[name])):
                staging.renamed[name] = stray
    return staging


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str, str]:
    """(notebook, problem, repair): None and why if it cannot be read; what was repaired if it was."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except UnicodeDecodeError:
        return None, "is not UTF-8 text", ""
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds for broken files
        return None, f"is not a valid notebook: {str(error).splitlines()[0][:200]}", ""
    try:
        nbformat.validate(notebook)
        return notebook, "", ""
    except nbformat.ValidationError as error:
        changes = nbformat.validator.normalize(notebook, repair_duplicate_cell_ids=True, strip_invalid_metadata=True)
        try:
            repaired = nbformat.from_dict(changes[1])
            nbformat.validate(repaired)
        except nbformat.ValidationError:
            return None, f"is not a valid notebook: {error.message[:200]}", ""
        return repaired, "", f"repaired: {error.message[:120]}"


def _shares_grade_ids(path: Path, grade_ids: set[str]) -> bool:
    """A stray notebook carrying most of the grade ids of a missing one is that notebook, renamed."""
    notebook, _, _ = read_notebook(path)
    if notebook is None or not grade_ids:
        return False
    found = {grade_id(c) for c in notebook.cells} & grade_ids
    return len(found) >= len(grade_ids) / 2


def execute_submission(job: GradingJob) -> dict:
    """Phase 1 (any process): stage and execute one submission privately; returns Execution as JSON."""
    started = time.monotonic()
    work = Path(job.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    root = Path(job.course_root)
    staged = work / "submitted" / job.student / job.assignment
    staging = stage_submission(submission_dir(root, job.assignment, job.student), staged, job.notebooks)
    result = Execution(job.student, staging, work_dir=str(work))
    shutil.copyfile(job.snapshot, work / "gradebook.db")
    os.environ["COURSE_DEVICE"] = job.device
    config = load_config(root)
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
    config.GuardedExecute.course_root = str(root)
    if job.cell_timeout:
        config.Execute.timeout = job.cell_timeout
    with log_to(work / "grading.log"):
        try:
            if staging.present:
                coursedir = CourseDirectoryWithTimestamps(config=config)
                coursedir.assignment_id, coursedir.student_id = job.assignment, job.student
                converter = ExecuteSubmission(coursedir=coursedir, config=config)
                converter.force = True
                converter.start()
                result.events = dict(converter.notebook_events)
                result.loop_violations = converter.loop_violations
        except Exception:  # noqa: BLE001 - a grader failure is this student's error, not the batch's
            result.crash = traceback.format_exc(limit=8)
            log.error("grading %s failed:\n%s", job.student, result.crash)
    result.seconds = time.monotonic() - started
    return result.to_json()


def save_submission(course_root: Path, assignment: str, execution: Execution) -> None:
    """Phase 2 (the gradebook's owner): copy executed notebooks into autograded/ and save grades."""
    work = Path(execution.work_dir)
    executed = work / "autograded" / execution.student / assignment
    destination = course_root / "autograded" / execution.student / assignment
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    for path in sorted(executed.glob("*")) if executed.is_dir() else []:
        if path.is_file():
            shutil.copyfile(path, destination / path.name)
    saved = sorted(p.stem for p in destination.glob("*.ipynb"))
    unreadable = set(execution.staging.unreadable) | (set(execution.staging.present) - set(saved))
    config = load_config(course_root)
    coursedir = CourseDirectoryWithTimestamps(config=config)
    coursedir.assignment_id, coursedir.student_id = assignment, execution.student
    saver = SaveSubmission(unreadable=tuple(sorted(unreadable)), coursedir=coursedir, config=config)
    saver.force = True
    if saved or unreadable or execution.staging.missing:
        with log_to(work / "grading.log"):
            saver.start()


def snapshot_gradebook(db_path: Path, target: Path) -> None:
    """A consistent copy of the gradebook for workers to read (SQLite's online backup)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(db_path)) as source, contextlib.closing(sqlite3.connect(target)) as copy:
        source.backup(copy)


def assignment_notebooks(db_url: str, assignment: str) -> dict[str, list[str]]:
    """Each notebook of the assignment with the grade ids of its cells, from the gradebook."""
    with Gradebook(db_url) as gradebook:
        return {
            n.name: sorted(c.name for c in n.source_cells)
            for n in gradebook.find_assignment(assignment).notebooks
        }


@contextlib.contextmanager
def log_to(path: Path):
    """Send nbgrader's log (traitlets' 'traitlets' logger and ours) to a per-student file."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("traitlets", "NbGrader", "autograder")]
    saved = [(logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate, logger.level = propagate, level
        handler.close()


def course_policy(course_root: Path) -> CoursePolicy:
    return CoursePolicy(config=load_config(course_root))
