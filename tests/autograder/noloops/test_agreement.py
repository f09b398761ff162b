"""The three readers of the NO LOOPS rule agree: the grader (the submitted cells, never run),
`course.self_check()` (the saved notebook) and `assert_no_loops` (the live function in the kernel) find
the same loops, in the same words, on every evasion and every honest answer of test_static."""

import importlib.util
import sys

import nbformat
import pytest

from autograder.declarations import DECLARATION_CELL
from autograder.noloops.static import SourceDefinitions, find_loops_in_function
from course.checks import assert_no_loops
from course.selfcheck import find_loop_problems
from tests.autograder.noloops.test_static import EVASIONS, HONEST

DECLARATION = 'NO_LOOPS = {"row_means": {"guards": ["row_means_test"], "probe": "lambda n: (np.ones((n, 3)),)"}}'
CASES = {**EVASIONS, **HONEST}


def grader_reading(code: str) -> list[str]:
    definitions = SourceDefinitions()
    definitions.add_source("import numpy as np\n" + code, origin="cell 2")
    return [str(v) for v in definitions.find_loops("row_means")]


def self_check_reading(code: str) -> list[str]:
    declaration = nbformat.v4.new_code_cell(DECLARATION, metadata={"nbgrader": {"grade_id": DECLARATION_CELL}})
    notebook = nbformat.v4.new_notebook(cells=[declaration, nbformat.v4.new_code_cell("import numpy as np\n" + code)])
    declared, loops, problems = find_loop_problems(notebook)
    assert declared == ["row_means"] and not problems, problems
    return [loop.message for loop in loops]


def live_reading(code: str, folder) -> tuple[list[tuple[str, str]], str]:
    path = folder / "answer.py"
    path.write_text("import numpy as np\n" + code)
    spec = importlib.util.spec_from_file_location(f"answer_{abs(hash(code))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    found = [(v.where, v.construct) for v in find_loops_in_function(module.row_means)]
    try:
        assert_no_loops(module.row_means, name="row_means")
    except AssertionError as error:
        return found, str(error)
    return found, ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_grader_self_check_and_assert_no_loops_agree(name, tmp_path):
    code = CASES[name]
    grader, self_check = grader_reading(code), self_check_reading(code)
    live, raised = live_reading(code, tmp_path)
    assert grader == self_check, "the grader and self_check word it differently"
    assert bool(grader) == bool(live) == bool(raised) == (name in EVASIONS), (grader, live, raised)
    assert {line.split(": ", 2)[1].split(" at line ")[0] for line in grader} == {construct for _, construct in live}
    for line in grader:  # assert_no_loops says the same, less the cell (a live function has none)
        assert line.replace(" (cell 2)", "").split(": ", 1)[1] in raised.replace("`row_means` must not loop: ", "")
