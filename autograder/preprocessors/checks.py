"""Steps around execution: NO LOOPS checks (static and runtime) and integrity findings.

Everything the checks trust comes from the gradebook, i.e. from the instructor's source notebook:
the NO LOOPS declaration and the imports of the locked cells. The submitted code is only read.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int, List

from course.loops import SourceDefinitions

from .. import events, kernel_checks
from ..cells import add_error_output
from ..declarations import DECLARATION_CELL, DeclarationError, LoopFreeFunction, parse_declaration

RUNTIME_CELL = "autograder_runtime_checks"
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


def imported_names(source: str) -> dict[str, tuple[str, str | None]]:
    """Names bound by the top-level imports of `source`: `np` -> ("numpy", None), ...

    Imports inside functions (a test's local helpers) bind nothing in the notebook's namespace.
    """
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return {}
    names: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    names[top] = (top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def code_cells(nb: NotebookNode):
    """(index, python source) of every code cell a student could have written or changed."""
    transformer = TransformerManager()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")) or meta.get("locked"):
            continue
        try:
            yield index, transformer.transform_cell(cell.source)
        except Exception:  # noqa: BLE001 - IPython could not transform it: nothing to define
            continue


def _state(resources) -> dict:
    return resources.setdefault("autograder", {})


class CheckLoopsStatically(NbGraderPreprocessor):
    """Read the submitted code (without running it) for loops in the declared NO LOOPS functions."""

    def preprocess(self, nb, resources):
        facts = source_facts(resources)
        state = _state(resources)
        state["facts"] = facts
        definitions = SourceDefinitions()
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
    """Flag code that may interfere with the tests (never changes a score; a person reviews it)."""

    def preprocess(self, nb, resources):
        facts = _state(resources).get("facts") or source_facts(resources)
        for index, source in code_cells(nb):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for finding in integrity_findings(tree, facts.protected):
                events.record(resources, events.TAMPERING, f"cell {index + 1}: {finding}", cell=index)
        return nb, resources


INTROSPECTION_ATTRIBUTES = {"_getframe", "currentframe", "getouterframes", "getinnerframes", "f_back",
                            "f_globals", "f_locals", "history_manager", "settrace", "setprofile", "monitoring"}
INTROSPECTION_NAMES = {"_ih", "_oh", "In", "Out", "__builtins__"}
SECRETS = ("gradebook", "BEGIN HIDDEN", "HIDDEN TESTS", "/source/", "submitted/", "autograded/")


def integrity_findings(tree: ast.AST, protected: dict[str, tuple[str, str | None]]) -> list[str]:
    """Rebinding what the course imported, patching libraries, introspecting the running tests."""
    modules = {module.split(".")[0] for module, _ in protected.values()} | {"builtins", "sys"}
    found = []

    def root(node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    def note(node, text):
        found.append(f"line {node.lineno}: {text}")

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in protected:
            note(node, f"redefines `{node.name}`, which the course imports for the tests")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound in protected and not _same_object(node, alias, protected[bound]):
                    note(node, f"imports something else as `{bound}`, which the course imports for the tests")
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("setattr", "delattr") and node.args and root(node.args[0]) in modules | set(protected):
                note(node, f"calls {name}() on `{ast.unparse(node.args[0])}`")
            if name in ("stack", "trace") and root(node.func) == "inspect":
                note(node, f"calls inspect.{name}() (introspection of the running tests)")
        elif isinstance(node, ast.Attribute) and node.attr in INTROSPECTION_ATTRIBUTES:
            note(node, f"uses `.{node.attr}` (introspection of the running tests)")
        elif isinstance(node, ast.Name) and node.id in INTROSPECTION_NAMES:
            note(node, f"uses `{node.id}` (the kernel's history or builtins)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for secret in SECRETS:
                if secret in node.value:
                    note(node, f"mentions {secret!r}")
        for target in targets:
            if isinstance(target, ast.Name) and target.id in protected:
                note(node, f"rebinds `{target.id}`, which the course imports for the tests")
            elif isinstance(target, (ast.Attribute, ast.Subscript)) and root(target) in modules | set(protected):
                note(node, f"assigns to `{ast.unparse(target)}`")
    return sorted(set(found))


def _same_object(node, alias, expected: tuple[str, str | None]) -> bool:
    """`import numpy as np` again is harmless; binding something else to `np` is not."""
    if isinstance(node, ast.Import):
        imported = alias.name if alias.asname else alias.name.split(".")[0]
    else:
        imported = f"{node.module}.{alias.name}"
    wanted = expected[0] if expected[1] is None else f"{expected[0]}.{expected[1]}"
    same_leaf = imported.rsplit(".", 1)[-1] == wanted.rsplit(".", 1)[-1]
    return imported == wanted or (same_leaf and imported.split(".")[0] == wanted.split(".")[0])


class AddRuntimeChecks(NbGraderPreprocessor):
    """Append the cell that probes NO LOOPS functions and checks integrity inside the kernel."""

    probe_sizes = List(
        Int(), default_value=[4, 32], minlen=2, maxlen=2,
        help="The small and large size of each probe dimension a declaration does not size.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        state = _state(resources)
        facts = state.get("facts") or source_facts(resources)
        marker = f"AUTOGRADER-{secrets.token_hex(8)}"
        state["marker"] = marker
        default = tuple(self.probe_sizes)
        specs = {f.name: (f.probe, {d: list(f.size_range(d, default)) for d in f.dimensions}) for f in facts.declared}
        call = f"\nrun_checks({specs!r}, {facts.protected!r}, {marker!r})\n"
        source = Path(kernel_checks.__file__).read_text() + call
        cell = NotebookNode(cell_type="code", source=source, outputs=[], execution_count=None,
                            metadata={"autograder": RUNTIME_CELL}, id=RUNTIME_CELL)
        nb.cells.append(cell)
        return nb, resources


class CollectRuntimeChecks(NbGraderPreprocessor):
    """Read what the runtime-check cell printed, turn it into findings, and remove the cell."""

    def preprocess(self, nb, resources):
        state = _state(resources)
        marker = state.get("marker", "")
        index = next((i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("autograder") == RUNTIME_CELL),
                     None)
        if index is None:
            return nb, resources
        cell = nb.cells.pop(index)
        report = None
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(marker + " "):
                    report = json.loads(line[len(marker) + 1:])
        if report is None:
            events.record(resources, events.PROBE_FAILED,
                          "the runtime checks did not finish (the kernel was stopped before them)")
            return nb, resources
        for finding in report.get("tampering", []):
            events.record(resources, events.TAMPERING, f"at run time: {finding}")
        violations = state.setdefault("loop_violations", {})
        for name, result in report.get("probes", {}).items():
            if "error" in result:
                events.record(resources, events.PROBE_FAILED, f"{name}: {result['error']}")
                continue
            for dimension, found in result["dimensions"].items():
                (small, large), (lines_small, lines_large) = found["sizes"], found["lines"]
                if lines_large > lines_small:
                    violations.setdefault(name, []).append(
                        f"`{name}` must not loop: it ran {lines_small} lines of your code with {dimension} = "
                        f"{small} but {lines_large} with {dimension} = {large}, so it iterates over its input"
                    )
        return nb, resources


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
