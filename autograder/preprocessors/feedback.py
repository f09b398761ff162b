"""Feedback that says which checks failed and why, without the text of hidden tests.

IPython tracebacks quote the failing source lines, so a hidden test's traceback would show its code.
For every cell whose source (in the gradebook) holds hidden tests, this step keeps only the last line
of each error (`AssertionError: conv_output_size(37, 5, 2, 1, 1): expected 18, got 17`). It runs
before nbgrader's ClearHiddenTests, which then removes the hidden region from the cell's text.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..cells import grade_id


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Marks where hidden tests begin.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source or grade_id(cell) is None:
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
            elif output.get("output_type") == "stream":
                output["text"] = "[output of hidden tests not shown]\n"
        return cell, resources
