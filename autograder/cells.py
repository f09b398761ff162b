"""Reading nbgrader's cell metadata."""

from __future__ import annotations

from nbformat import NotebookNode


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_graded(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def graded_ids(notebook: NotebookNode) -> set[str]:
    return {grade_id(c) for c in notebook.cells if is_graded(c)}


def cell_with_id(notebook: NotebookNode, wanted: str) -> tuple[int, NotebookNode]:
    """The index and cell whose grade_id is `wanted`; KeyError if there is none."""
    for index, cell in enumerate(notebook.cells):
        if grade_id(cell) == wanted:
            return index, cell
    raise KeyError(wanted)


def add_error_output(cell: NotebookNode, ename: str, evalue: str) -> None:
    """Append an error output: nbgrader then scores a graded cell 0, and feedback shows the reason."""
    cell.setdefault("outputs", []).append(
        NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
    )
