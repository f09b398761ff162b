"""The student self-check (`course.self_check()`, `python -m course.selfcheck`) and `nbgrader validate`,
on the real notebooks: the release fails where a student has work to do, a solved copy passes, and a
loop put into a NO LOOPS function is reported with its function, construct and line."""

import ast
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

import course
from autograder.demo import inject_loop
from course.selfcheck import SelfCheckResult, find_loop_problems, self_check
from tests.notebooks import RELEASE, ROOT, SOURCE

RELEASES = sorted(RELEASE.glob("*.ipynb"))
SOURCES = sorted(SOURCE.glob("*.ipynb"))


def _code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def visible_test_ids(notebook) -> set[str]:
    return {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade") and _code(c.source)}


def stub_functions(notebook) -> set[str]:
    """Functions (and methods) whose body raises NotImplementedError in the solution cells."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.FunctionDef) and "NotImplementedError" in ast.unparse(node):
                    names.add(node.name)
    return names


def test_self_check_is_exported_lazily():
    assert "self_check" in course.__all__
    assert course.self_check is self_check


def test_without_a_notebook_path_the_check_says_what_to_do(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    result = self_check()
    assert result.skipped and "course.self_check('architectures.ipynb')" in result.report()
    assert not result.passed


def test_while_grading_a_self_check_cell_does_nothing(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("JPY_SESSION_NAME", str(RELEASES[0]))
    result = self_check()
    assert result.skipped and "being graded" in result.report() and not result.ran


def test_the_notebook_comes_from_the_kernels_session(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(RELEASES[0]))
    result = self_check(run=False)
    assert result.notebook == RELEASES[0].resolve() and not result.ran


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_static_checks_pass_on_the_solutions(path):
    result = self_check(path, run=False)
    assert result.no_loops_functions, f"{path.name} declares no NO LOOPS function"
    assert not result.loops and not result.problems and not result.unanswered, result.report()
    assert "no loop found" in result.report()


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.name)
def test_empty_written_answers_are_listed(path):
    notebook = nbformat.read(path, 4)
    answers = {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}
    result = self_check(path, run=False)
    assert {entry.split(" ")[0] for entry in result.unanswered} == answers
    if answers:
        assert "Written answers still empty" in result.report() and not result.passed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_a_loop_injected_into_each_no_loops_function_is_reported_with_its_line(path, tmp_path):
    notebook = nbformat.read(path, 4)
    declared, _, _ = find_loop_problems(notebook)
    for function in declared:
        mutated = nbformat.read(path, 4)
        index, cell = next((i, c) for i, c in enumerate(mutated.cells)
                           if c.cell_type == "code" and f"def {function.split('.')[-1]}(" in c.source)
        cell.source = inject_loop(cell.source, function)
        copy = tmp_path / f"{function}-{path.name}"
        nbformat.write(mutated, copy)
        result = self_check(copy, run=False)
        own = [p for p in result.loops if p.function == function]
        assert [p.construct for p in own] == ["for loop"], result.report()
        callers = [p for p in result.loops if p.function != function]
        assert all(p.function in declared and p.where == function and p.code == own[0].code for p in callers), \
            f"only NO LOOPS functions that call `{function}` may lose points for its loop:\n{result.report()}"
        loop = own[0]
        assert loop.cell == index + 1 and loop.code == "for _ in range(1):"
        assert cell.source.splitlines()[loop.cell_line - 1].strip() == "for _ in range(1):"
        definition = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.FunctionDef)
                          and n.name == function.split(".")[-1])
        assert loop.line == loop.cell_line - definition.lineno + 1
        report = result.report()
        assert f"`{function}`" in report and f"for loop at line {loop.line}" in report
        assert f"[line {loop.cell_line} of cell {loop.cell}]" in report and not result.passed


def test_loops_in_helpers_magics_and_broken_cells(tmp_path):
    cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
        nbformat.v4.new_code_cell('NO_LOOPS = {"total": {"guards": [], "probe": "lambda n: (n,)"}, '
                                  '"missing": {"guards": [], "probe": "lambda n: (n,)"}}'),
        nbformat.v4.new_code_cell("def helper(x):\n    return [v + 1 for v in x]\n\n"
                                  "def total(x):\n    return np.sum(helper(x))"),
        nbformat.v4.new_code_cell("def broken(:\n    pass"),
    ]
    cells[1].metadata["nbgrader"] = {"grade_id": "no_loops_declaration", "locked": True}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    result = self_check(path, run=False)
    assert [(p.function, p.where, p.construct, p.cell, p.cell_line) for p in result.loops] == [
        ("total", "helper", "list comprehension", 3, 2)]
    assert ", which `total` calls: " in result.report()
    assert any("`missing` is a NO LOOPS function, but no cell defines it" in p for p in result.problems)
    assert any(p.startswith("cell 4 is not valid Python") for p in result.problems)


@pytest.mark.slow
@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.name)
def test_the_release_notebook_fails_its_visible_tests_in_plain_words(path):
    notebook = nbformat.read(path, 4)
    result = self_check(path, progress=False)
    assert isinstance(result, SelfCheckResult) and result.ran and not result.passed
    assert {p.grade_id for p in result.failed_tests} == visible_test_ids(notebook)
    assert result.visible_tests == len(visible_test_ids(notebook))
    stubs = stub_functions(notebook)
    for problem in result.failed_tests + result.other_errors:
        assert problem.ename in {"NotImplementedError", "AssertionError"}, problem
        if problem.ename == "NotImplementedError":
            assert problem.stub in stubs, f"{problem} names no stub of the notebook"
    report = result.report()
    for problem in result.failed_tests:
        assert problem.grade_id in report
    assert "Visible tests that fail" in report and "Not ready yet" in report


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_a_solved_notebook_passes(path, tmp_path):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    result = self_check(copy, progress=False)
    assert result.ran and result.passed, result.report()
    assert "Ready to submit" in result.report()


@pytest.mark.slow
def test_the_command_line_reports_and_exits_nonzero():
    path = RELEASES[0]
    done = subprocess.run([sys.executable, "-m", "course.selfcheck", str(path)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Self-check of {path.name}" in done.stdout and "Visible tests that fail" in done.stdout
    assert "RuntimeWarning" not in done.stderr


@pytest.mark.slow
def test_nbgrader_validate_works_with_the_course_config(tmp_path):
    """A student's other self-check: `nbgrader validate` (also behind JupyterLab's Validate button)."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(RELEASE, tmp_path / "release" / RELEASE.name)
    path = RELEASES[0]
    done = subprocess.run(["nbgrader", "validate", f"release/{RELEASE.name}/{path.name}"], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path, env={**os.environ, "COURSE_DEVICE": "cpu"})
    output = done.stdout + done.stderr
    assert "The following cell failed" in output and "NotImplementedError" in output, output[-3000:]
    notebook = nbformat.read(path, 4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in visible_test_ids(notebook):
            assert cell.source.splitlines()[0][:60] in output, f"validate does not show the failing cell {cell.id}"
