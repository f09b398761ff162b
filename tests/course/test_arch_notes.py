"""docs/architectures.md: its table of points agrees with the source notebook."""

import re

from tests.notebooks import ROOT, points_by_exercise

NOTES = (ROOT / "docs" / "architectures.md").read_text()



def test_the_notes_count_every_graded_exercise_once_with_its_points():
    points = points_by_exercise("architectures.ipynb")
    rows = [line for line in NOTES.splitlines() if line.startswith("| ") and line.rstrip().endswith(" |")
            and re.search(r"\| *\d+ \|$", line) and "`" in line]
    seen: list[str] = []
    for row in rows:
        exercises = re.findall(r"`([a-z0-9_]+)`", row.split("|")[2])
        stated = int(row.rstrip(" |").rsplit("|", 1)[1])
        assert sum(points[e] for e in exercises) == stated, row
        seen += exercises
    assert sorted(seen) == sorted(points), "every graded exercise in exactly one row"
    total = sum(points.values())
    assert f"{total} points" in NOTES
    thought = sum(int(r.rstrip(" |").rsplit("|", 1)[1]) for r in rows[:2])
    assert f"{thought} of the {total} points" in NOTES
