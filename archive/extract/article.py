"""An article's blocks, cleaned of what sits around its text inside its container."""

from __future__ import annotations

from lxml.html import HtmlElement

from archive.extract import dom, render, rules
from archive.extract.mass import is_prose
from archive.extract.text import same_words, word_count


def article_blocks(
    blocks: list[render.Block], root: HtmlElement, title: str | None = None
) -> list[render.Block]:
    """An article's blocks without what surrounds its text inside the container: whatever
    precedes the headline, then byline, date and photo captions before the first paragraph,
    link lists, captions and repeated blocks throughout."""
    # links to the site's own pages are menus and related stories; links elsewhere are sources
    blocks = [
        b
        for b in blocks
        if b.own_link_density < rules.MAX_OWN_LINK_DENSITY and not _is_caption(b, root)
    ]
    # the headline starts the article: above it are tickers and breadcrumbs
    if title:
        total = sum(len(b.text) for b in blocks)
        before = 0
        for i, block in enumerate(blocks):
            if before > rules.MAX_HEADLINE_LEAD_SHARE * total:
                break
            if block.is_heading and same_words(block.text, title):
                blocks = blocks[i + 1 :]
                break
            before += len(block.text)
    prose = [i for i, b in enumerate(blocks) if is_prose(b)]
    if not prose:
        return [b for b in blocks if b.link_density < rules.EDGE_MAX_LINK_DENSITY]
    first, last = prose[0], prose[-1]
    kept = [
        b
        for b in blocks[:first]
        if b.link_density < rules.EDGE_MAX_LINK_DENSITY and not _is_article_meta(b, title)
    ]
    # bylines and datelines repeated further down ("Published 18 November 2019")
    kept += [b for b in blocks[first : last + 1] if not _is_dated_byline(b)]
    # after the text: related-article lists, tag lists, share bars
    kept += [
        b
        for b in blocks[last + 1 :]
        if b.link_density < rules.EDGE_MAX_LINK_DENSITY and not _is_dated_byline(b)
    ]
    return _unique(kept)


def _is_article_meta(block: render.Block, title: str | None) -> bool:
    """Headline, byline, dateline or section label before an article's first paragraph."""
    if block.tag == "h1" or (title and same_words(block.text, title)):
        return True
    if block.is_heading or block.tag in ("li", "tr", "dd", "dt"):
        return False
    words = word_count(block.text)
    if words <= rules.META_MAX_WORDS and (words <= 2 or rules.BYLINE.match(block.text)):
        return True
    # "November 19, 2019 at 6:04 pm", "Updated 5:27 am CST, Wednesday, November 20, 2019"
    return words <= rules.DATELINE_MAX_WORDS and rules.DATELINE.search(block.text) is not None


def _is_dated_byline(block: render.Block) -> bool:
    text = block.text
    return (
        word_count(text) <= rules.DATELINE_MAX_WORDS
        and rules.BYLINE.match(text) is not None
        and rules.DATELINE.search(text) is not None
    )


def _is_caption(block: render.Block, root: HtmlElement) -> bool:
    """A photo caption or credit; a <figure> also wraps tables, code and quotes (WordPress
    "wp-block-table"), which are content."""
    el = block.element
    while el is not None and el is not root:
        tag = el.tag
        if tag in rules.FIGURE_CONTENT_TAGS:
            return False
        if tag == "figcaption" or dom.caption_name(el.get("class") or ""):
            return True
        if tag == "figure":
            return not any(True for _ in el.iter(*rules.FIGURE_CONTENT_TAGS))
        el = el.getparent()
    return False


def _unique(blocks: list[render.Block]) -> list[render.Block]:
    """Drop repeats of a block (galleries and captions rendered twice for two layouts)."""
    seen: set[str] = set()
    kept = []
    for block in blocks:
        if len(block.text) >= rules.REPEAT_MIN_CHARS:
            if block.text in seen:
                continue
            seen.add(block.text)
        kept.append(block)
    return kept
