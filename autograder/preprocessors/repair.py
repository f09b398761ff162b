"""Repair the structure of a submission before nbgrader's own sanitizing steps.

nbgrader's OverwriteCells restores the text of locked cells and (with `add_missing_cells`) re-adds
deleted test cells. Two things it does not handle are done here, before it runs:
- a cell copied by the student: nbgrader keeps the last copy and empties the metadata of the others,
  which then crashes OverwriteCells (nbgrader 0.9.6); here the earlier copies lose their nbgrader
  metadata entirely, so they are graded as the student's own cells;
- a test cell moved above the code it tests: the instructor's order of the cells nbgrader knows is
  restored, each keeping the student's own cells that followed it.
Everything found is recorded for the report.
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import events
from ..cells import grade_id


class RepairCells(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            try:
                notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            order = {cell.name: rank for rank, cell in enumerate(notebook.source_cells)}
            graded = {cell.name for cell in notebook.grade_cells}
        present = [grade_id(c) for c in nb.cells if grade_id(c) in order]
        duplicated = sorted({g for g in present if present.count(g) > 1})
        if duplicated:
            last = {grade_id(c): i for i, c in enumerate(nb.cells)}
            for index, cell in enumerate(nb.cells):
                if grade_id(cell) in duplicated and index != last[grade_id(cell)]:
                    del cell.metadata["nbgrader"]
            events.record(resources, events.CELLS_RESTORED, f"duplicated cells {', '.join(duplicated)}: the last "
                          "copy is graded, earlier copies count as ordinary cells")
            present = list(dict.fromkeys(present))
        missing = sorted(graded - set(present))
        if missing:
            events.record(resources, events.CELLS_RESTORED, f"deleted test cells {', '.join(missing)} were put back")
        groups: list[list] = [[]]
        seen: set[str] = set()
        for cell in nb.cells:
            key = grade_id(cell)
            if key in order and key not in seen:
                seen.add(key)
                groups.append([cell])
            else:
                groups[-1].append(cell)
        head, known = groups[0], groups[1:]
        ranked = sorted(known, key=lambda group: order[grade_id(group[0])])
        if ranked != known:
            moved = [grade_id(g[0]) for g, r in zip(known, ranked, strict=True) if g is not r]
            events.record(resources, events.CELLS_RESTORED,
                          f"cells moved out of order were put back in place: {', '.join(moved[:6])}")
            nb.cells = head + [cell for group in ranked for cell in group]
        return nb, resources
