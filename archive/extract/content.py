"""The main text of an HTML page.

Steps: parse; read metadata (before cleaning, it needs <head>); remove what is never content
(``dom``); pick the element holding the main content; lay it out as blocks (``render``);
drop the blocks that read as boilerplate.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml.html import HtmlElement

from archive.extract import dom, render, rules
from archive.extract.metadata import Metadata, extract_metadata


@dataclass
class HtmlResult:
    text: str
    metadata: Metadata


def is_forum(md: Metadata, url: str | None) -> bool:
    if md.types & rules.FORUM_TYPES:
        return True
    if md.generator and rules.FORUM_GENERATORS.match(md.generator):
        return True
    return bool(url and rules.FORUM_URL.search(url))


def extract_html(text: str, url: str | None = None) -> HtmlResult:
    doc = dom.parse(text)
    if doc is None:
        return HtmlResult("", Metadata())
    md = extract_metadata(doc, url)
    forum = is_forum(md, url)
    dom.unwrap_noscript(doc)
    dom.strip_unreadable(doc)
    dom.strip_boilerplate(doc, keep_comments=forum)
    root = main_container(doc, forum)
    blocks = render.blocks(root) if root is not None else []
    return HtmlResult(render.join(blocks), md)


def main_container(doc: HtmlElement, forum: bool = False) -> HtmlElement | None:
    """The element holding the main content: the article body when one is named or marked as
    such, else <main>, else <body>. A thread's posts are each named like an article body, so
    on forums the thread's container is the whole <main>."""
    body = doc.find("body")
    if body is None:
        body = doc
    found = doc.xpath("//main|//*[@role='main']")
    scope = found[0] if found else body
    prose = dom.prose_by_element(body)
    total = prose.get(body, 0)
    if forum or total < rules.PROSE_MIN_CHARS:
        return scope
    named = [
        el
        for el in body.iter()
        if isinstance(el.tag, str)
        and prose.get(el, 0) >= rules.NAMED_CONTENT_SHARE * total
        and (
            el.get("itemprop") in rules.CONTENT_ITEMPROPS
            or any(dom.content_name(el.get(a) or "") for a in ("class", "id"))
        )
    ]
    if named:
        best = max(prose.get(el, 0) for el in named)
        # nested names ("post" > "entry-content"): the innermost that keeps nearly all the prose
        close = [el for el in named if prose.get(el, 0) >= 0.9 * best]
        return max(close, key=_depth)
    articles = [el for el in body.iter("article") if prose.get(el, 0) >= 0.5 * total]
    if articles:
        return max(articles, key=_depth)
    return scope


def _depth(el: HtmlElement) -> int:
    return sum(1 for _ in el.iterancestors())
