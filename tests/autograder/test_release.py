"""`autograder release` and `check` on courses unlike this one: a header and a footer notebook
(IncludeHeaderFooter), sources older than cell ids (nbformat 4.0) and the course's own stub text."""

import json

import nbformat

from autograder.cli import main
from autograder.release import check_course
from tests.autograder.classroom import ASSIGNMENT, make_course

EXTRA_CONFIG = '''
c.IncludeHeaderFooter.header = "source/header.ipynb"
c.IncludeHeaderFooter.footer = "source/footer.ipynb"
c.ClearSolutions.code_stub = {"python": "# write your answer below\\nraise NotImplementedError('answer me')"}
c.ClearSolutions.text_stub = "Your answer, in a few sentences."
'''


def course_unlike_ours(tmp_path):
    root = make_course(tmp_path / "course")
    with (root / "nbgrader_config.py").open("a") as handle:
        handle.write(EXTRA_CONFIG)
    for part in ("header", "footer"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"Course {part}: read me")]),
                       root / "source" / f"{part}.ipynb")
    for path in (root / "source" / ASSIGNMENT).glob("*.ipynb"):  # as nbformat 4.0 stores them: no cell ids
        data = json.loads(path.read_text())
        data["nbformat_minor"] = 0
        for cell in data["cells"]:
            cell.pop("id", None)
        path.write_text(json.dumps(data, indent=1))
    return root


def test_a_course_with_a_header_old_notebooks_and_its_own_stubs_releases_and_checks_clean(tmp_path, monkeypatch):
    root = course_unlike_ours(tmp_path)
    monkeypatch.chdir(tmp_path)  # not the course root: the header's path is the course root's
    assert main(["--course", str(root), "release", ASSIGNMENT]) == 0
    released = nbformat.read(root / "release" / ASSIGNMENT / "tiny.ipynb", 4)
    assert released.cells[0].source == "Course header: read me"
    assert released.cells[-1].source == "Course footer: read me"
    assert "raise NotImplementedError('answer me')" in "".join(c.source for c in released.cells)
    problems = check_course(root, ASSIGNMENT)
    assert not problems, "\n".join(map(str, problems))


def test_the_check_still_finds_a_missing_stub_in_such_a_course(tmp_path):
    root = course_unlike_ours(tmp_path)
    assert main(["--course", str(root), "release", ASSIGNMENT]) == 0
    path = root / "release" / ASSIGNMENT / "tiny.ipynb"
    notebook = nbformat.read(path, 4)
    source = nbformat.read(root / "source" / ASSIGNMENT / "tiny.ipynb", 4)
    solution = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "row_means")
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "row_means":
            cell.source = solution.source.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION", "")
    nbformat.write(notebook, path)
    messages = [p.message for p in check_course(root, ASSIGNMENT)]
    assert "solution cell 'row_means' has no `raise NotImplementedError('answer me')` stub" in messages, messages
    assert "differs from a fresh generation; run `autograder release`" in messages
