"""Turning a (cleaned) element into text blocks the way a browser lays them out.

A block is what a reader sees as one paragraph: a <p>, a heading, a list item, a table row, or
a run of text between block elements. Blocks keep their share of link text, which the content
filters use to tell menus from prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree
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
# a link's host name: what urlsplit(href).hostname gives, at a fraction of its cost (and no
# ValueError on a broken IPv6 address)
_HOST = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:]*)")


@dataclass
class Block:
    text: str
    tag: str  # the innermost block element that opened it ("p", "h2", "li", "tr", "div", ...)
    link_chars: int = 0
    element: HtmlElement | None = None
    own_link_chars: int = 0  # link text pointing to the page's own site

    @property
    def link_density(self) -> float:
        return self.link_chars / max(1, len(self.text))

    @property
    def own_link_density(self) -> float:
        return self.own_link_chars / max(1, len(self.text))

    @property
    def is_heading(self) -> bool:
        return self.tag in HEADINGS


class _Builder:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.link_chars = 0
        self.own_link_chars = 0
        self.tags: list[tuple[str, HtmlElement | None]] = [("div", None)]

    def linked(self, text: str, own: bool) -> None:
        """Count ``text`` (already added) as link text."""
        length = len(text.strip())
        self.link_chars += length
        if own:
            self.own_link_chars += length

    def flush(self, preformatted: bool = False) -> None:
        if not self.parts:  # two block tags in a row: nothing between them, no links either
            return
        raw = "".join(self.parts)
        # most runs are the indentation between tags: no block, and no regex for them
        if raw and (preformatted or not raw.isspace()):
            text = raw.strip("\n") if preformatted else _folded(raw)
            if text:
                tag, element = self.tags[-1]
                links = min(self.link_chars, len(text))
                own = min(self.own_link_chars, links)
                self.blocks.append(Block(text, tag, links, element, own))
        self.parts.clear()  # in place: blocks() holds on to the list
        self.link_chars = 0
        self.own_link_chars = 0


def _folded(raw: str) -> str:
    """Whitespace folded as a browser does; "\x00" marks a <br>."""
    text = _SPACES.sub(" ", raw.replace("\n", " ").replace("\x00", "\n"))
    return _NEWLINES.sub("\n", text).strip()


def blocks(root: HtmlElement, host: str | None = None) -> list[Block]:
    """The blocks of ``root`` in document order; links to ``host`` count as the site's own."""
    b = _Builder()
    parts, tags = b.parts, b.tags
    links: list[bool] = []  # the <a> we are inside: whether each points to the site itself
    pre = 0  # how many <pre> we are inside
    # iterwalk instead of recursion: pages nest thousands of elements deep. This loop runs
    # twice per element of the page: the common steps (text, tails) are inlined.
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if not isinstance(tag, str):
            text = el.tail if event == "end" else None
        elif event == "start":
            if tag in BLOCK_TAGS:
                b.flush(pre > 0)
                tags.append((tag, el))
            elif tag == "br":
                # a line break inside a paragraph; "\x00" survives the whitespace folding
                parts.append("\n" if pre else "\x00")
            elif tag in _CELLS:
                parts.append(" ")
            if tag == "a":
                links.append(_is_own(el.get("href"), host))
            elif tag == "pre":
                pre += 1
            text = el.text
        else:
            if tag == "a" and links:
                links.pop()
            if tag in BLOCK_TAGS:
                b.flush(pre > 0)
                tags.pop()
            elif tag in _CELLS:
                parts.append(" ")
            if tag == "pre":
                pre -= 1
            text = el.tail if el is not root else None
        if text:
            parts.append(text)
            if links:
                b.linked(text, links[-1])
    b.flush()
    return b.blocks


@lru_cache(maxsize=4096)  # a page repeats its links (menus, footers): parse each once
def _is_own(href: str | None, host: str | None) -> bool:
    """Whether a link leads to the same site: relative, or to ``host`` or a subdomain of it."""
    if not href:
        return False
    href = href.strip()
    if href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return False
    if "://" not in href[:12] and not href.startswith("//"):
        return True
    if not host:
        return False
    found = _HOST.match(href)
    netloc = found.group(1).lower() if found else ""
    return netloc == host or netloc.endswith("." + host) or host.endswith("." + netloc)


def join(blocks_: list[Block]) -> str:
    return "\n\n".join(b.text for b in blocks_)
