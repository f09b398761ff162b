"""Every notebook run top to bottom in a real kernel: solutions pass, stubs fail cleanly."""

import re

import nbformat
import pytest

from autograder.cells import cell_with_id
from autograder.declarations import read_declaration
from tests.notebooks import RELEASE, SOURCE, errors, execute, graded_cells

pytestmark = pytest.mark.slow
NAMES = sorted(p.name for p in SOURCE.glob("*.ipynb"))
STUB_ERRORS = {"NotImplementedError", "AssertionError"}
_executed: dict = {}
GRADING_ENV = {**__import__("os").environ, "NBGRADER_EXECUTION": "autograde"}


def executed(folder, name, env=None):
    key = (folder, name, env is not None)
    if key not in _executed:
        _executed[key] = execute(nbformat.read(folder / name, 4), cwd=folder, env=env)
    return _executed[key]


@pytest.mark.parametrize("name", NAMES)
def test_source_notebook_passes_every_test_cell(name):
    """In grading mode, as the autograder runs it (demos at their graded size, tests as they are); the
    full-size run, as students run it with every figure, is the browser test's (tests/browser)."""
    notebook = executed(SOURCE, name, GRADING_ENV)
    found = errors(notebook)
    assert not found, "the solution notebook raised:\n" + "\n".join(map(str, found))
    assert graded_cells(notebook), "no graded test cells"


@pytest.mark.parametrize("name", NAMES)
def test_release_notebook_fails_only_in_stubs_and_tests(name):
    notebook = executed(RELEASE, name)
    found = errors(notebook)
    unexpected = [e for e in found if e.ename not in STUB_ERRORS]
    assert not unexpected, "the release raised errors other than stubs and failing tests:\n" + "\n".join(
        map(str, unexpected)
    )
    failed = {e.grade_id for e in found}
    for grade_id, cell in graded_cells(notebook).items():
        runs_code = any(line.strip() and not line.strip().startswith("#") for line in cell.source.splitlines())
        if runs_code:
            assert grade_id in failed, f"visible test {grade_id} passes on the unsolved release notebook"


def _inject_loop(source: str, function: str) -> str:
    """Put a `for` loop at the top of a function's solution region (same indentation)."""
    pattern = re.compile(rf"(def {re.escape(function.split('.')[-1])}\(.*?\n)([ \t]*)### BEGIN SOLUTION\n", re.S)
    mutated, count = pattern.subn(lambda m: f"{m.group(1)}{m.group(2)}### BEGIN SOLUTION\n"
                                  f"{m.group(2)}for _ in range(1):\n{m.group(2)}    pass\n", source, count=1)
    assert count == 1, f"could not find the solution region of {function}"
    return mutated


@pytest.mark.parametrize("name", NAMES)
def test_a_loop_in_a_no_loops_function_fails_its_visible_test(name):
    """A loop put into every NO LOOPS function at once (it iterates once and does nothing, so no value
    changes): each function's visible test must fail, naming NO LOOPS. One run up to the last such test,
    in grading mode (demos at their graded size; tests as they are)."""
    mutated = nbformat.read(SOURCE / name, 4)
    declared = read_declaration(mutated)
    last = 0
    for function in declared:
        visible = [g for g in function.guards if g.endswith("_visible")]
        assert visible, f"{function.name} has no visible guard"
        last = max(last, cell_with_id(mutated, visible[0])[0])
        defines = re.compile(rf"^(def|class) {function.name.split('.')[0]}\b", re.M)
        defining = next(c for c in mutated.cells if c.cell_type == "code" and defines.search(c.source))
        defining.source = _inject_loop(defining.source, function.name)
    mutated.cells = mutated.cells[: last + 1]
    failed = {e.grade_id: e for e in errors(execute(mutated, cwd=SOURCE, env=GRADING_ENV))}
    for function in declared:
        visible = next(g for g in function.guards if g.endswith("_visible"))
        assert visible in failed and "NO LOOPS" in failed[visible].evalue, (
            f"{function.name} with a loop still passes {visible}")
