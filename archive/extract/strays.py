"""Short stray blocks among the content: kept or dropped by a small learned model.

Inside an article, and at the head of other pages, our blocks are right about paragraphs,
headings and list items but let through short strays: a promo line, a "Related:" teaser, a
photo credit, a label. Each short block is described by its shape (length, links, case,
punctuation), its place (position, neighbours, depth) and its repetition on the page, and
a tree ensemble (gradient boosting, ``strays.json``, trained by ``bench/train_strays.py``
on the WCXB dev pages) says whether it is content. This replaced a second reading of the
container by trafilatura, which cost about as much as the rest of the extraction.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive.extract import dom, render, rules
from archive.extract.mass import Mass, is_prose
from archive.extract.text import WORDS

MODEL_PATH = Path(__file__).with_name("strays.json")
#: A node: [feature, threshold, left, right] or a leaf: [value].
Tree = list[list[float]]

_TAGS = {"p": 1, "div": 2, "section": 2, "span": 3, "blockquote": 4, "figcaption": 5}
_TAGS.update(dict.fromkeys(("header", "footer", "aside", "nav", "form"), 6))
_TAGS.update(dict.fromkeys(("td", "th", "table", "tbody"), 7))
_SEPARATORS = ("|", "·", "•", "»", "›", "/")


def is_candidate(block: render.Block) -> bool:
    """The blocks the model judges: short ones that are not headings nor items."""
    return not (is_prose(block) or block.is_heading or block.tag in rules.ITEM_TAGS)


def features(
    blocks: list[render.Block], article: bool, mass: Mass
) -> Iterator[tuple[int, list[float]]]:
    """(index, features) of each candidate among ``blocks``."""
    total = sum(len(b.text) for b in blocks) or 1
    prose_flags = [is_prose(b) for b in blocks]
    prose_share = sum(len(b.text) for b, p in zip(blocks, prose_flags, strict=True) if p) / total
    first = next((i for i, p in enumerate(prose_flags) if p), len(blocks))
    last = max((i for i, p in enumerate(prose_flags) if p), default=-1)
    repeats = Counter(b.text for b in mass.blocks)
    n = len(blocks)
    before = 0
    for i, block in enumerate(blocks):
        text = block.text
        if is_candidate(block):
            yield (
                i,
                _shape(block, text)
                + [
                    before / total,
                    i / n,
                    float(i > 0 and prose_flags[i - 1]),
                    float(i + 1 < n and prose_flags[i + 1]),
                    float(article),
                    prose_share,
                    float(repeats[text]),
                    float(_named(block)),
                    float(n),
                    float(i < first) - float(i > last),
                    *_surroundings(block, mass),
                ],
            )
        before += len(text)


def _surroundings(block: render.Block, mass: Mass) -> tuple[float, float, float]:
    """The link density and size of the element around the block, and its depth."""
    el = block.element
    parent = el.getparent() if el is not None else None
    if parent is None:
        return 0.0, 0.0, 0.0
    text = mass.text.get(parent, 0) or 1
    depth = sum(1 for _ in parent.iterancestors())
    return mass.links.get(parent, 0) / text, float(text), float(depth)


def _shape(block: render.Block, text: str) -> list[float]:
    words = WORDS.findall(text)
    # map over str methods: a character at a time in C, not in a Python generator
    letters = sum(map(str.isalpha, text)) or 1
    capital = sum(map(str.isupper, (w[0] for w in words))) / max(1, len(words))
    stripped = text.rstrip()
    return [
        float(len(text)),
        float(len(words)),
        block.link_density,
        block.own_link_density,
        float(_TAGS.get(block.tag, 0)),
        float(stripped[-1:] in '.!?:;"”)' if stripped else 0),
        float(text[:1].isupper()),
        sum(map(str.isdigit, text)) / max(1, len(text)),
        sum(map(str.isupper, text)) / letters,
        capital,
        float(sum(text.count(s) for s in _SEPARATORS)),
        float(text.count("\n")),
    ]


def _named(block: render.Block) -> bool:
    """Whether the block's element or one of its close ancestors is named like boilerplate."""
    el = block.element
    for _ in range(4):
        if el is None:
            return False
        for attr in ("class", "id"):
            value = el.get(attr)
            if value and dom.boilerplate_name(value):
                return True
        el = el.getparent()
    return False


#: A tree as flat nodes (feature, threshold, left, right, value); a leaf has feature -1.
Nodes = tuple[tuple[int, float, int, int, float], ...]


def _compiled(trees: list[Tree]) -> list[Nodes]:
    return [
        tuple(
            (-1, 0.0, 0, 0, node[0])
            if len(node) == 1
            else (int(node[0]), node[1], int(node[2]), int(node[3]), 0.0)
            for node in tree
        )
        for tree in trees
    ]


def _score(trees: list[Nodes], base: float, x: list[float]) -> float:
    total = base
    for nodes in trees:
        feature, threshold, left, right, value = nodes[0]
        while feature >= 0:
            feature, threshold, left, right, value = nodes[
                left if x[feature] <= threshold else right
            ]
        total += value
    return 1 / (1 + math.exp(-total))


#: The model in use and its compiled trees; loaded from MODEL_PATH when first needed.
_model: tuple[dict, list[Nodes]] | None = None


def _compile(model: dict) -> tuple[dict, list[Nodes]]:
    return model, _compiled(model["trees"])


def _loaded() -> tuple[list[Nodes], float, float, float]:
    global _model
    if _model is None:
        _model = _compile(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
    model, trees = _model
    return trees, model["base"], model["threshold"], model["threshold_other"]


@contextmanager
def using(model: dict | None) -> Iterator[None]:
    """Extract with ``model`` (the benchmark's cross-validation trains one per fold)."""
    global _model
    saved, _model = _model, (_compile(model) if model is not None else None)
    try:
        yield
    finally:
        _model = saved


#: When set, every candidate's (features, text) is appended to it (to train the model).
recording: list[tuple[list[float], str]] | None = None


def without_strays(blocks: list[render.Block], article: bool, mass: Mass) -> list[render.Block]:
    """``blocks`` without the short ones the model does not take for content."""
    trees, base, article_cut, other_cut = _loaded()
    cut = article_cut if article else other_cut
    dropped = set()
    for i, x in features(blocks, article, mass):
        if recording is not None:
            recording.append((x, blocks[i].text))
        if _score(trees, base, x) < cut:
            dropped.add(i)
    if len(dropped) == len(blocks):
        # strays are strays among content: a page of nothing but short blocks keeps them
        return blocks
    return [b for i, b in enumerate(blocks) if i not in dropped]
