"""Text a site shows around a page's content: its controls, prompts, notices and labels.

Each test looks at one rendered block on its own: buttons and links asking the reader to act
("Get a Quote"), interface labels ("Skip to content", "Add to cart"), notices about the page or
the reader's account ("Not open for further replies.", "© 2024 ..."), shop promotions, rows of
menu links and tickers. Forum threads also lose their posters' badges and category labels. The
phrases are data in ``rules.py``; measured on WCXB, these tests raised the share of previews
whose first screen holds no boilerplate from 0.917 to 0.959 (``bench/extraction.py``).
"""

from __future__ import annotations

import re

from archive.extract import render, rules
from archive.extract.mass import is_prose
from archive.extract.text import WORDS

_LEADING_SYMBOLS = re.compile(r"^[^\w\s]+\s*")  # "🍞 Struggling With Sourdough?"


def is_chrome_text(block: render.Block) -> bool:
    """Whether a block is text of the site rather than of the page (see the module doc)."""
    return is_interface(block) or is_call_to_action(block) or is_notice(block) or is_menu_row(block)


def thread_blocks(blocks: list[render.Block]) -> list[render.Block]:
    """A thread's blocks without the posters' badges, nor the category label linked under
    the thread's title (Discourse, Flarum)."""
    kept = [b for b in blocks if not is_post_meta(b)]
    for i, block in enumerate(kept[:-1]):
        if block.tag == "h1":
            label = kept[i + 1]
            if (
                label.link_density >= rules.WHOLE_LINK_DENSITY
                and len(label.text.split()) <= rules.THREAD_LABEL_MAX_WORDS
            ):
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
    replies.", "Free shipping over $100", "© 2024 ..."), a reading time, an author's bio or
    a question that sells ("Ready to get pests out of your home?")."""
    text = block.text.strip(rules.UI_STRIP)
    # split no further than needed: most blocks are paragraphs, far over the limit
    words = len(text.split(None, rules.NOTICE_MAX_WORDS))
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
    # stop at the fifth distinct word: a paragraph is no ticker, and most blocks are those
    seen: set[str] = set()
    count = 0
    for match in WORDS.finditer(text.lower()):
        seen.add(match.group())
        if len(seen) > 4:
            return False
        count += 1
    return bool(seen) and count >= rules.TICKER_MIN_REPEATS * len(seen)


def without_lead_bylines(blocks: list[render.Block]) -> list[render.Block]:
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
    if block.is_heading or block.link_density < rules.WHOLE_LINK_DENSITY:
        return False
    words = WORDS.findall(block.text.lower())
    return 0 < len(words) <= rules.CTA_MAX_WORDS and words[0] in rules.CTA_VERBS
