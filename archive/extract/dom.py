"""Parsing a page and removing what a reader never reads as the page's content.

Everything here is rule-driven (``rules.py``): elements without readable text, hidden elements,
site chrome (navigation, banners, footers) and boilerplate recognised by class or id. Deciding
which of the remaining text is the main content is ``content.py``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

from archive.extract import render, rules
from archive.extract.mass import Mass

#: What a removal returns: per element removed, the block whose own runs it changed.
Changed = list[HtmlElement | None]
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[-_\s:./]+")


@lru_cache(maxsize=8192)
def _token_words(token: str) -> tuple[str, ...]:
    return tuple(w for w in _SPLIT.split(_CAMEL.sub("-", token).lower()) if w)


def _index(patterns: tuple[tuple[str, ...], ...]) -> dict[str, list[tuple[str, ...]]]:
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for pattern in patterns:
        by_first.setdefault(pattern[0], []).append(pattern)
    return by_first


_LINK_LIST = _index(rules.LINK_LIST_WORDS)
_BANNER = _index(rules.BANNER_WORDS)
_CONTENT = _index(rules.CONTENT_WORDS)
_CAPTION = _index(rules.CAPTION_WORDS)
_SHOP_EXTRA = _index(rules.SHOP_EXTRA_WORDS)
_BUTTON = _index(rules.BUTTON_WORDS)
_CONSENT = _index(rules.CONSENT_WORDS)


def _matches(
    value: str, by_first: dict[str, list[tuple[str, ...]]], stems: tuple[str, ...]
) -> bool:
    for token in value.split():
        words = _token_words(token)
        if not words or words[0] in rules.MODIFIER_PREFIXES:
            continue
        for i, word in enumerate(words):
            if stems and word.startswith(stems) and word not in rules.STEM_EXCEPTIONS:
                return True
            for pattern in by_first.get(word, ()):
                if words[i : i + len(pattern)] == pattern:
                    return True
    return False


@lru_cache(maxsize=8192)
def boilerplate_name(value: str) -> str | None:
    """``"banner"``, ``"links"`` or None: what kind of boilerplate a class or id value names."""
    if _matches(value, _BANNER, rules.BANNER_STEMS):
        return "banner"
    if _matches(value, _LINK_LIST, rules.LINK_LIST_STEMS):
        return "links"
    return None


@lru_cache(maxsize=8192)
def caption_name(value: str) -> bool:
    """Whether a class value names a photo caption or credit (``rules.CAPTION_WORDS``)."""
    return _matches(value, _CAPTION, ())


@lru_cache(maxsize=8192)
def shop_extra_name(value: str) -> bool:
    """Whether a class or id value names reviews or recommendations (``rules.SHOP_EXTRA_WORDS``).
    A BEM modifier names a variant of its block, not what it is: "product--thumbnail_slider"
    is a product shown with a slider, "carousel--slides" a carousel."""
    value = " ".join(token.split("--")[0] for token in value.split())
    return _matches(value, _SHOP_EXTRA, rules.SHOP_EXTRA_STEMS)


@lru_cache(maxsize=8192)
def button_name(value: str) -> bool:
    """Whether a class value names a button or call to action (``rules.BUTTON_WORDS``)."""
    return _matches(value, _BUTTON, ())


@lru_cache(maxsize=8192)
def consent_name(value: str) -> bool:
    """Whether a class or id value names a consent manager (``rules.CONSENT_WORDS``)."""
    return _matches(value, _CONSENT, ())


@lru_cache(maxsize=8192)
def content_name(value: str) -> bool:
    """Whether a class or id value names a main-content container (``rules.CONTENT_WORDS``)."""
    return _matches(value, _CONTENT, ())


#: An element's text with its whitespace folded, counted by libxml2: this runs on every
#: candidate for removal, some of them wrappers of the whole page.
_FOLDED_LENGTH = etree.XPath("string-length(normalize-space())")


def text_length(el: HtmlElement) -> int:
    try:
        return int(_FOLDED_LENGTH(el))
    except etree.XPathEvalError as exc:
        # libxml2 fails this expression only when it cannot allocate the string (a wrapper
        # of a huge page under the worker's memory cap): say so, as tree.parse does
        raise MemoryError("libxml2 ran out of memory measuring text") from exc


def _link_length(el: HtmlElement) -> int:
    return sum(text_length(a) for a in el.iter("a"))


def is_hidden(el: HtmlElement) -> bool:
    # el.get, not el.attrib: an attribute proxy per element costs a fifth of this test
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    if style and rules.HIDDEN_STYLE.search(style):
        return True
    classes = el.get("class")
    if not classes:
        return False
    tokens = classes.lower().split()
    if rules.HIDDEN_CLASSES.isdisjoint(tokens):
        return False
    # utility CSS: "hidden md:block" is hidden on phones only
    return not any(rules.RESPONSIVE_SHOW.match(token) for token in tokens)


def _keep_hidden(el: HtmlElement) -> bool:
    """Hidden text that is still the page's content: prose that scripts reveal (React streaming
    placeholders, "read more" and tab panels). Menus and modals hidden the same way are links
    or short. Not kept: data ("{...}" configuration in a hidden span) and a hidden <pre> also
    hidden from screen readers (a raw copy of the article for machines)."""
    if el.tag == "pre" and el.get("aria-hidden") == "true":
        return False
    length = text_length(el)
    if length < rules.HIDDEN_PROSE_CHARS or _link_length(el) >= 0.3 * length:
        return False
    start = next((t.strip() for t in el.itertext() if t.strip()), "")
    return not start.startswith(("{", "["))


def _inside(el: HtmlElement, tags: frozenset[str]) -> bool:
    return any(anc.tag in tags for anc in el.iterancestors())


_ARTICLE_LIKE = frozenset({"article", "main"})


def _chrome_kind(el: HtmlElement) -> str | None:
    tag = el.tag
    if tag in rules.CHROME_TAGS:
        return "links"
    role = (el.get("role") or "").lower()
    if role in rules.CHROME_ROLES:
        return "banner" if role in rules.BANNER_ROLES else "links"
    if tag == "footer" and not _inside(el, _ARTICLE_LIKE):
        return "banner"
    if tag == "footer":
        return "links"
    # a page header holds the logo and menus; an article's header its headline
    if tag == "header" and not _inside(el, _ARTICLE_LIKE):
        return "links"
    if tag == "form":
        return "banner"
    return None


def _drop(el: HtmlElement) -> HtmlElement | None:
    """Remove ``el``; return the block element around it whose own text runs change (an
    inline element's text was in them, or the runs before and after it now join), if any."""
    parent = el.getparent()
    if parent is None:
        return None
    following = el.getnext()
    joins = el.tag not in render.BLOCK_TAGS or bool(el.tail and el.tail.strip())
    joins = joins or (following is not None and following.tag not in render.BLOCK_TAGS)
    el.drop_tree()
    while joins and parent is not None and parent.tag not in render.BLOCK_TAGS:
        parent = parent.getparent()
    return parent if joins else None


def unwrap_noscript(doc: HtmlElement) -> None:
    """Keep a <noscript> that holds a page (JS-off rendering), drop the 'enable JS' notices."""
    for el in list(doc.iter("noscript")):
        if sum(text_length(child) for child in el) > 200:
            # the parser leaves markup it could not place as raw text (tracking pixels)
            if el.text and "<" in el.text:
                el.text = None
            el.drop_tag()
        else:
            _drop(el)


def strip_unreadable(doc: HtmlElement, drop_hidden: bool = True) -> None:
    """Remove elements without readable text and (unless told not to) hidden elements."""
    doomed = []
    unwrapped = []
    # a walk in C that skips what is doomed: the page's one pass over all its elements
    walker = etree.iterwalk(doc, events=("start",))
    for _event, el in walker:
        tag = el.tag
        if el is doc:
            continue
        if not isinstance(tag, str):
            doomed.append(el)
        elif tag in rules.DROP_TAGS:
            # an unclosed <button> makes the parser put the rest of the page inside it
            # (a textarea holding text, "republish this article" HTML, is not that)
            if tag in rules.UNCLOSED_TAGS and len(el) and text_length(el) > 200:
                unwrapped.append(el)
            else:
                doomed.append(el)
                walker.skip_subtree()
        elif drop_hidden and is_hidden(el) and not _keep_hidden(el):
            doomed.append(el)
            walker.skip_subtree()
    for el in doomed:
        _drop(el)
    for el in unwrapped:
        el.drop_tag()


def strip_boilerplate(doc: HtmlElement, mass: Mass, keep_comments: bool = False) -> Changed:
    """Remove site chrome and class/id-named boilerplate, sparing the wrappers of the content.

    A class such as "and-w-sidebar" or "page-with-nav" can sit on the element that wraps the
    whole article [test: cbs_menu]; an element holding most of the page's text or prose is
    therefore not removed on its name alone, unless it is all links [test: all_navigation].
    """
    root = body_of(doc)
    text_limit = rules.MAX_REMOVED_SHARE * max(1, text_length(root))
    prose_limit = rules.MAX_REMOVED_SHARE * max(rules.PROSE_MIN_CHARS, mass.prose.get(root, 0))
    return _strip_outermost(
        root, lambda el: _is_boilerplate(el, keep_comments, mass, prose_limit, text_limit)
    )


def _is_boilerplate(
    el: HtmlElement, keep_comments: bool, mass: Mass, prose_limit: float, text_limit: float
) -> bool:
    kind = _chrome_kind(el)
    classes = el.get("class")
    if classes and button_name(classes) and text_length(el) <= rules.BUTTON_MAX_CHARS:
        return True
    if kind is None:
        for attr in ("class", "id"):
            value = el.get(attr)
            if value and (kind := boilerplate_name(value)):
                if keep_comments and "comment" in value.lower():
                    kind = None
                    continue
                break
    if kind is None:
        return False
    if _is_consent_dialog(el):
        return True
    # inline elements (a <span> of share links) have no blocks of their own: count their text
    length = text_length(el)
    if kind == "links":
        links = _link_length(el)
        if links >= rules.LINK_LIST_ALL_LINKS * length:
            return True
        if (
            links < rules.LINK_LIST_MIN_DENSITY * length
            and length - links >= rules.LINK_LIST_MAX_TEXT
        ):
            return False
    return mass.prose.get(el, 0) < prose_limit and length < text_limit


def _is_consent_dialog(el: HtmlElement) -> bool:
    """A consent manager (OneTrust, Cookiebot): removed whatever its size, since a preference
    centre can out-write a short page, unless it holds the page's headline or main region (a
    layout wrapper named after the banner it also shows). Other dialogs may hold a product's
    description and keep the size guard."""
    if not any(consent_name(el.get(attr) or "") for attr in ("class", "id")):
        return False
    return not any(True for _ in el.iter("h1", "main", "article"))


_POST_COMMENTS = (
    "//*[contains(@itemtype, 'schema.org/Comment')]"
    "[ancestor::*[contains(@itemtype, 'schema.org/Question')"
    " or contains(@itemtype, 'schema.org/Answer')]]"
)


def strip_post_comments(doc: HtmlElement) -> Changed:
    """Remove the comments under a question or an answer (schema.org microdata, as Stack
    Exchange marks them): asides to a post, where the answers are the content. Replies on
    forums (Discourse marks them as Comment too) are not under a Question or Answer."""
    return [_drop(el) for el in doc.xpath(_POST_COMMENTS)]


def strip_named(doc: HtmlElement, named: Callable[[str], bool]) -> Changed:
    """Remove the elements whose class or id ``named`` (outermost first), except one holding
    most of the page's text: that is a layout wrapper, not the part it is named after."""
    root = body_of(doc)
    limit = rules.MAX_NAMED_SHARE * max(1, text_length(root))
    return _strip_outermost(
        root,
        lambda el: (
            (named(el.get("class") or "") or named(el.get("id") or "")) and text_length(el) < limit
        ),
    )


def body_of(doc: HtmlElement) -> HtmlElement:
    """The page's <body>, or the document itself when it has none."""
    body = doc.find("body")
    return body if body is not None else doc


def _strip_outermost(root: HtmlElement, doomed: Callable[[HtmlElement], bool]) -> Changed:
    """Remove the outermost elements below ``root`` that are ``doomed`` (their descendants go
    with them and are not asked), except the containers that are never removed whole."""
    found = []
    walker = etree.iterwalk(root, events=("start",))
    for _event, el in walker:
        if (
            el is not root
            and isinstance(el.tag, str)
            and el.tag not in rules.PROTECTED_TAGS
            and doomed(el)
        ):
            found.append(el)
            walker.skip_subtree()
    return [_drop(el) for el in found]
