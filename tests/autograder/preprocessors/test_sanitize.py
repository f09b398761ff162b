"""SanitizeOutputs, called as nbgrader calls a preprocessor: scripts, handlers, frames and script links go,
text, tables and images stay; the instructor's locked markdown is left alone."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.preprocessors.sanitize import SanitizeOutputs

HOSTILE = ('<b>kept</b><script>alert(1)</script><img src="x" onerror="alert(2)">'
           '<iframe src="javascript:alert(3)"></iframe><a href="javascript:alert(4)">link</a>'
           '<table><tr><td>cell</td></tr></table><img src="data:image/png;base64,AAAA">')


def sanitized(notebook):
    notebook, _ = SanitizeOutputs()(notebook, {})  # __call__, as nbconvert's exporter runs it
    return nbformat.writes(notebook)


def test_hostile_html_output_is_defused_and_its_text_kept():
    cell = new_code_cell("display(HTML(...))", outputs=[
        new_output("display_data", data={"text/html": HOSTILE, "text/plain": "<HTML>"}),
        new_output("display_data", data={"application/javascript": "alert(5)", "text/plain": "<JS>"}),
        new_output("display_data", data={"image/svg+xml": "<svg><script>alert(6)</script></svg>", "text/plain": "s"}),
    ])
    text = sanitized(new_notebook(cells=[cell]))
    for danger in ("<script", "onerror", "<iframe", "javascript:", "alert(5)", "alert(6)"):
        assert danger not in text, danger
    for kept in ("<b>kept</b>", "<td>cell</td>", "data:image/png;base64,AAAA"):
        assert kept in text, kept


def test_student_markdown_is_defused_and_locked_markdown_left_as_written():
    student = new_markdown_cell("An answer <script>alert(7)</script> with `a > b`")
    locked = new_markdown_cell("<details><summary>hint</summary>x</details> <span onclick='x'>y</span>",
                               metadata={"nbgrader": {"locked": True, "grade": False, "solution": False}})
    plain = new_markdown_cell("a < b and b > c, *as written*")
    notebook = new_notebook(cells=[student, locked, plain])
    SanitizeOutputs()(notebook, {})
    assert "<script" not in notebook.cells[0].source and "An answer" in notebook.cells[0].source
    assert notebook.cells[1].source == locked.source
    assert notebook.cells[2].source == "a < b and b > c, *as written*"
