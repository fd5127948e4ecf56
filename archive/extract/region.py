"""Where the main content of a page is: the element that holds it.

In order: a container named or marked as the article body; an <article>; the region grown
around the densest paragraphs; else <main>, else <body>. The numbers come from ``mass``.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from archive.extract import dom, render, rules
from archive.extract.mass import Mass, is_prose
from archive.extract.text import same_words


def within(block: render.Block, root: HtmlElement) -> bool:
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
    total = mass.prose.get(body, 0)
    scope = _scope(doc, body, mass)
    if total < rules.PROSE_MIN_CHARS:
        return scope, False
    if forum:
        # the thread: grown from the densest post over its sibling posts
        return _grow(_densest(mass), scope, mass, rules.THREAD_GROWTH), False
    named = _named(mass.prose, total)
    if named is not None:
        return named, True
    # Unnamed regions are only trusted on pages that look like articles: on product, listing
    # and service pages the densest paragraphs are an intro or a description among the items.
    if not declared:
        lone = _lone_article(scope, mass)
        return (lone, True) if lone is not None else (scope, False)
    return _declared_article(scope, mass, total, declared, title)


def _scope(doc: HtmlElement, body: HtmlElement, mass: Mass) -> HtmlElement:
    """The page's <main> when it holds a fair share of the text, else <body>."""
    prose, text = mass.prose, mass.text
    # pages with several <main> (an empty one from a template, one per tab) exist
    found = [el for el in doc.xpath("//main|//*[@role='main']") if el in text]
    if found:
        main = max(found, key=lambda el: (prose.get(el, 0), text.get(el, 0)))
        # a <main> left empty by a script-rendered layout is no scope
        if text.get(main, 0) >= rules.MIN_MAIN_SHARE * text.get(body, 0):
            return main
    return body


def _named(prose: dict[HtmlElement, int], total: int) -> HtmlElement | None:
    """The container named or marked as the article body that holds a share of the prose."""
    named = [
        el
        for el, mass_ in prose.items()
        if mass_ >= rules.NAMED_CONTENT_SHARE * total
        and (
            el.get("itemprop") in rules.CONTENT_ITEMPROPS
            or any(dom.content_name(el.get(a) or "") for a in ("class", "id"))
        )
    ]
    if not named:
        return None
    best = max(prose[el] for el in named)
    # nested names ("post" > "entry-content"): the innermost that keeps nearly all the prose
    close = [el for el in named if prose[el] >= 0.9 * best]
    chosen = max(close, key=_depth)
    return _with_twins(chosen, prose, total)


def _lone_article(scope: HtmlElement, mass: Mass) -> HtmlElement | None:
    """On an undeclared page, the one <article> that holds nearly all of it."""
    prose, text = mass.prose, mass.text
    lone = [el for el in scope.iter("article") if el in text]
    if (
        len(lone) == 1
        and text[lone[0]] >= rules.LONE_ARTICLE_SHARE * text.get(scope, 0)
        and prose.get(lone[0], 0) >= rules.LONE_ARTICLE_PROSE * text[lone[0]]
    ):
        return lone[0]
    return None


def _declared_article(
    scope: HtmlElement, mass: Mass, total: int, declared: int, title: str | None
) -> tuple[HtmlElement, bool]:
    """On a page its publisher declares an article: the <article> holding half the prose,
    the one carrying the headline, or the region grown around the densest paragraphs."""
    prose, text = mass.prose, mass.text
    articles = [el for el, m in prose.items() if el.tag == "article" and m >= 0.5 * total]
    if articles:
        return max(articles, key=_depth), True
    # several <article>s, none dominant (a post followed by teasers of others): the one
    # carrying the page's headline
    if title:
        for el in scope.iter("article"):
            if prose.get(el, 0) and any(
                same_words(h.text_content(), title) for h in el.iter("h1", "h2")
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
