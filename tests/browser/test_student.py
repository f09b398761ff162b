"""A student's path in a real JupyterLab, asserted from what Chromium renders.

Every release notebook: open it, Run All; JupyterLab stops at the first cell that raises (as a
student sees it), so the test then carries on below each failing cell until every cell has run once.
The page must then show the headings, the figures, each stub stopping with its NotImplementedError,
and nothing but stubs and failing visible tests raising. Every source notebook, run the same way,
must end with no error and show its table and figures.
"""

from __future__ import annotations

import ast
import re
import shutil

import nbformat
import pytest

from tests.browser.lab import Notebook, RenderedCell
from tests.notebooks import ASSIGNMENT, RELEASE, SOURCE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RELEASES = sorted(p.name for p in RELEASE.glob("*.ipynb"))
SOURCES = sorted(p.name for p in SOURCE.glob("*.ipynb"))
STUB_ERRORS = {"NotImplementedError", "AssertionError"}


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def runs_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def _raises_not_implemented(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(node))


def stubs(notebook) -> dict[str, list[str]]:
    """Each stubbed function or class of the solution cells -> the functions a traceback through it names.

    A class counts through any of its stubbed methods: its test builds it first, so `__init__` stops
    before `forward` is ever reached.
    """
    found = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and nbgrader(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef) and _raises_not_implemented(node):
                    found[node.name] = [node.name]
                elif isinstance(node, ast.ClassDef):
                    methods = [m.name for m in node.body
                               if isinstance(m, ast.FunctionDef) and _raises_not_implemented(m)]
                    if methods:
                        found[node.name] = methods
    return found


def headings(notebook) -> list[str]:
    """The markdown headings of a notebook, as plain text (formatting and links removed)."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^#{1,4}\s+(.*)", line)
                if match:
                    found.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1)))
    return found


def plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def figure_cells(notebook) -> list[int]:
    """Code cells that draw a figure (plt.show(), or a course plotting helper)."""
    return [i for i, c in enumerate(notebook.cells)
            if c.cell_type == "code" and re.search(r"plt\.show\(\)|\bplot_\w+\(|\.imshow\(", c.source)]


def assert_page_matches_notebook(notebook, cells: list[RenderedCell], name: str) -> None:
    assert len(cells) == len(notebook.cells), f"{name}: the page shows {len(cells)} cells, the file has " \
                                              f"{len(notebook.cells)}"
    shown = {plain(h) for c in cells for h in c.headings}
    for heading in headings(notebook):
        assert plain(heading) in shown, f"{name}: the heading {heading!r} is not rendered"
    not_run = [c.index for c in cells if c.kind == "code" and not c.executed]
    assert not not_run, f"{name}: cells {not_run} never ran"


NOTHING_TO_PLOT = re.compile(r"nothing to (plot|show) yet")  # course.seg_plots, before any model is trained


def assert_figures_drawn(notebook, cells: list[RenderedCell], name: str, untrained_ok: bool = False) -> None:
    """Every figure cell that ran without error shows an image (or, in the release, says why not)."""
    for index in figure_cells(notebook):
        if cells[index].errors:
            continue
        images = cells[index].images
        if not images and untrained_ok and NOTHING_TO_PLOT.search(cells[index].text):
            continue
        assert images, f"{name}: cell {index} draws a figure, but the page shows no image"
        assert all(i["complete"] and i["width"] > 100 and i["height"] > 100 for i in images), images


@pytest.mark.parametrize("name", RELEASES)
def test_release_notebook_in_jupyterlab(name, course_lab, page, screenshots):
    notebook = nbformat.read(RELEASE / name, 4)
    with Notebook(page, course_lab, f"release/{ASSIGNMENT}/{name}") as view:
        view.hide_sidebar()
        stops = view.run_every_cell()
        cells = view.cells()
        first_test = min((c.index for c in cells if c.errors), default=0)
        view.screenshot(screenshots / f"release-{name.removesuffix('.ipynb')}.png", at=first_test)
    assert_page_matches_notebook(notebook, cells, name)

    # Run All stopped at the first failing cell (a student sees that one first), then at each later one.
    errors = {c.index: c.errors[0] for c in cells if c.errors}
    assert stops and stops[0] == min(errors), "Run All did not stop at the first failing cell"
    unexpected = {i: f"{e.ename}: {e.message[:200]}" for i, e in errors.items() if e.ename not in STUB_ERRORS}
    assert not unexpected, f"{name}: cells raise something other than a stub or a failing test: {unexpected}"

    # Each stub stops with its NotImplementedError, in a cell that calls it.
    for stub, frames in stubs(notebook).items():
        shown = [i for i, e in errors.items()
                 if e.ename == "NotImplementedError" and any(e.mentions_frame(frame) for frame in frames)]
        assert shown, f"{name}: no cell shows `{stub}` stopping with NotImplementedError"

    # Every visible test fails on the unsolved notebook, visibly.
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and nbgrader(cell).get("grade") and runs_code(cell.source):
            assert index in errors, f"{name}: visible test {nbgrader(cell)['grade_id']} shows no failure"

    assert_figures_drawn(notebook, cells, name, untrained_ok=True)
    if name == "architectures.ipynb":
        figure = next(i for i, c in enumerate(notebook.cells) if "plot_receptive_fields(" in c.source)
        assert cells[figure].images and not cells[figure].errors, "the receptive-field figure is not drawn"
        table = next(i for i, c in enumerate(notebook.cells) if "format_table(rows" in c.source)
        assert errors[table].ename == "NotImplementedError" and errors[table].mentions_frame("vgg_accounting")


@pytest.mark.parametrize("name", SOURCES)
def test_source_notebook_in_jupyterlab(name, course_lab, page, screenshots):
    """Solutions run top to bottom with no error, every figure drawn, at the size students run them."""
    notebook = nbformat.read(SOURCE / name, 4)
    with Notebook(page, course_lab, f"source/{ASSIGNMENT}/{name}") as view:
        view.hide_sidebar()
        stops = view.run_every_cell()
        cells = view.cells()
        shot = next((i for i in figure_cells(notebook) if cells[i].images), len(cells) - 1)
        if name == "architectures.ipynb":
            shot = next(i for i, c in enumerate(notebook.cells) if "format_table(rows" in c.source)
        if name == "segmentation.ipynb":
            shot = next(i for i, c in enumerate(notebook.cells) if "plot_predictions(" in c.source)
        view.screenshot(screenshots / f"source-{name.removesuffix('.ipynb')}.png", at=shot)
    assert_page_matches_notebook(notebook, cells, name)
    errors = {c.index: f"{c.errors[0].ename}: {c.errors[0].message[:300]}" for c in cells if c.errors}
    assert not stops and not errors, f"{name}: the solution notebook shows errors: {errors}"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and nbgrader(cell).get("grade") and "visible tests passed" in cell.source:
            assert "visible tests passed" in cells[index].text, f"{name}: cell {index} does not say it passed"
    assert_figures_drawn(notebook, cells, name)

    if name == "architectures.ipynb":
        table = next(i for i, c in enumerate(notebook.cells) if "format_table(rows" in c.source)
        text = cells[table].text
        rows = [line for line in text.splitlines() if re.match(r"^(INPUT|CONV3-\d+|POOL2|FC)\s", line)]
        assert len(rows) == 22 and all(line.rstrip().endswith("yes") for line in rows), text
        assert "TOTAL" in text and "15,237,608" in text and "138,344,128" in text, text


def test_a_wrong_answer_gets_a_plain_message_and_the_self_check_names_the_loop(course_lab, page, screenshots):
    """A student writes a wrong conv_output_size with a loop, runs its visible test, saves, and calls
    course.self_check() from a new cell: both say what to fix, in the page."""
    if "architectures.ipynb" not in RELEASES:
        pytest.skip("architectures.ipynb is not released")
    name = "architectures-selfcheck.ipynb"
    folder = course_lab.root / "release" / ASSIGNMENT
    shutil.copy(folder / "architectures.ipynb", folder / name)
    notebook = nbformat.read(folder / name, 4)
    ids = [nbgrader(c).get("grade_id") for c in notebook.cells]
    stub, test = ids.index("vgg_conv_output_size"), ids.index("vgg_conv_output_size_visible")

    with Notebook(page, course_lab, f"release/{ASSIGNMENT}/{name}") as view:
        view.hide_sidebar()
        view.run_all()
        first = view.cells()[test]
        assert first.errors and first.errors[0].ename == "NotImplementedError"
        assert first.errors[0].mentions_frame("conv_output_size")

        view.replace_source(stub, (
            "def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):\n"
            "    out = size\n"
            "    for _ in range(1):\n"
            "        out = (size + 2 * padding - kernel) // stride + 1\n"
            "    return out\n"
        ))
        view.run_cell(stub)
        failed = view.run_cell(test)
        assert failed.errors, "the visible test passed a wrong conv_output_size"
        error = failed.errors[0]
        assert error.ename == "AssertionError"
        assert "conv_output_size(32, 3, 1, padding=2, dilation=2): expected 32, got 34" in error.message, error.message
        assert "Hint: a dilated 3x3 kernel with dilation 2 spans 5 pixels" in error.message, error.message

        check = view.append_cell("course.self_check()")
        view.save()
        report = view.run_cell(check, timeout=600).text
        assert f"Self-check of {name}" in report, report
        assert "Visible tests that fail" in report and "vgg_conv_output_size_visible" in report, report
        assert "expected 32, got 34" in report, report
        loop_line = 3  # the `for` line of the definition typed above
        assert f"`conv_output_size` must not loop: for loop at line {loop_line} of `conv_output_size` (cell " \
               f"{stub + 1}): for _ in range(1): [line {loop_line} of cell {stub + 1}]" in report, report
        assert "Not ready yet" in report, report
        view.screenshot(screenshots / "selfcheck-architectures.png", at=check - 1)


@pytest.mark.parametrize("name", RELEASES)
def test_the_validate_button_reports_the_failing_cells(name, course_lab, page, screenshots):
    """nbgrader's Validate button (its JupyterLab extension) works with the pinned JupyterLab."""
    notebook = nbformat.read(RELEASE / name, 4)
    with Notebook(page, course_lab, f"release/{ASSIGNMENT}/{name}") as view:
        button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar .validate-button")
        assert button.inner_text().strip() == "Validate"
        button.click()
        dialog = page.locator(".jp-Dialog", has_text="Validation Results")
        dialog.wait_for(timeout=600_000)
        message = dialog.locator("#validation-message").inner_text()
        if name == "architectures.ipynb":
            view.page.screenshot(path=str(screenshots / "validate-architectures.png"))
        dialog.get_by_role("button", name="Ok").click()
    assert "The following cell failed" in message and "NotImplementedError" in message, message
    for cell in notebook.cells:
        if cell.cell_type == "code" and nbgrader(cell).get("grade") and runs_code(cell.source):
            assert cell.source.splitlines()[0][:50] in message, f"{name}: {nbgrader(cell)['grade_id']} not reported"
