"""How much text, link text and prose each element of a page holds.

Measured from the rendered blocks (``render``), so the numbers are what a reader sees: hidden and
removed elements are gone, and nested blocks are counted once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml.html import HtmlElement

from archive.extract import render, rules


@dataclass
class Mass:
    blocks: list[render.Block]
    text: dict[HtmlElement, int] = field(default_factory=dict)
    links: dict[HtmlElement, int] = field(default_factory=dict)
    prose: dict[HtmlElement, int] = field(default_factory=dict)


def is_prose(block: render.Block) -> bool:
    """A paragraph of running text, as opposed to a label, menu item or byline. Table rows count
    with less: a results table is content row by row."""
    own = len(block.text) - block.link_chars
    if own < rules.PROSE_MIN_CHARS and not block.text.isascii():
        # a CJK character carries about as much as a short word: weigh it so
        own += 2 * len(_CJK.findall(block.text))
    if block.tag == "tr":
        return own >= rules.PROSE_MIN_ROW_CHARS and block.link_density < 0.5
    return own >= rules.PROSE_MIN_CHARS


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def measure(root: HtmlElement, host: str | None = None) -> Mass:
    blocks = render.blocks(root, host)
    mass = Mass(blocks)
    text, links, prose = mass.text, mass.links, mass.prose
    for block in blocks:
        el = block.element
        if el is None:
            continue
        length, linked = len(block.text), block.link_chars
        own = length - linked if is_prose(block) else 0
        while el is not None:
            text[el] = text.get(el, 0) + length
            links[el] = links.get(el, 0) + linked
            if own:
                prose[el] = prose.get(el, 0) + own
            if el is root:
                break
            el = el.getparent()
    return mass
