"""URL checks for untrusted input, and the canonical key used to match URLs.

Ids are never computed from the canonical form (docs/design.md §3): it only serves
lookups, so ``http://www.x.org/a/`` and ``https://x.org/a#top`` find one resource.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from w3lib.url import canonicalize_url

MAX_URL_BYTES = 8 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Query parameters that only track the reader and never change the page.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid|ref_src)$")


class BadURL(ValueError):
    """A URL we refuse to record; the message says why."""


def check_url(url: object) -> str:
    """Return ``url`` unchanged if it is an absolute http(s) URL we can fetch, else raise BadURL."""
    if url is None or (isinstance(url, str) and not url.strip()):
        raise BadURL("no url")
    if not isinstance(url, str):
        raise BadURL(f"url is not text but {type(url).__name__}")
    if len(url.encode("utf-8")) > MAX_URL_BYTES:
        raise BadURL(f"url is longer than {MAX_URL_BYTES // 1024} KB")
    if _CONTROL.search(url):
        raise BadURL("url contains control characters")
    if url != url.strip() or " " in url:
        raise BadURL("url contains spaces")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError as exc:
        raise BadURL(f"url cannot be parsed: {exc}") from exc
    if not parts.scheme:
        raise BadURL("url has no scheme: write it with http:// or https://")
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL(f"url scheme is {parts.scheme!r}, only http and https are archived")
    if not parts.hostname:
        raise BadURL("url has no host")
    if port == 0:
        raise BadURL("url has port 0")
    return url


def url_key(url: str) -> str:
    """Canonical form for matching: no scheme, no ``www.``, no fragment, no tracking
    parameters, sorted query, no trailing slash, lower-case host."""
    canon = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(canon)
    host = (parts.hostname or "").lower().removeprefix("www.")
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        ]
    )
    path = parts.path.rstrip("/")
    return netloc + path + (f"?{query}" if query else "")


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_names(host: str) -> list[str]:
    """The stored hosts a host filter (``--host``, the viewer's) matches: the name with
    and without ``www.``, whichever way it was given."""
    bare = host.lower().removeprefix("www.")
    return [bare, f"www.{bare}"]
