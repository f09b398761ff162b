"""An instructor's path in a real JupyterLab, asserted from what Chromium renders.

The demo class (`autograder demo`) is built and three of its students are graded: late_30h (a full
submission handed in 30 hours late: 30% off), partial (the last exercise left as a stub) and looped
(a loop in a NO LOOPS function). In formgrader the instructor gives late_30h points for the written
answer; `autograder report` must then count them, late penalty included. Feedback pages must show
scores and the failed checks, never the hidden tests.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from playwright.sync_api import Error as PlaywrightError

from autograder.batch import BatchOptions, Course, grade_assignment
from autograder.demo import build_demo
from tests.browser.lab import JupyterLab
from tests.notebooks import ASSIGNMENT, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRADED = ["late_30h", "partial", "looped"]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def grades(course: Course) -> dict[str, dict]:
    with (course.reports / "grades.csv").open() as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def written_answer(course: Course) -> tuple[str, str, float]:
    """(notebook name, grade_id, points) of the first answer graded by hand in the source notebooks."""
    for path in sorted((course.root / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                return path.stem, meta["grade_id"], float(meta["points"])
    pytest.skip("no notebook has a written answer graded by hand")


def hidden_test_lines(course: Course, submitted: str) -> set[str]:
    """Lines of the hidden tests that appear nowhere a student could see them (release, own code)."""
    lines = set()
    for path in (course.root / "source" / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            for block in HIDDEN.findall(cell.source):
                lines |= {line.strip() for line in block.splitlines() if len(line.strip()) >= 12}
    return {line for line in lines if line not in submitted}


def loaded_submission(formgrader):
    """The submission page in formgrader's frame, once its script has fetched the grades: before
    that (it waits for the page's `load` event), a score typed into the page is not saved."""
    page = formgrader.owner.page
    deadline = time.monotonic() + 120
    while True:
        try:
            if formgrader.locator("html").evaluate(
                    "() => !!(window.formgrader && formgrader.grades && formgrader.grades.loaded)", timeout=5000):
                return formgrader
        except PlaywrightError:  # the frame is between two documents
            pass
        assert time.monotonic() < deadline, "formgrader never loaded the submission's grades"
        page.wait_for_timeout(250)


@pytest.fixture(scope="module")
def demo_class(browser, tmp_path_factory) -> Course:
    root = tmp_path_factory.mktemp("demo") / "demo"
    build_demo(ROOT, ASSIGNMENT, root)
    course = Course(root, ASSIGNMENT)
    grade_assignment(course, BatchOptions(students=GRADED, workers=2, device="cpu", progress=False))
    rows = grades(course)
    assert all(rows[s]["status"] == "graded" for s in GRADED), rows
    return course


@pytest.fixture(scope="module")
def instructor_lab(demo_class, tmp_path_factory):
    """JupyterLab started in the graded demo course directory, as `./lab.sh` does in a course."""
    lab = JupyterLab(demo_class.root, tmp_path_factory.mktemp("instructor") / "jupyter").start()
    yield lab
    lab.stop()


def test_a_manual_grade_saved_in_formgrader_counts_with_the_late_penalty(demo_class, instructor_lab, page,
                                                                        screenshots):
    course = demo_class
    notebook, answer, points = written_answer(course)
    given = points * 0.75
    before = grades(course)["late_30h"]
    assert float(before["late_penalty_pct"]) == 30.0

    # Nbgrader > Formgrader, as an instructor opens it in JupyterLab.
    page.goto(instructor_lab.url("lab"))
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    page.locator(".lm-Menu-item[data-command='nbgrader:open-formgrader']").click()
    formgrader = page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe")
    formgrader.get_by_role("link", name="Manage Students").click()
    formgrader.locator("tr", has_text="late_30h").get_by_role("link").first.click()
    formgrader.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    formgrader.get_by_role("link", name=notebook, exact=True).click()

    # The submission: give points for the written answer; formgrader saves it when the field changes.
    score = loaded_submission(formgrader).locator(f"input.score#{answer}")
    assert score.input_value() == "", "the written answer already has a manual score"
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        score.fill(f"{given:g}")
        score.press("Tab")
    assert saved.value.ok, saved.value.status
    score.evaluate("el => el.closest('.nbgrader_cell, .cell, div').scrollIntoView({block: 'center'})")
    page.wait_for_timeout(1500)  # the "saved" tick fades in
    page.screenshot(path=str(screenshots / "formgrader.png"))

    # What the browser shows after a reload: the score was stored, and the student's total went up.
    page.reload()
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    page.locator(".lm-Menu-item[data-command='nbgrader:open-formgrader']").click()
    formgrader = page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe")
    formgrader.get_by_role("link", name="Manage Students").click()
    formgrader.locator("tr", has_text="late_30h").get_by_role("link").first.click()
    total = float(before["raw_score"]) + given
    row = formgrader.locator("tr", has_text=ASSIGNMENT)
    row.wait_for()
    assert f"{total:g} / {float(before['max_score']):g}" in row.inner_text(), row.inner_text()
    formgrader.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    formgrader.get_by_role("link", name=notebook, exact=True).click()
    assert loaded_submission(formgrader).locator(f"input.score#{answer}").input_value() == f"{given:g}"

    # `autograder report` rebuilds grades.csv from the gradebook: new total, 30% off the new total.
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "report", ASSIGNMENT], cwd=course.root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    after = grades(course)["late_30h"]
    assert float(after["raw_score"]) == pytest.approx(total)
    assert float(after["late_penalty_pct"]) == 30.0
    assert float(after["final_score"]) == pytest.approx(round(total * 0.7, 2))
    assert after["final_score"] in done.stdout


@pytest.mark.parametrize("student", ["partial", "looped"])
def test_feedback_shows_scores_and_failed_checks_but_no_hidden_tests(student, demo_class, page, screenshots):
    course = demo_class
    pages = sorted((course.root / "feedback" / student / ASSIGNMENT).glob("*.html"))
    assert pages, f"no feedback for {student}"
    failing = []
    for html in pages:
        with Gradebook(course.db_url) as gradebook:
            submitted = gradebook.find_submission_notebook(html.stem, ASSIGNMENT, student)
            total, maximum = float(submitted.score), float(submitted.max_score)
            failed = [g.name for g in submitted.grades if g.cell.cell_type == "code" and g.score < g.max_score]
        page.goto(html.as_uri())
        text = page.locator("body").inner_text()
        assert f"{html.stem} (Score: {total:.1f} / {maximum:.1f})" in text, text[:500]
        for grade_id in failed:
            assert re.search(rf"Grade cell: {grade_id}\s+Score: 0\.0 / \d", text), f"{grade_id} not shown as failed"
        failing += failed
        submitted_cells = nbformat.read(course.submission(student) / f"{html.stem}.ipynb", 4).cells
        submission = "\n".join(cell.source for cell in submitted_cells)
        secret = hidden_test_lines(course, submission)
        assert secret, "found no hidden-test lines to look for"
        leaked = sorted(line for line in secret if line in text)
        assert not leaked, f"{student}'s feedback shows hidden-test code: {leaked[:5]}"
        assert "BEGIN HIDDEN TESTS" not in text
        if student == "looped" and html.stem == "architectures":
            assert re.search(r"`conv_output_size` must not loop: for loop at line \d+", text)
            page.evaluate("""() => Array.from(document.querySelectorAll('pre'))
                .find(el => el.textContent.includes('is marked NO LOOPS but iterates'))
                .scrollIntoView({block: 'end'})""")
            page.screenshot(path=str(screenshots / "feedback-looped.png"))
        if student == "partial":
            assert "NotImplementedError" in text
    assert failing, f"{student} failed no check, so the feedback shows no failure"
