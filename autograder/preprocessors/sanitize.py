"""Student HTML is made harmless before anyone renders it: nbconvert's own SanitizeHTML, allowing what
notebooks show (text, tables, images) and nothing that runs (scripts, event handlers, iframes,
javascript: and data: links, SVG and JavaScript outputs).

It runs on the autograded notebook, so both the feedback pages and formgrader's view of the
notebook (which the instructor opens while logged in) show the sanitized version; it covers every
output and the markdown cells the student wrote (the instructor's locked cells are left as they are).
"""

from __future__ import annotations

import re

from bleach import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool

NOTEBOOK_TAGS = sorted(set(ALLOWED_TAGS) | {
    "p", "div", "span", "br", "hr", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot",
    "tr", "th", "td", "caption", "colgroup", "col", "img", "sub", "sup", "dl", "dt", "dd", "details", "summary",
    "figure", "figcaption", "small", "kbd", "samp", "var", "del", "ins", "s", "u", "mark", "q", "cite",
})
SAFE_IMAGE_SOURCES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;",
                      "https://", "http://")
SAFE_LINKS = ("https://", "http://", "mailto:", "#")
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z!/?]|&#|javascript:", re.I)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("title", "class", "align", "colspan", "rowspan", "width", "height", "alt", "lang"):
        return True
    if tag == "img" and name == "src":
        return value.strip().lower().startswith(SAFE_IMAGE_SOURCES)
    if tag == "a" and name in ("href", "rel"):
        return name == "rel" or value.strip().lower().startswith(SAFE_LINKS)
    return name in ALLOWED_ATTRIBUTES.get(tag, ()) and name not in ("href", "src")


class SanitizeOutputs(SanitizeHTML):
    """SanitizeHTML for autograded notebooks: outputs and the student's markdown, not the locked cells."""

    enabled = Bool(True, help="nbconvert's preprocessors are off unless enabled; this one is on.").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("tags", NOTEBOOK_TAGS)
        kwargs.setdefault("attributes", _allowed_attribute)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" and cell.get("metadata", {}).get("nbgrader", {}).get("locked"):
            return cell, resources
        if cell.cell_type != "code" and not _LOOKS_LIKE_HTML.search(cell.source):
            return cell, resources  # plain markdown (quotes, `a > b`) is left exactly as written
        return super().preprocess_cell(cell, resources, cell_index)

    def sanitize_html_tags(self, html_str):
        # bleach checks a URL's protocol for href/src on top of the attribute filter; data: images need it.
        from bleach.sanitizer import ALLOWED_PROTOCOLS, Cleaner

        cleaner = Cleaner(tags=self.tags, attributes=self.attributes, strip=self.strip, strip_comments=True,
                          protocols=set(ALLOWED_PROTOCOLS) | {"data"})
        return cleaner.clean(html_str)
