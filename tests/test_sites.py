"""The local test site behaves as its routes say, checked over real sockets."""

from __future__ import annotations

import gzip
import http.client
import io
import os
import socket
import time
from pathlib import Path

import pypdf
import pytest
from sites import (
    ARTICLES,
    BIG_SIZE,
    Chunked,
    Drop,
    Fixed,
    Large,
    LocalSite,
    Redirect,
    Sequence,
    Slow,
)


def get(
    site: LocalSite, path: str, headers: dict[str, str] | None = None, timeout: float = 5
) -> tuple[http.client.HTTPResponse, bytes]:
    """One GET on a fresh connection; http.client never follows redirects or decodes gzip."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_url_and_plain_page(site: LocalSite) -> None:
    assert site.url("/plain") == f"http://127.0.0.1:{site.port}/plain"
    response, body = get(site, "/plain")
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert body == site.route("/plain").body
    title, text = ARTICLES["/plain"]
    assert f"<title>{title}</title>".encode() in body and text.encode() in body


def test_request_log_records_method_path_and_headers(site: LocalSite) -> None:
    get(site, "/plain?x=1", headers={"User-Agent": "probe/1.0"})
    get(site, "/plain")
    assert site.hits("/plain") == 2
    assert site.hits("/plain?x=1") == 1
    assert site.hits("/gzip") == 0
    first = site.requests_to("/plain")[0]
    assert (first.method, first.path) == ("GET", "/plain?x=1")
    assert first.headers["user-agent"] == "probe/1.0"


def test_keep_alive_serves_several_requests_on_one_connection(site: LocalSite) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=5)
    try:
        for path in ("/plain", "/chunked", "/gzip", "/missing"):
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.read() == site.route(path).body
            assert not response.will_close
        sock = conn.sock
        conn.request("GET", "/final")
        conn.getresponse().read()
        assert conn.sock is sock  # no reconnect happened
    finally:
        conn.close()


def test_gzip_body_is_the_compressed_wire_bytes(site: LocalSite) -> None:
    response, body = get(site, "/gzip", headers={"Accept-Encoding": "gzip"})
    route = site.route("/gzip")
    assert response.getheader("Content-Encoding") == "gzip"
    assert int(response.getheader("Content-Length")) == len(body)
    assert body == route.body
    assert gzip.decompress(body) == route.content
    assert ARTICLES["/gzip"][1].encode() in route.content


def test_chunked_uses_transfer_encoding_without_length(site: LocalSite) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, framed = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert framed.endswith(b"0\r\n\r\n")
    route = site.route("/chunked")
    assert isinstance(route, Chunked) and len(route.chunks) == 3
    for piece in route.chunks:
        assert b"%x\r\n%s\r\n" % (len(piece), piece) in framed
    _, body = get(site, "/chunked")
    assert body == route.body


def test_redirect_chain(site: LocalSite) -> None:
    first, _ = get(site, "/r1")
    second, _ = get(site, "/r2")
    final, body = get(site, "/final")
    assert (first.status, first.getheader("Location")) == (301, "/r2")
    assert (second.status, second.getheader("Location")) == (302, "/final")
    assert final.status == 200 and ARTICLES["/final"][0].encode() in body


@pytest.mark.parametrize(
    ("path", "status"), [("/missing", 404), ("/error", 500), ("/no/such/route", 404)]
)
def test_error_statuses(site: LocalSite, path: str, status: int) -> None:
    assert get(site, path)[0].status == status


def test_pdf_is_valid_with_text_and_title(site: LocalSite) -> None:
    response, body = get(site, "/paper.pdf")
    assert response.getheader("Content-Type") == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(body), strict=True)
    assert reader.metadata is not None and reader.metadata.title == "Hello PDF"
    assert "Hello PDF world" in reader.pages[0].extract_text()


def test_cp1252_page(site: LocalSite) -> None:
    response, body = get(site, "/cp1252")
    assert response.getheader("Content-Type") == "text/html; charset=windows-1252"
    for char in "“’é€":
        assert char.encode("cp1252") in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert ARTICLES["/cp1252"][1] in body.decode("cp1252")


def test_big_body(site: LocalSite) -> None:
    response, body = get(site, "/big")
    assert int(response.getheader("Content-Length")) == BIG_SIZE == len(body)
    assert body == site.route("/big").body


def test_large_chunked_hides_length(site: LocalSite) -> None:
    site.set("/stream", Large(200_000, chunked=True))
    response, body = get(site, "/stream")
    assert response.getheader("Content-Length") is None
    assert body == site.route("/stream").body and len(body) == 200_000


def test_client_hanging_up_mid_body_is_harmless(site: LocalSite) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(1024)
    assert get(site, "/plain")[0].status == 200


def test_robots_txt(site: LocalSite) -> None:
    response, body = get(site, "/robots.txt")
    assert response.getheader("Content-Type").startswith("text/plain")
    assert body == b"User-agent: *\nDisallow: /private/\n"
    assert get(site, "/private/secret")[0].status == 200  # robots is advice, not a lock


def test_sequence_advances_then_sticks(site: LocalSite) -> None:
    site.set("/flaky", Sequence([Fixed(b"a"), Fixed(b"b", status=500), Fixed(b"c")]))
    assert [get(site, "/flaky")[0].status for _ in range(5)] == [200, 500, 200, 200, 200]
    assert site.hits("/flaky") == 5


def test_routes_change_at_run_time(site: LocalSite) -> None:
    assert get(site, "/plain")[0].status == 200
    site.set("/plain", Fixed(b"gone", status=404))
    assert get(site, "/plain")[0].status == 404
    site.set("/plain", Redirect("/"))
    assert get(site, "/plain")[0].getheader("Location") == "/"


@pytest.mark.parametrize("reset", [True, False])
def test_drop_connection_is_a_client_error(site: LocalSite, reset: bool) -> None:
    site.set("/drop", Drop(reset=reset))
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        get(site, "/drop")
    assert site.hits("/drop") == 1
    assert get(site, "/plain")[0].status == 200  # the server keeps going


def test_slow_route_times_out_client_and_stop_is_prompt() -> None:
    with LocalSite({"/slow": Slow(Fixed(b"late"), delay=30)}) as local:
        with pytest.raises(TimeoutError):
            get(local, "/slow", timeout=0.3)
        started = time.monotonic()
    assert time.monotonic() - started < 3  # stop() cut the sleep short


def test_slow_route_eventually_answers() -> None:
    with LocalSite({"/slow": Slow(Fixed(b"late"), delay=0.2)}) as local:
        started = time.monotonic()
        response, body = get(local, "/slow")
        assert (response.status, body) == (200, b"late")
        assert time.monotonic() - started >= 0.2


def test_stop_closes_idle_keep_alive_connections() -> None:
    local = LocalSite({"/": Fixed(b"hi")}).start()
    conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=5)
    conn.request("GET", "/")
    conn.getresponse().read()
    local.stop()
    assert conn.sock is not None and conn.sock.recv(1) == b""  # server side closed
    conn.close()


def test_archive_home_fixture(archive_home: Path) -> None:
    assert archive_home.is_dir() and not any(archive_home.iterdir())
    assert os.environ["ARCHIVE_HOME"] == str(archive_home)
    assert os.environ["ARCHIVE_ALLOW_PRIVATE"] == "1"
    assert os.environ["ARCHIVE_DOWNLOAD_DELAY"] == "0"
