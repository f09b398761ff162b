"""Steps around execution: NO LOOPS checks (static and runtime) and integrity findings.

Everything the checks trust comes from the gradebook, i.e. from the instructor's source notebook:
the NO LOOPS declaration and the imports of the locked cells. The submitted code is only read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int, List, Unicode

from .. import events
from ..cells import add_error_output
from ..declarations import DECLARATION_CELL, DeclarationError, LoopFreeFunction, parse_declaration
from ..integrity import imported_names, integrity_findings, python_source
from ..noloops.static import SourceDefinitions
from .execute import RUNTIME_CELL

LOOP_ENAME = "LoopViolation"


@dataclass
class SourceFacts:
    """What the instructor's notebook says, read from the gradebook."""

    declared: list[LoopFreeFunction] = field(default_factory=list)
    protected: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (module, attr)


def source_facts(resources) -> SourceFacts:
    info = resources["nbgrader"]
    facts = SourceFacts()
    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return facts
        for cell in notebook.source_cells:
            if cell.name == DECLARATION_CELL:
                try:
                    facts.declared = parse_declaration(cell.source, f"{info['notebook']} (gradebook)")
                except DeclarationError:
                    facts.declared = []
            if cell.cell_type == "code" and cell.locked:
                facts.protected.update(imported_names(cell.source))
    return facts


def code_cells(nb: NotebookNode):
    """(index, python source) of every code cell a student could have written or changed."""
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")) or meta.get("locked"):
            continue
        source = python_source(cell.source)
        if source is not None:
            yield index, source


def _state(resources) -> dict:
    return resources.setdefault("autograder", {})


class CheckLoopsStatically(NbGraderPreprocessor):
    """Read the submitted code (without running it) for loops in the declared NO LOOPS functions."""

    def preprocess(self, nb, resources):
        facts = source_facts(resources)
        state = _state(resources)
        state["facts"] = facts
        definitions = SourceDefinitions()
        definitions.add_modules_beside(resources.get("metadata", {}).get("path"))
        for index, source in code_cells(nb):
            try:
                definitions.add_source(source, origin=f"cell {index + 1}")
            except SyntaxError:
                continue
        violations = state.setdefault("loop_violations", {})
        for function in facts.declared:
            try:
                found = definitions.find_loops(function.name)
            except KeyError:
                continue  # not defined: its tests fail anyway
            if found:
                violations[function.name] = [str(v) for v in found]
        return nb, resources


class ScanIntegrity(NbGraderPreprocessor):
    """Flag code that may interfere with the tests (never changes a score; a person reviews it). Cells
    exactly as the release handed them out are the instructor's code, not the student's: not flagged."""

    handed_out = Unicode("", help="The release folder of the assignment (default: the course directory's)."
                         ).tag(config=True)

    def preprocess(self, nb, resources):
        facts = _state(resources).get("facts") or source_facts(resources)
        released = self._released_sources(resources)
        for index, source in code_cells(nb):
            if nb.cells[index].source in released:
                continue
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for finding in integrity_findings(tree, facts.protected):
                events.record(resources, events.TAMPERING, finding, cell=index)
        return nb, resources

    def _released_sources(self, resources) -> set[str]:
        released = released_notebook(self, self.handed_out, resources)
        if released is None:
            return set()
        return {cell.source for cell in released.cells if cell.cell_type == "code" and cell.source.strip()}


def released_notebook(preprocessor: NbGraderPreprocessor, handed_out: str, resources) -> NotebookNode | None:
    """The notebook as the release handed it out (from `handed_out`, the assignment's release folder, or
    the course directory's), or None if it cannot be read; read once per notebook graded."""
    state = _state(resources)
    if "released" not in state:
        info = resources.get("nbgrader", {})
        try:
            if not handed_out:
                coursedir = CourseDirectory(parent=preprocessor)
                handed_out = coursedir.format_path(coursedir.release_directory, ".", info["assignment"])
            state["released"] = nbformat.read(Path(handed_out) / f"{info['notebook']}.ipynb", as_version=4)
        except (OSError, ValueError, KeyError):
            state["released"] = None
    return state["released"]


class AddRuntimeChecks(NbGraderPreprocessor):
    """Append the cell in which the kernel's guard probes the NO LOOPS functions (after every other cell)."""

    probe_sizes = List(
        Int(), default_value=[4, 32], minlen=2, maxlen=2,
        help="The small and large size of each probe dimension a declaration does not size.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        state = _state(resources)
        facts = state.get("facts") or source_facts(resources)
        default = tuple(self.probe_sizes)
        state["probe_specs"] = [(f.name, f.probe, {d: f.size_ladder(d, default) for d in f.dimensions})
                                for f in facts.declared]
        cell = NotebookNode(cell_type="code", source="__autograder_probe__()", outputs=[], execution_count=None,
                            metadata={"autograder": RUNTIME_CELL}, id=RUNTIME_CELL)
        nb.cells.append(cell)
        return nb, resources


class CollectRuntimeChecks(NbGraderPreprocessor):
    """Turn the guard's probe report into loop violations, and remove the probe's cell."""

    def preprocess(self, nb, resources):
        state = _state(resources)
        index = next((i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("autograder") == RUNTIME_CELL),
                     None)
        if index is None:
            return nb, resources
        nb.cells.pop(index)
        if not state.get("probe_specs"):
            return nb, resources
        report = state.get("probe_report")
        violations = state.setdefault("loop_violations", {})
        if report is None and state.get("probe_failure"):  # the student's code kept the probe from measuring
            events.record(resources, events.PROBE_FAILED, f"the runtime loop checks did not run: "
                          f"{state['probe_failure']}")
            for name, _, _ in state["probe_specs"]:
                violations.setdefault(name, []).append(
                    f"`{name}` could not be measured for loops: {state['probe_failure']}")
            return nb, resources
        if report is None:
            why = ("the kernel ran without the integrity guard" if not state.get("guarded")
                   else "the kernel was stopped before them")
            events.record(resources, events.PROBE_FAILED, f"the runtime loop checks did not run ({why})")
            return nb, resources
        for name, result in report.get("probes", {}).items():
            if "error" in result:
                if not _passes_its_tests(nb, state, name):
                    continue  # its tests fail already (a stub, a bug): the probe's error says nothing more
                events.record(resources, events.PROBE_FAILED, f"{name}: {result['error']}")
                violations.setdefault(name, []).append(
                    f"`{name}` could not be measured for loops: on the probe's inputs, which its contract "
                    f"allows, it raised {result['error']}")
                continue
            for dimension, found in result["dimensions"].items():
                if grows_with_input(found["lines"]):
                    sizes, lines = found["sizes"], found["lines"]
                    violations.setdefault(name, []).append(
                        f"`{name}` must not loop: it ran {_listed(lines)} lines of your code with {dimension} = "
                        f"{_listed(sizes)}, so it iterates over its input"
                    )
        return nb, resources


def grows_with_input(lines: list[int]) -> bool:
    """Whether the lines counted at growing sizes show a loop: more lines at more than one step up. One
    step is a branch on the input's size (`if n > 16: x = x.double()`), which loop-free code may have."""
    steps = sum(later > earlier for earlier, later in pairwise(lines))
    return steps >= 2 or (len(lines) == 2 and steps == 1)


def _listed(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:-1]) + f" and {values[-1]}" if len(values) > 1 else str(values[0])


def _passes_its_tests(nb: NotebookNode, state: dict, name: str) -> bool:
    """Whether every test cell guarding the NO LOOPS function `name` passed (by the guard's verdicts)."""
    facts = state.get("facts") or SourceFacts()
    guards = next((set(f.guards) for f in facts.declared if f.name == name), set())
    verdicts = state.get("verdicts", {})
    indices = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in guards]
    return bool(indices) and all(verdicts.get(i, {}).get("outcome") == "pass" for i in indices)


class MarkLoopViolations(NbGraderPreprocessor):
    """Fail the graded cells a loop costs, with the reason, so nbgrader scores them 0 and says why."""

    def preprocess(self, nb, resources):
        state = _state(resources)
        facts = state.get("facts") or source_facts(resources)
        violations = state.get("loop_violations", {})
        by_grade_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        for function in facts.declared:
            reasons = violations.get(function.name)
            if not reasons:
                continue
            text = "NO LOOPS rule: " + "; ".join(reasons)
            events.record(resources, events.LOOP_VIOLATION, text, function=function.name, guards=list(function.guards))
            for guard in function.guards:
                cell = by_grade_id.get(guard)
                if cell is not None and cell.cell_type == "code":
                    add_error_output(cell, LOOP_ENAME, text)
        return nb, resources
