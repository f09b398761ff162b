"""source/ -> release/: the committed release is current, stubbed, and leaks nothing."""

import copy
import shutil

import nbformat
import pytest

from autograder.cells import cell_with_id, graded_ids
from autograder.declarations import DeclarationError, read_declaration
from autograder.release import check_course, check_release, check_source
from tests.notebooks import ASSIGNMENT, RELEASE, ROOT, SOURCE

SOURCES = sorted(SOURCE.glob("*.ipynb"))


def test_the_spec_notebooks_exist():
    assert {"architectures.ipynb", "segmentation.ipynb"} <= {p.name for p in SOURCES}


def test_committed_release_is_a_fresh_generation_and_passes_every_check():
    problems = check_course(ROOT, ASSIGNMENT)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_solution_became_a_stub_and_hidden_tests_are_gone(path):
    source = nbformat.read(path, 4)
    release = nbformat.read(RELEASE / path.name, 4)
    released = {c.id: c for c in release.cells}
    solutions = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    assert solutions
    for cell in solutions:
        stub = released[cell.id].source
        assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
    hidden = [c for c in source.cells if "### BEGIN HIDDEN TESTS" in c.source]
    assert hidden
    for cell in hidden:
        assert released[cell.id].source.strip().startswith("#"), "a hidden-test cell should keep only its comment"
        assert all(line.startswith("#") for line in released[cell.id].source.strip().splitlines())


def test_check_release_catches_a_leaked_solution_and_a_missing_stub(tmp_path):
    path = SOURCES[0]
    leaky = tmp_path / path.name
    shutil.copy(path, leaky)  # the source itself, solutions and hidden tests included
    messages = [p.message for p in check_release(path, leaky)]
    assert any("marker 'BEGIN SOLUTION'" in m for m in messages)
    assert any("leaked" in m for m in messages)
    assert any("has no `raise NotImplementedError()` stub" in m for m in messages)


def test_check_source_catches_outputs_and_bad_declarations(tmp_path):
    notebook = nbformat.read(SOURCES[0], 4)
    dirty = copy.deepcopy(notebook)
    dirty.cells[1].outputs = [nbformat.v4.new_output("stream", text="hi")]
    dirty.cells[1].execution_count = 3
    _, declaration = cell_with_id(dirty, "no_loops_declaration")
    declaration.source = declaration.source.replace('"guards": ["', '"guards": ["no_such_cell", "', 1)
    path = tmp_path / "dirty.ipynb"
    nbformat.write(dirty, path)
    messages = [p.message for p in check_source(path)]
    assert any("stored with outputs" in m for m in messages)
    assert any("'no_such_cell'" in m for m in messages)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_declarations_name_defined_functions_and_graded_cells(path):
    notebook = nbformat.read(path, 4)
    declared = read_declaration(notebook)
    assert declared, f"{path.name} declares no NO LOOPS function"
    for function in declared:
        assert set(function.guards) <= graded_ids(notebook)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("NO_LOOPS = {'f': {'guards': ['a']}}", "needs a 'guards' list and a 'probe' string"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'lambda *a: a'}}", "plain size parameters"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'lambda n=3: n'}}", "plain size parameters"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'print'}}", "plain size parameters"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'lambda n: ('}}", "does not parse"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'lambda n: n', 'sizes': {'k': [2, 9]}}}", "no probe parameter"),
        ("NO_LOOPS = {'f': {'guards': ['a'], 'probe': 'lambda n: n', 'sizes': {'n': [9, 2]}}}", "1 <= small < large"),
        ("NO_LOOPS = dict(f=1)", "literal dict"),
        ("LOOPS = {}", "does not assign NO_LOOPS"),
    ],
)
def test_malformed_declarations_are_refused(source, error):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": "no_loops_declaration", "locked": True}
    with pytest.raises(DeclarationError, match=error):
        read_declaration(nbformat.v4.new_notebook(cells=[cell]))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_figure_cells_show_with_show_figures_so_grading_skips_rendering(path):
    direct = [index for index, cell in enumerate(nbformat.read(path, 4).cells)
              if cell.cell_type == "code" and "plt.show()" in cell.source]
    assert not direct, (f"{path.name}: cells {direct} call plt.show(); end them with show_figures() "
                        "(course.display), which closes the figures undrawn while the notebook is graded")


def test_a_probe_names_each_input_dimension_and_may_size_it():
    cell = nbformat.v4.new_code_cell(
        "NO_LOOPS = {'mean_iou': {'guards': ['g'], 'probe': 'lambda n, k: (n, k)', 'sizes': {'k': [2, 12]}}}")
    cell.metadata["nbgrader"] = {"grade_id": "no_loops_declaration", "locked": True}
    (declared,) = read_declaration(nbformat.v4.new_notebook(cells=[cell]))
    assert declared.dimensions == ("n", "k")
    assert declared.size_range("k", (4, 32)) == (2, 12) and declared.size_range("n", (4, 32)) == (4, 32)
