"""Loading the course's one configuration file (`nbgrader_config.py`) and the course policy in it."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.coursedir import CourseDirectory
from traitlets import Dict, Unicode, validate
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def find_course_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: cwd) holding nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"no {CONFIG_FILE} in {here} or any directory above it")


def load_config(root: Path) -> Config:
    """Read `root/nbgrader_config.py` and point the course directory at `root`."""
    put_environment_on_path()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def put_environment_on_path() -> None:
    """nbgrader runs `alembic` and kernels by name: make this interpreter's bin/ visible to it."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


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

    def due_date(self, assignment: str) -> dt.datetime:
        """The assignment's due date as an aware datetime; KeyError if none is configured."""
        if assignment not in self.due_dates:
            raise KeyError(f"no due date for {assignment!r} in CoursePolicy.due_dates ({CONFIG_FILE})")
        due = dt.datetime.fromisoformat(str(self.due_dates[assignment]))
        return due if due.tzinfo else due.replace(tzinfo=self.zone)


def extensions_path(policy: CoursePolicy) -> Path:
    path = Path(policy.extensions_file)
    return path if path.is_absolute() else Path(policy.config.CourseDirectory.get("root", ".")) / path


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC value nbgrader's gradebook stores."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
