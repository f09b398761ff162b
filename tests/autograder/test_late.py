"""The late policy: tier edges, extensions, and the plugin nbgrader itself calls."""

import datetime as dt
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder.config import CoursePolicy, load_config
from autograder.late import ExtensionError, TieredLatePenalty, assess_lateness, read_extensions

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600


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
    assert assess_lateness(folder, "assignment2", "carol", policy, plugin).penalty_percent == 30
    alice = assess_lateness(folder, "assignment2", "alice", policy, plugin)
    assert (alice.seconds_late, alice.penalty_percent) == (0, 0)
    bob = assess_lateness(folder, "assignment2", "bob", policy, plugin)
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
    lateness = assess_lateness(tmp_path, "assignment2", "x", policy, plugin)
    assert lateness.penalty_percent is None and "timestamp.txt is missing" in lateness.problem
    assert lateness.due == dt.datetime(2025, 4, 26, 23, 59, tzinfo=policy.zone)
