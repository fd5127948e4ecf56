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
    root = main_container(doc)
    blocks = render.blocks(root) if root is not None else []
    return HtmlResult(render.join(blocks), md)


def main_container(doc: HtmlElement) -> HtmlElement | None:
    found = doc.xpath("//main|//*[@role='main']")
    if found:
        return found[0]
    body = doc.find("body")
    return body if body is not None else doc
