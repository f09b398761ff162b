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


# Markdown links bleach does not see as HTML: each trick, as a written answer and as a text/markdown output.
UNSAFE_MARKDOWN = {
    "inline": "[See the numpy docs](javascript:alert(document.cookie))",
    "entity": "[entity](&#106;avascript:alert(2))",
    "hex_entity": "[hex](&#x6A;avascript:alert(2))",
    "colon_entity": "[colon](javascript&colon;alert(2))",
    "case": "[case](JaVaScRiPt:alert(1))",
    "reference": "[ref][r]\n\n[r]: javascript:alert(3)",
    "reference_next_line": "[ref][r]\n\n[r]:\n   javascript:alert(3) 'title'",
    "autolink": "<javascript:alert(1)>",
    "angle_with_tab": "[tab](<java\tscript:alert(1)>)",  # percent-encoded by the renderer: relative, harmless
    "image": "![x](javascript:alert(1))",
    "data_html": "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data_html_image": "![d](data:text/html;base64,PHNjcmlwdD4=)",
    "vbscript": "[v](vbscript:msgbox(1))",
    "blockquote_and_list": "> [q](javascript:alert(1))\n\n- [l](  javascript:alert(2)  \"t\")",
    "space_and_newline": "[s]( \n  javascript:alert(3))",
    "escaped_colon": "[e](javascript\\:alert(1))",
}
HONEST_MARKDOWN = ("See [the docs](https://numpy.org/doc/stable/) and [ref][r], <https://numpy.org>, "
                   "[mail](mailto:ta@example.org), [top](#top), [nb](other.ipynb), "
                   "![plot](data:image/png;base64,AAAA) ![pic](attachment:figure.png) ![web](https://x.org/a.png)\n\n"
                   "[r]: https://numpy.org/doc/ \"NumPy\"\n\n$x^2$ and `javascript:` as code")


def rendered(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


def live_scheme(page: str):
    import re

    return re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|vbscript|data:text|java%09script)""", page, re.I)


def test_every_markdown_link_trick_loses_its_destination_in_cells_and_outputs():
    from autograder.preprocessors.sanitize import markdown_destinations, url_is_safe

    for name, source in UNSAFE_MARKDOWN.items():
        cell = new_markdown_cell("An answer. " + source)
        output = new_code_cell("display(...)", outputs=[
            new_output("display_data", data={"text/markdown": source, "text/plain": "md"})])
        notebook = new_notebook(cells=[cell, output])
        SanitizeOutputs()(notebook, {})
        for markdown in (notebook.cells[0].source, notebook.cells[1].outputs[0].data["text/markdown"]):
            for kind, url in markdown_destinations(markdown):
                assert url_is_safe(url, image=kind == "image"), (name, markdown, url)
            assert not live_scheme(rendered(markdown)), (name, rendered(markdown))
        assert notebook.cells[0].source.startswith("An answer. "), name


def test_honest_markdown_links_and_images_are_kept_byte_for_byte():
    cell = new_markdown_cell(HONEST_MARKDOWN)
    output = new_code_cell("display(...)", outputs=[
        new_output("display_data", data={"text/markdown": HONEST_MARKDOWN, "text/plain": "md"})])
    notebook = new_notebook(cells=[cell, output])
    SanitizeOutputs()(notebook, {})
    assert notebook.cells[0].source == HONEST_MARKDOWN
    assert notebook.cells[1].outputs[0].data["text/markdown"] == HONEST_MARKDOWN


def test_only_the_unsafe_link_of_a_cell_changes():
    from autograder.preprocessors.sanitize import neutralise_links

    source = "[good](https://numpy.org) and [bad](javascript:alert(1)) and ![img](data:image/png;base64,AA)"
    assert neutralise_links(source) == ("[good](https://numpy.org) and [bad](#unsafe-link-removed) and "
                                        "![img](data:image/png;base64,AA)")


def test_url_allowlist_reads_urls_as_browsers_do():
    from autograder.preprocessors.sanitize import url_is_safe

    for url in ("javascript:x", " JaVaScRiPt:x", "java\tscript:x", "\x01javascript:x", "java\nscript:x",
                "vbscript:x", "data:text/html,x", "file:///etc/passwd", "attachment:x.png"):
        assert not url_is_safe(url), url
    for url in ("https://a.b", "http://a.b", "mailto:a@b", "#top", "page.html", "//cdn.org/x", "java%73cript:x"):
        assert url_is_safe(url), url
    assert url_is_safe("data:image/png;base64,AA", image=True) and url_is_safe("attachment:x.png", image=True)
    assert not url_is_safe("data:text/html;base64,AA", image=True) and not url_is_safe("javascript:x", image=True)


MATHJAX = {
    r"$\href{javascript:alert(4)}{math link}$": "$math link$",
    r"$\url{javascript:alert(1)}$": "$javascript:alert(1)$",
    r"$\require{html}\class{x}{a} + \style{color:red}{b} + \cssId{i}{c} + \data{k=v}{d}$": "$a + b + c + d$",
    r"$\href{javascript:1}{\href{javascript:2}{nested}}$": "$nested$",
    r"$\href javascript$": "$href javascript$",
    r"$\mmlToken{mi}[href='javascript:1']{q}$": "$q$",
}


def test_mathjax_link_and_attribute_commands_are_taken_out_keeping_their_text():
    for source, expected in MATHJAX.items():
        cell = new_markdown_cell(source)
        output = new_code_cell("display(...)", outputs=[new_output("display_data", data={
            "text/latex": source, "text/markdown": source, "text/html": f"<p>{source}</p>", "text/plain": "x"})])
        notebook = new_notebook(cells=[cell, output])
        SanitizeOutputs()(notebook, {})
        data = notebook.cells[1].outputs[0].data
        assert notebook.cells[0].source == expected, source
        assert data["text/latex"] == data["text/markdown"] == expected, source
        assert data["text/html"] == f"<p>{expected}</p>", source
    spelled = new_code_cell("display(...)", outputs=[new_output("display_data", data={
        "text/html": r"<p>\(&#92;href{javascript:1}{x}\)</p>", "text/plain": "x"})])
    notebook = new_notebook(cells=[spelled])
    SanitizeOutputs()(notebook, {})
    assert "&#92;href" not in notebook.cells[0].outputs[0].data["text/html"].replace("&amp;#92;", "")
    honest = new_markdown_cell(r"$\frac{a}{b}$ and \(\mathbf{x}\)")
    SanitizeOutputs()(new_notebook(cells=[honest]), {})
    assert honest.source == r"$\frac{a}{b}$ and \(\mathbf{x}\)"
