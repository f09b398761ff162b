"""nbconvert's HTML exporter for nbgrader's feedback pages, without its whole-page re-parse.

`HTMLExporter.from_notebook_node` renders the page, then parses all of it again with BeautifulSoup
only to give images without alt text a default one and to make JupyterLab cells focusable. On a
feedback page (about 1 MB of inline CSS, highlighted code and figures) that parse is three quarters
of the export: about 2.5 s of a 3.4 s page per student here. This exporter makes the same changes
to the tags themselves, so the page says the same (`tests/autograder/test_feedback_exporter.py`
compares both through BeautifulSoup) for a quarter of the time. nbgrader picks it up through
`GenerateFeedback.exporter_class` in nbgrader_config.py.

It is also the last defence of a feedback page: a link or source attribute (href, src, xlink:href,
action, formaction, poster) whose URL is not on the sanitizer's allowlist is removed from the tags
of the rendered page, whatever let it through (`autograder/preprocessors/sanitize.py` should have).
"""

from __future__ import annotations

import html as entities
import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.html import Highlight2HTML, WidgetsDataTypeFilter

from .preprocessors.sanitize import url_is_safe

MISSING_ALT_TEXT = "No description has been provided for this image"
_IMAGE_WITHOUT_ALT = re.compile(r"<img(?=[\s/>])(?![^>]*\salt\s*=)", re.IGNORECASE)
# JupyterLab templates: the cell parts HTMLExporter makes reachable with the keyboard.
_FOCUSABLE_LAB_PARTS = re.compile(
    r'<div(?![^>]*\stabindex\s*=)(?=[^>]*\sclass="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)[\s"])',
)


# A start tag with attributes (a quoted value may hold '>'), and a URL attribute in it (after a space or a
# '/', as browsers read `<a/href=...>`; an unquoted value runs to a space or '>').
_TAG = re.compile(r"""<[A-Za-z][^\s/>]*[\s/](?:"[^"]*"|'[^']*'|[^"'>])*>""")
_URL_ATTRIBUTE = re.compile(
    r"""([\s/])(href|src|xlink:href|action|formaction|poster)(\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_IMAGE_TAGS = ("img", "image", "source", "video", "audio", "input")


def remove_unsafe_urls(html: str) -> tuple[str, int]:
    """The page without URL attributes whose scheme is not allowed (`url_is_safe`); returns (html, how many)."""
    removed = 0

    def clean_tag(tag: re.Match) -> str:
        name = re.split(r"[\s/]", tag.group(0)[1:], maxsplit=1)[0].lower()

        def clean_attribute(attribute: re.Match) -> str:
            nonlocal removed
            value = entities.unescape(attribute.group(4).strip("\"'"))
            if url_is_safe(value, image=name in _IMAGE_TAGS and attribute.group(2).lower() in ("src", "poster")):
                return attribute.group(0)
            removed += 1
            return attribute.group(1)

        return _URL_ATTRIBUTE.sub(clean_attribute, tag.group(0))

    cleaned = _TAG.sub(clean_tag, html)
    return (cleaned, removed) if removed else (html, 0)


def add_alt_text(html: str) -> tuple[str, int]:
    """Give every <img> without an alt attribute nbconvert's default one; returns (html, how many)."""
    return _IMAGE_WITHOUT_ALT.subn(f'<img alt="{MISSING_ALT_TEXT}"', html)


def make_lab_cells_focusable(html: str) -> str:
    """tabindex="0" on JupyterLab input wrappers and outputs, as HTMLExporter does (lab templates only)."""
    if "jp-Notebook" not in html:
        return html
    return _FOCUSABLE_LAB_PARTS.sub('<div tabindex="0"', html)


class FeedbackHTMLExporter(HTMLExporter):
    """HTMLExporter whose accessibility fixes are made on the tags, not by re-parsing the page."""

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("filter_data_type", data_types)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html, unsafe = remove_unsafe_urls(html)
        if unsafe:
            self.log.warning("%s link(s) or source(s) with a scheme that is not allowed removed.", unsafe)
        html, missing_alt = add_alt_text(html)
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return make_lab_cells_focusable(html), resources
