"""Test cells score what the instructor's code did, never what the notebook printed.

nbgrader scores a test cell from its outputs: an error or anything on stderr is 0 points, a number as
the cell's value is partial credit, anything else full points. Student code can print all of those.
With the integrity guard, each test cell ran the instructor's code through the guard, which signed
how it ended (`GuardedExecute` leaves the verdicts in `resources["autograder"]["verdicts"]`); this
step makes the outputs say exactly that before nbgrader reads them:

- a test that ran to its end keeps its printed output, loses any error or value output it did not
  produce, shows its own value (nbgrader's partial credit) and, unless `stderr_fails`, has its stderr
  (warnings) shown as ordinary output, so a warning never costs a passing test its points;
- a test that raised, never finished, or ran while the testing machinery was being changed, gets an
  error output saying so, and loses any value output (partial credit it did not earn);
- a hidden test that failed on an exception the student's code raised shows its type and where, not
  its message (which that code wrote, and could fill with the hidden test's own code or data).

Without the guard (a non-Python kernel, `Sandbox.guard = False`) outputs are left as nbgrader reads them.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Unicode

from .execute import cell_kind


class ScoreTestCells(NbGraderPreprocessor):
    stderr_fails = Bool(
        False, help="Score a test cell that wrote to stderr as failed, as plain nbgrader does (warnings included)."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        state = resources.get("autograder", {})
        if not state.get("guarded"):
            return nb, resources
        verdicts = state.get("verdicts", {})
        for index, cell in enumerate(nb.cells):
            if cell_kind(cell) != "test":
                continue
            verdict = verdicts.get(index)
            outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "execute_result"]
            if verdict is not None and verdict.get("outcome") == "pass" and not verdict.get("during"):
                outputs = [self._as_stdout(o) for o in outputs if o.get("output_type") != "error"]
                if verdict.get("value") is not None:
                    outputs.append(NotebookNode(output_type="execute_result", execution_count=cell.execution_count,
                                                data={"text/plain": verdict["value"]}, metadata={}))
            elif not any(o.get("output_type") == "error" for o in outputs):
                outputs.append(self._error_for(verdict))
            if verdict is not None and verdict.get("raised_by_student") and self.hidden_marker in cell.source:
                outputs = [o for o in outputs if o.get("output_type") != "error"] + [_message_withheld(verdict)]
            cell.outputs = outputs
        return nb, resources

    hidden_marker = Unicode("BEGIN HIDDEN TESTS", help="Marks a test cell with hidden tests.").tag(config=True)

    def _as_stdout(self, output):
        if output.get("output_type") == "stream" and output.get("name") == "stderr" and not self.stderr_fails:
            output = NotebookNode(output)
            output["name"] = "stdout"
        return output

    @staticmethod
    def _error_for(verdict) -> NotebookNode:
        if verdict is None:
            ename, evalue = "TestNotCompleted", "the test did not run to its end"
        elif verdict.get("during"):
            ename = "IntegrityError"
            evalue = "the testing machinery was changed while this test ran: " + "; ".join(verdict["during"])[:500]
        else:
            ename, evalue = verdict.get("ename") or "Error", verdict.get("evalue") or ""
        return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _message_withheld(verdict) -> NotebookNode:
    """A hidden test failed with an exception raised by the student's code: its type and where, not its
    message, which that code wrote and could fill with the hidden test's code or data."""
    ename = verdict.get("ename") or "Error"
    evalue = (f"raised by your code ({verdict.get('raised_at') or 'in a function of yours'}) while a hidden test "
              "ran; the message is not shown for hidden tests")
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
