"""Nothing of a hidden test reaches a student: its text is cut out of every output.

The hidden tests run through the kernel's guard (never as notebook text: not in `In`, the history or
linecache), but student code that runs while a hidden test calls it can still find the test's code
(frames, code objects) and print it, raise it, display it. This step scans every output of every cell
(streams, errors and tracebacks, every text mime type, JSON) for the lines of the notebook's hidden
test regions, as the gradebook has them, and replaces what it finds. Found in the output of a cell
the student wrote, it is also a flag: the student's code read the hidden tests.
"""

from __future__ import annotations

import json
import re

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Int, Unicode

from .. import events
from .checks import released_notebook
from .execute import cell_kind

REDACTED = "[hidden test text redacted]"


def hidden_lines(sources: list[str], begin: str, end: str, shortest: int) -> set[str]:
    """Lines of at least `shortest` characters that occur in hidden regions and nowhere else."""
    region = re.compile(rf"^[ \t]*#+[ \t]*{re.escape(begin)}[^\n]*\n(.*?)^[ \t]*#+[ \t]*{re.escape(end)}",
                        re.S | re.M)
    hidden, visible = set(), set()
    for source in sources:
        for match in region.finditer(source):
            hidden.update(line.strip() for line in match.group(1).splitlines())
        visible.update(line.strip() for line in region.sub("", source).splitlines())
    return {line for line in hidden - visible if len(line) >= shortest}


class RedactHiddenTests(NbGraderPreprocessor):
    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS", help="Marks where hidden tests begin.").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS", help="Marks where hidden tests end.").tag(config=True)
    shortest_line = Int(12, help="Hidden-test lines shorter than this are too common to redact.").tag(config=True)
    handed_out = Unicode("", help="The release folder of the assignment (default: the course directory's): "
                         "a line the release handed out is no secret.").tag(config=True)

    def preprocess(self, nb, resources):
        lines = self._hidden_lines(resources)
        if not lines:
            return nb, resources
        pattern = re.compile("|".join(re.escape(line) for line in sorted(lines, key=len, reverse=True)))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            found = False
            for output in cell.get("outputs", []):
                found |= _redact_output(output, pattern)
            if found and cell_kind(cell) == "student":
                events.record(resources, events.TAMPERING, "an output of this cell showed hidden-test code "
                              "(redacted): the student's code read the hidden tests", cell=index)
        return nb, resources

    def _hidden_lines(self, resources) -> set[str]:
        info = resources.get("nbgrader", {})
        try:
            with Gradebook(info["db_url"]) as gradebook:
                notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
                sources = [cell.source or "" for cell in notebook.source_cells]
        except (KeyError, MissingEntry):
            return set()
        hidden = hidden_lines(sources, self.begin_test_delimeter, self.end_test_delimeter, self.shortest_line)
        released = released_notebook(self, self.handed_out, resources)
        if released is not None:  # a demo cell's line that a hidden test repeats is in every student's copy
            hidden -= {line.strip() for cell in released.cells for line in cell.source.splitlines()}
        return hidden


def _redact_output(output, pattern: re.Pattern) -> bool:
    found = False

    def clean(text):
        nonlocal found
        if isinstance(text, list):
            return [clean(part) for part in text]
        if isinstance(text, str) and pattern.search(text):
            found = True
            return pattern.sub(REDACTED, text)
        return text

    kind = output.get("output_type")
    if kind == "stream":
        output["text"] = clean(output.get("text", ""))
    elif kind == "error":
        output["ename"], output["evalue"] = clean(output.get("ename", "")), clean(output.get("evalue", ""))
        output["traceback"] = clean(output.get("traceback", []))
    else:
        data = output.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, (str, list)):
                data[mime] = clean(value)
            elif pattern.search(json.dumps(value)):
                found = True
                data[mime] = REDACTED
        if "metadata" in output and pattern.search(json.dumps(output["metadata"], default=str)):
            found = True
            output["metadata"] = {}
    return found
