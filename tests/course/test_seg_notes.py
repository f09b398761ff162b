"""docs/segmentation.md: its table of points agrees with the source notebook."""

import importlib.util
import re
import sys

import nbformat

from tests.notebooks import ROOT, SOURCE, points_by_exercise

NOTES = (ROOT / "docs" / "segmentation.md").read_text()
POINTS_SECTION = NOTES.split("## Where the points go", 1)[1].split("\n## ", 1)[0]



def test_the_notes_count_every_graded_exercise_once_with_its_points():
    points = points_by_exercise("segmentation.ipynb")
    rows = [line for line in POINTS_SECTION.splitlines() if line.startswith("| ") and re.search(r"\| *\d+ \|$", line)]
    assert rows, "no points table"
    seen: list[str] = []
    for row in rows:
        exercises = re.findall(r"`([a-z0-9_]+)`", row.split("|")[2])
        stated = int(row.rstrip(" |").rsplit("|", 1)[1])
        assert sum(points[e] for e in exercises) == stated, row
        seen += exercises
    assert sorted(seen) == sorted(points), "every graded exercise in exactly one row"
    total = sum(points.values())
    assert f"{total:g} points" in POINTS_SECTION
    thought = sum(int(r.rstrip(" |").rsplit("|", 1)[1]) for r in rows[:2])
    assert f"{thought} of the {total:g} points" in POINTS_SECTION


def test_the_load_counts_are_the_notebooks():
    """The 'now' row of the counts is what bench/load.py counts in the source notebook."""
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    sections = bench.count(nbformat.read(SOURCE / "segmentation.ipynb", as_version=4))
    row = (f"| now | {sum(len(s.exercises) for s in sections)} | {sum(s.lines for s in sections)} | "
           f"{sum(len(s.written) for s in sections)} | {sum(s.points for s in sections):g} |")
    assert row in NOTES
    assert sum(s.points for s in sections) == sum(points_by_exercise("segmentation.ipynb").values())
