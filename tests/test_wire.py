"""Records true to the wire: a server writing exact bytes, `archive crawl`, and the WARC
holding those bytes: status line, header names as cased, order, repeats and folding,
and the request head exactly as the server read it. warcio checks the digests; pywb
replays the body as sent.

The one deliberate difference (archive/warc/exchange.py): the body is stored
de-chunked, so a ``Transfer-Encoding`` line is kept renamed in place as
``X-Archive-Orig-Transfer-Encoding``.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile import RawServer
from warcio.archiveiterator import ArchiveIterator
from warctools import Wayback, assert_warcio_check

from archive.warc.exchange import request_message, response_message
from archive.warc.heads import RawHead

ARCHIVE = str(Path(sys.executable).parent / "archive")

BODY = b"<!doctype html><title>Odd</title><p>A page with odd headers.</p>\n"
ODD_HEAD = (
    b"HTTP/1.1 200 Very OK\r\n"
    b"content-type: text/html; charset=utf-8\r\n"
    b"X-weird-Case: kept\r\n"
    b"Set-Cookie: a=1\r\n"
    b"Vary: Accept\r\n"
    b"Set-Cookie: b=2\r\n"
    b"X-Folded: first part,\r\n"
    b"\tsecond part\r\n"
    b"content-LENGTH: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n"
)
CHUNKED_HEAD = (
    b"HTTP/1.1 203 Partly Yours\n"  # bare LF line endings, as some servers send
    b"Content-type: text/plain\n"
    b"transfer-encoding: chunked\n"
    b"x-trailing-space: yes \n"
    b"\n"
)
CHUNKS = [b"10\r\nthis body starts", b" like a chunk header"]
CHUNKED_WIRE = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in CHUNKS) + b"0\r\n\r\n"
ROUTES = {
    "/odd": ODD_HEAD + BODY,
    "/chunked": CHUNKED_HEAD + CHUNKED_WIRE,
}


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    with RawServer(ROUTES) as server:
        yield server


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server context with a fresh certificate for 127.0.0.1 (the crawler, like
    Scrapy by default, does not verify certificates)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = directory / "server.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    return context


def crawl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARCHIVE, "crawl", *args], capture_output=True, text=True, timeout=240, check=False
    )


def exchanges(files: list[Path]) -> dict[tuple[str, str], list[bytes]]:
    """(record type, target URI) -> each record's whole block, in file order."""
    out: dict[tuple[str, str], list[bytes]] = {}
    for path in files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, no_record_parse=True):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type in ("request", "response", "revisit"):
                    out.setdefault((record.rec_type, uri), []).append(record.raw_stream.read())
    return out


@pytest.mark.slow
def test_archived_heads_are_the_bytes_of_the_wire(
    raw_server: RawServer, archive_home: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(raw_server.url("/odd") + "\n" + raw_server.url("/chunked") + "\n")
    result = crawl("--source", str(listing), "--ignore-robots")
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted((archive_home / "warcs").glob("*.warc.gz"))
    assert_warcio_check(files)
    blocks = exchanges(files)

    odd = raw_server.url("/odd")
    [response] = blocks[("response", odd)]
    assert response == ODD_HEAD + BODY  # status line, header block and body, as sent
    [request] = blocks[("request", odd)]
    assert [request] == raw_server.received["/odd"]  # the head as the server read it

    chunked = raw_server.url("/chunked")
    [response] = blocks[("response", chunked)]
    stored_head = CHUNKED_HEAD.replace(b"transfer-encoding:", b"X-Archive-Orig-transfer-encoding:")
    assert response == stored_head + b"".join(CHUNKS)  # de-chunked, its TE line renamed
    assert blocks[("request", chunked)] == raw_server.received["/chunked"]

    with Wayback(tmp_path / "pywb", files) as wb:
        page = wb.get(odd, "2099")
        assert page.status == 200 and page.body == BODY, wb.log()[-2000:]
        assert page.header("X-weird-Case") == "kept"
        assert wb.get(chunked, "2099").body == b"".join(CHUNKS)

    # A second visit of the unchanged page is a revisit, its head as received again.
    again = crawl("--url", odd, "--ignore-robots")
    assert again.returncode == 0, again.stderr[-3000:]
    files = sorted((archive_home / "warcs").glob("*.warc.gz"))
    assert_warcio_check(files)
    blocks = exchanges(files)
    assert blocks[("revisit", odd)] == [ODD_HEAD]
    assert blocks[("request", odd)] == raw_server.received["/odd"]


@pytest.mark.slow
def test_https_archives_the_http_inside_the_tls(archive_home: Path, tmp_path: Path) -> None:
    with RawServer(ROUTES, self_signed(tmp_path)) as server:
        result = crawl("--url", server.url("/odd"), "--ignore-robots")
        assert result.returncode == 0, result.stderr[-3000:]
        files = sorted((archive_home / "warcs").glob("*.warc.gz"))
        assert_warcio_check(files)
        blocks = exchanges(files)
        assert blocks[("response", server.url("/odd"))] == [ODD_HEAD + BODY]
        assert blocks[("request", server.url("/odd"))] == server.received["/odd"]


@pytest.mark.slow
def test_through_a_proxy_the_request_is_archived_as_sent_to_it(
    raw_server: RawServer, archive_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", raw_server.url(""))
    url = "http://localhost:9/odd"  # nothing listens there: only the proxy can answer
    result = crawl("--url", url, "--ignore-robots")
    assert result.returncode == 0, result.stderr[-3000:]
    files = sorted((archive_home / "warcs").glob("*.warc.gz"))
    assert_warcio_check(files)
    blocks = exchanges(files)
    assert blocks[("response", url)] == [ODD_HEAD + BODY]
    [sent] = raw_server.received[url]
    assert sent.startswith(b"GET http://localhost:9/odd HTTP/1.1\r\n")
    assert blocks[("request", url)] == [sent]


# -- the stored heads, without a crawl ---------------------------------------------------


def test_a_cut_body_gets_its_length_fixed_in_place_and_nothing_else_moves() -> None:
    head = b"HTTP/1.1 200 Fine\r\nA: 1\r\ncontent-length: 5000\r\nno colon here\r\nB: 2\r\n\r\n"
    stored = response_message(
        protocol="HTTP/1.1", status=200, reason=None, headers=[], body_length=1000, head=head
    )
    assert stored.to_ascii_bytes() == (
        b"HTTP/1.1 200 Fine\r\nA: 1\r\ncontent-length: 1000\r\n"
        b"X-Archive-Orig-content-length: 5000\r\nno colon here\r\nB: 2\r\n\r\n"
    )
    assert stored.statusline == "200 Fine" and stored.get_header("Content-Length") == "1000"


def test_a_head_answer_keeps_its_length_and_an_odd_protocol_is_stored_as_http_1_1() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
    stored = response_message(
        protocol="HTTP/1.1",
        status=200,
        reason=None,
        headers=[],
        body_length=0,
        method="HEAD",
        head=head,
    )
    assert stored.to_ascii_bytes() == head
    odd = b"HTTP/2.0 200 OK\r\nX: y\r\n\r\n"
    stored = response_message(
        protocol="HTTP/2.0", status=200, reason=None, headers=[], body_length=0, head=odd
    )
    assert stored.to_ascii_bytes() == b"HTTP/1.1 200 OK\r\nX: y\r\n\r\n"


def test_an_incomplete_head_falls_back_to_the_parsed_headers() -> None:
    assert RawHead.parse(b"HTTP/1.1 200 OK\r\nX: y\r\n") is None
    stored = response_message(
        protocol="HTTP/1.1",
        status=404,
        reason=None,
        headers=[("X", "y")],
        body_length=0,
        head=b"HTTP/1.1 404 Gone\r\n",
    )
    assert stored.to_ascii_bytes() == b"HTTP/1.1 404 Not Found\r\nX: y\r\n\r\n"
    request = request_message("http://site.test/a?b", "get", [("Accept", "*/*")], "HTTP/1.1")
    assert (
        request.to_ascii_bytes() == b"GET /a?b HTTP/1.1\r\nHost: site.test\r\nAccept: */*\r\n\r\n"
    )
