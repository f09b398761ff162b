"""What a notebook asks of a student, counted: code exercises, solution lines, written questions, points.

    python bench/load.py [--notebook source/assignment2/segmentation.ipynb] [REVISION ...]

For each git revision (or the working tree's file when none is given, or for the word `work`),
prints one row per top-level section (`## N. ...` headings) and a total: the code exercises
(code cells with an nbgrader solution), their non-blank lines between `### BEGIN SOLUTION` and
`### END SOLUTION`, the written questions (markdown solution cells) and the points of the graded
cells. These are counts, not times: docs/segmentation.md turns them into an estimate.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = Path("source/assignment2/segmentation.ipynb")


@dataclass
class Section:
    title: str
    exercises: list[str] = field(default_factory=list)
    lines: int = 0
    written: list[str] = field(default_factory=list)
    points: float = 0


def solution_lines(source: str) -> int:
    inside, count = False, 0
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and line.strip():
            count += 1
    return count


def count(notebook: nbformat.NotebookNode) -> list[Section]:
    sections = [Section("front matter")]
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("solution"):
            for heading in re.findall(r"^## (.+)$", cell.source, re.M):
                sections.append(Section(heading.strip()))
        section = sections[-1]
        section.points += meta.get("points", 0) or 0
        if meta.get("solution"):
            if cell.cell_type == "code":
                section.exercises.append(meta["grade_id"])
                section.lines += solution_lines(cell.source)
            else:
                section.written.append(meta["grade_id"])
    return [s for s in sections if s.exercises or s.written or s.points]


def load(revision: str, path: Path) -> nbformat.NotebookNode:
    if revision == "work":
        return nbformat.read(ROOT / path, as_version=4)
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path.as_posix()}"],
                          capture_output=True, text=True, check=True).stdout
    return nbformat.reads(text, as_version=4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revisions", nargs="*", default=["work"])
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK)
    args = parser.parse_args()
    for revision in args.revisions:
        sections = count(load(revision, args.notebook))
        print(f"\n{args.notebook} at {revision}\n")
        print("| section | code exercises | solution lines | written questions | points |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for s in sections:
            print(f"| {s.title} | {len(s.exercises)} | {s.lines} | {len(s.written)} | {s.points:g} |")
        print(f"| total | {sum(len(s.exercises) for s in sections)} | {sum(s.lines for s in sections)} | "
              f"{sum(len(s.written) for s in sections)} | {sum(s.points for s in sections):g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
