"""Naming why a fetch failed, in the classes the store and reports use."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from twisted.internet import defer, error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived


def classify(failure: Failure) -> tuple[str, str]:
    """(error_class, message): dns, refused, timeout, tls, connection, too-large,
    robots-blocked, private-address or error."""
    exc = failure.value
    message = str(exc) or exc.__class__.__name__
    from crawler.middlewares import PrivateAddressRefused

    if isinstance(exc, PrivateAddressRefused):
        return "private-address", message
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return "robots-blocked", message
        return "ignored", message
    if isinstance(exc, error.DNSLookupError) or type(exc).__name__ == "CannotResolveHostError":
        return "dns", message
    if isinstance(exc, error.ConnectionRefusedError):
        return "refused", message
    if isinstance(exc, error.TimeoutError | defer.TimeoutError | error.TCPTimedOutError):
        return "timeout", message
    if isinstance(exc, defer.CancelledError) and "max size" in message.lower():
        return "too-large", message
    if isinstance(exc, ResponseNeverReceived | ResponseFailed):
        reasons = " ".join(str(r.value) for r in getattr(exc, "reasons", []))
        if "SSL" in reasons or "certificate" in reasons.lower() or "TLS" in reasons:
            return "tls", reasons
        return "connection", reasons or message
    if "SSL" in exc.__class__.__module__ or "ssl" in message.lower():
        return "tls", message
    if isinstance(exc, error.ConnectError | error.ConnectionLost | error.ConnectionDone):
        return "connection", message
    return "error", f"{exc.__class__.__name__}: {message}"
