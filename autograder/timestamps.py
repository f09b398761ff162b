"""Reading submission timestamps in every form nbgrader writes or accepts, and ISO-8601.

nbgrader 0.9.6's own parser reads `2025-04-26 20:00:00 +0800` as 800 *seconds* east of UTC, reads
the zone abbreviation it writes itself for Asia/Shanghai (`CST`) as UTC, and crashes on text it
cannot parse. This parser reads numeric offsets as hours and minutes, IANA zone names, `UTC`/`GMT`/
`Z`, and the course zone's own abbreviation; a naive time is in the course's time zone; anything
else is a `TimestampError` that says what was wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PATTERN = re.compile(
    r"""^(?P<date>\d{4}-\d{2}-\d{2})
        (?:[T\s]+(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?))?
        \s*(?P<zone>.*?)\s*$""",
    re.X,
)
_OFFSET = re.compile(r"^(?:UTC|GMT)?(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$", re.I)
_UTC_NAMES = {"Z", "UTC", "GMT", "UT", "ZULU"}


class TimestampError(ValueError):
    """A timestamp that cannot be read unambiguously."""


def parse_timestamp(text: str, zone: ZoneInfo) -> dt.datetime:
    """An aware datetime from `text`; a naive time, or the zone's own abbreviation, is in `zone`."""
    cleaned = text.replace("\ufeff", "").strip()
    if not cleaned:
        raise TimestampError("the timestamp is empty")
    match = _PATTERN.match(cleaned)
    if match is None:
        raise TimestampError(f"{cleaned!r} is not a date and time like 2025-04-26 23:59:00 +0800")
    local = _naive(match.group("date"), match.group("time") or "00:00", cleaned)
    label = match.group("zone")
    if not label:
        return local.replace(tzinfo=zone)
    if label.upper() in _UTC_NAMES:
        return local.replace(tzinfo=dt.timezone.utc)
    offset = _OFFSET.match(label)
    if offset:
        hours, minutes = int(offset.group("hours")), int(offset.group("minutes") or 0)
        if hours > 14 or minutes >= 60:
            raise TimestampError(f"{cleaned!r}: {label!r} is not a valid UTC offset")
        sign = 1 if offset.group("sign") == "+" else -1
        return local.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    if "/" in label:
        try:
            return local.replace(tzinfo=ZoneInfo(label))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise TimestampError(f"{cleaned!r}: unknown time zone {label!r}") from error
    if label == local.replace(tzinfo=zone).tzname():
        return local.replace(tzinfo=zone)
    raise TimestampError(
        f"{cleaned!r}: the zone abbreviation {label!r} is ambiguous; write an offset like +0800 "
        f"or a zone name like {zone.key}"
    )


def _naive(date: str, time: str, whole: str) -> dt.datetime:
    time = time.replace(",", ".")
    if "." in time:
        seconds, fraction = time.split(".")
        time = f"{seconds}.{(fraction + '000000')[:6]}"
    if len(time.split(":")[0]) == 1:
        time = "0" + time
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}")
    except ValueError as error:
        raise TimestampError(f"{whole!r}: {error}") from error


def read_timestamp_file(path: Path, zone: ZoneInfo) -> dt.datetime:
    """The moment recorded in a submission's timestamp.txt; TimestampError if missing or unreadable."""
    from .files import UnsafeFile, read_regular

    try:
        raw = read_regular(path, 4096)
    except UnsafeFile as error:
        if error.errno == 2:
            raise TimestampError(f"{path.name} is missing") from None
        raise TimestampError(str(error)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TimestampError(f"{path.name} is not UTF-8 text") from None
    try:
        return parse_timestamp(text, zone)
    except TimestampError as error:
        raise TimestampError(f"{path.name}: {error}") from None
