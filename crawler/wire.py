"""The crawl's HTTP(S) download handler: Scrapy's own, keeping the heads of the wire.

Scrapy hands downloader middlewares parsed headers: names re-cased, repeated headers
gathered, order changed, the reason phrase gone. That is fine for Scrapy's own use, but
the WARC must hold what crossed the wire (docs/design.md §5). ``WireHTTPDownloadHandler``
is Scrapy's HTTP/1.1 handler (``DOWNLOAD_HANDLERS`` in settings) whose connections also
keep, for each exchange:

* the request head as written to the connection: a tee around the transport the
  request writes itself to, so the bytes are Twisted's own (request line, ``Host``,
  ``Connection``, ``Content-Length`` and the headers in the order sent);
* the response head as read: each line the response parser consumes, with its line
  ending, from the status line to the blank line (a 1xx interim response is skipped,
  as Twisted skips it).

Both are taken above TLS, so HTTPS archives the HTTP inside the tunnel, and below
everything else in Scrapy, so a proxy's CONNECT exchange is not part of them while a
plain-HTTP proxy request is recorded as sent to the proxy (absolute URI).
``wire_heads(response)`` gives them to the capture middleware; the body is Scrapy's as
before (de-chunked, still content-encoded).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.crawler import Crawler
from scrapy.exceptions import ResponseDataLossError, StopDownload
from scrapy.http import Response
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

if TYPE_CHECKING:
    from twisted.web._newclient import Request as TxRequest

logger = logging.getLogger(__name__)

#: Where the heads travel on Twisted's response while downloading.
_RESPONSE_HEAD = "_archive_response_head"
_REQUEST_HEAD = "_archive_request_head"
#: A request head is never this long in practice; past it, the tee stops keeping bytes.
_MAX_HEAD = 1 << 20


@dataclass(frozen=True)
class WireHeads:
    """The exact heads of one exchange, each from its start line to its blank line."""

    request: bytes
    response: bytes


#: Then beside Scrapy's response, which has slots: an entry lives as long as its response
#: (``response.replace()`` makes a new one, without heads, as it no longer is the wire's).
_HEADS: weakref.WeakKeyDictionary[Response, WireHeads] = weakref.WeakKeyDictionary()


def wire_heads(response: Response) -> WireHeads | None:
    """The heads ``response`` came with; None when another handler fetched it."""
    return _HEADS.get(response)


class _HeadTee:
    """The transport a request writes itself to: passes every write on and keeps a copy
    of the bytes up to the end of the head (the first blank line)."""

    def __init__(self, transport: Any, sink: bytearray) -> None:
        self._transport = transport
        self._sink = sink
        self._done = False

    def _keep(self, data: bytes) -> None:
        if self._done:
            return
        self._sink += data
        end = self._sink.find(b"\r\n\r\n")
        if end >= 0 or len(self._sink) > _MAX_HEAD:
            del self._sink[end + 4 if end >= 0 else _MAX_HEAD :]
            self._done = True

    def write(self, data: bytes) -> None:
        self._keep(data)
        self._transport.write(data)

    def writeSequence(self, data: list[bytes]) -> None:  # noqa: N802 - Twisted's name
        data = list(data)
        for chunk in data:
            self._keep(chunk)
        self._transport.writeSequence(data)

    def __getattr__(self, name: str) -> Any:  # registerProducer and the rest
        return getattr(self._transport, name)


class _TeeRequest:
    """Twisted's request, writing itself through a ``_HeadTee``."""

    def __init__(self, request: Any, sink: bytearray) -> None:
        self._request = request
        self._sink = sink

    def writeTo(self, transport: Any) -> Any:  # noqa: N802 - Twisted's name
        return self._request.writeTo(_HeadTee(transport, self._sink))

    def __getattr__(self, name: str) -> Any:  # method, persistent, stopWriting...
        return getattr(self._request, name)


class _WireParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, keeping each head line as it arrived."""

    _wire_head: bytearray

    def lineReceived(self, line: bytes) -> None:  # noqa: N802 - Twisted's name
        # LineReceiver splits at b"\n" (its delimiter) and passes the line without it.
        self._wire_head += line + self.delimiter
        super().lineReceived(line)

    def allHeadersReceived(self) -> None:  # noqa: N802 - Twisted's name
        # Before super(): it fires the response Deferred, and resets for a 1xx.
        setattr(self.response, _RESPONSE_HEAD, bytes(self._wire_head))
        self._wire_head = bytearray()
        super().allHeadersReceived()


class _WireProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> Any:
        sent = bytearray()
        # Stands in for Twisted's request, which is all the protocol reads it through.
        d = super().request(cast("TxRequest", _TeeRequest(request, sent)))
        # Scrapy swaps the parser's class the same way (its lenient parser); this one
        # only adds the head buffer, set before any byte can arrive.
        if self._parser is not None:
            self._parser.__class__ = _WireParser
            cast(_WireParser, self._parser)._wire_head = bytearray()

        def keep_sent(response: Any) -> Any:
            setattr(response, _REQUEST_HEAD, bytes(sent))
            return response

        d.addCallback(keep_sent)
        return d


class _WireClientFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _WireProtocol:  # noqa: N802 - Twisted's name
        return _WireProtocol(self._quiescentCallback)


class _WireAgent(_ScrapyAgent):
    def _cb_bodydone(self, result: Any, url: str) -> Response:
        txresponse = result["txresponse"]
        heads = WireHeads(
            getattr(txresponse, _REQUEST_HEAD, b""), getattr(txresponse, _RESPONSE_HEAD, b"")
        )
        try:
            response = super()._cb_bodydone(result, url)
        except StopDownload as stop:  # fail=True: the response travels on the exception
            if stop.response is not None:
                _HEADS[stop.response] = heads
            raise
        _HEADS[response] = heads
        return response


class WireHTTPDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler whose responses carry their ``WireHeads``."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _WireClientFactory

    async def download_request(self, request: Request) -> Response:
        # As Scrapy's own, with the agent that hands the heads on.
        agent = _WireAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
