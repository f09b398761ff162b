"""The NO LOOPS probes of every source notebook are sound, checked on the solutions in this process.

The grader calls each declared function on its probe's inputs at two sizes and counts the Python
lines it runs (`autograder.kernel_checks`): the solution must run the same number of lines at every
size, and a call must be quick at n = 64 (CONVENTIONS.md). A probe that changes the code path with
n, or a solution with a hidden loop, would make that check unfair or blind; this test finds both
before a release, with the grader's own line counter.
"""

import ast
import time

import matplotlib
import nbformat
import pytest
import torch

from autograder.cells import grade_id
from autograder.declarations import read_declaration
from autograder.kernel_checks import _probe
from tests.notebooks import SOURCE

matplotlib.use("Agg")

NAMES = sorted(p.name for p in SOURCE.glob("*.ipynb"))
SIZES = (2, 4, 32, 64)
# kernel_checks counts the lines of code compiled from files in the folder of its own file.
CELLS = "/notebook-cells"
CHECKS_FILE = f"{CELLS}/checks"


def defines_only(source: str) -> bool:
    """Whether a cell only gives definitions (functions, classes, imports, literal constants) that solutions use."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False

    def definition(node: ast.stmt) -> bool:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            return True
        if isinstance(node, ast.Assign):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                return False
            return True
        return False

    return bool(body) and all(definition(node) for node in body)


def solution_namespace(notebook: nbformat.NotebookNode) -> dict:
    """Run the setup and declaration cells, every solution cell and the given definitions they use (no tests)."""
    namespace: dict = {"__name__": "__probe__"}
    threads = torch.get_num_threads()  # a setup cell may change it for its kernel; not for this process
    try:
        for index, cell in enumerate(notebook.cells):
            meta = cell.metadata.get("nbgrader", {})
            wanted = meta.get("solution") or grade_id(cell) in ("setup", "no_loops_declaration") or (
                not meta and defines_only(cell.source))
            if cell.cell_type != "code" or not wanted:
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            exec(compile(source, f"{CELLS}/cell{index}", "exec"), namespace)  # noqa: S102 - our own notebook
    finally:
        torch.set_num_threads(threads)
    return namespace


@pytest.mark.parametrize("name", NAMES)
def test_declared_functions_run_the_same_lines_at_every_probe_size(name):
    notebook = nbformat.read(SOURCE / name, 4)
    namespace = solution_namespace(notebook)
    for declared in read_declaration(notebook):
        ranges = {d: _sizes_of(declared, d) for d in declared.dimensions}
        result = _probe(namespace, declared.name, declared.probe, ranges, CHECKS_FILE)
        assert "error" not in result, f"the probe of {declared.name} fails: {result.get('error')}"
        for dimension, found in result["dimensions"].items():
            lines = dict(zip(found["sizes"], found["lines"], strict=True))
            assert min(lines.values()) > 0, f"{declared.name}: no line of notebook code ran; is the probe calling it?"
            assert len(set(lines.values())) == 1, (
                f"{declared.name} runs a different number of lines as {dimension} grows: {lines}")
        largest = {d: sizes[-1] for d, sizes in ranges.items()}
        args = eval(declared.probe, namespace)(**largest)  # noqa: S307 - the declaration is a literal of our own
        owner, _, method = declared.name.partition(".")
        function = getattr(namespace[owner], method) if method else namespace[owner]
        start = time.perf_counter()
        function(*args)
        elapsed = time.perf_counter() - start
        assert elapsed < 0.5, f"{declared.name} takes {elapsed:.2f} s on its probe at {largest}; keep it < 0.5 s"


def _sizes_of(declared, dimension: str) -> tuple[int, ...]:
    """SIZES for a dimension the declaration leaves to the grader, else its own small and large size."""
    small, large = declared.size_range(dimension, (SIZES[0], SIZES[-1]))
    return SIZES if (small, large) == (SIZES[0], SIZES[-1]) else (small, large)


def test_every_segmentation_function_of_sections_1_to_3_is_declared():
    declared = read_declaration(nbformat.read(SOURCE / "segmentation.ipynb", 4))
    assert {f.name for f in declared} == {
        "confusion_matrix", "pixel_accuracy", "iou_per_class", "mean_iou", "pixel_cross_entropy", "soft_iou_loss",
        "nearest_unpool", "bed_of_nails_unpool", "max_pool2d_with_indices", "max_unpool2d",
        "conv1d_matrix", "conv_transpose1d_via_matrix", "im2col", "conv2d_im2col", "conv_transpose2d",
    }
    for function in declared:
        assert function.guards == (f"seg_{function.name}_visible", f"seg_{function.name}_hidden")
