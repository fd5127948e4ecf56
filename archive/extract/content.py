"""The main text of an HTML page.

Steps: parse; read metadata (before cleaning, it needs <head>); remove what is never content
(``dom``: hidden text, chrome, named boilerplate, consent managers, a shop's reviews, a
question's comments); measure the text and prose under each element (``mass``); pick the
element holding the main content (``region``); keep its blocks (``render``) minus the site's
own controls, prompts and notices (``chrome``), and for articles what surrounds the text
(``article``), without the short strays a learned model spots (``strays``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from archive.extract import dom, render, rules, tree
from archive.extract.article import article_blocks
from archive.extract.chrome import is_chrome_text, thread_blocks, without_lead_bylines
from archive.extract.mass import Mass, after_removal, measure
from archive.extract.metadata import Metadata, extract_metadata
from archive.extract.pagetype import article_hint, is_forum, is_product
from archive.extract.region import main_container, within
from archive.extract.strays import without_strays
from archive.extract.text import same_words


@dataclass
class HtmlResult:
    text: str
    metadata: Metadata


def extract_html(text: str, url: str | None = None) -> HtmlResult:
    doc = tree.parse(text)
    if doc is None:
        return HtmlResult("", Metadata())
    md = extract_metadata(doc, url)
    forum = is_forum(md, url)
    product = is_product(md, url)
    host = site_host(url)
    body, mass = _clean(doc, forum, product, host, drop_hidden=True)
    if mass.text.get(body, 0) < rules.MIN_VISIBLE_CHARS:
        # everything is hidden until a script shows it (eBay, some SPAs): read it anyway
        fresh = tree.parse(text)
        if fresh is not None:
            fresh_body, fresh_mass = _clean(fresh, forum, product, host, drop_hidden=False)
            if fresh_mass.text.get(fresh_body, 0) >= rules.MIN_HIDDEN_RESCUE_CHARS:
                doc, body, mass = fresh, fresh_body, fresh_mass
    declared = article_hint(md, url)
    root, article = main_container(doc, body, mass, forum, declared, md.title)
    blocks = [b for b in mass.blocks if within(b, root)] if root is not body else mass.blocks
    blocks = [b for b in blocks if not is_chrome_text(b)]
    if forum:
        blocks = thread_blocks(blocks)
    if article:
        blocks = without_strays(article_blocks(blocks, root, md.title), True, mass)
    else:
        # a page's main region starts at its headline: before it are breadcrumbs and promos
        blocks = without_lead_bylines(blocks[_headline(blocks, md.title) :])
        if not forum:
            # the preview shows the start: its strays go, while the rest keeps a listing's
            # short items
            head = _head(blocks, rules.PREVIEW_CHARS)
            blocks = without_strays(blocks[:head], False, mass) + blocks[head:]
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
        heads = [i for i in heads if same_words(blocks[i].text, title)] or heads
    before = sum(len(b.text) for b in blocks[: heads[0]])
    total = sum(len(b.text) for b in blocks)
    return heads[0] if before <= rules.MAX_LEAD_SHARE * total else 0


def site_host(url: str | None) -> str | None:
    """The site's host name without "www.", to tell its own links from links elsewhere."""
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def _clean(
    doc: HtmlElement, forum: bool, product: bool, host: str | None, drop_hidden: bool
) -> tuple[HtmlElement, Mass]:
    dom.unwrap_noscript(doc)
    dom.strip_unreadable(doc, drop_hidden)
    body = dom.body_of(doc)
    mass = measure(body, host, prose_only=True)
    changed = dom.strip_boilerplate(doc, mass, keep_comments=forum)
    changed += dom.strip_post_comments(doc)
    if product:
        # reviews and other products go before the main region is chosen: on a shop page
        # the reviews often hold more prose than the product's description
        changed += dom.strip_named(doc, dom.shop_extra_name)
    return body, after_removal(mass, body, changed, host)
