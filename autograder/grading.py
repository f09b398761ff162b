"""Grading one student's submission: stage it, execute it (anywhere), save its grades (one place).

    stage_submission  -> a private, validated copy of what the student handed in
    execute_submission -> nbgrader's sanitize + execute steps on that copy (a worker process)
    save_submission    -> nbgrader's grade-writing steps into the class gradebook (the parent)

Nothing here raises for a bad submission: each problem becomes a reason in the student's result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from .cells import grade_id
from .config import CoursePolicy, load_config
from .converters import CourseDirectoryWithTimestamps, ExecuteSubmission, SaveSubmission
from .files import UnsafeFile, entries, folder_problem, read_regular

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
    refused: dict[str, str] = field(default_factory=dict)  # file -> why it was not read (a link, a FIFO, ...)


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


def stage_submission(source: Path, target: Path, expected: dict[str, list[str]], course_root: Path,
                     handed_out: frozenset[str] = frozenset()) -> Staging:
    """Copy the gradable files of `source` into `target`, repairing what nbformat can repair.

    Only regular files are read: a link, FIFO, device or folder named like a notebook is refused with a
    reason, and so is a submission folder that is a link. `expected` maps each notebook name to its
    grade ids, which identify a renamed notebook.
    """
    staging = Staging()
    target.mkdir(parents=True, exist_ok=True)
    problem = folder_problem(source, course_root / "submitted") if source.exists() or source.is_symlink() else ""
    if problem:
        staging.refused["(submission folder)"] = problem
        staging.missing = list(expected)
        return staging
    found = entries(source) if source.is_dir() else {}
    for name in expected:
        entry = found.pop(f"{name}.ipynb", None)
        if entry is None:
            staging.missing.append(name)
            continue
        notebook, problem, repair = read_notebook(source / entry.name)
        if notebook is None:
            staging.unreadable[name] = problem
            continue
        if entry.links > 1:
            staging.refused[entry.name] = "is hard-linked to another file (graded, for review)"
        disowned = disown_unknown_cells(notebook, set(expected[name]))
        if disowned:
            repair = "; ".join(filter(None, [repair, f"{disowned} cell(s) with nbgrader metadata the assignment "
                                             "does not have: graded as your own cells"]))
        if repair:
            staging.repaired[name] = repair
        nbformat.write(notebook, target / entry.name)
        staging.present.append(name)
    stamp = found.pop(TIMESTAMP, None)
    if stamp is not None:
        try:
            (target / TIMESTAMP).write_bytes(read_regular(source / TIMESTAMP, 4096))
        except UnsafeFile as error:
            staging.refused[TIMESTAMP] = str(error)
    for name in handed_out:  # the release's own files (data, images): nbgrader puts the instructor's copy back
        found.pop(name, None)
    staging.strays = sorted(f"{n} ({e.kind})" if e.kind != "file" else n for n, e in found.items())
    for name in staging.missing:
        for stray, entry in found.items():
            if entry.kind == "file" and stray.endswith(".ipynb") and _shares_grade_ids(source / stray,
                                                                                          set(expected[name])):
                staging.renamed[name] = stray
    return staging


def disown_unknown_cells(notebook: nbformat.NotebookNode, known: set[str]) -> int:
    """Strip the nbgrader metadata of cells whose grade id the gradebook does not know (a cell dressed as
    locked or graded): they are the student's cells. Returns how many."""
    disowned = 0
    for cell in notebook.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" in meta and (not isinstance(meta["nbgrader"], dict) or meta["nbgrader"].get("grade_id")
                                   not in known):
            del meta["nbgrader"]
            disowned += 1
    return disowned


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str, str]:
    """(notebook, problem, repair): None and why if it cannot be read; what was repaired if it was."""
    try:
        notebook = nbformat.reads(read_regular(path).decode("utf-8"), as_version=4)
    except UnsafeFile as error:
        return None, str(error).removeprefix(f"{path.name} "), ""
    except UnicodeDecodeError:
        return None, "is not UTF-8 text", ""
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds for broken files
        return None, f"is not a valid notebook: {str(error).splitlines()[0][:200]}", ""
    try:
        nbformat.validate(notebook)
        return notebook, "", ""
    except nbformat.ValidationError as error:
        first = error.message
    repairs = repair_notebook(notebook)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return None, f"is not a valid notebook: {(error.message or first)[:200]}", ""
    return notebook, "", "repaired: " + "; ".join(repairs or [first[:120]])


def repair_notebook(notebook: nbformat.NotebookNode) -> list[str]:
    """Repair what editors commonly get wrong, in place: cell ids in a notebook older than nbformat 4.5
    (it is upgraded), missing or duplicate ids, metadata the schema rejects. Returns what was done."""
    repairs = []
    if any("id" in cell for cell in notebook.cells) and notebook.get("nbformat_minor", 0) < 5:
        repairs.append(f"cell ids in an nbformat 4.{notebook.get('nbformat_minor', 0)} notebook: upgraded to 4.5")
        notebook.nbformat_minor = 5
    if notebook.get("nbformat_minor", 0) >= 5:
        seen: set[str] = set()
        fixed = 0
        for cell in notebook.cells:
            cell_id = cell.get("id")
            if not isinstance(cell_id, str) or not _CELL_ID.fullmatch(cell_id) or cell_id in seen:
                fixed += 1
                cell_id = uuid.uuid4().hex[:12]
                cell["id"] = cell_id
            seen.add(cell_id)
        if fixed:
            repairs.append(f"{fixed} missing, duplicate or invalid cell id{'s' if fixed > 1 else ''} replaced")
    changes, repaired = nbformat.validator.normalize(notebook, strip_invalid_metadata=True)
    if changes:
        notebook.clear()
        notebook.update(nbformat.from_dict(repaired))
        repairs.append(f"{changes} metadata entr{'y' if changes == 1 else 'ies'} the schema rejects removed")
    return repairs


_CELL_ID = re.compile(r"[a-zA-Z0-9-_]{1,64}")


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
    config = load_config(root)
    handed_out = frozenset(relative.split(os.sep)[0] for relative in release_files(root, job.assignment, config))
    staging = stage_submission(submission_dir(root, job.assignment, job.student), staged, job.notebooks, root,
                               handed_out)
    result = Execution(job.student, staging, work_dir=str(work))
    shutil.copyfile(job.snapshot, work / "gradebook.db")
    os.environ["COURSE_DEVICE"] = job.device
    copy_release_files(root, work, job.assignment, config)  # nbgrader puts them next to the notebooks
    coursedir = CourseDirectory(config=config)  # the course's own, before it is pointed at the work folder
    handed_out = coursedir.format_path(coursedir.release_directory, ".", job.assignment)
    config.ScanIntegrity.handed_out = config.RedactHiddenTests.handed_out = handed_out
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
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
    for path in sorted(executed.rglob("*")) if executed.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            target = destination / path.relative_to(executed)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
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


def release_files(course_root: Path, assignment: str, config) -> list[str]:
    """The assignment's files besides notebooks (data, images, modules), relative to its source folder:
    what nbgrader copies from source/ next to every student's notebooks before grading them."""
    from nbgrader.utils import find_all_files

    source = course_root / "source" / assignment
    if not source.is_dir():
        return []
    ignore = list(config.CourseDirectory.get("ignore", [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]))
    return sorted(os.path.relpath(path, source) for path in find_all_files(str(source), ignore + ["*.ipynb"])
                  if not os.path.islink(path))


def copy_release_files(course_root: Path, work: Path, assignment: str, config) -> None:
    for relative in release_files(course_root, assignment, config):
        target = work / "source" / assignment / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course_root / "source" / assignment / relative, target)


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
    logging.captureWarnings(True)  # nbgrader's SQLAlchemy and traitlets warnings: this log, not the terminal
    loggers = [logging.getLogger(name) for name in ("traitlets", "NbGrader", "autograder", "py.warnings")]
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
