"""A page's document tree, bounded: lxml's HTML parser, as many elements as extraction
will ever read, and MemoryError when libxml2 runs out of memory (the worker's rlimit)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# libxml2 drops what follows an early </body> or </html>, which pages emit twice (a template's
# closing tags, then the article); a browser keeps reading into <body>, and so do we.
_BODY_END = re.compile(r"</(?:body|html)\s*>", re.I)
#: Elements past this many, in document order, are dropped before extraction. A long
#: encyclopedia article has some 50,000; a page of a million tiny elements would cost a
#: worker half a minute and most of its memory cap, to yield no article anyway.
MAX_ELEMENTS = 200_000


def parse(text: str) -> HtmlElement | None:
    """The document tree of ``text``; None when there is nothing to parse."""
    # lxml refuses str input that still declares a byte encoding
    text = _XML_DECLARATION.sub("", text, count=1)
    text = _BODY_END.sub("", text)
    if not text.strip():
        return None
    try:
        doc = _parse_at_most(text, MAX_ELEMENTS)
    except etree.XMLSyntaxError as exc:
        if any(e.type == etree.ErrorTypes.ERR_NO_MEMORY for e in exc.error_log):
            raise MemoryError("libxml2 ran out of memory parsing the page") from exc
        return None
    except (etree.ParserError, ValueError):
        return None
    # an element takes 3 characters at least: a shorter page cannot hold more, even with
    # the elements the parser adds (html, head, body, tbody)
    if len(text) >= 2 * MAX_ELEMENTS:
        _keep_first(doc, MAX_ELEMENTS)
    return doc


_OPTIONS: dict[str, Any] = {
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
    "default_doctype": False,
    # without it libxml2 drops everything nested deeper than 256 elements, which page
    # builders reach
    "huge_tree": True,
}
# Every element is an HtmlElement, looked up in C: lxml.html's own lookup calls back into
# Python for each element proxy (a tenth of the extraction's time), to hand out form and
# input classes that extraction never uses.
_LOOKUP = etree.ElementDefaultClassLookup(element=HtmlElement)
_PARSER = etree.HTMLParser(**_OPTIONS)
_PARSER.set_element_class_lookup(_LOOKUP)
#: Characters fed to the parser at a time.
_CHUNK = 1 << 16


def _parse_at_most(text: str, limit: int) -> HtmlElement:
    """The document tree of ``text``, fed to libxml2 a chunk at a time and no longer once
    it holds ``limit`` elements: the tree of a page of millions of tiny elements never
    exists whole (the memory parser would build all of it first)."""
    if len(text) < 3 * limit:  # an element takes 3 characters at least: at most `limit`
        return _document(etree.fromstring(text, parser=_PARSER))
    parser = etree.HTMLPullParser(events=("start",), **_OPTIONS)
    parser.set_element_class_lookup(_LOOKUP)
    elements = 0
    for start in range(0, len(text), _CHUNK):
        parser.feed(text[start : start + _CHUNK])
        elements += sum(1 for _ in parser.read_events())
        if elements > limit:
            break
    return _document(parser.close())


def _document(doc: Any) -> HtmlElement:
    if doc is None:
        raise etree.ParserError("Document is empty")
    return doc


def _keep_first(doc: HtmlElement, limit: int) -> None:
    """Drop every element after the first ``limit`` in document order."""
    first_dropped = next(itertools.islice(doc.iter(), limit, None), None)
    node = first_dropped
    while node is not None and (parent := node.getparent()) is not None:
        for later in list(node.itersiblings()):
            parent.remove(later)
        node = parent
    if first_dropped is not None and (parent := first_dropped.getparent()) is not None:
        parent.remove(first_dropped)
