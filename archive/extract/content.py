"""The main text of an HTML page.

Steps: parse; read metadata (before cleaning, it needs <head>); remove what is never content
(``dom``); pick the element holding the main content; lay it out as blocks (``render``);
drop the blocks that read as boilerplate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml.html import HtmlElement

from archive.extract import dom, render, rules
from archive.extract.crosscheck import confirm_short_blocks
from archive.extract.mass import Mass, is_prose, measure
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
    body, mass = _clean(doc, forum, drop_hidden=True)
    if mass.text.get(body, 0) < rules.MIN_VISIBLE_CHARS:
        # everything is hidden until a script shows it (eBay, some SPAs): read it anyway
        fresh = dom.parse(text)
        if fresh is not None:
            fresh_body, fresh_mass = _clean(fresh, forum, drop_hidden=False)
            if fresh_mass.text.get(fresh_body, 0) >= rules.MIN_HIDDEN_RESCUE_CHARS:
                doc, body, mass = fresh, fresh_body, fresh_mass
    # the publisher's word counts more than an article-like address
    declared = 2 if md.says_article else 1 if url and rules.ARTICLE_URL.search(url) else 0
    root, article = main_container(doc, body, mass, forum, declared, md.title)
    blocks = [b for b in mass.blocks if _within(b, root)] if root is not body else mass.blocks
    blocks = [b for b in blocks if not is_interface(b)]
    if forum:
        blocks = [b for b in blocks if not is_post_meta(b)]
    if is_product(md, url):
        blocks = [b for b in blocks if not _under(b, root, dom.shop_extra_name)]
    if article:
        blocks = confirm_short_blocks(article_blocks(blocks, root, md.title), root)
    else:
        # a page's main region starts at its headline: before it are breadcrumbs and promos
        blocks = blocks[_headline(blocks, md.title) :]
        if not forum:
            # the preview shows the start: hold it to trafilatura's confirmation too, while
            # the rest keeps the items of listings that trafilatura would drop
            head = _head(blocks, rules.PREVIEW_CHARS)
            blocks = confirm_short_blocks(blocks[:head], root) + blocks[head:]
    return HtmlResult(render.join(blocks), md)


def _head(blocks: list[render.Block], chars: int) -> int:
    """How many blocks make up the first ``chars`` characters of the text."""
    length = 0
    for i, block in enumerate(blocks):
        if length >= chars:
            return i
        length += len(block.text) + 2
    return len(blocks)


def _headline(blocks: list[render.Block], title: str | None) -> int:
    """Index of the page's <h1> (the one repeating the title if there are several), or 0 when
    there is none or it comes late: a headline is near the top of the main region."""
    heads = [i for i, b in enumerate(blocks) if b.tag == "h1"]
    if not heads:
        return 0
    if title and len(heads) > 1:
        heads = [i for i in heads if _same_words(blocks[i].text, title)] or heads
    before = sum(len(b.text) for b in blocks[: heads[0]])
    total = sum(len(b.text) for b in blocks)
    return heads[0] if before <= rules.MAX_LEAD_SHARE * total else 0


def is_post_meta(block: render.Block) -> bool:
    """A forum poster's badge: rank, join date, post count (``rules.POST_META``)."""
    text = block.text
    if len(text) > 80 or len(text.split()) > rules.UI_MAX_WORDS:
        return False
    return rules.POST_META.match(text.strip()) is not None


def is_interface(block: render.Block) -> bool:
    """A button, prompt or label of the site (``rules.UI_PHRASES``)."""
    text = block.text
    if len(text) > 80 or len(text.split()) > rules.UI_MAX_WORDS:
        return False
    return rules.UI_PHRASES.fullmatch(text.strip(rules.UI_STRIP).lower()) is not None


def _clean(doc: HtmlElement, forum: bool, drop_hidden: bool) -> tuple[HtmlElement, Mass]:
    dom.unwrap_noscript(doc)
    dom.strip_unreadable(doc, drop_hidden)
    dom.strip_boilerplate(doc, keep_comments=forum)
    body = doc.find("body")
    if body is None:
        body = doc
    return body, measure(body)


def _within(block: render.Block, root: HtmlElement) -> bool:
    el = block.element
    while el is not None:
        if el is root:
            return True
        el = el.getparent()
    return False


def main_container(
    doc: HtmlElement,
    body: HtmlElement,
    mass: Mass,
    forum: bool = False,
    declared: int = 0,
    title: str | None = None,
) -> tuple[HtmlElement, bool]:
    """The element holding the main content, and whether it reads as an article.

    In order: a container named or marked as the article body; an <article> holding most of
    the prose; the region grown around the densest paragraphs when prose dominates the page;
    else <main>, else <body>. A thread's posts are each named like an article body, so on
    forums the thread's container is the whole <main>.
    """
    prose, text = mass.prose, mass.text
    total = prose.get(body, 0)
    scope = body
    # pages with several <main> (an empty one from a template, one per tab) exist
    found = [el for el in doc.xpath("//main|//*[@role='main']") if el in text]
    if found:
        main = max(found, key=lambda el: (prose.get(el, 0), text.get(el, 0)))
        # a <main> left empty by a script-rendered layout is no scope
        if text.get(main, 0) >= rules.MIN_MAIN_SHARE * text.get(body, 0):
            scope = main
    if total < rules.PROSE_MIN_CHARS:
        return scope, False
    if forum:
        # the thread: grown from the densest post over its sibling posts
        return _grow(_densest(mass), scope, mass, rules.THREAD_GROWTH), False
    named = [
        el
        for el, mass_ in prose.items()
        if mass_ >= rules.NAMED_CONTENT_SHARE * total
        and (
            el.get("itemprop") in rules.CONTENT_ITEMPROPS
            or any(dom.content_name(el.get(a) or "") for a in ("class", "id"))
        )
    ]
    if named:
        best = max(prose[el] for el in named)
        # nested names ("post" > "entry-content"): the innermost that keeps nearly all the prose
        close = [el for el in named if prose[el] >= 0.9 * best]
        chosen = max(close, key=_depth)
        return _with_twins(chosen, prose, total), True
    # Unnamed regions are only trusted on pages that look like articles: on product, listing
    # and service pages the densest paragraphs are an intro or a description among the items.
    articles = [el for el, m in prose.items() if el.tag == "article" and m >= 0.5 * total]
    if not declared:
        # an undeclared page is an article when one <article> holds nearly all of it
        lone = [el for el in scope.iter("article") if el in text]
        if (
            len(lone) == 1
            and text[lone[0]] >= rules.LONE_ARTICLE_SHARE * text.get(scope, 0)
            and prose.get(lone[0], 0) >= rules.LONE_ARTICLE_PROSE * text[lone[0]]
        ):
            return lone[0], True
        return scope, False
    if articles:
        return max(articles, key=_depth), True
    # several <article>s, none dominant (a post followed by teasers of others): the one
    # carrying the page's headline
    if title:
        for el in scope.iter("article"):
            if prose.get(el, 0) and any(
                _same_words(h.text_content(), title) for h in el.iter("h1", "h2")
            ):
                return el, True
    cluster = _grow(_densest(mass), scope, mass)
    mass_ = prose.get(cluster, 0)
    if mass_ >= rules.ARTICLE_PROSE_DENSITY * text.get(scope, 1):
        return cluster, True
    # a short article on a page full of other things, declared an article by its publisher
    if declared > 1 and mass_ >= rules.DECLARED_ARTICLE_PROSE_SHARE * total:
        return cluster, True
    return scope, False


def _with_twins(el: HtmlElement, prose: dict[HtmlElement, int], total: int) -> HtmlElement:
    """``el`` or, when the article is split over several elements of the same kind (one per
    section, ads between them), the smallest element holding them all."""
    signature = (el.tag, el.get("class"), el.get("itemprop"))
    twins = [
        other
        for other, mass_ in prose.items()
        if other is not el
        and (other.tag, other.get("class"), other.get("itemprop")) == signature
        and mass_ >= rules.TWIN_PROSE_SHARE * total
    ]
    if not twins:
        return el
    ancestors = list(el.iterancestors())
    common = el
    for twin in twins:
        chain = {id(a) for a in twin.iterancestors()}
        common = next((a for a in ancestors if id(a) in chain), common)
        ancestors = ancestors[ancestors.index(common) :] if common in ancestors else ancestors
    return common


def _densest(mass: Mass) -> HtmlElement:
    """The element whose children hold the most prose (readability's top candidate): a
    paragraph's prose counts fully for its parent and half for its grandparent."""
    score: dict[HtmlElement, float] = {}
    for block in mass.blocks:
        if block.element is None or not is_prose(block):
            continue
        own = len(block.text) - block.link_chars
        parent = block.element.getparent()
        if parent is None:
            continue
        score[parent] = score.get(parent, 0) + own
        grand = parent.getparent()
        if grand is not None:
            score[grand] = score.get(grand, 0) + own / 2
    return max(score, key=score.__getitem__)


def _grow(
    el: HtmlElement, scope: HtmlElement, mass: Mass, growth: rules.Growth = rules.ARTICLE_GROWTH
) -> HtmlElement:
    """Widen ``el`` to its parent while what the parent adds reads as more of the article:
    prose, or a little text that is not links (subheadings, a lone short paragraph)."""
    text, links, prose = mass.text, mass.links, mass.prose
    while el is not scope:
        parent = el.getparent()
        if parent is None:
            break
        extra = text.get(parent, 0) - text.get(el, 0)
        extra_links = links.get(parent, 0) - links.get(el, 0)
        extra_prose = prose.get(parent, 0) - prose.get(el, 0)
        if extra > growth.tiny_chars and extra_links > growth.max_link_density * extra:
            break
        if extra_prose < growth.min_prose_share * extra and extra > growth.free_chars:
            break
        el = parent
    return el


def _depth(el: HtmlElement) -> int:
    return sum(1 for _ in el.iterancestors())


def article_blocks(
    blocks: list[render.Block], root: HtmlElement, title: str | None = None
) -> list[render.Block]:
    """An article's blocks without what surrounds its text inside the container: whatever
    precedes the headline, then byline, date and photo captions before the first paragraph,
    link lists, captions and repeated blocks throughout."""
    blocks = [
        b for b in blocks if b.link_density < rules.MAX_LINK_DENSITY and not _is_caption(b, root)
    ]
    # the headline starts the article: above it are tickers and breadcrumbs
    if title:
        total = sum(len(b.text) for b in blocks)
        before = 0
        for i, block in enumerate(blocks):
            if before > rules.MAX_HEADLINE_LEAD_SHARE * total:
                break
            if block.is_heading and _same_words(block.text, title):
                blocks = blocks[i + 1 :]
                break
            before += len(block.text)
    prose = [i for i, b in enumerate(blocks) if is_prose(b)]
    if not prose:
        return blocks
    first = prose[0]
    kept = [b for b in blocks[:first] if not _is_article_meta(b, title)]
    # bylines and datelines repeated further down ("Published 18 November 2019")
    kept += [b for b in blocks[first:] if not _is_dated_byline(b)]
    return _unique(kept)


_WORDS = re.compile(r"\w+")


def _is_article_meta(block: render.Block, title: str | None) -> bool:
    """Headline, byline, dateline or section label before an article's first paragraph."""
    if block.tag == "h1" or (title and _same_words(block.text, title)):
        return True
    if block.is_heading or block.tag in ("li", "tr", "dd", "dt"):
        return False
    words = _word_count(block.text)
    if words <= rules.META_MAX_WORDS and (words <= 2 or rules.BYLINE.match(block.text)):
        return True
    # "November 19, 2019 at 6:04 pm", "Updated 5:27 am CST, Wednesday, November 20, 2019"
    return words <= rules.DATELINE_MAX_WORDS and rules.DATELINE.search(block.text) is not None


def _is_dated_byline(block: render.Block) -> bool:
    text = block.text
    return (
        _word_count(text) <= rules.DATELINE_MAX_WORDS
        and rules.BYLINE.match(text) is not None
        and rules.DATELINE.search(text) is not None
    )


def _word_count(text: str) -> int:
    # CJK text has no spaces between words: count its characters in pairs
    words = len(_WORDS.findall(text))
    if not text.isascii():
        words += len(_CJK.findall(text)) // 2
    return words


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _same_words(a: str, b: str) -> bool:
    return _WORDS.findall(a.lower()) == _WORDS.findall(b.lower())


def is_product(md: Metadata, url: str | None) -> bool:
    """A product page: declared so (schema.org Product, og:type product) or addressed so."""
    if md.types & rules.LISTING_TYPES or md.says_article:
        return False
    if "Product" in md.types or (md.og_type or "").endswith("product"):
        return True
    return bool(url and rules.PRODUCT_URL.search(url))


def _under(block: render.Block, root: HtmlElement, named: Callable[[str], bool]) -> bool:
    """Whether the block sits in an element (below ``root``) whose class or id ``named``."""
    el = block.element
    while el is not None and el is not root:
        if named(el.get("class") or "") or named(el.get("id") or ""):
            return True
        el = el.getparent()
    return False


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
