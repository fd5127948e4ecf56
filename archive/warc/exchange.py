"""The HTTP messages of one exchange, as they are stored in request and response records.

When the download handler kept them (crawler/wire.py), the heads stored are the bytes
that crossed the wire (``heads.RawHead``): the request head as sent, the response head as
received, reason phrase, header names, order, repeats and folding included. Otherwise
(a caller with parsed headers only) they are rebuilt from ``(name, value)`` pairs, in the
order given. Either way the same three deliberate changes are made, each because replay
(pywb, warcio's ``content_stream``) reads the stored headers to frame the stored body:

* ``Transfer-Encoding`` is renamed where it stands: the body is stored de-chunked, and a
  stored ``chunked`` makes pywb and warcio run a chunk decoder over it, which garbles any
  body that happens to start with a hex number and a line break.
* ``Content-Length`` is set to the stored body length when it differs (a body cut at
  the size cap, or a server that sent both headers): pywb passes the stored value to the
  client unchanged in ``id_`` mode, and a client then waits for bytes that never come.
* A protocol other than HTTP/1.0 or HTTP/1.1 is stored as HTTP/1.1: pywb parses status
  lines strictly and refuses to load a record starting ``HTTP/2``. The real protocol is
  kept in the record's ``WARC-Protocol`` field by the writer.

Each original header is kept under ``X-Archive-Orig-<name>`` (its name as cased, its
value and folding untouched), the prefix pywb itself uses for headers it neutralises, so
nothing received is lost and pywb passes it through.

Header bytes are carried as latin-1 text, which maps every byte to one character and
back; warcio's own ``to_ascii_bytes`` would instead percent-encode non-ASCII values
(RFC 8187 style) and so alter what the server sent. pywb 2.10 replays raw latin-1 bytes
as sent, but drops a header whose bytes are UTF-8 for characters beyond latin-1 (a
Japanese file name in Content-Disposition): the record still holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import urlsplit

from archive.warc.heads import RawField, RawHead, RawHeaders

ORIG_PREFIX = "X-Archive-Orig-"
STORABLE_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1")

Headers = Iterable[tuple[str, str]]


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


def _line(text: str) -> bytes:
    try:
        return text.encode("latin-1") + b"\r\n"
    except UnicodeEncodeError:  # not wire bytes after all (a caller's own text)
        return text.encode("utf-8") + b"\r\n"


def _head_of_pairs(start: str, pairs: Headers) -> RawHead:
    return RawHead(_line(start), [RawField([_line(f"{n}: {v}")]) for n, v in pairs])


def request_message(
    url: str, method: str, headers: Headers, protocol: str, head: bytes | None = None
) -> RawHeaders:
    """The request as sent: ``head`` verbatim when the wire's bytes are known, else the
    pairs, plus ``Host`` when the HTTP client added it below our view."""
    raw = RawHead.parse(head) if head else None
    if raw is None:
        pairs = list(headers)
        if not any(name.lower() == "host" for name, _ in pairs):
            pairs.insert(0, ("Host", host_header(url)))
        start = f"{method.upper()} {request_target(url)} {stored_protocol(protocol)}"
        raw = _head_of_pairs(start, pairs)
    verb, _, rest = raw.start_text.partition(" ")
    return RawHeaders(raw, verb, rest)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _has_body(method: str, status: int) -> bool:
    # RFC 9110 §6.4.1: these never carry content, yet their Content-Length may describe
    # the representation (HEAD, 304), so it must be kept as it is.
    return method.upper() != "HEAD" and status >= 200 and status not in (204, 304)


def _framed(fields: list[RawField], body_length: int, fix_length: bool) -> list[RawField]:
    """``fields`` framing a de-chunked body of ``body_length`` bytes (see module doc)."""
    lengths = [f.value for f in fields if f.name.lower() == "content-length"]
    fix_length = fix_length and bool(lengths) and lengths != [str(body_length)]
    out: list[RawField] = []
    for f in fields:
        lowered = f.name.lower()
        if lowered == "transfer-encoding":
            out.append(f.renamed(ORIG_PREFIX))
        elif lowered == "content-length" and fix_length:
            if not any(o.name.lower() == "content-length" for o in out):
                name = f.lines[0][: len(f.name)]  # as the server cased it
                out.append(RawField([name + f": {body_length}".encode() + f.eol]))
            out.append(f.renamed(ORIG_PREFIX))
        else:
            out.append(f)
    return out


def _stored_status_line(raw: RawHead, protocol: str) -> RawHead:
    version, sep, rest = raw.start.partition(b" ")
    if version.decode("latin-1").upper() in STORABLE_PROTOCOLS:
        return raw
    start = stored_protocol(protocol).encode() + sep + rest
    return RawHead(start, raw.fields, raw.end)


def response_message(
    *,
    protocol: str,
    status: int,
    reason: str | None,
    headers: Headers,
    body_length: int,
    method: str = "GET",
    head: bytes | None = None,
) -> RawHeaders:
    """The response head as stored, framing ``body_length`` bytes of de-chunked body:
    ``head`` as received when known (``reason`` and ``headers`` then unused), else one
    built from ``status``, ``reason`` (the standard phrase if None) and ``headers``."""
    raw = RawHead.parse(head) if head else None
    if raw is None:
        reason = reason_phrase(status) if reason is None else reason
        raw = _head_of_pairs(f"{stored_protocol(protocol)} {status} {reason}", headers)
    raw = _stored_status_line(raw, protocol)
    fields = _framed(raw.fields, body_length, _has_body(method, status))
    raw = RawHead(raw.start, fields, raw.end)
    version, _, statusline = raw.start_text.partition(" ")
    return RawHeaders(raw, version, statusline)
