"""The late policy: tiers as an nbgrader LateSubmissionPlugin, lateness from our own timestamp reading.

`TieredLatePenalty` is the plugin `nbgrader_config.py` selects, so plain `nbgrader autograde` applies
the course's tiers. `AssignCourseLatePenalties` replaces nbgrader's AssignLatePenalties step: before
asking the plugin, it writes into the gradebook the due date from the course policy, the student's
extension, and the submission time read by `autograder.timestamps` (nbgrader's own reading of
`+0800` is off by hours). `autograder` uses the same functions for its reports.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Float, List, validate

from .config import CoursePolicy, extensions_path, utc_naive
from .timestamps import TimestampError, parse_timestamp, read_timestamp_file


class TieredLatePenalty(LateSubmissionPlugin):
    """Percent off by hours late: each tier is [hours, percent], the first tier that covers wins."""

    tiers = List(
        [[24.0, 15.0], [48.0, 30.0]],
        help="[[hours, percent], ...] in increasing hours: at most `hours` late loses `percent`.",
    ).tag(config=True)

    beyond_last_tier = Float(100.0, help="Percent lost when later than the last tier.").tag(config=True)

    @validate("tiers")
    def _check_tiers(self, proposal):
        tiers = [(float(hours), float(percent)) for hours, percent in proposal["value"]]
        if any(b[0] <= a[0] for a, b in zip(tiers, tiers[1:], strict=False)):
            raise ValueError("TieredLatePenalty.tiers must be in strictly increasing hours")
        if any(not 0 <= percent <= 100 for _, percent in tiers):
            raise ValueError("TieredLatePenalty.tiers percents must be within 0..100")
        return [list(t) for t in tiers]

    def penalty_percent(self, seconds_late: float) -> float:
        """0 on time (at or before the deadline), else the first tier covering the lateness."""
        if seconds_late <= 0:
            return 0.0
        for hours, percent in self.tiers:
            if seconds_late <= hours * 3600:
                return float(percent)
        return float(self.beyond_last_tier)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return score * self.penalty_percent(total_seconds_late) / 100.0


@dataclass(frozen=True)
class Extension:
    student_id: str
    due: dt.datetime | None = None  # a new due date for this student
    extra_hours: float = 0.0  # or hours added to the course due date

    def due_for(self, course_due: dt.datetime) -> dt.datetime:
        return self.due if self.due is not None else course_due + dt.timedelta(hours=self.extra_hours)


class ExtensionError(ValueError):
    """The extensions file cannot be used as it is."""


def read_extensions(path: Path, policy: CoursePolicy) -> dict[str, Extension]:
    """Per-student extensions from a CSV with a `student_id` column and `due` or `extra_hours`."""
    if not path.exists():
        return {}
    extensions: dict[str, Extension] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if "student_id" not in columns or not columns & {"due", "extra_hours"}:
            raise ExtensionError(f"{path}: the header needs student_id and due or extra_hours, not {sorted(columns)}")
        for line, row in enumerate(reader, start=2):
            student = (row.get("student_id") or "").strip()
            due_text = (row.get("due") or "").strip()
            hours_text = (row.get("extra_hours") or "").strip()
            if not student:
                raise ExtensionError(f"{path}:{line}: empty student_id")
            if student in extensions:
                raise ExtensionError(f"{path}:{line}: {student} has a second extension")
            if bool(due_text) == bool(hours_text):
                raise ExtensionError(f"{path}:{line}: give either due or extra_hours for {student}")
            try:
                extensions[student] = (
                    Extension(student, due=parse_timestamp(due_text, policy.zone))
                    if due_text
                    else Extension(student, extra_hours=float(hours_text))
                )
            except (TimestampError, ValueError) as error:
                raise ExtensionError(f"{path}:{line}: {error}") from error
    return extensions


@dataclass(frozen=True)
class Lateness:
    """When a student submitted, against which due date, and what it costs."""

    submitted_at: dt.datetime | None
    due: dt.datetime
    seconds_late: float | None  # None when the submission time is unknown
    penalty_percent: float | None
    problem: str = ""  # why the submission time is unknown

    @property
    def hours_late(self) -> float | None:
        return None if self.seconds_late is None else self.seconds_late / 3600.0


def assess_lateness(
    submission_dir: Path, assignment: str, student: str, policy: CoursePolicy, plugin: TieredLatePenalty
) -> Lateness:
    """Read the submission's timestamp.txt and apply the student's due date and the tiers."""
    due = policy.due_date(assignment)
    extension = read_extensions(extensions_path(policy), policy).get(student)
    if extension is not None:
        due = extension.due_for(due)
    try:
        submitted = read_timestamp_file(submission_dir / "timestamp.txt", policy.zone)
    except TimestampError as error:
        return Lateness(None, due, None, None, problem=str(error))
    seconds = max(0.0, (submitted - due).total_seconds())
    return Lateness(submitted, due, seconds, plugin.penalty_percent(seconds))


class AssignCourseLatePenalties(AssignLatePenalties):
    """nbgrader's late-penalty step, fed with the course's due date, extensions and timestamp reading."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        policy = CoursePolicy(parent=self)
        submission_dir = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
        lateness = assess_lateness(
            submission_dir, info["assignment"], info["student"], policy, self.plugin_class(parent=self)
        )
        with Gradebook(info["db_url"]) as gradebook:
            record_lateness(gradebook, info["assignment"], info["student"], lateness, policy)
        if lateness.problem:
            self.log.warning("%s: %s; no late penalty can be computed", info["student"], lateness.problem)
        return super().preprocess(nb, resources)


def record_lateness(gradebook: Gradebook, assignment: str, student: str, lateness: Lateness, policy: CoursePolicy):
    """Write the due date, the student's extension and the submission time into nbgrader's gradebook."""
    course_due = utc_naive(policy.due_date(assignment))
    gradebook.update_or_create_assignment(assignment, duedate=course_due)
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return
    submission.extension = utc_naive(lateness.due) - course_due or None
    submission.timestamp = utc_naive(lateness.submitted_at) if lateness.submitted_at else None
    gradebook.db.commit()
