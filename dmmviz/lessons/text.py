"""Lesson narrative: Markdown rendered to HTML that is safe to put in a page (markdown-it, then nh3's allow-list).

markdown-it (CommonMark, with tables) takes time in proportion to the text: Python-Markdown, used before, took time
in the square of the number of "[" (a lesson step of 20,000 "[" took 44 s of CPU on every view of the lesson or its
class, and a handful of anonymous requests stalled the server's database thread). The worst text the lesson limits
allow now renders in about a quarter of a second, once: a render is remembered by its text.
"""

from __future__ import annotations

import functools
from typing import Any

import nh3
from markdown_it import MarkdownIt

# Enough for teaching text: emphasis, lists, code, tables, links. No images (the classroom may be offline), no raw
# HTML attributes beyond a link's target, no scripts, no styles, no event handlers.
TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sub",
    "sup",
    "kbd",
    "del",
}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


# Raw HTML in the source is kept for nh3 to sort (<kbd>, <sub>, <sup> and <del> have no Markdown of their own).
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


def _aligned_cells(state: Any) -> None:
    """A table column's alignment as the cell's `align` (which the allow-list keeps), not markdown-it's `style`
    (which it drops, with every style)."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if isinstance(style, str) and style.startswith("text-align:"):
                token.attrs["align"] = style.removeprefix("text-align:")


_MARKDOWN.core.ruler.push("aligned_cells", _aligned_cells)


@functools.lru_cache(maxsize=1024)
def render(text: str) -> str:
    """Markdown source -> sanitised HTML (a `str` ready to be marked safe)."""
    html = _MARKDOWN.render(text or "")
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer")
