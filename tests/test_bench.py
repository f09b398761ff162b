"""The benchmarks compare like with like: bench/vectorized.py's loops and PyTorch references agree
with the segmentation notebook's solutions and given code on the inputs it times."""

import importlib.util
import sys

import nbformat

from autograder.cells import grade_id
from autograder.declarations import read_declaration
from tests.notebooks import ROOT, SOURCE


def test_vectorized_bench_compares_equal_results():
    notebook = nbformat.read(SOURCE / "segmentation.ipynb", 4)
    spec = importlib.util.spec_from_file_location("bench_vectorized", ROOT / "bench" / "vectorized.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    namespace = bench.solution_namespace(SOURCE / "segmentation.ipynb")  # the solutions and the given code
    cases = bench.cases()
    given = {grade_id(cell)[: -len("_given")] for cell in notebook.cells if (grade_id(cell) or "").endswith("_given")}
    # every NO LOOPS exercise is benchmarked; the other cases are loop-free functions given in cells `*_given`
    assert {case.function for case in cases} - given == {f.name for f in read_declaration(notebook)}
    for case in cases:
        result = namespace[case.function](*case.args)
        assert bench._same(result, case.loop(*case.args)), f"{case.function}: loop disagrees"
        if case.reference is not None:
            assert bench._same(result, case.reference(*case.args)), f"{case.function}: {case.reference_name} disagrees"
