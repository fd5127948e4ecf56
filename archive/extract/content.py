"""The main text of an HTML page.

Steps: parse; read metadata (before cleaning, it needs <head>); remove what is never content
(``dom``); measure the text and prose under each element (``mass``); pick the element holding
the main content (``region``); keep its blocks (``render``) minus those that read as
boilerplate: interface labels, forum badges, shop extras, and for articles what surrounds the
text (``article``), confirmed by a second reading (``crosscheck``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from archive.extract import dom, render, rules
from archive.extract.article import article_blocks
from archive.extract.crosscheck import confirm_short_blocks
from archive.extract.mass import Mass, is_prose, measure
from archive.extract.metadata import Metadata, extract_metadata
from archive.extract.pagetype import article_hint, is_forum, is_product
from archive.extract.region import main_container, within
from archive.extract.text import WORDS, same_words


@dataclass
class HtmlResult:
    text: str
    metadata: Metadata


def extract_html(text: str, url: str | None = None) -> HtmlResult:
    doc = dom.parse(text)
    if doc is None:
        return HtmlResult("", Metadata())
    md = extract_metadata(doc, url)
    forum = is_forum(md, url)
    product = is_product(md, url)
    host = site_host(url)
    body, mass = _clean(doc, forum, product, host, drop_hidden=True)
    if mass.text.get(body, 0) < rules.MIN_VISIBLE_CHARS:
        # everything is hidden until a script shows it (eBay, some SPAs): read it anyway
        fresh = dom.parse(text)
        if fresh is not None:
            fresh_body, fresh_mass = _clean(fresh, forum, product, host, drop_hidden=False)
            if fresh_mass.text.get(fresh_body, 0) >= rules.MIN_HIDDEN_RESCUE_CHARS:
                doc, body, mass = fresh, fresh_body, fresh_mass
    declared = article_hint(md, url)
    root, article = main_container(doc, body, mass, forum, declared, md.title)
    blocks = [b for b in mass.blocks if within(b, root)] if root is not body else mass.blocks
    blocks = [b for b in blocks if not _is_chrome_text(b)]
    if forum:
        blocks = _thread_blocks(blocks)
    if article:
        blocks = confirm_short_blocks(article_blocks(blocks, root, md.title), root)
    else:
        # a page's main region starts at its headline: before it are breadcrumbs and promos
        blocks = _without_lead_bylines(blocks[_headline(blocks, md.title) :])
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
        heads = [i for i in heads if same_words(blocks[i].text, title)] or heads
    before = sum(len(b.text) for b in blocks[: heads[0]])
    total = sum(len(b.text) for b in blocks)
    return heads[0] if before <= rules.MAX_LEAD_SHARE * total else 0


_LEADING_SYMBOLS = re.compile(r"^[^\w\s]+\s*")  # "🍞 Struggling With Sourdough?"


def _is_chrome_text(block: render.Block) -> bool:
    return is_interface(block) or is_call_to_action(block) or is_notice(block) or is_menu_row(block)


def _thread_blocks(blocks: list[render.Block]) -> list[render.Block]:
    """A thread's blocks without the posters' badges, nor the category label linked under
    the thread's title (Discourse, Flarum)."""
    kept = [b for b in blocks if not is_post_meta(b)]
    for i, block in enumerate(kept[:-1]):
        if block.tag == "h1":
            label = kept[i + 1]
            if label.link_density >= 0.9 and len(label.text.split()) <= 4:
                del kept[i + 1]
            break
    return kept


def is_post_meta(block: render.Block) -> bool:
    """A forum poster's badge: rank, join date, post count (``rules.POST_META``), one per line."""
    text = block.text
    if len(text) > 200:
        return False
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return all(
        len(line.split()) <= rules.UI_MAX_WORDS and rules.POST_META.match(line) is not None
        for line in lines
    )


def is_notice(block: render.Block) -> bool:
    """A notice about the page, the shop or the reader's account ("Not open for further
    replies.", "Free shipping over $100", "© 2024 ..."), a byline or a reading time."""
    text = block.text.strip(rules.UI_STRIP)
    words = len(text.split())
    if words > rules.NOTICE_MAX_WORDS:
        return False
    if rules.NOTICES.match(text) is not None:
        return True
    if rules.SALES_QUESTION.fullmatch(_LEADING_SYMBOLS.sub("", block.text.strip())) is not None:
        return True
    return words <= rules.PROMOTION_MAX_WORDS and rules.PROMOTIONS.search(text) is not None


def is_menu_row(block: render.Block) -> bool:
    """Links in a row set apart by bars or dots ("new | past | comments | ask | show"), or one
    short phrase repeated as a ticker ("Book Now * Book Now * Book Now")."""
    text = block.text
    if block.link_density >= rules.MENU_MIN_LINK_DENSITY:
        separators = sum(text.count(sep) for sep in ("|", "·", "•"))
        if separators >= rules.MENU_MIN_SEPARATORS:
            return True
    if block.tag == "tr":  # "Yes Yes Yes Yes" is a comparison table's row
        return False
    words = WORDS.findall(text.lower())
    distinct = len(set(words))
    return 0 < distinct <= 4 and len(words) >= rules.TICKER_MIN_REPEATS * distinct


def _without_lead_bylines(blocks: list[render.Block]) -> list[render.Block]:
    """``blocks`` without the short bylines before the first paragraph ("By The Editors"):
    further down, in a listing, "by <name>" belongs to each item."""
    first = next((i for i, b in enumerate(blocks) if is_prose(b)), len(blocks))
    lead = [
        b
        for b in blocks[:first]
        if len(b.text.split()) > rules.BYLINE_MAX_WORDS or not rules.SHORT_BYLINE.match(b.text)
    ]
    return lead + blocks[first:]


def is_interface(block: render.Block) -> bool:
    """A button, prompt or label of the site (``rules.UI_PHRASES``)."""
    text = block.text
    if len(text) > 80 or len(text.split()) > rules.UI_MAX_WORDS:
        return False
    # "Add to Cart - €549.99": the same control with a price on it (a price alone is content:
    # a listing's items show theirs)
    text = rules.PRICE.sub(" ", text).strip(rules.UI_STRIP).lower()
    return bool(text) and rules.UI_PHRASES.fullmatch(text) is not None


def is_call_to_action(block: render.Block) -> bool:
    """A short link asking the reader to act: "Get a Quote", "Schedule a demo"."""
    if block.is_heading or block.link_density < 0.9:
        return False
    words = WORDS.findall(block.text.lower())
    return 0 < len(words) <= rules.CTA_MAX_WORDS and words[0] in rules.CTA_VERBS


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
    dom.strip_boilerplate(doc, keep_comments=forum)
    dom.strip_post_comments(doc)
    if product:
        # reviews and other products go before the main region is chosen: on a shop page
        # the reviews often hold more prose than the product's description
        dom.strip_named(doc, dom.shop_extra_name)
    body = doc.find("body")
    if body is None:
        body = doc
    return body, measure(body, host)
