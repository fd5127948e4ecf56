"""Which character encoding a body is really in, decided the way a browser decides.

Order (WHATWG Encoding Standard, "decode" and the HTML "encoding sniffing algorithm"):
byte order mark, then the ``charset`` parameter of the HTTP ``Content-Type``, then a
``<meta charset>`` / ``http-equiv`` prescan of the head, then a statistical guess.
Labels are resolved the way browsers resolve them, not the way Python's codecs do:
``iso-8859-1`` and ``us-ascii`` mean windows-1252 on the web, which is why a “€” in a
page declared Latin-1 still shows as a euro sign.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# BOMs win over every label (WHATWG "decode", step 3).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# WHATWG label -> encoding aliases where Python's codec of the same name decodes differently
# (Latin-1 family -> windows-125x, Chinese/Korean/Thai supersets), or where Python has no alias.
_WEB_ALIASES: dict[str, str] = {
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "l1": "windows-1252",
    "ascii": "windows-1252",
    "us-ascii": "windows-1252",
    "ansi_x3.4-1968": "windows-1252",
    "cp819": "windows-1252",
    "iso-8859-9": "windows-1254",
    "latin5": "windows-1254",
    "iso-8859-11": "windows-874",
    "tis-620": "windows-874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "sjis": "shift_jis",
    "macintosh": "mac_roman",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    # a <meta> cannot really declare UTF-16 (the prescan read it as ASCII), so browsers use UTF-8
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:+-]+)""",
    re.I,
)
# Browsers prescan only the first 1024 bytes; real pages often declare later behind long
# inline scripts, and a later declaration is still better evidence than a statistical guess.
_PRESCAN_BYTES = 16384
_GUESS_BYTES = 65536


def normalise_label(label: str | None) -> str | None:
    """A charset label as a Python codec name, or None when unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    key = _WEB_ALIASES.get(key, key)
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    return "utf-8" if name == "utf-8-sig" else name


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_label(match.group(1)) if match else None


def charset_from_meta(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_PRESCAN_BYTES])
    return normalise_label(match.group(1).decode("ascii", "ignore")) if match else None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        # a multi-byte sequence cut by a truncated capture is still UTF-8
        return err.start >= len(body) - 3 and err.reason == "unexpected end of data"
    return True


def _guess(body: bytes) -> str:
    if _is_utf8(body):
        return "utf-8"
    sample = body[:_GUESS_BYTES]
    best = from_bytes(sample).best()
    name = normalise_label(best.encoding) if best else None
    # Browsers in Western locales fall back to windows-1252 for unlabelled legacy pages. Among
    # Latin-script code pages a statistical guess on a short sample is a coin toss (cp1257 for
    # a French "naïve"), so windows-1252 wins unless it cannot decode the bytes.
    if name is None or (name in _LATIN_SINGLE_BYTE and _reads_as_cp1252(sample)):
        return "cp1252"
    return name


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


def _reads_as_cp1252(sample: bytes) -> bool:
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    odd = [m.group() for m in _SYMBOL_IN_WORD.finditer(text)]
    return not any(not ch.isalpha() or ch in "ŒœŠšŽžŸ" for ch in odd)


def detect(body: bytes, content_type: str | None = None, html: bool = True) -> str:
    """The Python codec name to decode ``body`` with."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    declared = charset_from_content_type(content_type)
    if declared is None and html:
        declared = charset_from_meta(body)
    if declared is None:
        return _guess(body)
    # A legacy label on a body that is valid, non-ASCII UTF-8 is a stale label (transcoded or
    # re-saved pages, misconfigured servers); legacy text is practically never valid UTF-8.
    if declared != "utf-8" and not body.isascii() and _is_utf8(body):
        return "utf-8"
    return declared


def decode(body: bytes, content_type: str | None = None, html: bool = True) -> tuple[str, str]:
    """``(text, charset)``: the body decoded as a browser would, never raising."""
    name = detect(body, content_type, html)
    start = 0
    for bom, bom_name in _BOMS:
        if name == bom_name and body.startswith(bom):
            start = len(bom)
    try:
        text = body[start:].decode(name, errors="replace")
    except LookupError:  # pragma: no cover - detect() only returns known codecs
        name, text = "utf-8", body[start:].decode("utf-8", errors="replace")
    return text, web_name(name)


def web_name(codec: str) -> str:
    """A codec name as the label a browser would report (``cp1252`` -> ``windows-1252``)."""
    name = codecs.lookup(codec).name
    if name.startswith("cp125"):
        return "windows-" + name[2:]
    if name == "cp874":
        return "windows-874"
    return {"mac-roman": "macintosh", "utf-16-le": "utf-16le", "utf-16-be": "utf-16be"}.get(
        name, name
    )
