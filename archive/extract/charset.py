"""Which character encoding a body is really in, decided the way a browser decides.

w3lib's ``html_to_unicode`` does the browser's order (WHATWG Encoding Standard "decode" and
the HTML "encoding sniffing algorithm"): byte order mark, then the ``charset`` of the HTTP
``Content-Type``, then a ``<meta charset>`` / ``http-equiv`` prescan of the head, with labels
resolved the way browsers resolve them (``iso-8859-1`` and ``us-ascii`` mean windows-1252 on
the web, which is why a “€” in a page declared Latin-1 still shows as a euro sign).

Three rules of ours sit on top; the unit tests pin the first two and the extraction bench
(``bench/extraction.py --same-as``, 181 ScrapingHub + 1,497 WCXB pages) measures the second:

- an undeclared body is guessed by charset-normalizer, but valid UTF-8 is UTF-8 and Latin
  script defaults to windows-1252 (``_guess``): alone, charset-normalizer reads the tests'
  French windows-1252 page as cp1257;
- a legacy label on a body that is valid, non-ASCII UTF-8 is stale: plain w3lib decodes 5
  bench pages (WCXB 0193 0327 0452 0527 0533, all labelled ISO-8859-1) as windows-1252 or
  Latin-1, and 0527's preview turns to mojibake (page F1 0.908 -> 0.906);
- a UTF-16 label without a BOM means UTF-8 (the prescan read it as ASCII, so browsers do),
  where w3lib would decode the bytes as UTF-16BE.

With them every bench page decodes to the same text as with the hand-written sniffer this
module replaced. That sniffer also honoured a ``<meta>`` up to 16 KiB in (w3lib: the first
4 KiB, and not past ``<body>``, nearer the browsers' 1 KiB); the bench's 42 pages declaring
that late are all valid UTF-8, which the guess reads the same. A ``Content-Type`` with
spaces around ``charset =`` is no declaration to w3lib (nor to the Fetch standard); the
sniffer accepted it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from charset_normalizer import from_bytes
from w3lib.encoding import (
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

_GUESS_BYTES = 65536

# Latin-script single-byte code pages, as Python codec names, among which a statistical guess
# is not trusted over windows-1252.
_LATIN_SINGLE_BYTE = frozenset(
    {
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "cp1258",
        "iso8859-1",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-9",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "mac-roman",
        "mac-latin2",
        "cp850",
        "cp858",
    }
)

# In windows-1252, Polish or Czech text turns into words with symbols inside ("Za¿ó³æ"):
# a symbol between two letters means the bytes are from another Latin code page.
_SYMBOL_IN_WORD = re.compile(
    r"(?<=[^\W\d_])[\x80-\xbf\u0152\u0153\u0160\u0161\u017d\u017e\u0178](?=[^\W\d_])"
)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        # a multi-byte sequence cut by a truncated capture is still UTF-8
        return err.start >= len(body) - 3 and err.reason == "unexpected end of data"
    return True


def _reads_as_cp1252(sample: bytes) -> bool:
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    odd = [m.group() for m in _SYMBOL_IN_WORD.finditer(text)]
    return not any(not ch.isalpha() or ch in "ŒœŠšŽžŸ" for ch in odd)


def _guess(body: bytes) -> str:
    """The codec of an undeclared body (w3lib's ``auto_detect_fun``)."""
    if _is_utf8(body):
        return "utf-8"
    sample = body[:_GUESS_BYTES]
    best = from_bytes(sample).best()
    name = resolve_encoding(best.encoding) if best else None
    # Browsers in Western locales fall back to windows-1252 for unlabelled legacy pages. Among
    # Latin-script code pages a statistical guess on a short sample is a coin toss (cp1257 for
    # a French "naïve"), so windows-1252 wins unless it cannot decode the bytes.
    if name is None or (name in _LATIN_SINGLE_BYTE and _reads_as_cp1252(sample)):
        return "cp1252"
    return name


def _text_to_unicode(
    content_type: str | None, body: bytes, guess: Callable[[bytes], str]
) -> tuple[str, str]:
    """``html_to_unicode`` without the ``<meta>`` prescan, which means nothing outside HTML."""
    name, bom = read_bom(body)
    if name is not None and bom is not None:
        return name, to_unicode(body[len(bom) :], name)
    name = http_content_type_encoding(content_type) or guess(body)
    return name, to_unicode(body, name)


def _relabelled(label: str, body: bytes) -> str:
    """The codec for a body declared ``label`` (a codec name) without a BOM: UTF-8 where
    the bytes or the web say so (see the module's notes)."""
    if label.startswith("utf-16"):
        return "utf-8"
    # legacy text is practically never valid UTF-8: such a label is from a transcoded or
    # re-saved page or a misconfigured server
    if label != "utf-8" and not body.isascii() and _is_utf8(body):
        return "utf-8"
    return label


def decode(body: bytes, content_type: str | None = None, html: bool = True) -> tuple[str, str]:
    """``(text, charset)``: the body decoded as a browser would, never raising."""
    guessed: list[str] = []  # whether the name is a guess rather than a declared label

    def guess(data: bytes) -> str:
        guessed.append(_guess(data))
        return guessed[-1]

    if html:
        name, text = html_to_unicode(content_type, body, auto_detect_fun=guess)
    else:
        name, text = _text_to_unicode(content_type, body, guess)
    if not guessed and read_bom(body)[0] is None:
        fixed = _relabelled(name, body)
        if fixed != name:
            name, text = fixed, to_unicode(body, fixed)
    return text, web_name(name)


def web_name(codec: str) -> str:
    """A codec name as the label a browser would report (``cp1252`` -> ``windows-1252``)."""
    name = codecs.lookup(codec).name
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    if name == "cp874":
        return "windows-874"
    return _WEB_NAMES.get(name, name)


# w3lib decodes Shift_JIS and Big5 with their supersets, as browsers do; the name stays the label's
_WEB_NAMES = {
    "mac-roman": "macintosh",
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "cp932": "shift_jis",
    "big5hkscs": "big5",
}
