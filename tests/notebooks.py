"""Running notebooks in real Jupyter kernels for the tests, and reading what they printed."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "assignment2"
SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT


@dataclass
class CellError:
    index: int
    grade_id: str | None
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"cell {self.index} ({self.grade_id or 'ungraded'}): {self.ename}: {self.evalue[:300]}"


def execute(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = 600, env: dict | None = None):
    """Run every cell in a fresh python3 kernel, errors recorded in the outputs, not raised."""
    notebook = copy.deepcopy(notebook)
    client = NotebookClient(
        notebook, timeout=timeout, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(**({"env": env} if env else {}))
    return notebook


def errors(notebook: nbformat.NotebookNode) -> list[CellError]:
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                found.append(CellError(index, grade_id, output.ename, output.evalue))
    return found


def graded_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in notebook.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def points_by_exercise(name: str) -> dict[str, float]:
    """Points of each graded exercise of a source notebook: its visible and hidden test cells together."""
    notebook = nbformat.read(SOURCE / name, as_version=4)
    points: dict[str, float] = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("points"):
            exercise = re.sub(r"_(visible|hidden)$", "", meta["grade_id"])
            points[exercise] = points.get(exercise, 0) + meta["points"]
    return points
