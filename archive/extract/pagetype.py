"""What kind of page this is, from what the page says about itself and its address.

Forum threads keep their comments; product pages lose their reviews; pages that look like
articles may be narrowed to the article's own region (``region.py``).
"""

from __future__ import annotations

from archive.extract import rules
from archive.extract.metadata import Metadata


def is_forum(md: Metadata, url: str | None) -> bool:
    """A discussion thread: declared so, made by forum software, or addressed like one."""
    if md.types & rules.FORUM_TYPES:
        return True
    if md.generator and rules.FORUM_GENERATORS.match(md.generator):
        return True
    return bool(url and rules.FORUM_URL.search(url))


def is_product(md: Metadata, url: str | None) -> bool:
    """A product page: declared so (schema.org Product, og:type product) or addressed so."""
    if md.types & rules.LISTING_TYPES or md.says_article:
        return False
    if "Product" in md.types or (md.og_type or "").endswith("product"):
        return True
    return bool(url and rules.PRODUCT_URL.search(url))


def article_hint(md: Metadata, url: str | None) -> int:
    """2 when the publisher declares an article, 1 when only the address looks like one, else 0:
    the publisher's word counts more than an article-like address."""
    if md.says_article:
        return 2
    return 1 if url and rules.ARTICLE_URL.search(url) else 0
