"""Naming why a fetch failed, in the classes the store and reports use."""

from __future__ import annotations

from scrapy import exceptions as scrapy_errors
from twisted.internet import defer, error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

# Scrapy (2.13+) wraps Twisted's network errors in its own classes; older releases
# raise Twisted's. Both are named here, most specific first.
_BY_TYPE: list[tuple[str, tuple[type[BaseException], ...]]] = [
    (
        "dns",
        (
            getattr(scrapy_errors, "CannotResolveHostError", error.DNSLookupError),
            error.DNSLookupError,
        ),
    ),
    (
        "refused",
        (
            getattr(scrapy_errors, "DownloadConnectionRefusedError", error.ConnectionRefusedError),
            error.ConnectionRefusedError,
        ),
    ),
    (
        "timeout",
        (
            getattr(scrapy_errors, "DownloadTimeoutError", error.TimeoutError),
            error.TimeoutError,
            defer.TimeoutError,
            error.TCPTimedOutError,
        ),
    ),
]


def _looks_like_tls(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("ssl", "tls", "certificate", "handshake"))


def classify(failure: Failure) -> tuple[str, str]:
    """(error_class, message): dns, refused, timeout, tls, connection, too-large,
    robots-blocked, redirect-loop, private-address or error."""
    exc = failure.value
    message = str(exc) or exc.__class__.__name__
    from crawler.compression import DecodedTooLarge
    from crawler.middlewares import PrivateAddressRefused

    if isinstance(exc, PrivateAddressRefused):
        return "private-address", message
    if isinstance(exc, DecodedTooLarge):  # a decompression bomb, or a body too large to read
        return "too-large", message
    if isinstance(exc, scrapy_errors.IgnoreRequest):
        if "robots.txt" in message:
            return "robots-blocked", message
        # Scrapy's RedirectMiddleware gives up after REDIRECT_MAX_TIMES hops: a loop, or a
        # chain no reader would follow. A broken link, so it counts towards dead.
        if "max redirections" in message:
            return "redirect-loop", "too many redirects (a redirect loop?)"
        return "ignored", message
    for name, types in _BY_TYPE:
        if isinstance(exc, types):
            return name, message
    cancelled = (defer.CancelledError, getattr(scrapy_errors, "DownloadCancelledError", ()))
    if isinstance(exc, cancelled) and "size" in message.lower():
        return "too-large", message
    reasons = " ".join(str(r.value) for r in getattr(exc, "reasons", []) or [])
    detail = f"{message} {reasons}".strip()
    if _looks_like_tls(detail) or "SSL" in type(exc).__module__:
        return "tls", detail
    network = (
        ResponseNeverReceived,
        ResponseFailed,
        error.ConnectError,
        error.ConnectionLost,
        error.ConnectionDone,
        getattr(scrapy_errors, "DownloadFailedError", ResponseFailed),
        getattr(scrapy_errors, "ResponseDataLossError", ResponseFailed),
    )
    if isinstance(exc, network):
        return "connection", detail
    return "error", f"{exc.__class__.__name__}: {message}"
