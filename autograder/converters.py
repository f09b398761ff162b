"""nbgrader's Autograde converter, split in two for parallel grading with one gradebook.

`ExecuteSubmission` (any worker process, any machine): sanitize the submission and run it, with all
of the configured autograde steps except the ones that write grades. It works in a private course
directory with a snapshot of the gradebook, so workers never write the class gradebook.

`SaveSubmission` (the one process that owns the gradebook): run the configured grade-writing steps
(nbgrader's SaveAutoGrades and the late-penalty step) on the executed notebooks. Grades are thus
written by nbgrader's own code, one student at a time, exactly as `nbgrader autograde` would.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from traitlets import import_item

from . import events
from .config import CoursePolicy, utc_naive
from .timestamps import TimestampError, read_timestamp_file


def _step_class(step):
    return import_item(step) if isinstance(step, str) else step


def writes_grades(step) -> bool:
    """True for the steps that write the gradebook: SaveAutoGrades, AssignLatePenalties and kin."""
    return issubclass(_step_class(step), (SaveAutoGrades, AssignLatePenalties))


class CourseDirectoryWithTimestamps(CourseDirectory):
    """nbgrader's course directory, reading timestamp.txt with `autograder.timestamps`.

    Returns None for a missing or unreadable timestamp instead of nbgrader's misreading or crash;
    the autograder reports such a submission as an error rather than letting it pass as on time.
    """

    def get_existing_timestamp(self, dest_path):
        path = os.path.join(dest_path, "timestamp.txt")
        if not os.path.exists(path):
            return None
        try:
            return utc_naive(read_timestamp_file(Path(path), CoursePolicy(parent=self).zone))
        except TimestampError as error:
            self.log.warning("%s", error)
            return None


class ExecuteSubmission(Autograde):
    """Sanitize and execute one student's notebooks; grade-writing steps are left out."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.autograde_preprocessors = [p for p in self.autograde_preprocessors if not writes_grades(p)]
        self.notebook_events: dict[str, list] = defaultdict(list)
        self.loop_violations: dict[str, dict] = {}

    def convert_single_notebook(self, notebook_filename) -> None:
        """One notebook; a problem in it (metadata nbgrader rejects, a failing step) is reported for that
        notebook, which then scores 0 like an unreadable one, and the student's other notebooks go on."""
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as error:  # noqa: BLE001 - whatever it is, it is this notebook's problem
            name = _stem(notebook_filename)
            self.log.exception("grading %s failed", notebook_filename)
            detail = " ".join(str(error).split())[:300] or type(error).__name__
            self.notebook_events[name].append(
                {"kind": events.NOTEBOOK_FAILED, "detail": f"could not be graded ({type(error).__name__}: {detail}): "
                 "0 points for it", "cell": None, "grade_id": None, "data": {}})
            for folder in (self.writer.build_directory,):
                stale = Path(folder) / os.path.basename(notebook_filename)
                if stale.exists():
                    stale.unlink()
            self._sanitizing = True

    def write_single_notebook(self, output, resources):
        state = resources.get("autograder", {})
        notebook = resources["nbgrader"]["notebook"]
        self.notebook_events[notebook].extend(state.get("events", []))
        if "loop_violations" in state:
            self.loop_violations[notebook] = state["loop_violations"]
        super().write_single_notebook(output, resources)


class SaveSubmission(Autograde):
    """Write the grades of already executed notebooks (in autograded/) into the gradebook.

    Notebooks listed as `unreadable` (invalid JSON, not a notebook) score 0, like missing ones.
    """

    def __init__(self, unreadable: tuple[str, ...] = (), **kwargs):
        super().__init__(**kwargs)
        self.unreadable = set(unreadable)
        self.autograde_preprocessors = [p for p in self.autograde_preprocessors if writes_grades(p)]
        self.coursedir.ignore = ["*"]  # copy no other files: the executing step already did

    def init_destination(self, assignment_id, student_id) -> bool:
        return True  # the executed notebooks are the input: never remove them

    def init_assignment(self, assignment_id, student_id) -> None:
        super().init_assignment(assignment_id, student_id)
        self.notebooks = [n for n in self.notebooks if _stem(n) not in self.unreadable]
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
            for name in self.unreadable:
                try:
                    notebook = gradebook.find_submission_notebook(name, assignment_id, student_id)
                except MissingEntry:
                    continue
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gradebook.db.commit()

    def convert_single_notebook(self, notebook_filename) -> None:
        resources = self.init_single_notebook_resources(notebook_filename)
        executed = os.path.join(
            self._format_dest(resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]),
            os.path.basename(notebook_filename),
        )
        self._sanitizing = False
        try:
            self._init_preprocessors()
            super(Autograde, self).convert_single_notebook(executed)
        finally:
            self._sanitizing = True


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]
