"""One assignment of one course directory: its paths, its policy, its late plugin, and the checks that
must pass before anyone is graded (so that a bad file stops the run with one line, not halfway)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .config import CONFIG_FILE, CoursePolicy, course_directory, course_file, extensions_path, load_config
from .grading import submission_dir
from .late import (
    ExtensionError,
    TimestampsFileError,
    due_date,
    late_plugin,
    read_authoritative_timestamps,
    read_extensions,
)


class CourseError(Exception):
    """An expected problem with the course directory or its files: one line that says what to fix."""


@dataclass
class Course:
    """Paths and policy of one assignment in one course directory."""

    root: Path
    assignment: str

    def __post_init__(self):
        self.config = load_config(self.root)
        self.coursedir = course_directory(self.config)
        self.policy = CoursePolicy(config=self.config)
        self.plugin = late_plugin(self.config)

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.assignment

    @property
    def results(self) -> Path:
        return self.reports / "results"

    @property
    def work(self) -> Path:
        return self.reports / "work"

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @cached_property
    def due(self) -> dt.datetime | None:
        """The due date (configured, else the gradebook's, else None: nothing is late)."""
        with Gradebook(self.db_url) as gradebook:
            return due_date(self.policy, self.assignment, gradebook)

    def submission(self, student: str) -> Path:
        return submission_dir(self.root, self.assignment, student)

    def roster(self, only: Iterable[str] = ()) -> list[str]:
        """Students with a submission folder or in the gradebook, or just `only`."""
        wanted = set(only)
        found = {p.parent.name for p in (self.root / "submitted").glob(f"*/{self.assignment}") if p.is_dir()}
        with Gradebook(self.db_url) as gradebook:
            found |= {s.id for s in gradebook.students}
        return sorted(wanted or found)

    def check(self) -> None:
        """Everything grading reads besides the submissions, read once: raises CourseError on a problem."""
        with Gradebook(self.db_url) as gradebook:
            try:
                gradebook.find_assignment(self.assignment)
            except MissingEntry:
                raise CourseError(f"{self.assignment} is not in the gradebook: release it first "
                                  f"(`autograder release {self.assignment}` or `nbgrader generate_assignment "
                                  f"{self.assignment}`)") from None
        try:
            self.policy.due_date(self.assignment)
        except ValueError as error:
            raise CourseError(f"{error}; fix it in {self.root / CONFIG_FILE}") from None
        try:
            read_extensions(extensions_path(self.policy), self.policy)
        except ExtensionError as error:
            raise CourseError(f"{error}; fix the file (or remove it) and grade again") from None
        except (OSError, UnicodeDecodeError) as error:
            raise CourseError(f"{extensions_path(self.policy)} cannot be read: {error}") from None
        timestamps = course_file(self.policy, self.policy.timestamps_file)
        try:
            read_authoritative_timestamps(timestamps, self.policy)
        except TimestampsFileError as error:
            raise CourseError(f"{error}; fix the file (or remove it) and grade again") from None
        except (OSError, UnicodeDecodeError) as error:
            raise CourseError(f"{timestamps} cannot be read: {error}") from None
