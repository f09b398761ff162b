"""Check your notebook before you submit: which visible tests fail, which NO LOOPS functions loop.

From inside the notebook, after saving it (Ctrl+S)::

    import course
    course.self_check()

From a terminal in the course directory::

    python -m course.selfcheck release/assignment2/architectures.ipynb

The check reads the notebook *as saved*, runs it from top to bottom in a fresh kernel (as
`nbgrader validate` and the grader do, so a cell that only worked because of something you ran
earlier shows up), and reports in plain words: the visible tests that fail and what they say, other
cells that stop with an error, the NO LOOPS functions that contain a loop (function, construct and
line, read from the code without running it), and written answers still empty. It never changes the
notebook. Hidden tests only run when the notebook is graded, so passing here is necessary, not
sufficient.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.declarations import VARIABLE as DECLARATION_VARIABLE
from autograder.declarations import DeclarationError, parse_declaration, read_declaration

from .loops import SourceDefinitions
from .runtime import is_grading

__all__ = ["CellProblem", "LoopProblem", "SelfCheckResult", "find_loop_problems", "self_check", "main"]

ANSWER_STUB = "YOUR ANSWER HERE"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = re.compile(r"\bin ((?:\w+\.)*\w+)\(")


@dataclass
class CellProblem:
    """A cell that stopped with an error when the notebook ran."""

    cell: int  # position in the notebook, 1 being the first cell (JupyterLab's status bar counts the same)
    grade_id: str  # nbgrader's id of the cell, '' for a cell without one
    ename: str  # the exception's name, e.g. "AssertionError"
    message: str  # the exception's message
    stub: str = ""  # the function still raising NotImplementedError, when that is the reason

    def describe(self) -> str:
        label = f"{self.grade_id} (cell {self.cell})" if self.grade_id else f"cell {self.cell}"
        if self.ename == "NotImplementedError":
            what = f"`{self.stub}`" if self.stub else "a function it calls"
            return f"{label}: {what} is not written yet (it still raises NotImplementedError)"
        message = self.message.strip() or "(no message)"
        return f"{label}: {self.ename}: " + message.replace("\n", "\n      ")


@dataclass
class LoopProblem:
    """A loop in a NO LOOPS function, or in a function of yours that it calls."""

    function: str  # the NO LOOPS function
    where: str  # the function whose code holds the loop (the same one, or a helper it calls)
    construct: str  # "for loop", "list comprehension", "call to map()", "recursion", ...
    line: int  # line within `where`'s definition, 1 being its `def` (or first decorator) line
    cell: int  # the cell that defines `where`, 1 being the first cell
    cell_line: int  # the same line counted within that cell
    code: str  # the line itself
    message: str = ""  # the grader's and assert_no_loops' own words for it

    def describe(self) -> str:
        where = f" [line {self.cell_line} of cell {self.cell}]" if self.cell else ""
        return self.message + where


@dataclass
class SelfCheckResult:
    """What the self-check found; `print(result)` or displaying it shows the report."""

    notebook: Path
    saved_at: dt.datetime | None = None
    ran: bool = False  # whether the notebook was executed (False: static checks only, or skipped)
    seconds: float = 0.0
    cells: int = 0
    visible_tests: int = 0
    failed_tests: list[CellProblem] = field(default_factory=list)
    other_errors: list[CellProblem] = field(default_factory=list)
    loops: list[LoopProblem] = field(default_factory=list)
    no_loops_functions: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # written answers still "YOUR ANSWER HERE"
    problems: list[str] = field(default_factory=list)  # anything else that keeps the check from being complete
    skipped: str = ""  # why nothing was checked, if nothing was

    @property
    def passed(self) -> bool:
        """True when every check that ran found nothing to fix."""
        return not (self.skipped or self.failed_tests or self.other_errors or self.loops or self.problems
                    or self.unanswered)

    def report(self) -> str:
        if self.skipped:
            return f"Self-check skipped: {self.skipped}"
        saved = f", as saved at {self.saved_at:%Y-%m-%d %H:%M:%S}" if self.saved_at else ""
        lines = [f"Self-check of {self.notebook.name}{saved}"]
        if self.ran:
            lines.append(f"Ran all {self.cells} cells in a fresh kernel in {self.seconds:.0f} s.")
        else:
            lines.append("Did not run the notebook: static checks only.")
        lines.append("")
        if self.ran:
            passing = self.visible_tests - len(self.failed_tests)
            if self.failed_tests:
                lines.append(f"Visible tests that fail ({len(self.failed_tests)} of {self.visible_tests}; "
                             f"{passing} pass):")
                lines += [f"  - {p.describe()}" for p in self.failed_tests]
            else:
                lines.append(f"Visible tests: all {self.visible_tests} pass.")
            if self.other_errors:
                lines.append("Other cells that stop with an error:")
                lines += [f"  - {p.describe()}" for p in self.other_errors]
        if self.no_loops_functions:
            if self.loops:
                lines.append("NO LOOPS functions that loop (each costs that exercise's points, even when the "
                             "numbers are right):")
                lines += [f"  - {p.describe()}" for p in self.loops]
            elif len(self.no_loops_functions) == 1:
                lines.append(f"NO LOOPS function `{self.no_loops_functions[0]}`: no loop found.")
            else:
                lines.append("NO LOOPS functions " + ", ".join(f"`{n}`" for n in self.no_loops_functions)
                             + ": no loop found.")
        if self.unanswered:
            lines.append("Written answers still empty: " + ", ".join(self.unanswered))
        if self.problems:
            lines.append("Could not check everything:")
            lines += [f"  - {p}" for p in self.problems]
        lines.append("")
        if any(p.ename == "NotImplementedError" for p in self.failed_tests + self.other_errors):
            lines.append("A function that is not written yet: write its code where it says `# YOUR CODE HERE` "
                         "and delete the `raise NotImplementedError()` line.")
        if self.passed and self.ran:
            lines.append("Ready to submit as far as this check can tell: the visible tests pass and no NO LOOPS "
                         "function loops. Hidden tests run when the notebook is graded.")
        elif self.passed:
            lines.append("No problem found by the static checks; run the full check before you submit.")
        else:
            lines.append("Not ready yet: fix the items above, save the notebook, and check again.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the report, not the dataclass
        printer.text(self.report())


# --- Which notebook ------------------------------------------------------------------------------


def current_notebook() -> Path | None:
    """The notebook this kernel belongs to, as Jupyter tells the kernel, or None if it does not."""
    candidates = []
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is part of the stack
        shell = None
    if shell is not None:
        candidates += [shell.user_ns.get("__session__"), shell.user_ns.get("__vsc_ipynb_file__")]
    candidates.append(os.environ.get("JPY_SESSION_NAME"))
    for candidate in candidates:
        if candidate and str(candidate).endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


# --- Static checks -------------------------------------------------------------------------------


def declared_no_loops(notebook: nbformat.NotebookNode) -> list[str]:
    """The NO LOOPS functions a notebook declares, read as the grader reads them (never run); a
    declaration cell whose grade id was lost is still found by its `NO_LOOPS =`."""
    try:
        declared = read_declaration(notebook)
    except DeclarationError:
        declared = []
    if not declared:
        for cell in notebook.cells:
            if cell.cell_type == "code" and DECLARATION_VARIABLE in cell.source:
                try:
                    declared = parse_declaration(cell.source)
                except DeclarationError:
                    continue
                break
    return [function.name for function in declared]


def _python_source(source: str) -> str:
    """A cell's text as Python: IPython magics (`%matplotlib inline`, `!ls`) become calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - the parser reports what is wrong with the original text
        return source


def find_loop_problems(notebook: nbformat.NotebookNode, folder: Path | None = None
                       ) -> tuple[list[str], list[LoopProblem], list[str]]:
    """(declared NO LOOPS functions, the loops found in them, problems) for a notebook's code cells (and
    the modules beside it in `folder`), read as the grader reads them."""
    declared = declared_no_loops(notebook)
    definitions = SourceDefinitions()
    definitions.add_modules_beside(folder)
    problems = []
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        try:
            definitions.add_source(_python_source(cell.source), origin=f"cell {index}")
        except SyntaxError as error:
            problems.append(f"cell {index} is not valid Python (line {error.lineno}: {error.msg}), so the "
                            "functions it defines could not be checked for loops")
    loops = []
    for name in declared:
        try:
            violations = definitions.find_loops(name)
        except KeyError:
            problems.append(f"`{name}` is a NO LOOPS function, but no cell defines it")
            continue
        for violation in violations:
            where = definitions.lookup(violation.where)
            first_line = where.first_line if where is not None else 1
            cell = int(violation.origin.removeprefix("cell ")) if violation.origin.startswith("cell ") else 0
            loops.append(LoopProblem(violation.function, violation.where, violation.construct, violation.line,
                                     cell, first_line + violation.line - 1, violation.code, str(violation)))
    return declared, loops, problems


def unanswered_questions(notebook: nbformat.NotebookNode) -> list[str]:
    """Written-answer cells (graded by hand) that still hold only the stub text."""
    found = []
    for index, cell in enumerate(notebook.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution") and cell.source.strip() == ANSWER_STUB:
            found.append(f"{meta.get('grade_id') or 'answer'} (cell {index})")
    return found


# --- Running the notebook ------------------------------------------------------------------------


def _run_notebook(notebook: nbformat.NotebookNode, folder: Path, timeout: int, progress: bool):
    """Execute a copy of the notebook in a fresh kernel; errors are recorded in outputs, not raised."""
    from nbclient import NotebookClient
    from tqdm import tqdm

    executed = copy.deepcopy(notebook)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "JPY_PARENT_PID")}
    env["NBGRADER_EXECUTION"] = "validate"  # demos run small; a self_check() cell in the notebook skips itself
    kernel = executed.metadata.get("kernelspec", {}).get("name", "python3")
    bar = tqdm(total=sum(c.cell_type == "code" for c in executed.cells), desc="self-check: running the notebook",
               unit="cell", disable=not progress, file=sys.stdout, leave=False)
    client = NotebookClient(executed, timeout=timeout, allow_errors=True, kernel_name=kernel,
                            resources={"metadata": {"path": str(folder)}},
                            on_cell_executed=lambda **_: bar.update())
    try:
        _outside_event_loop(lambda: client.execute(env=env))
    finally:
        bar.close()
    return executed


def _outside_event_loop(run):
    """Call `run` where no asyncio loop is running (a kernel runs one; nbclient starts its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def _errors(executed: nbformat.NotebookNode) -> tuple[list[CellProblem], list[CellProblem]]:
    """(failing graded test cells, other failing cells)."""
    tests, others = [], []
    for index, cell in enumerate(executed.cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            problem = CellProblem(index, meta.get("grade_id", ""), output.get("ename", ""), output.get("evalue", ""))
            if problem.ename == "NotImplementedError":
                frames = _FRAME.findall(_ANSI.sub("", "\n".join(output.get("traceback", []))))
                problem.stub = frames[-1].split(".")[-1] if frames else ""
            (tests if meta.get("grade") else others).append(problem)
            break
    return tests, others


def _graded_code_cells(notebook: nbformat.NotebookNode) -> int:
    return sum(1 for c in notebook.cells if c.cell_type == "code"
               and c.get("metadata", {}).get("nbgrader", {}).get("grade")
               and any(line.strip() and not line.strip().startswith("#") for line in c.source.splitlines()))


# --- Entry points --------------------------------------------------------------------------------


def self_check(path: str | os.PathLike | None = None, *, run: bool = True, timeout: int = 300,
               progress: bool = True) -> SelfCheckResult:
    """Check a saved notebook the way the grader will, and report what to fix in plain words.

    Args:
        path: the notebook; by default the one this kernel belongs to (save it first: the check
            reads the file, not what is on screen).
        run: also run the notebook in a fresh kernel (visible tests and errors); False: only the
            NO LOOPS and written-answer checks, in a second.
        timeout: seconds any one cell may run.
        progress: show a progress bar while the notebook runs.

    Returns:
        A SelfCheckResult; displaying it (or `print`) shows the report, `.passed` says if all is well.
    """
    if path is None:
        if is_grading():
            return SelfCheckResult(Path("notebook.ipynb"), skipped=(
                "the notebook is being graded or validated right now (NBGRADER_EXECUTION="
                f"{os.environ.get('NBGRADER_EXECUTION')}); the grader runs its own checks."))
        found = current_notebook()
        if found is None:
            return SelfCheckResult(Path("notebook.ipynb"), skipped=(
                "could not tell which notebook this kernel belongs to. Pass its path, e.g. "
                "course.self_check('architectures.ipynb'), or run `python -m course.selfcheck NOTEBOOK` "
                "in a terminal."))
        path = found
    notebook_path = Path(path).expanduser().resolve()
    if not notebook_path.is_file():
        raise FileNotFoundError(f"no notebook at {notebook_path}")
    notebook = nbformat.read(notebook_path, as_version=4)
    result = SelfCheckResult(notebook_path, saved_at=dt.datetime.fromtimestamp(notebook_path.stat().st_mtime),
                             cells=len(notebook.cells), visible_tests=_graded_code_cells(notebook))
    result.no_loops_functions, result.loops, result.problems = find_loop_problems(notebook, notebook_path.parent)
    result.unanswered = unanswered_questions(notebook)
    if run:
        started = time.monotonic()
        executed = _run_notebook(notebook, notebook_path.parent, timeout, progress)
        result.seconds = time.monotonic() - started
        result.ran = True
        result.failed_tests, result.other_errors = _errors(executed)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.selfcheck",
        description="Check a notebook before submitting: failing visible tests, loops in NO LOOPS "
                    "functions, empty written answers. Exit status 0 when nothing needs fixing.",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--no-run", action="store_true", help="static checks only: do not run the notebook")
    parser.add_argument("--timeout", type=int, default=300, help="seconds any one cell may run (default 300)")
    args = parser.parse_args(argv)
    status = 0
    for number, notebook in enumerate(args.notebooks):
        if not notebook.is_file():
            parser.error(f"no notebook at {notebook}")
        result = self_check(notebook, run=not args.no_run, timeout=args.timeout, progress=sys.stdout.isatty())
        print(("\n" if number else "") + result.report())
        status = status or (0 if result.passed else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
