"""Loading the course's one configuration file (`nbgrader_config.py`) and the course policy in it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.coursedir import CourseDirectory
from traitlets import Dict, Float, Unicode, validate
from traitlets.config import Config, LoggingConfigurable

from .configfile import CONFIG_FILE, find_course_root, load_config, put_environment_on_path  # noqa: F401


def course_directory(config: Config) -> CourseDirectory:
    return CourseDirectory(config=config)


class CoursePolicy(LoggingConfigurable):
    """The course's dates: its time zone and each assignment's due date."""

    timezone = Unicode(
        "UTC", help="IANA time zone of the course; naive due dates and timestamps are read in it."
    ).tag(config=True)

    due_dates = Dict(
        {},
        help="Due date of each assignment, e.g. {'assignment2': '2025-04-26 23:59:00'}; "
        "ISO-8601, naive (course time zone) or with an offset.",
    ).tag(config=True)

    extensions_file = Unicode(
        "extensions.csv",
        help="CSV of per-student extensions (student_id, and due or extra_hours), relative to the "
        "course root; a missing file means no extensions.",
    ).tag(config=True)

    release_dates = Dict(
        {},
        help="When each assignment was released, e.g. {'assignment2': '2025-04-11 18:00:00'}: a submission "
        "time before it is flagged for review.",
    ).tag(config=True)

    timestamps_file = Unicode(
        "timestamps.csv",
        help="CSV of authoritative submission times, as a learning-management system exports them "
        "(student_id, timestamp, and optionally assignment), relative to the course root. A time listed "
        "there is used instead of timestamp.txt, and a disagreement is flagged. A missing file means none.",
    ).tag(config=True)

    timestamp_tolerance = Float(
        300.0, help="Seconds timestamp.txt may differ from the authoritative time before it is flagged."
    ).tag(config=True)

    @validate("timezone")
    def _check_timezone(self, proposal):
        try:
            ZoneInfo(proposal["value"])
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"CoursePolicy.timezone: unknown time zone {proposal['value']!r}") from error
        return proposal["value"]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def due_date(self, assignment: str) -> dt.datetime | None:
        """The configured due date as an aware datetime, or None when `due_dates` has none for it.

        Any form nbgrader accepts is read: ISO-8601, `2015-02-01 23:59:00 America/Los_Angeles`, an offset
        or UTC; a naive one is in the course's time zone. A date that cannot be read raises ValueError.
        """
        from .timestamps import TimestampError, parse_timestamp

        if assignment not in self.due_dates:
            return None
        text = str(self.due_dates[assignment])
        try:
            return parse_timestamp(text, self.zone)
        except TimestampError as error:
            raise ValueError(f"CoursePolicy.due_dates[{assignment!r}] in {CONFIG_FILE}: {error}") from error


def course_file(policy: CoursePolicy, name: str) -> Path:
    """A file the policy names, relative to the course root unless absolute."""
    path = Path(name)
    return path if path.is_absolute() else Path(policy.config.CourseDirectory.get("root", ".")) / path


def extensions_path(policy: CoursePolicy) -> Path:
    return course_file(policy, policy.extensions_file)


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC value nbgrader's gradebook stores."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
