"""A small local web site for crawl tests, served on 127.0.0.1 from a background thread.

Routes are plain data (``Route`` objects keyed by path) that a test may swap while the
server runs, so one test can walk a URL through states: 200, then 500, then 404, a
dropped connection, a slow answer, and so on.

Every route that sends a body exposes the exact bytes of that body as ``.body``: the
bytes on the wire after any transfer-coding is removed but with content-coding kept
(so ``Gzip.body`` is the compressed stream and ``Gzip.content`` the decoded page).
That is what a WARC response record holds as its payload.

Tests import this module as ``sites`` (``tests/`` has no ``__init__.py``; pytest puts
the folder on ``sys.path`` for its ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HTML = "text/html; charset=utf-8"


class Route:
    """One way of answering a request; subclasses write the whole response."""

    def serve(self, h: SiteHandler) -> None:
        raise NotImplementedError


@dataclass
class Fixed(Route):
    """A fixed response with a ``Content-Length``."""

    body: bytes = b""
    status: int = 200
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)

    def serve(self, h: SiteHandler) -> None:
        h.start(
            self.status,
            {
                "Content-Type": self.content_type,
                "Content-Length": str(len(self.body)),
                **self.headers,
            },
        )
        h.write(self.body)


@dataclass
class Gzip(Route):
    """``content`` sent gzip-compressed whatever the client's Accept-Encoding says."""

    content: bytes
    status: int = 200
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)

    @cached_property
    def body(self) -> bytes:
        # mtime=0 keeps the compressed bytes identical from run to run.
        return gzip.compress(self.content, mtime=0)

    def serve(self, h: SiteHandler) -> None:
        Fixed(
            self.body, self.status, self.content_type, {"Content-Encoding": "gzip", **self.headers}
        ).serve(h)


@dataclass
class Chunked(Route):
    """Body written as several chunks with ``Transfer-Encoding: chunked`` and no length."""

    chunks: list[bytes]
    status: int = 200
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def serve(self, h: SiteHandler) -> None:
        h.start(
            self.status,
            {"Content-Type": self.content_type, "Transfer-Encoding": "chunked", **self.headers},
        )
        for chunk in self.chunks:
            if chunk:  # an empty chunk would end the body early
                h.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.write(b"0\r\n\r\n")


@dataclass
class Redirect(Route):
    """A redirect; ``location`` is sent verbatim (relative paths are legal in HTTP/1.1)."""

    location: str
    status: int = 302

    @cached_property
    def body(self) -> bytes:
        return f'<html><body><a href="{self.location}">moved</a></body></html>'.encode()

    def serve(self, h: SiteHandler) -> None:
        Fixed(self.body, self.status, headers={"Location": self.location}).serve(h)


@dataclass
class Sequence(Route):
    """Answers with the next route on each hit, then keeps answering with the last one."""

    routes: list[Route]
    _next: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def serve(self, h: SiteHandler) -> None:
        with self._lock:
            route = self.routes[min(self._next, len(self.routes) - 1)]
            self._next += 1
        route.serve(h)


@dataclass
class Drop(Route):
    """Closes the connection without any response: a network failure as the client sees it.

    With ``reset`` the close sends a TCP RST (SO_LINGER 0) rather than a clean FIN.
    """

    reset: bool = True

    def serve(self, h: SiteHandler) -> None:
        if self.reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()


@dataclass
class Slow(Route):
    """Waits ``delay`` seconds (cut short when the site stops), then serves ``route``."""

    route: Route
    delay: float

    @property
    def body(self) -> bytes:
        return getattr(self.route, "body")  # noqa: B009 - not every Route has a body

    def serve(self, h: SiteHandler) -> None:
        if not h.site.stopping.wait(self.delay):
            self.route.serve(h)


@dataclass
class Held(Route):
    """Serves ``route`` once the test opens ``gate`` (or after ``limit`` seconds): a crawl
    that stays under way for exactly as long as a test needs it to, whatever the load."""

    route: Route
    gate: threading.Event
    limit: float = 60.0

    def serve(self, h: SiteHandler) -> None:
        self.gate.wait(self.limit)
        if not h.site.stopping.is_set():
            self.route.serve(h)


@dataclass
class Large(Route):
    """``size`` generated bytes, streamed in pieces; ``chunked`` hides the length up front."""

    size: int
    chunked: bool = False
    content_type: str = "text/plain; charset=ascii"
    piece: int = 64 * 1024

    @cached_property
    def body(self) -> bytes:
        line = b"The quick brown fox jumps over the lazy dog, again and again.\n"
        return (line * (self.size // len(line) + 1))[: self.size]

    def serve(self, h: SiteHandler) -> None:
        view = memoryview(self.body)
        pieces = [view[i : i + self.piece] for i in range(0, self.size, self.piece)]
        if self.chunked:
            Chunked([bytes(p) for p in pieces], content_type=self.content_type).serve(h)
            return
        h.start(200, {"Content-Type": self.content_type, "Content-Length": str(self.size)})
        for p in pieces:
            h.write(p)


@dataclass
class Robots(Route):
    """A robots.txt file."""

    text: str

    @property
    def body(self) -> bytes:
        return self.text.encode()

    def serve(self, h: SiteHandler) -> None:
        Fixed(self.body, content_type="text/plain; charset=utf-8").serve(h)


NOT_FOUND = Fixed(b"<html><head><title>Not found</title></head></html>", status=404)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: Message  # case-insensitive: headers["user-agent"]
    body: bytes
    time: float


class SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a route closes the connection
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    @property
    def site(self) -> LocalSite:
        return self.server.site

    def setup(self) -> None:
        super().setup()
        self.site._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.site._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the request log instead of stderr noise

    def start(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def write(self, data: bytes | memoryview) -> None:
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.site._log(LoggedRequest(self.command, self.path, self.headers, body, time.time()))
        self.site.route(self.path).serve(self)

    do_GET = do_HEAD = do_POST = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck handler must not keep the test process alive

    def __init__(self, site: LocalSite, host: str) -> None:
        self.site = site
        super().__init__((host, 0), SiteHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-body (size caps, timeouts, Drop) are expected here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LocalSite:
    """An HTTP/1.1 server on a free loopback port whose routes can change at run time."""

    def __init__(self, routes: Mapping[str, Route] | None = None, host: str = "127.0.0.1"):
        self.host = host
        self.stopping = threading.Event()
        self._routes: dict[str, Route] = dict(routes or {})
        self._log_entries: list[LoggedRequest] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> LocalSite:
        self.stopping.clear()
        self._server = _Server(self, self.host)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()  # wakes Slow routes
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive handlers block on read until their socket dies
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and routes
    @property
    def port(self) -> int:
        assert self._server is not None, "site not started"
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def set(self, path: str, route: Route) -> None:
        with self._lock:
            self._routes[path] = route

    def route(self, path: str) -> Route:
        """The route for a request target: exact match first, then without the query."""
        with self._lock:
            found = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        return found or NOT_FOUND

    # -- request log
    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log_entries)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        """Requests for ``path``; a path without ``?`` matches any query string."""
        exact = "?" in path
        return [r for r in self.requests if (r.path if exact else r.path.split("?", 1)[0]) == path]

    def hits(self, path: str) -> int:
        return len(self.requests_to(path))

    def clear_log(self) -> None:
        with self._lock:
            self._log_entries.clear()

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log_entries.append(entry)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)


# -- the standard site -------------------------------------------------------------------

#: path -> (title, paragraph) of each HTML article, for extraction assertions.
ARTICLES: dict[str, tuple[str, str]] = {
    "/": (
        "Harbour Lights Gazette",
        "The Harbour Lights Gazette publishes local reporting on "
        "the waterfront, the fishing fleet and the town council. Browse today's articles.",
    ),
    "/plain": (
        "Council approves new sea wall",
        "After three years of debate the town council "
        "voted on Tuesday to fund a reinforced sea wall along the eastern promenade, "
        "citing the storm surges of last winter that flooded forty homes.",
    ),
    "/gzip": (
        "Fishing quotas cut for autumn",
        "Regional authorities announced a twelve per "
        "cent reduction in mackerel quotas, a decision skippers say will force several "
        "small boats to stay in harbour until the spring.",
    ),
    "/chunked": (
        "Lighthouse keeper retires after forty years",
        "Margaret Okafor climbed the "
        "ninety-two steps of the north point lighthouse for the last time on Sunday, "
        "ending a career that began when the lamp was still wound by hand.",
    ),
    "/final": (
        "Ferry timetable changes",
        "From next month the morning ferry will leave at "
        "seven fifteen instead of seven, giving commuters from the islands more time "
        "to make the connection with the mainland train.",
    ),
    "/cp1252": (
        "Café owners weigh €2 surcharge",
        "“We can’t keep absorbing the cost,” said "
        "Renée Dubois, whose café on the quay now charges €2 more for a pot of tea. "
        "Other owners say they’ll wait and see.",
    ),
    "/private/secret": (
        "Staff rota",
        "This page lists internal shift assignments and is not meant to be archived by crawlers.",
    ),
}


def html_page(title: str, text: str, links: Iterable[str] = ()) -> str:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    nav = f"<ul>{anchors}</ul>" if anchors else ""
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><article>"
        f"<h1>{title}</h1>\n<p>{text}</p></article>{nav}</body></html>\n"
    )


def minimal_pdf(
    text: str = "Hello PDF world",
    title: str = "Hello PDF",
    author: str | None = None,
    created: str | None = None,
) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, and ``title`` (and ``author``, and the
    ``created`` PDF date such as ``D:20200514093000Z``) in its Info dictionary."""
    info = f"/Title ({title}) /Producer (tests.sites)"
    if author:
        info += f" /Author ({author})"
    if created:
        info += f" /CreationDate ({created})"
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< %s >>" % info.encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
BIG_SIZE = 3 * 1024 * 1024


def standard_site() -> dict[str, Route]:
    """The site crawl tests use; fresh objects each call so Sequence state never leaks."""

    def page(path: str, links: Iterable[str] = ()) -> bytes:
        return html_page(*ARTICLES[path], links=links).encode()

    chunked = page("/chunked")
    third = len(chunked) // 3
    return {
        "/": Fixed(page("/", ["/plain", "/gzip", "/chunked", "/paper.pdf"])),
        "/plain": Fixed(page("/plain")),
        "/gzip": Gzip(page("/gzip")),
        "/chunked": Chunked([chunked[:third], chunked[third : 2 * third], chunked[2 * third :]]),
        "/r1": Redirect("/r2", status=301),
        "/r2": Redirect("/final", status=302),
        "/final": Fixed(page("/final")),
        "/missing": Fixed(html_page("Not found", "No such page.").encode(), status=404),
        "/error": Fixed(html_page("Server error", "Something broke.").encode(), status=500),
        "/paper.pdf": Fixed(minimal_pdf(), content_type="application/pdf"),
        "/cp1252": Fixed(
            html_page(*ARTICLES["/cp1252"]).encode("cp1252"),
            content_type="text/html; charset=windows-1252",
        ),
        "/big": Large(BIG_SIZE),
        "/robots.txt": Robots(ROBOTS_TXT),
        "/private/secret": Fixed(page("/private/secret")),
    }
