"""How a payload download is labelled: the archived Content-Type and a file name a person
would choose (from the URL's last path segment, else the page's title), with the type's
extension.

The headers the viewer adds around them (``attachment``, ``nosniff``, a sandboxing CSP)
keep the browser from rendering any of it in the viewer's origin, whatever the type says.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote, unquote, urlsplit

FALLBACK_TYPE = "application/octet-stream"
#: Extensions mimetypes gets wrong or leaves to chance (text/plain → .bat on some systems).
_EXTENSIONS = {
    "text/html": ".html",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "application/xhtml+xml": ".xhtml",
    "application/json": ".json",
    "text/xml": ".xml",
    "application/xml": ".xml",
    "image/jpeg": ".jpg",
    FALLBACK_TYPE: ".bin",
}
#: What the stored bytes are when the response had a Content-Encoding left in place.
_CODINGS = {"gzip": (".gz", "application/gzip"), "x-gzip": (".gz", "application/gzip")}
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_MEDIA_TYPE = re.compile(rf"^\s*({_TOKEN}/{_TOKEN})\s*(?:;|$)")
_CHARSET = re.compile(r";\s*charset=\"?([A-Za-z0-9._:-]{1,40})\"?", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80


def media_type(content_type: str | None) -> str | None:
    """``type/subtype`` of an archived Content-Type, lower-cased; None when it is not one."""
    found = _MEDIA_TYPE.match(content_type or "")
    return found.group(1).lower() if found else None


def served_type(content_type: str | None) -> str:
    """The archived Content-Type rebuilt from its parts (type and charset only), so nothing
    else a server sent reaches a header of ours."""
    kind = media_type(content_type)
    if kind is None:
        return FALLBACK_TYPE
    charset = _CHARSET.search(content_type or "")
    return f"{kind}; charset={charset.group(1)}" if charset else kind


def extension(kind: str) -> str:
    return _EXTENSIONS.get(kind) or mimetypes.guess_extension(kind, strict=False) or ".bin"


def _stem(url: str | None, title: str | None, ext: str) -> str:
    segment = unquote(urlsplit(url or "").path.rstrip("/").rpartition("/")[2])
    if segment.lower().endswith(ext):
        segment = segment[: -len(ext)]
    for candidate in (segment, title or ""):
        cleaned = _UNSAFE.sub("_", candidate).strip("._-")
        if cleaned:
            return cleaned[:_MAX_STEM].rstrip("._-")
    return ""


def file_name(
    url: str | None, title: str | None, content_type: str | None, fallback: str, coding: str = ""
) -> str:
    """``report.pdf`` for ``https://x.org/files/report.pdf``, ``What_is_it.html`` for a page
    at ``/`` titled "What is it?", ``fallback`` plus the extension when neither says more;
    ``.gz`` added for bytes still gzip-coded."""
    ext = extension(media_type(content_type) or FALLBACK_TYPE)
    name = (_stem(url, title, ext) or fallback) + ext
    suffix = _CODINGS.get(coding.lower(), (f".{coding.lower()}" if coding else "", ""))[0]
    return name + suffix


def stored_type(content_type: str | None, coding: str) -> str:
    """The type of the bytes as stored: the archived one, unless a coding is left in."""
    if not coding or coding.lower() == "identity":
        return served_type(content_type)
    return _CODINGS.get(coding.lower(), ("", FALLBACK_TYPE))[1]


def disposition(name: str) -> str:
    """``attachment`` with the name (ASCII by construction) in both spellings."""
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
