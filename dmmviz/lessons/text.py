"""Lesson narrative: Markdown rendered to HTML that is safe to put in a page (markdown, then nh3's allow-list)."""

from __future__ import annotations

import markdown
import nh3

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


def render(text: str) -> str:
    """Markdown source -> sanitised HTML (a `str` ready to be marked safe)."""
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer")
