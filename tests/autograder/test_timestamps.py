"""Timestamps in every form nbgrader writes or accepts, ISO-8601, offsets, zone names."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from autograder.timestamps import TimestampError, parse_timestamp, read_timestamp_file

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
DUE_UTC = dt.datetime(2025, 4, 26, 15, 59, tzinfo=UTC)  # 2025-04-26 23:59 in Shanghai


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2025-04-26 23:59:00", DUE_UTC),  # naive: the course's time zone
        ("2025-04-26 23:59", DUE_UTC),
        ("2025-04-26T23:59:00+08:00", DUE_UTC),
        ("2025-04-26 23:59:00 +0800", DUE_UTC),  # nbgrader reads this as 800 seconds east of UTC
        ("2025-04-26 23:59:00+0800", DUE_UTC),
        ("2025-04-26 23:59:00 +08", DUE_UTC),
        ("2025-04-26 15:59:00 UTC", DUE_UTC),
        ("2025-04-26 15:59:00.000000 UTC", DUE_UTC),  # nbgrader's own timestamp format
        ("2025-04-26T15:59:00Z", DUE_UTC),
        ("2025-04-26T15:59:00.000Z", DUE_UTC),
        ("2025-04-26 15:59:00 GMT", DUE_UTC),
        ("2025-04-26 23:59:00.000000 CST", DUE_UTC),  # what nbgrader writes with timezone Asia/Shanghai
        ("2025-04-26 23:59:00 Asia/Shanghai", DUE_UTC),
        ("2025-04-26 11:59:00 America/New_York", DUE_UTC),  # EDT, -4 h
        ("2025-04-26T11:59:00-04:00", DUE_UTC),
        ("2025-04-26T15:59:00.5+00:00", DUE_UTC + dt.timedelta(seconds=0.5)),
        ("2025-04-26T15:59:00.123456789Z", DUE_UTC + dt.timedelta(microseconds=123456)),
        ("\ufeff 2025-04-26 23:59:00 \n", DUE_UTC),
        ("2025-04-26 7:59:00 UTC", DUE_UTC - dt.timedelta(hours=8)),
    ],
)
def test_readable_forms(text, expected_utc):
    parsed = parse_timestamp(text, SHANGHAI)
    assert parsed.tzinfo is not None
    assert parsed.astimezone(UTC) == expected_utc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("yesterday", "is not a date and time"),
        ("26/04/2025 23:59", "is not a date and time"),
        ("2025-04-26 23:59:00 EST", "ambiguous"),  # only the course zone's own abbreviation is accepted
        ("2025-04-26 23:59:00 Mars/Olympus", "unknown time zone"),
        ("2025-04-26 23:59:00 +2500", "not a valid UTC offset"),
        ("2025-02-30 12:00:00", "day is out of range"),
        ("2025-04-26 25:00:00", "hour must be in"),
    ],
)
def test_unreadable_forms_say_why(text, message):
    with pytest.raises(TimestampError, match=message):
        parse_timestamp(text, SHANGHAI)


def test_timestamp_files(tmp_path):
    path = tmp_path / "timestamp.txt"
    with pytest.raises(TimestampError, match="timestamp.txt is missing"):
        read_timestamp_file(path, SHANGHAI)
    path.write_bytes(b"\xff\xfe2\x00")
    with pytest.raises(TimestampError, match="not UTF-8"):
        read_timestamp_file(path, SHANGHAI)
    path.write_text("2025-04-27 10:00:00 +0800")
    assert read_timestamp_file(path, SHANGHAI).astimezone(UTC) == DUE_UTC + dt.timedelta(hours=10, minutes=1)
