"""What a page loads: the requisites of an HTML document or of a stylesheet.

Only the URLs, resolved against the document's ``<base href>`` (a stylesheet's against
its own address) and without fragments; fetching them is the crawler's business. HTML is
read with lxml, CSS with tinycss2; ``srcset`` is split by the HTML standard's own
algorithm. Schemes other than http(s) (``data:``, ``blob:``, ``javascript:``) load
nothing from the network and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

import tinycss2
from lxml import etree
from lxml.html import HTMLParser
from w3lib.encoding import http_content_type_encoding
from w3lib.url import safe_url_string

from archive.extract.charset import decode

#: Kinds whose fetched body is read in turn for what it loads.
STYLESHEET, FRAME = "stylesheet", "frame"
#: Requisite kinds that are no fetch: what the browser made of a page (crawler/browser.py),
#: its screenshot and rendered DOM, each a WARC resource record the capture lists
SCREENSHOT, DOM = "screenshot", "dom"
RENDERINGS = (SCREENSHOT, DOM)

#: <link rel=...> tokens and the kind of what they load.
_LINK_RELS = {
    "stylesheet": STYLESHEET,
    "icon": "icon",
    "apple-touch-icon": "icon",
    "apple-touch-icon-precomposed": "icon",
    "mask-icon": "icon",
    "manifest": "manifest",
    "preload": "preload",
    "modulepreload": "script",
}
#: <link rel=preload as=...>: what the browser will load it as.
_PRELOAD_AS = {"style": STYLESHEET, "font": "font", "image": "image", "script": "script"}
#: (element, attribute, kind) of the plain one-URL attributes.
_ATTRIBUTES = (
    ("img", "src", "image"),
    ("input", "src", "image"),
    ("script", "src", "script"),
    ("video", "src", "media"),
    ("video", "poster", "image"),
    ("audio", "src", "media"),
    ("source", "src", "media"),
    ("track", "src", "track"),
    ("iframe", "src", FRAME),
    ("frame", "src", FRAME),
    ("object", "data", "object"),
    ("embed", "src", "embed"),
)


@dataclass(frozen=True)
class Found:
    """One URL a document loads, and what it loads it as."""

    url: str
    kind: str


def resolve(base: str, value: str, encoding: str = "utf-8") -> str | None:
    """``value`` as an absolute http(s) URL without fragment, as Scrapy would request it;
    None for what loads nothing from the network (empty, a fragment, other schemes)."""
    # URL attributes ignore surrounding whitespace and any tab or newline inside
    value = "".join(ch for ch in value.strip() if ch not in "\t\n\r")
    if not value or value.startswith("#"):
        return None
    url = urldefrag(urljoin(base, value))[0]
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return safe_url_string(url, encoding)


def srcset_urls(value: str) -> list[str]:
    """The image URLs of a ``srcset`` (HTML's "parse a srcset attribute": a URL runs to
    whitespace, trailing commas end a candidate, descriptors run to a comma outside
    parentheses), so that a comma inside a URL does not split it."""
    urls: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while i < n and (depth or value[i] != ","):
                depth += {"(": 1, ")": -1}.get(value[i], 0)
                i += 1
        if url:
            urls.append(url)
    return urls


# -- CSS -------------------------------------------------------------------------------------


def _token_urls(tokens: Iterable[object]) -> Iterator[str]:
    """Every ``url()`` (and ``image-set()`` string) among CSS component values, nested
    blocks included."""
    for token in tokens:
        kind = getattr(token, "type", None)
        if kind == "url":
            yield getattr(token, "value")  # noqa: B009 - tinycss2 nodes are not typed
        elif kind == "function":
            name = getattr(token, "lower_name", "")
            args = getattr(token, "arguments", [])
            if name in ("url", "src") or name.endswith("image-set"):
                yield from (t.value for t in args if getattr(t, "type", None) == "string")
            yield from _token_urls(args)
        elif kind in ("() block", "[] block", "{} block"):
            yield from _token_urls(getattr(token, "content", []))


def _rule_urls(rules: Iterable[object]) -> Iterator[tuple[str, str]]:
    """(url, kind) of what a list of CSS rules loads: ``@import`` a stylesheet,
    ``@font-face`` fonts, any other ``url()`` an image."""
    for rule in rules:
        kind = getattr(rule, "type", None)
        if kind == "at-rule":
            keyword = getattr(rule, "lower_at_keyword", "")
            prelude = getattr(rule, "prelude", [])
            content = getattr(rule, "content", None)
            if keyword == "import":
                strings = [t.value for t in prelude if getattr(t, "type", None) == "string"]
                for url in [*_token_urls(prelude), *strings][:1]:
                    yield url, STYLESHEET
            elif keyword == "font-face":
                yield from ((url, "font") for url in _token_urls(content or []))
            elif content is not None:  # @media, @supports, @layer...: rules inside
                yield from _rule_urls(tinycss2.parse_rule_list(content, True, True))
        elif kind == "qualified-rule":
            yield from ((url, "image") for url in _token_urls(getattr(rule, "content", [])))


def css_requisites(body: bytes, url: str, content_type: str | None = None) -> list[Found]:
    """What a stylesheet loads, read in its own encoding (BOM, HTTP charset, @charset)."""
    protocol = http_content_type_encoding(content_type) if content_type else None
    rules, encoding = tinycss2.parse_stylesheet_bytes(
        body, protocol_encoding=protocol, skip_comments=True, skip_whitespace=True
    )
    return _resolved(_rule_urls(rules), url, encoding.name)


def style_attribute_urls(style: str) -> list[str]:
    """The ``url()``s of an inline ``style=`` attribute."""
    return list(_token_urls(tinycss2.parse_component_value_list(style, skip_comments=True)))


def _resolved(found: Iterable[tuple[str, str]], base: str, encoding: str) -> list[Found]:
    """Resolved, each URL once (its first kind wins), what shapes the page first: a page
    cut at its cap keeps its stylesheets and fonts before its thousandth image."""
    out: dict[str, Found] = {}
    for value, kind in found:
        url = resolve(base, value, encoding)
        if url is not None and url not in out:
            out[url] = Found(url, kind)
    return sorted(out.values(), key=lambda f: _FIRST.get(f.kind, len(_FIRST)))


#: The order in which a document's requisites are taken (others after these, as found).
_FIRST = {kind: n for n, kind in enumerate((STYLESHEET, "font", FRAME, "script", "icon"))}


# -- HTML ------------------------------------------------------------------------------------


#: Only the first this many bytes of a page are read for what it loads (as extraction reads
#: only its first 10 MB): a page of 50 MB of markup must not hold up the crawl reading it.
MAX_INPUT = 10 * 1024 * 1024


class _Loads:
    """An lxml parser target collecting what a document loads while it is parsed, so no
    tree is built: memory stays flat however many elements a page has. Each kind of
    finding keeps document order; the kinds come in the order the caps rank them by."""

    def __init__(self) -> None:
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []
        self.attributes: list[list[tuple[str, str]]] = [[] for _ in _ATTRIBUTES]
        self.srcsets: list[tuple[str, str]] = []
        self.backgrounds: list[tuple[str, str]] = []
        self.styled: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self._style: list[str] | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == "base" and self.base is None and attrib.get("href"):
            self.base = attrib["href"]
        elif tag == "link" and (kind := _link_kind(attrib)) is not None:
            self.links += [(v, kind) for v in [attrib.get("href") or ""] if v]
            self.links += [(v, "image") for v in srcset_urls(attrib.get("imagesrcset") or "")]
        elif tag == "style":
            self._style = []
        for n, (element, attribute, kind) in enumerate(_ATTRIBUTES):
            if tag == element and (value := attrib.get(attribute)):
                self.attributes[n].append((value, kind))
        if tag in ("img", "source") and (srcset := attrib.get("srcset")):
            self.srcsets += [(v, "image") for v in srcset_urls(srcset)]
        if "background" in attrib:  # <body background>, <td background>
            self.backgrounds.append((attrib["background"] or "", "image"))
        if style := attrib.get("style"):
            self.styled += [(v, "image") for v in style_attribute_urls(style)]

    def end(self, tag: str) -> None:
        if tag == "style" and self._style is not None:
            self.styles.append("".join(self._style))
            self._style = None

    def data(self, text: str) -> None:
        if self._style is not None:
            self._style.append(text)

    def close(self) -> _Loads:
        return self

    def found(self) -> list[tuple[str, str]]:
        """(raw value, kind) of everything the document loads."""
        out = list(self.links)
        for values in self.attributes:
            out += values
        out += self.srcsets + self.backgrounds + self.styled
        for text in self.styles:
            out += _rule_urls(tinycss2.parse_stylesheet(text, True, True))
        return out


def _parsed(body: bytes, content_type: str | None) -> tuple[_Loads | None, str]:
    text, encoding = decode(body[:MAX_INPUT], content_type)
    if encoding.startswith("utf-16"):  # URLs of UTF-16 pages are encoded as UTF-8
        encoding = "utf-8"
    # One parser per document: lxml parsers must not be shared between threads. Text decoded
    # by the page's real charset is handed over as UTF-8, so a <meta charset> that lies
    # cannot make lxml decode it again.
    parser = HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True, target=_Loads()
    )
    try:
        loads: _Loads = etree.fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None, encoding
    return loads, encoding


def _link_kind(link: dict[str, str]) -> str | None:
    rels = (link.get("rel") or "").lower().split()
    if "preload" in rels:
        return _PRELOAD_AS.get((link.get("as") or "").strip().lower(), "preload")
    return next((_LINK_RELS[r] for r in rels if r in _LINK_RELS), None)


def html_requisites(
    body: bytes, url: str, content_type: str | None = None, frames: bool = True
) -> list[Found]:
    """What an HTML document at ``url`` loads: stylesheets, icons, images (``srcset``
    and ``<picture>`` included), scripts, media and tracks, frames (unless ``frames`` is
    off), objects and embeds, and the ``url()``s and ``@import``s of its ``<style>``
    elements and ``style=`` attributes."""
    loads, encoding = _parsed(body, content_type)
    if loads is None:
        return []
    base = (resolve(url, loads.base) if loads.base else None) or url
    found = loads.found()
    if not frames:
        found = [(value, kind) for value, kind in found if kind != FRAME]
    return _resolved(found, base, encoding)
