"""The segmentation notebook's NO LOOPS probes suit its solutions: same Python lines at every size, quick."""

import sys
import time

import nbformat
import pytest

from autograder.declarations import read_declaration
from tests.notebooks import SOURCE

NOTEBOOK = SOURCE / "segmentation.ipynb"
DECLARED = read_declaration(nbformat.read(NOTEBOOK, 4))


@pytest.fixture(scope="module")
def namespace():
    """The notebook's imports cell and solution cells, run here (no kernel); cell code is named '<cell ...>'."""
    notebook = nbformat.read(NOTEBOOK, 4)
    names: dict = {"__name__": "segmentation"}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup" or meta.get("solution")):
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            exec(compile(source, f"<cell {meta['grade_id']}>", "exec"), names)
    return names


def lines_run(function, args) -> int:
    """How many lines of notebook code (any function defined in a cell) one call runs."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename.startswith("<cell "):
            if event == "line":
                count += 1
            return tracer
        return None

    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_every_function_of_sections_1_to_3_is_declared():
    assert {f.name for f in DECLARED} == {
        "confusion_matrix", "pixel_accuracy", "iou_per_class", "mean_iou", "pixel_cross_entropy", "soft_iou_loss",
        "nearest_unpool", "bed_of_nails_unpool", "max_pool2d_with_indices", "max_unpool2d",
        "conv1d_matrix", "conv_transpose1d_via_matrix", "im2col", "conv2d_im2col", "conv_transpose2d",
    }
    for function in DECLARED:
        assert function.guards == (f"seg_{function.name}_visible", f"seg_{function.name}_hidden")


@pytest.mark.parametrize("declared", DECLARED, ids=lambda f: f.name)
def test_probe_runs_the_same_lines_at_every_size_and_is_quick(namespace, declared):
    function = namespace[declared.name]
    probe = eval(declared.probe, namespace)
    counts = {n: lines_run(function, probe(n)) for n in (2, 4, 32)}
    assert counts[2] > 0, f"the probe of {declared.name} ran no notebook line"
    assert len(set(counts.values())) == 1, f"{declared.name}: lines run by size {counts}"
    args = probe(64)
    start = time.perf_counter()
    function(*args)
    assert time.perf_counter() - start < 0.5, f"{declared.name} at n = 64 takes too long for the grader's probe"


def test_the_benchmark_compares_equal_results(namespace):
    """bench/vectorized.py's loops and PyTorch references agree with the notebook's solutions."""
    import importlib.util

    from tests.notebooks import ROOT

    spec = importlib.util.spec_from_file_location("bench_vectorized", ROOT / "bench" / "vectorized.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    cases = bench.cases()
    assert {case.function for case in cases} == {f.name for f in DECLARED}
    for case in cases:
        result = namespace[case.function](*case.args)
        assert bench._same(result, case.loop(*case.args)), f"{case.function}: loop disagrees"
        if case.reference is not None:
            assert bench._same(result, case.reference(*case.args)), f"{case.function}: {case.reference_name} disagrees"
