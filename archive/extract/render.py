"""Turning a (cleaned) element into text blocks the way a browser lays them out.

A block is what a reader sees as one paragraph: a <p>, a heading, a list item, a table row, or
a run of text between block elements. Blocks keep their share of link text, which the content
filters use to tell menus from prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "caption",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "legend",
        "address",
        "details",
        "summary",
        "hr",
        "center",
        "body",
        "html",
        "noscript",
        "hgroup",
        "search",
    }
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b\u2009\u202f]+")
_NEWLINES = re.compile(r" *\n[ \n]*")


@dataclass
class Block:
    text: str
    tag: str  # the innermost block element that opened it ("p", "h2", "li", "tr", "div", ...)
    link_chars: int = 0
    element: HtmlElement | None = None

    @property
    def link_density(self) -> float:
        return self.link_chars / max(1, len(self.text))

    @property
    def is_heading(self) -> bool:
        return self.tag in HEADINGS


class _Builder:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.link_chars = 0
        self.tags: list[tuple[str, HtmlElement | None]] = [("div", None)]

    def add(self, text: str | None, in_link: bool) -> None:
        if text:
            self.parts.append(text)
            if in_link:
                self.link_chars += len(text.strip())

    def flush(self, preformatted: bool = False) -> None:
        if self.parts:
            raw = "".join(self.parts)
            if preformatted:
                text = raw.strip("\n")
            else:
                text = _NEWLINES.sub(
                    "\n", _SPACES.sub(" ", raw.replace("\n", " ").replace("\x00", "\n"))
                )
                text = text.strip()
            if text:
                tag, element = self.tags[-1]
                self.blocks.append(Block(text, tag, min(self.link_chars, len(text)), element))
        self.parts = []
        self.link_chars = 0


def blocks(root: HtmlElement) -> list[Block]:
    """The blocks of ``root`` in document order."""
    builder = _Builder()
    _walk(root, builder, in_link=False, in_pre=False)
    builder.flush()
    return builder.blocks


def _walk(el: HtmlElement, b: _Builder, in_link: bool, in_pre: bool) -> None:
    tag = el.tag
    if not isinstance(tag, str):
        b.add(el.tail, in_link)
        return
    block = tag in BLOCK_TAGS
    if block:
        b.flush(in_pre)
        b.tags.append((tag, el))
    elif tag == "br":
        # a line break inside a paragraph; "\x00" survives the whitespace folding in flush()
        b.add("\x00" if not in_pre else "\n", False)
    elif tag in _CELLS:
        b.add(" ", False)
    pre = in_pre or tag == "pre"
    link = in_link or tag == "a"
    b.add(el.text, link)
    for child in el:
        _walk(child, b, link, pre)
    if block:
        b.flush(pre)
        b.tags.pop()
    elif tag in _CELLS:
        b.add(" ", False)
    b.add(el.tail, in_link)


def join(blocks_: list[Block]) -> str:
    return "\n\n".join(b.text for b in blocks_)
