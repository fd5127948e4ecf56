"""How much text, link text and prose each element of a page holds.

Measured from the rendered blocks (``render``), so the numbers are what a reader sees: hidden and
removed elements are gone, and nested blocks are counted once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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


def measure(root: HtmlElement, host: str | None = None, prose_only: bool = False) -> Mass:
    """The blocks of ``root`` and what each element holds (only its prose if ``prose_only``:
    all that chrome removal asks of the page before ``after_removal`` weighs it whole)."""
    return _weighed(render.blocks(root, host), root, prose_only)


def after_removal(
    mass: Mass, root: HtmlElement, changed: list[HtmlElement | None], host: str | None
) -> Mass:
    """``mass`` of ``root`` once elements were removed from it, without rendering the page
    again: the blocks of removed elements go, and only the blocks whose own text runs a
    removal changed (``changed``) are rendered anew."""
    alive: dict[HtmlElement, bool] = {root: True}

    def attached(el: HtmlElement) -> bool:
        path = []
        while el not in alive:
            path.append(el)
            parent = el.getparent()
            if parent is None:
                alive[el] = False
                break
            el = parent
        verdict = alive[el]
        for step in path:
            alive[step] = verdict
        return verdict

    redo = {el for el in changed if el is not None and attached(el)}
    # the outermost of them only: rendering it renders the others
    redo = {el for el in redo if not any(a in redo for a in el.iterancestors())}
    blocks: list[render.Block] = []
    done: set[HtmlElement] = set()
    for block in mass.blocks:
        el = block.element
        if el is None:
            blocks.append(block)
            continue
        if not attached(el):
            continue
        owner = next((a for a in _self_and_ancestors(el) if a in redo), None) if redo else None
        if owner is None:
            blocks.append(block)
        elif owner not in done:
            done.add(owner)
            blocks.extend(render.blocks(owner, host))
    return _weighed(blocks, root)


def _self_and_ancestors(el: HtmlElement) -> Iterator[HtmlElement]:
    yield el
    yield from el.iterancestors()


def _weighed(blocks: list[render.Block], root: HtmlElement, prose_only: bool = False) -> Mass:
    mass = Mass(blocks)
    text, links, prose = mass.text, mass.links, mass.prose
    for block in blocks:
        el = block.element
        if el is None:
            continue
        length, linked = len(block.text), block.link_chars
        own = length - linked if is_prose(block) else 0
        if prose_only and not own:
            continue
        while el is not None:
            text[el] = text.get(el, 0) + length
            if linked:
                links[el] = links.get(el, 0) + linked
            if own:
                prose[el] = prose.get(el, 0) + own
            if el is root:
                break
            el = el.getparent()
    return mass
