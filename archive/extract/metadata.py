"""Title, author, date, language, description and canonical URL of an HTML page.

Sources in order of trust: schema.org JSON-LD (what publishers feed search engines), OpenGraph
and other <meta> tags, then the markup itself (<title>, <h1>, <time>, bylines).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

from archive.extract import PageMetadata, rules

_SPACES = re.compile(r"\s+")


@dataclass
class Metadata(PageMetadata):
    # schema.org @type values found in JSON-LD, for the page-type signals in content.py
    types: set[str] = field(default_factory=set)
    generator: str | None = None
    og_type: str | None = None

    @property
    def says_article(self) -> bool:
        """Whether the publisher declares the page an article (schema.org or OpenGraph)."""
        return bool(self.types & rules.ARTICLE_TYPES) or (self.og_type or "") == "article"


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # Publishers often escape twice (a WordPress "&#8211;" inside JSON-LD or a content
    # attribute): what the reader sees is the character.
    if "&" in value:
        value = html.unescape(value)
    value = _SPACES.sub(" ", value).strip()
    return value or None


# --- JSON-LD -----------------------------------------------------------------------------------


def json_ld(doc: HtmlElement) -> list[dict[str, Any]]:
    """All JSON-LD objects of the page, @graph members flattened; broken blocks skipped."""
    objects: list[dict[str, Any]] = []
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"))
        except ValueError:
            continue
        _collect(data, objects, depth=0)
    return objects


def _collect(data: Any, out: list[dict[str, Any]], depth: int) -> None:
    if depth > 3:
        return
    if isinstance(data, list):
        for item in data:
            _collect(item, out, depth + 1)
    elif isinstance(data, dict):
        out.append(data)
        if "@graph" in data:
            _collect(data["@graph"], out, depth + 1)


def _types(obj: dict[str, Any]) -> list[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _names(value: Any) -> list[str]:
    """Author names from a schema.org author value (string, Person, list of either)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


# --- dates -------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")
_SLASH_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


def iso_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from the date formats found in metadata, None when not a plausible date."""
    text = _clean(value)
    if not text:
        return None
    for pattern in (_ISO_DATE, _SLASH_DATE, _COMPACT_DATE):
        match = pattern.search(text)
        if match:
            try:
                found = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            return found.isoformat() if 1990 <= found.year <= datetime.now().year + 1 else None
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%a, %d %b %Y"):
        try:
            return datetime.strptime(text[:30].strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


# --- the extraction ----------------------------------------------------------------------------


def _meta(doc: HtmlElement) -> dict[str, str]:
    """<meta> values by lower-cased name/property (first one wins)."""
    found: dict[str, str] = {}
    for el in doc.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        content = el.get("content")
        if key and content:
            found.setdefault(key.strip().lower(), content)
    return found


def extract_metadata(doc: HtmlElement, url: str | None = None) -> Metadata:
    """Metadata of a parsed page (call before the tree is cleaned: it reads <head>)."""
    meta = _meta(doc)
    objects = json_ld(doc)
    md = Metadata(types={t for obj in objects for t in _types(obj)})
    md.generator = _clean(meta.get("generator"))
    md.og_type = (_clean(meta.get("og:type")) or "").lower() or None
    article = next((o for o in objects if rules.ARTICLE_TYPES.intersection(_types(o))), None)
    main_obj = article or next((o for o in objects if "WebPage" in _types(o)), None)

    md.title = _title(doc, meta, article)
    md.author = _author(doc, meta, article)
    md.published_date = _published(doc, meta, main_obj)
    md.language = _language(doc, meta)
    md.description = (
        _clean(meta.get("description"))
        or _clean(meta.get("og:description"))
        or _clean(meta.get("twitter:description"))
        or _clean((main_obj or {}).get("description"))
    )
    md.canonical_url = _canonical(doc, meta, url)
    return md


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·•:»]\s+")


def _title(doc: HtmlElement, meta: dict[str, str], article: dict[str, Any] | None) -> str | None:
    for candidate in (
        (article or {}).get("headline"),
        meta.get("og:title"),
        meta.get("twitter:title"),
    ):
        # A paragraph in a title field (seen on LinkedIn articles) is not the title.
        if (title := _clean(candidate)) and len(title) <= rules.TITLE_MAX_CHARS:
            return title
    h1s = [h for h in (_clean(el.text_content()) for el in doc.iter("h1")) if h]
    page_title = _clean(doc.findtext(".//title"))
    if page_title:
        # "Headline | Site name": keep the part an <h1> repeats, else the longest part
        for h1 in h1s:
            if h1 in page_title:
                return h1
        parts = _TITLE_SEPARATORS.split(page_title)
        return max(parts, key=len) if len(parts) > 1 else page_title
    return h1s[0] if len(h1s) == 1 else None


# compiled once: doc.xpath(str) compiles its expression on every page
_AUTHOR_XPATHS = tuple(etree.XPath(xpath) for xpath in rules.AUTHOR_XPATHS)
_DATE_XPATH = etree.XPath(rules.DATE_XPATH)


def _author(doc: HtmlElement, meta: dict[str, str], article: dict[str, Any] | None) -> str | None:
    if article is not None:
        cleaned = (_clean(n) for n in _names(article.get("author")))
        names = [n for n in cleaned if n and not n.startswith("http")]
        if names:
            return ", ".join(dict.fromkeys(names))
    for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
        value = _clean(meta.get(key))
        if value and not value.startswith("http"):
            return value
    for find in _AUTHOR_XPATHS:
        for el in find(doc):
            text = _clean(el.text_content())
            if text and len(text) < 80:
                return rules.BYLINE_PREFIX.sub("", text).strip() or None
    return None


def _published(doc: HtmlElement, meta: dict[str, str], obj: dict[str, Any] | None) -> str | None:
    candidates: list[Any] = [(obj or {}).get("datePublished")]
    candidates += [meta.get(key) for key in rules.DATE_META_KEYS]
    for candidate in candidates:
        if found := iso_date(candidate):
            return found
    for el in _DATE_XPATH(doc):
        if found := iso_date(el.get("datetime") or el.get("content") or el.text_content()):
            return found
    return None


_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def _language(doc: HtmlElement, meta: dict[str, str]) -> str | None:
    for candidate in (
        doc.get("lang"),
        doc.get("xml:lang"),
        meta.get("content-language"),
        meta.get("og:locale"),
    ):
        value = (candidate or "").strip().split(",")[0].strip()
        if value and _LANGUAGE.match(value):
            primary, *rest = value.replace("_", "-").split("-")
            return "-".join([primary.lower(), *(r.upper() if len(r) == 2 else r for r in rest)])
    return None


def _canonical(doc: HtmlElement, meta: dict[str, str], url: str | None) -> str | None:
    for el in doc.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href"):
            return urljoin(url or "", el.get("href").strip())
    og = _clean(meta.get("og:url"))
    return urljoin(url or "", og) if og else None
