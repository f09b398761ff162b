"""Student HTML is made harmless before anyone renders it: nbconvert's own SanitizeHTML, allowing what
notebooks show (text, tables, images) and nothing that runs (scripts, event handlers, iframes,
javascript: and data: links, SVG and JavaScript outputs).

Markdown links are not HTML to bleach, so the student's markdown (cells and text/markdown outputs) is
parsed with the parser nbconvert renders it with (mistune, as `markdown_mistune` configures it), and a
link or image whose destination is not on the allowlist (`url_is_safe`: http, https, mailto, relative;
data:image and attachments for images) has its destination replaced by `#unsafe-link-removed` in
the source; markdown without such links is left byte for byte as written. MathJax commands that
make links, load extensions or set attributes (`\\href`, `\\url`, `\\require`, `\\class`, ...) are
taken out of markdown, text/latex and HTML outputs, keeping the text they show.

It runs on the autograded notebook, so both the feedback pages and formgrader's view of the
notebook (which the instructor opens while logged in) show the sanitized version; it covers every
output and the markdown cells the student wrote (the instructor's locked cells are left as they are).
"""

from __future__ import annotations

import html
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


LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https", "attachment"})  # nbconvert embeds attachments as data: images
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp|bmp|svg\+xml)[;,]", re.IGNORECASE)
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
UNSAFE_LINK = "#unsafe-link-removed"


def url_is_safe(url: str, image: bool = False) -> bool:
    """Whether a browser given this (attribute-decoded) URL opens an allowed scheme: it is read as the WHATWG
    URL parser reads it (leading and trailing controls and spaces dropped, tabs and newlines removed
    anywhere, the scheme case-insensitive); a URL without a scheme is relative, so allowed."""
    url = _TAB_OR_NEWLINE.sub("", url.strip("".join(map(chr, range(33)))))
    scheme = _URL_SCHEME.match(url)
    if scheme is None:
        return True
    name = scheme.group(1).lower()
    if image and name == "data":
        return _DATA_IMAGE.match(url) is not None
    return name in (IMAGE_SCHEMES if image else LINK_SCHEMES)


def markdown_destinations(markdown: str) -> list[tuple[str, str]]:
    """(kind, url) of every link and image of `markdown` as nbconvert renders it (url as the href or src)."""
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    found: list[tuple[str, str]] = []

    def walk(tokens) -> None:
        for token in tokens or ():
            if token.get("type") in ("link", "image"):
                found.append((token["type"], str(token.get("attrs", {}).get("url", ""))))
            walk(token.get("children"))

    walk(MarkdownWithMath(renderer=None)(markdown))
    return found


def unsafe_destinations(markdown: str) -> set[str]:
    return {url for kind, url in markdown_destinations(markdown) if not url_is_safe(url, image=kind == "image")}


# An autolink to an allowed scheme, with nothing an HTML parser could read as an attribute's value.
_SAFE_AUTOLINK = re.compile(r"<(?:https?|mailto):[^\s<>\"'=`\ue000\ue001]*>", re.IGNORECASE)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")


def _candidate_spans(markdown: str):
    """(start, end, url) of the text that may be a link destination: after `](` (inline links and
    images), after `]:` (reference definitions), inside `<scheme:...>` (autolinks); url as mistune makes it."""
    from mistune.helpers import parse_link_href, unescape_char
    from mistune.util import escape_url

    for match in re.finditer(r"\]\(|\]:", markdown):
        raw, end = parse_link_href(markdown, match.end(), block=match.group(0) == "]:")
        if raw is None or end is None:
            continue
        start = markdown.find(raw, match.end(), end) if raw else -1  # after spaces, or inside <...>
        if start >= 0:
            yield start, start + len(raw), escape_url(unescape_char(raw))
    for match in _AUTOLINK.finditer(markdown):
        yield match.start(1), match.end(1), escape_url(match.group(1))


def neutralise_links(markdown: str) -> str:
    """`markdown` with the destination of every link or image that is not `url_is_safe` replaced by
    `#unsafe-link-removed`; unchanged when it has none. Checked again with the parser: should a link
    survive the rewrite, the whole text is shown as a code block instead (no link, no math)."""
    if "]" not in markdown and "<" not in markdown:
        return markdown
    unsafe = unsafe_destinations(markdown)
    if not unsafe:
        return markdown
    spans, taken = [], []
    for start, end, url in sorted(_candidate_spans(markdown)):
        if (url in unsafe or markdown[start:end] in unsafe) and not any(s < end and start < e for s, e in taken):
            spans.append((start, end))
            taken.append((start, end))
    rewritten = markdown
    for start, end in reversed(spans):
        rewritten = rewritten[:start] + UNSAFE_LINK + rewritten[end:]
    if not unsafe_destinations(rewritten):
        return rewritten
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", markdown)), default=0))
    return f"*[autograder: this text held links that are not allowed; shown as text]*\n\n{fence}\n{markdown}\n{fence}\n"


_MATHJAX_COMMAND = re.compile(r"\\(href|url|require|class|style|cssId|data|mmlToken)(?![A-Za-z])")
_KEEP_ARGUMENT = {"href": 1, "url": 0, "require": None, "class": 1, "style": 1, "cssId": 1, "data": 1,
                  "mmlToken": -1}  # which braced argument is shown; None: none; -1: the last
_ARGUMENTS = {"href": 2, "url": 1, "require": 1, "class": 2, "style": 2, "cssId": 2, "data": 2, "mmlToken": 2}


def _braced(text: str, pos: int) -> tuple[str, int] | None:
    """The content of the `{...}` group at `pos` (after spaces, an optional `[...]` skipped), and its end."""
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    if text[pos:pos + 1] == "[":
        close = text.find("]", pos)
        if close < 0:
            return None
        pos = close + 1
        while pos < len(text) and text[pos] in " \t\n":
            pos += 1
    if text[pos:pos + 1] != "{":
        return None
    depth, index = 0, pos
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += char == "{"
        depth -= char == "}"
        if depth == 0:
            return text[pos + 1:index], index + 1
        index += 1
    return None


def strip_mathjax_commands(text: str) -> str:
    """`text` without the MathJax commands that make links, load extensions or set HTML attributes and
    styles (`\\href{url}{text}` -> `text`, `\\url{u}` -> `u`, `\\require{..}` -> nothing, `\\class`,
    `\\style`, `\\cssId`, `\\data` -> their math); one whose arguments cannot be read loses its backslash.
    Text that spells a command with character references (`&#92;href`) has its `&` escaped."""
    if "\\" not in text and "&" not in text:
        return text
    for _ in range(50):  # nested commands come out one level a round
        match = _MATHJAX_COMMAND.search(text)
        if match is None:
            break
        name, pos, arguments = match.group(1), match.end(), []
        for _ in range(_ARGUMENTS[name]):
            group = _braced(text, pos)
            if group is None:
                break
            arguments.append(group[0])
            pos = group[1]
        if len(arguments) < _ARGUMENTS[name]:
            text = text[:match.start()] + text[match.start() + 1:]  # `href`: plain text to MathJax
            continue
        keep = _KEEP_ARGUMENT[name]
        text = text[:match.start()] + ("" if keep is None else arguments[keep]) + text[pos:]
    else:
        text = _MATHJAX_COMMAND.sub(lambda m: m.group(1), text)
    if "&" in text and _MATHJAX_COMMAND.search(html.unescape(text)):
        text = text.replace("&", "&amp;")
    return text


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
        if cell.cell_type == "code":
            return super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "markdown":
            cell.source = self.sanitize_markdown(cell.source)
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)  # a raw cell: bleached

    def sanitize_markdown(self, markdown: str) -> str:
        """Student markdown: its HTML bleached (if it has any; plain markdown such as `a > b` is left exactly as
        written), MathJax's link and attribute commands taken out, unsafe link destinations replaced."""
        if _LOOKS_LIKE_HTML.search(markdown):
            autolinks = _SAFE_AUTOLINK.findall(markdown)  # <https://...> is markdown, not a tag to strip
            markdown = _SAFE_AUTOLINK.sub(lambda m: f"\ue000{autolinks.index(m.group(0))}\ue001", markdown)
            markdown = self.sanitize_html_tags(markdown)
            markdown = re.sub("\ue000([0-9]+)\ue001", lambda m: autolinks[int(m.group(1))], markdown)
        return neutralise_links(strip_mathjax_commands(markdown))

    def sanitize_code_outputs(self, outputs):
        markdown = {}
        for index, output in enumerate(outputs):
            if output.get("output_type") not in ("stream", "error") and "text/markdown" in output.get("data", {}):
                markdown[index] = output.data.pop("text/markdown")
        outputs = super().sanitize_code_outputs(outputs)
        for index, output in enumerate(outputs):
            data = output.get("data", {}) if output.get("output_type") not in ("stream", "error") else {}
            if index in markdown:
                text = markdown[index]
                data["text/markdown"] = self.sanitize_markdown(text if isinstance(text, str) else "".join(text))
            for key in ("text/html", "text/latex"):
                if key in data:
                    data[key] = strip_mathjax_commands(data[key] if isinstance(data[key], str) else "".join(data[key]))
        return outputs

    def sanitize_html_tags(self, html_str):
        # bleach checks a URL's protocol for href/src on top of the attribute filter; data: images need it.
        from bleach.sanitizer import ALLOWED_PROTOCOLS, Cleaner

        cleaner = Cleaner(tags=self.tags, attributes=self.attributes, strip=self.strip, strip_comments=True,
                          protocols=set(ALLOWED_PROTOCOLS) | {"data"})
        return cleaner.clean(html_str)
