"""The feedback exporter writes the page nbconvert's HTMLExporter writes, without re-parsing it."""

import base64
import io
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback

from autograder.config import course_directory, load_config
from autograder.exporters import FeedbackHTMLExporter, add_alt_text, make_lab_cells_focusable, remove_unsafe_urls

ROOT = Path(__file__).resolve().parents[2]


def png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def graded_notebook() -> nbformat.NotebookNode:
    """Markdown with and without alt text, a figure, a failing test, printed '<img>' text."""
    image = png()
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('# Title\n\n<img src="data:image/png;base64,' + image + '">\n\n'
                                      '<img alt="a diagram" src="data:image/png;base64,' + image + '"/>'),
        nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("stream", name="stdout", text="<img src=x> is text here\n"),
        ]),
        nbformat.v4.new_code_cell("assert f(1) == 2", outputs=[
            nbformat.v4.new_output("error", ename="AssertionError", evalue="f(1): expected 2, got 3",
                                   traceback=["AssertionError: f(1): expected 2, got 3"]),
        ], metadata={"nbgrader": {"grade": True, "grade_id": "test_f", "points": 2, "score": 0, "solution": False,
                                  "locked": True, "schema_version": 3}}),
    ], metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def feedback_converter() -> GenerateFeedback:
    """nbgrader's GenerateFeedback as this course configures it."""
    config = load_config(ROOT)
    return GenerateFeedback(coursedir=course_directory(config), config=config)


@pytest.mark.parametrize("template", ["feedback", "lab"])
def test_page_equals_htmlexporters_page(template):
    config = feedback_converter().config
    config.HTMLExporter.template_name = template
    notebook = graded_notebook()
    resources = {"nbgrader": {"notebook": "tiny", "score": 3.0, "max_score": 5.0, "late_penalty": 0.0}}
    theirs, _ = HTMLExporter(config=config).from_notebook_node(notebook, dict(resources))
    ours, _ = FeedbackHTMLExporter(config=config).from_notebook_node(notebook, dict(resources))
    assert ours != theirs  # not re-serialized by BeautifulSoup...
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs  # ...yet the same document
    assert ours.count("No description has been provided for this image") == 2


def test_alt_text_only_where_missing():
    html, added = add_alt_text('<IMG src="a"><img alt="x" src="b"><img\nsrc="c"/><imgs src="d">&lt;img src=e&gt;')
    assert added == 2
    assert html.count('alt="No description has been provided for this image"') == 2
    assert '<img alt="x" src="b">' in html and "<imgs" in html and "&lt;img src=e&gt;" in html


def test_lab_cells_focusable_only_in_lab_pages():
    cells = '<div class="jp-Cell-inputWrapper x"></div><div class="jp-OutputArea-output-x"></div>'
    assert make_lab_cells_focusable(cells) == cells
    lab = '<div class="jp-Notebook">' + cells + '<div tabindex="1" class="jp-OutputArea-output"></div></div>'
    assert make_lab_cells_focusable(lab).count('tabindex="0"') == 1


def test_unsafe_urls_are_removed_from_tags_and_nothing_else_changes():
    hostile = ('<a title="a>b" href="javascript:alert(1)">t</a><a/href=JaVa&#x53;cript:alert(2)>u</a>'
               '<a href=" &#10;java&#9;script:alert(3)">w</a><img src=\'data:text/html,x\'><form action="vbscript:x">'
               '<svg><a xlink:href="data:text/html;base64,AA"></a></svg><button formaction="javascript:4">')
    cleaned, removed = remove_unsafe_urls(hostile)
    assert removed == 7, cleaned
    for danger in ("javascript", "JaVa", "vbscript", "data:text"):
        assert danger not in cleaned, cleaned
    assert 'title="a>b"' in cleaned and ">t</a>" in cleaned
    honest = ('<a href="https://numpy.org">n</a><a href="#top">t</a><a href="mailto:a@b.c">m</a>'
              '<img src="data:image/png;base64,AA"><script src="https://cdn.example/x.js"></script>'
              '<p>href=javascript:x is text, &lt;a href="javascript:x"&gt; too</p>')
    assert remove_unsafe_urls(honest) == (honest, 0)


def test_a_feedback_page_never_links_to_javascript():
    notebook = graded_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell('[x](javascript:alert(1)) <a href="vbscript:y">y</a>'))
    resources = {"nbgrader": {"notebook": "tiny", "score": 3.0, "max_score": 5.0, "late_penalty": 0.0}}
    page, _ = FeedbackHTMLExporter(config=feedback_converter().config).from_notebook_node(notebook, resources)
    assert "javascript:alert" not in page and "vbscript:" not in page


def test_course_feedback_uses_it():
    assert feedback_converter().exporter_class is FeedbackHTMLExporter
