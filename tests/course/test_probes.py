"""The NO LOOPS probes of every source notebook are sound, checked on the solutions in this process.

The grader calls each declared function on its probe's inputs at two sizes and counts the Python
lines it runs (CONVENTIONS.md): the solution must run the same number of lines at every size, and a
call must be quick at n = 64. A probe that changes the code path with n, or a solution with a hidden
loop, would make that runtime check unfair or blind; this test finds both before a release.
"""

import sys
import time

import matplotlib
import nbformat
import pytest
import torch

from autograder.cells import grade_id
from autograder.declarations import read_declaration
from tests.notebooks import SOURCE

matplotlib.use("Agg")

NAMES = sorted(p.name for p in SOURCE.glob("*.ipynb"))
SIZES = (2, 4, 32, 64)
CELL_PREFIX = "<solution cell "


def solution_namespace(notebook: nbformat.NotebookNode) -> dict:
    """Run the setup and declaration cells and every solution cell (definitions only, no tests)."""
    namespace: dict = {"__name__": "__probe__"}
    threads = torch.get_num_threads()  # a setup cell may change it for its kernel; not for this process
    try:
        _run_cells(notebook, namespace)
    finally:
        torch.set_num_threads(threads)
    return namespace


def _run_cells(notebook: nbformat.NotebookNode, namespace: dict) -> None:
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        wanted = grade_id(cell) in ("setup", "no_loops_declaration") or meta.get("solution")
        if cell.cell_type != "code" or not wanted:
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
        exec(compile(source, f"{CELL_PREFIX}{index}>", "exec"), namespace)  # noqa: S102 - our own notebook


def lines_run(function, args) -> int:
    """Line events in notebook code (the function and the notebook functions it calls)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(CELL_PREFIX) else None

    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("name", NAMES)
def test_declared_functions_run_the_same_lines_at_every_probe_size(name):
    notebook = nbformat.read(SOURCE / name, 4)
    namespace = solution_namespace(notebook)
    for declared in read_declaration(notebook):
        probe = eval(declared.probe, namespace)  # noqa: S307 - the declaration is a literal of our own
        counts = {}
        for n in SIZES:
            args = probe(n)
            owner, _, method = declared.name.partition(".")
            function = getattr(args[0], method) if method else namespace[owner]
            call_args = args[1:] if method else args
            start = time.perf_counter()
            counts[n] = lines_run(function, call_args)
            elapsed = time.perf_counter() - start
            assert elapsed < 0.5, f"{declared.name} takes {elapsed:.2f} s on its probe at n = {n}; keep it under 0.5 s"
        assert counts[SIZES[0]] > 0, f"{declared.name}: no line of notebook code ran; is the probe calling it?"
        assert len(set(counts.values())) == 1, f"{declared.name} runs a different number of lines per size: {counts}"
