"""The HTTP messages of one exchange, as they are stored in request and response records.

The bytes kept are the wire's, with three deliberate exceptions, each because replay
(pywb, warcio's ``content_stream``) reads the stored headers to frame the stored body:

* ``Transfer-Encoding`` is removed: the body is stored de-chunked, and a stored
  ``chunked`` makes pywb and warcio run a chunk decoder over it, which garbles any body
  that happens to start with a hex number and a line break.
* ``Content-Length`` is set to the stored body length when it differs (a body cut at
  the size cap, or a server that sent both headers): pywb passes the stored value to the
  client unchanged in ``id_`` mode, and a client then waits for bytes that never come.
* A protocol other than HTTP/1.0 or HTTP/1.1 is stored as HTTP/1.1: pywb parses status
  lines strictly and refuses to load a record starting ``HTTP/2``. The real protocol is
  kept in the record's ``WARC-Protocol`` field by the writer.

Each original value is kept under ``X-Archive-Orig-<name>``, the prefix pywb itself uses
for headers it neutralises, so nothing received is lost and pywb passes it through.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

ORIG_PREFIX = "X-Archive-Orig-"
STORABLE_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1")

Headers = Iterable[tuple[str, str]]


class WireHeaders(StatusAndHeaders):
    """Headers serialised byte for byte as they crossed the wire.

    Callers decode raw header bytes as latin-1, which maps every byte to one character;
    encoding back as latin-1 restores them. warcio's own ``to_ascii_bytes`` would instead
    percent-encode any non-ASCII value (RFC 8187 style) and so alter what the server sent
    (UTF-8 sent raw, read as latin-1, comes out double-encoded). pywb 2.10 replays raw
    latin-1 bytes as sent, but drops a header whose bytes are UTF-8 for characters beyond
    latin-1 (a Japanese file name in Content-Disposition): the record still holds it.
    """

    def to_ascii_bytes(self, filter_func=None) -> bytes:  # noqa: ANN001 - warcio's signature
        try:
            return self.to_str(filter_func).encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:  # not wire bytes after all: let warcio make it ASCII
            return super().to_ascii_bytes(filter_func)


def stored_protocol(protocol: str) -> str:
    protocol = protocol.upper()
    return protocol if protocol in STORABLE_PROTOCOLS else "HTTP/1.1"


def request_target(url: str) -> str:
    """The origin-form target of the request line (RFC 9112 §3.2.1): path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def host_header(url: str) -> str:
    parts = urlsplit(url)
    authority = parts.netloc.rpartition("@")[2]
    default_port = {"http": ":80", "https": ":443"}.get(parts.scheme.lower())
    if default_port and authority.endswith(default_port):
        authority = authority.removesuffix(default_port)
    return authority


def request_message(url: str, method: str, headers: Headers, protocol: str) -> StatusAndHeaders:
    """The request as sent, plus ``Host`` when the HTTP client added it below our view."""
    pairs = list(headers)
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.insert(0, ("Host", host_header(url)))
    method = method.upper()
    return WireHeaders(f"{request_target(url)} {stored_protocol(protocol)}", pairs, protocol=method)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _has_body(method: str, status: int) -> bool:
    # RFC 9110 §6.4.1: these never carry content, yet their Content-Length may describe
    # the representation (HEAD, 304), so it must be kept as it is.
    return method.upper() != "HEAD" and status >= 200 and status not in (204, 304)


def response_message(
    *,
    protocol: str,
    status: int,
    reason: str | None,
    headers: Headers,
    body_length: int,
    method: str = "GET",
) -> StatusAndHeaders:
    """The response headers as stored, framing ``body_length`` bytes of de-chunked body."""
    pairs: list[tuple[str, str]] = []
    lengths: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "transfer-encoding":
            pairs.append((ORIG_PREFIX + name, value))
        elif lowered == "content-length":
            lengths.append(value)
            pairs.append((name, value))
        else:
            pairs.append((name, value))

    if lengths and _has_body(method, status) and lengths != [str(body_length)]:
        fixed: list[tuple[str, str]] = []
        for name, value in pairs:
            if name.lower() == "content-length":
                fixed.append((ORIG_PREFIX + name, value))
                if not any(n.lower() == "content-length" for n, _ in fixed):
                    fixed.append((name, str(body_length)))
            else:
                fixed.append((name, value))
        pairs = fixed

    if reason is None:
        reason = reason_phrase(status)
    return WireHeaders(f"{status} {reason}", pairs, protocol=stored_protocol(protocol))
