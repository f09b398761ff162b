"""The late policy: tier edges, extensions, and the plugin nbgrader itself calls."""

import datetime as dt
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from traitlets.config import Config

from autograder.config import CoursePolicy, load_config
from autograder.late import (
    ExtensionError,
    TieredLatePenalty,
    assess_lateness,
    due_date,
    late_plugin,
    points_off,
    read_extensions,
)

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600
DUE = dt.datetime(2025, 4, 26, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def plugin():
    return TieredLatePenalty(config=load_config(ROOT))


@pytest.mark.parametrize(
    ("seconds_late", "percent"),
    [
        (-5 * HOUR, 0), (0, 0),  # on time: at or before the deadline
        (1, 15), (23.99 * HOUR, 15), (24 * HOUR, 15),  # at most 24 h late: 15% off
        (24 * HOUR + 1, 30), (48 * HOUR, 30),  # more than 24 h and at most 48 h: 30% off
        (48 * HOUR + 1, 100), (30 * 24 * HOUR, 100),  # more than 48 h: zero
    ],
)
def test_tier_edges(plugin, seconds_late, percent):
    assert plugin.penalty_percent(seconds_late) == percent
    assert plugin.late_submission_penalty("s", 10.0, seconds_late) == pytest.approx(percent / 10)


def test_the_course_configuration_sets_the_tiers_and_plugin():
    config = load_config(ROOT)
    assert config.AssignLatePenalties.plugin_class == "autograder.late.TieredLatePenalty"
    assert TieredLatePenalty(config=config).tiers == [[24.0, 15.0], [48.0, 30.0]]
    assert CoursePolicy(config=config).due_date("assignment2").isoformat() == "2025-04-26T23:59:00+08:00"


def test_tiers_must_increase():
    with pytest.raises(Exception, match="strictly increasing"):
        TieredLatePenalty(config=Config({"TieredLatePenalty": {"tiers": [[48, 30], [24, 15]]}}))


def _policy(tmp_path, csv_text=None):
    config = load_config(ROOT)
    config.CourseDirectory.root = str(tmp_path)
    if csv_text is not None:
        (tmp_path / "extensions.csv").write_text(csv_text)
    return CoursePolicy(config=config)


def test_extensions_move_the_students_deadline(tmp_path, plugin):
    policy = _policy(tmp_path, "student_id,due,extra_hours\nalice,2025-04-28 23:59:00,\nbob,,36\n")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "timestamp.txt").write_text("2025-04-28 12:00:00 +0800")  # 36 h 1 min after the course deadline
    assert assess_lateness(folder, "assignment2", "carol", policy, plugin, DUE).penalty_percent == 30
    alice = assess_lateness(folder, "assignment2", "alice", policy, plugin, DUE)
    assert (alice.seconds_late, alice.penalty_percent) == (0, 0)
    bob = assess_lateness(folder, "assignment2", "bob", policy, plugin, DUE)
    assert bob.hours_late == pytest.approx(1 / 60) and bob.penalty_percent == 15


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("id,due\nalice,2025-04-28\n", "header needs student_id"),
        ("student_id,due,extra_hours\nalice,2025-04-28,5\n", "either due or extra_hours"),
        ("student_id,extra_hours\nalice,lots\n", "could not convert"),
        ("student_id,due\nalice,someday\n", "not a date and time"),
        ("student_id,extra_hours\nalice,1\nalice,2\n", "second extension"),
    ],
)
def test_bad_extension_files_are_refused_with_the_line(tmp_path, csv_text, message):
    policy = _policy(tmp_path, csv_text)
    with pytest.raises(ExtensionError, match=message):
        read_extensions(tmp_path / "extensions.csv", policy)


def test_unknown_submission_time_has_no_penalty_and_says_why(tmp_path, plugin):
    policy = _policy(tmp_path)
    lateness = assess_lateness(tmp_path, "assignment2", "x", policy, plugin, policy.due_date("assignment2"))
    assert lateness.penalty_percent is None and "timestamp.txt is missing" in lateness.problem
    assert lateness.due == dt.datetime(2025, 4, 26, 23, 59, tzinfo=policy.zone)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-26 23:59:00", "2025-04-26T23:59:00+08:00"),  # naive: the course's zone
        ("2015-02-01 23:59:00 America/Los_Angeles", "2015-02-01T23:59:00-08:00"),  # nbgrader's own form
        ("2015-02-02 14:58:23.948203 America/Los_Angeles", "2015-02-02T14:58:23.948203-08:00"),
        ("2025-04-26T23:59:00+00:00", "2025-04-26T23:59:00+00:00"),
        ("2025-04-26 15:59:00 UTC", "2025-04-26T15:59:00+00:00"),
    ],
)
def test_due_dates_are_read_in_nbgraders_forms(tmp_path, text, expected):
    policy = _policy(tmp_path)
    policy.due_dates = {"ps1": text}
    assert policy.due_date("ps1").isoformat() == expected


def test_an_unreadable_due_date_names_the_setting(tmp_path):
    policy = _policy(tmp_path)
    policy.due_dates = {"ps1": "next friday"}
    with pytest.raises(ValueError, match=r"CoursePolicy.due_dates\['ps1'\]"):
        policy.due_date("ps1")


def test_the_gradebooks_due_date_serves_when_none_is_configured_and_none_means_not_late(tmp_path, plugin):
    policy = _policy(tmp_path)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("ps1", duedate=dt.datetime(2015, 2, 2, 22, 58))  # stored as naive UTC
        gradebook.add_assignment("ps2")
        assert due_date(policy, "ps1", gradebook) == dt.datetime(2015, 2, 2, 22, 58, tzinfo=dt.timezone.utc)
        assert due_date(policy, "ps2", gradebook) is None
        assert due_date(policy, "assignment2", gradebook) == DUE  # configured wins
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "timestamp.txt").write_text("2030-01-01 00:00:00 +0800")
    lateness = assess_lateness(folder, "ps2", "alice", policy, plugin, None)
    assert (lateness.seconds_late, lateness.penalty_percent) == (0, 0)


def test_the_configured_plugin_is_the_one_used():
    assert isinstance(late_plugin(load_config(ROOT)), TieredLatePenalty)
    nbgraders = late_plugin(Config())
    assert type(nbgraders) is LateSubmissionPlugin  # nbgrader's default: no penalty
    assert points_off(nbgraders, "s", 10.0, 30 * HOUR) == 0.0
    zero = late_plugin(Config({"LateSubmissionPlugin": {"penalty_method": "zero"}}))
    assert points_off(zero, "s", 10.0, 1) == 10.0 and points_off(zero, "s", 10.0, 0) == 0.0
    tiers = late_plugin(load_config(ROOT))
    assert points_off(tiers, "s", 8.0, 30 * HOUR) == pytest.approx(2.4)


def test_the_extensions_file_is_read_once_per_version_of_it(tmp_path):
    policy = _policy(tmp_path, "student_id,extra_hours\nalice,12\n")
    path = tmp_path / "extensions.csv"
    first = read_extensions(path, policy)
    assert read_extensions(path, policy) is first, "every student's lookup reuses the one reading"
    path.write_text("student_id,extra_hours\nalice,12\nbob,24\n")
    assert set(read_extensions(path, policy)) == {"alice", "bob"}, "an edited file is read again"
