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
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Float, List, validate

from .config import CoursePolicy, course_file, extensions_path, utc_naive
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


def _read_once(read: Callable[[Path, CoursePolicy], dict]) -> Callable[[Path, CoursePolicy], dict]:
    """A course file is read and checked once per version of it (its path, size and mtime), however many
    students look it up: the batch checks it before grading and every student reuses that reading."""
    readings: dict[tuple, dict] = {}

    @functools.wraps(read)
    def reader(path: Path, policy: CoursePolicy) -> dict:
        try:
            stat = path.stat()
        except OSError:
            return {}
        key = (str(path), stat.st_size, stat.st_mtime_ns, policy.timezone)
        if key not in readings:
            readings.clear()
            readings[key] = read(path, policy)
        return readings[key]

    return reader


@_read_once
def read_extensions(path: Path, policy: CoursePolicy) -> dict[str, Extension]:
    """Per-student extensions from a CSV with a `student_id` column and `due` or `extra_hours`."""
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
    due: dt.datetime | None  # None: the assignment has no due date, nothing is late
    seconds_late: float | None  # None when the submission time is unknown
    penalty_percent: float | None
    problem: str = ""  # why the submission time is unknown
    flags: tuple[str, ...] = ()  # what about the submission time needs a person's review

    @property
    def hours_late(self) -> float | None:
        return None if self.seconds_late is None else self.seconds_late / 3600.0


def due_date(policy: CoursePolicy, assignment: str, gradebook: Gradebook | None = None) -> dt.datetime | None:
    """The assignment's due date: `CoursePolicy.due_dates` when configured there, else the gradebook's
    (set with `nbgrader db assignment add --duedate` or in formgrader), else None: nothing is late."""
    configured = policy.due_date(assignment)
    if configured is not None or gradebook is None:
        return configured
    try:
        stored = gradebook.find_assignment(assignment).duedate
    except MissingEntry:
        return None
    return None if stored is None else stored.replace(tzinfo=dt.timezone.utc)


def late_plugin(config) -> LateSubmissionPlugin:
    """The LateSubmissionPlugin the course configures (`AssignLatePenalties.plugin_class`), as nbgrader
    builds it: every penalty, in the gradebook and in grades.csv, is computed by this one object."""
    from traitlets.utils.importstring import import_item

    chosen = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
    plugin_class = import_item(chosen) if isinstance(chosen, str) else chosen
    return plugin_class(config=config)


def points_off(plugin: LateSubmissionPlugin, student: str, score: float, seconds_late: float | None) -> float:
    """What the plugin takes off `score` for `seconds_late` (nbgrader asks it the same, per notebook)."""
    if not seconds_late or seconds_late <= 0 or score <= 0:
        return 0.0
    penalty = plugin.late_submission_penalty(student, score, seconds_late)  # None: no penalty assigned
    return min(float(score), max(0.0, float(penalty or 0.0)))


def assess_lateness(
    submission_dir: Path, assignment: str, student: str, policy: CoursePolicy, plugin: LateSubmissionPlugin,
    due: dt.datetime | None = None,
) -> Lateness:
    """Read the submission's timestamp.txt and apply the student's due date (`due`, see `due_date`) and
    the plugin; `penalty_percent` is what the plugin takes off a score of 100."""
    extension = read_extensions(extensions_path(policy), policy).get(student)
    if extension is not None and due is not None:  # without a due date nothing is late, extended or not
        due = extension.due_for(due)
    listed = read_authoritative_timestamps(course_file(policy, policy.timestamps_file), policy)
    authoritative = listed.get((student, assignment)) or listed.get((student, ""))
    flags = []
    try:
        handed_in = read_timestamp_file(submission_dir / "timestamp.txt", policy.zone)
    except TimestampError as error:
        if authoritative is None:
            return Lateness(None, due, None, None, problem=str(error))
        handed_in = None
    submitted = authoritative or handed_in
    if authoritative is not None and handed_in is not None:
        apart = abs((handed_in - authoritative).total_seconds())
        if apart > policy.timestamp_tolerance:
            flags.append(f"timestamp.txt says {handed_in.isoformat()} but the authoritative timestamps file says "
                         f"{authoritative.isoformat()} ({apart / 3600:.1f} h apart); the latter is used")
    released = policy.release_dates.get(assignment)
    if released:
        released_at = parse_timestamp(str(released), policy.zone)
        if submitted < released_at:
            flags.append(f"submitted at {submitted.isoformat()}, before the release ({released_at.isoformat()})")
    if submitted > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5):
        flags.append(f"submitted at {submitted.isoformat()}, which is after this grading run")
    seconds = 0.0 if due is None else max(0.0, (submitted - due).total_seconds())
    return Lateness(submitted, due, seconds, points_off(plugin, student, 100.0, seconds), flags=tuple(flags))


@_read_once
def read_authoritative_timestamps(path: Path, policy: CoursePolicy) -> dict[tuple[str, str], dt.datetime]:
    """(student_id, assignment or '') -> submission time, from a learning-management system's export.

    Columns: student_id and timestamp (also accepted: submitted_at), and optionally assignment. A missing
    file means no authoritative times; a malformed one raises TimestampsFileError naming the line.
    """
    found: dict[tuple[str, str], dt.datetime] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        time_column = "timestamp" if "timestamp" in columns else "submitted_at" if "submitted_at" in columns else ""
        if "student_id" not in columns or not time_column:
            raise TimestampsFileError(f"{path}: the header needs student_id and timestamp, not {sorted(columns)}")
        for line, row in enumerate(reader, start=2):
            student = (row.get("student_id") or "").strip()
            try:
                found[(student, (row.get("assignment") or "").strip())] = parse_timestamp(row[time_column],
                                                                                           policy.zone)
            except TimestampError as error:
                raise TimestampsFileError(f"{path}:{line}: {error}") from error
    return found


class TimestampsFileError(ValueError):
    """The authoritative timestamps file cannot be used as it is."""


class AssignCourseLatePenalties(AssignLatePenalties):
    """nbgrader's late-penalty step, fed with the course's due date, extensions and timestamp reading."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        policy = CoursePolicy(parent=self)
        submission_dir = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
        with Gradebook(info["db_url"]) as gradebook:
            due = due_date(policy, info["assignment"], gradebook)
            lateness = assess_lateness(
                submission_dir, info["assignment"], info["student"], policy, self.plugin_class(parent=self), due)
            record_lateness(gradebook, info["assignment"], info["student"], lateness, due)
        if lateness.problem:
            self.log.warning("%s: %s; no late penalty can be computed", info["student"], lateness.problem)
        return super().preprocess(nb, resources)


def record_lateness(gradebook: Gradebook, assignment: str, student: str, lateness: Lateness,
                    course_due: dt.datetime | None) -> None:
    """Write the due date, the student's extension and the submission time into nbgrader's gradebook."""
    if course_due is not None:
        gradebook.update_or_create_assignment(assignment, duedate=utc_naive(course_due))
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return
    if course_due is not None and lateness.due is not None:
        submission.extension = utc_naive(lateness.due) - utc_naive(course_due) or None
    submission.timestamp = utc_naive(lateness.submitted_at) if lateness.submitted_at else None
    gradebook.db.commit()
