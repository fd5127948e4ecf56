"""Parsing a page and removing what a reader never reads as the page's content.

Everything here is rule-driven (``rules.py``): elements without readable text, hidden elements,
site chrome (navigation, banners, footers) and boilerplate recognised by class or id. Deciding
which of the remaining text is the main content is ``content.py``'s job.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement, HTMLParser, document_fromstring

from archive.extract import rules

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PARSER = HTMLParser(
    remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[-_\s:./]+")


def parse(text: str) -> HtmlElement | None:
    """The document tree of ``text``; None when there is nothing to parse."""
    # lxml refuses str input that still declares a byte encoding
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        return None
    try:
        doc = document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None
    return doc


@lru_cache(maxsize=8192)
def _token_words(token: str) -> tuple[str, ...]:
    return tuple(w for w in _SPLIT.split(_CAMEL.sub("-", token).lower()) if w)


_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _pattern in rules.BOILERPLATE_WORDS:
    _BY_FIRST.setdefault(_pattern[0], []).append(_pattern)


@lru_cache(maxsize=8192)
def boilerplate_name(value: str) -> bool:
    """Whether a class or id value names boilerplate (``rules.BOILERPLATE_WORDS``)."""
    for token in value.split():
        words = _token_words(token)
        if not words or words[0] in rules.MODIFIER_PREFIXES:
            continue
        for i, word in enumerate(words):
            if word not in rules.STEM_EXCEPTIONS and word.startswith(rules.BOILERPLATE_STEMS):
                return True
            for pattern in _BY_FIRST.get(word, ()):
                if words[i : i + len(pattern)] == pattern:
                    return True
    return False


def is_hidden(el: HtmlElement) -> bool:
    attrib = el.attrib
    if "hidden" in attrib or attrib.get("aria-hidden") == "true":
        return True
    style = attrib.get("style")
    if style and rules.HIDDEN_STYLE.search(style):
        return True
    classes = attrib.get("class")
    return bool(classes) and not rules.HIDDEN_CLASSES.isdisjoint(classes.lower().split())


def _inside(el: HtmlElement, tags: frozenset[str]) -> bool:
    return any(anc.tag in tags for anc in el.iterancestors())


_ARTICLE_LIKE = frozenset({"article", "main"})


def _is_chrome(el: HtmlElement) -> bool:
    tag = el.tag
    if tag in rules.CHROME_TAGS:
        return True
    role = el.get("role")
    if role and role.lower() in rules.CHROME_ROLES:
        return True
    if tag == "footer":
        return True
    # a page header holds the logo and menus; an article's header its headline
    return tag == "header" and not _inside(el, _ARTICLE_LIKE)


def _drop(el: HtmlElement) -> None:
    parent = el.getparent()
    if parent is not None:
        el.drop_tree()


def _text_length(el: HtmlElement) -> int:
    return sum(len(t.strip()) for t in el.itertext())


def unwrap_noscript(doc: HtmlElement) -> None:
    """Keep a <noscript> that holds a page (JS-off rendering), drop the 'enable JS' notices."""
    for el in list(doc.iter("noscript")):
        if len(el) and _text_length(el) > 200:
            el.drop_tag()
        else:
            _drop(el)


def strip_unreadable(doc: HtmlElement) -> None:
    """Remove elements without readable text and hidden elements."""
    doomed = []
    stack = [doc]
    while stack:
        el = stack.pop()
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or tag in rules.DROP_TAGS or is_hidden(child):
                doomed.append(child)
            else:
                stack.append(child)
    for el in doomed:
        _drop(el)


def strip_boilerplate(doc: HtmlElement, keep_comments: bool = False) -> None:
    """Remove site chrome and class/id-named boilerplate, sparing big content wrappers."""
    body = doc.find("body")
    root = body if body is not None else doc
    total = max(1, _text_length(root))
    limit = rules.MAX_REMOVED_SHARE * total
    doomed = []
    stack = [root]
    while stack:
        el = stack.pop()
        for child in el:
            if _is_boilerplate(child, keep_comments) and (
                child.tag not in rules.PROTECTED_TAGS and _text_length(child) < limit
            ):
                doomed.append(child)
            else:
                stack.append(child)
    for el in doomed:
        _drop(el)


def _is_boilerplate(el: HtmlElement, keep_comments: bool) -> bool:
    if _is_chrome(el):
        return True
    for attr in ("class", "id"):
        value = el.get(attr)
        if value and boilerplate_name(value):
            if keep_comments and "comment" in value.lower():
                continue
            return True
    return False
