"""The NO LOOPS probes of every source notebook are sound, checked on the solutions in this process.

The grader calls each declared function on its probe's inputs as each dimension grows and counts the
lines of student code it runs (`autograder.noloops.probe`): the solution must run the same number of lines at every
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
from autograder.noloops.probe import probe_function
from tests.notebooks import SOURCE

matplotlib.use("Agg")

NAMES = sorted(p.name for p in SOURCE.glob("*.ipynb"))
SIZES = (2, 4, 32, 64)
# The solutions are compiled under this folder: their lines are the ones counted, as the student's are.
CELLS = "/notebook-cells"


def in_cells(frame) -> bool:
    return frame.f_code.co_filename.startswith(CELLS)


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
        result = probe_function(namespace, declared.name, declared.probe, ranges, in_cells)
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


def test_every_loop_free_segmentation_function_is_declared():
    declared = read_declaration(nbformat.read(SOURCE / "segmentation.ipynb", 4))
    assert {f.name for f in declared} == {
        "conv_cost", "sliding_window_macs",
        "confusion_matrix", "iou_per_class", "mean_iou",
        "conv1d_matrix", "conv_transpose2d",
    }
    for function in declared:
        assert function.guards == (f"seg_{function.name}_visible", f"seg_{function.name}_hidden")


# What a loop could run over, per function: each must be a probe dimension, so a loop over it changes the line count.
SEGMENTATION_DIMENSIONS = {
    "conv_cost": {"n", "L"}, "sliding_window_macs": {"n", "L"},
    "confusion_matrix": {"b", "n", "k"}, "iou_per_class": {"k"},
    "mean_iou": {"b", "n", "k"},
    "conv1d_matrix": {"n", "k"},
    "conv_transpose2d": {"b", "n", "k"},
}


def test_segmentation_probes_grow_every_dimension_a_loop_could_run_over():
    declared = {f.name: f for f in read_declaration(nbformat.read(SOURCE / "segmentation.ipynb", 4))}
    for name, dimensions in SEGMENTATION_DIMENSIONS.items():
        found = set(declared[name].dimensions)
        assert found == dimensions, f"{name}: the probe grows {sorted(found)}, loops may run over {sorted(dimensions)}"


@pytest.mark.parametrize("dimension", ["k", "b"])
def test_a_loop_over_classes_or_the_batch_in_mean_iou_changes_the_line_count(dimension):
    """The reviewer's case: a loop over the classes (or the images) of mean_iou, invisible to a probe of n alone."""
    notebook = nbformat.read(SOURCE / "segmentation.ipynb", 4)
    namespace = solution_namespace(notebook)
    source = (
        "def mean_iou(pred, target, num_classes, ignore_index=255):\n"
        "    total = 0.0\n"
        + ("    for c in range(num_classes):\n        total += 0.0\n" if dimension == "k" else
           "    for image in pred:\n        total += 0.0\n")
        + "    return float(iou_per_class(confusion_matrix(pred, target, num_classes, ignore_index)).nanmean())\n"
    )
    exec(compile(source, f"{CELLS}/looped", "exec"), namespace)  # noqa: S102 - a test's own code
    (declared,) = [f for f in read_declaration(notebook) if f.name == "mean_iou"]
    ranges = {d: _sizes_of(declared, d) for d in declared.dimensions}
    found = probe_function(namespace, "mean_iou", declared.probe, ranges, in_cells)["dimensions"][dimension]
    assert len(set(found["lines"])) > 1, f"a loop over {dimension} in mean_iou went unnoticed: {found}"
