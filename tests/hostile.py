"""Servers that misbehave on purpose, and a process tree's memory, for tests.

``RawServer`` is a plain socket server writing exact bytes (no HTTP library between the
test and the wire), one thread per connection, so that a route which never ends holds up
no other. Its routes are bytes to write, or writers that stream: a body from a file (the
decompression bombs, built once per test session), a body without end, a body that stops
half-way and leaves the connection open. ``run_measured`` runs a command and samples the
summed resident memory of it and its descendants, as a crawl of such a server must stay
within bounds.

Tests import this module as ``hostile`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: A route that writes its own answer: given the connection and an event set when the
#: server stops (a route that waits must wake up on it).
Writer = Callable[[socket.socket, threading.Event], None]

NOT_FOUND = b"HTTP/1.0 404 Nope\r\nContent-Length: 0\r\n\r\n"
GIB = 1 << 30
MIB = 1 << 20
_PIECE = 64 * 1024


class RawServer:
    """A plain socket server on a loopback port: reads a request head, answers with a
    route's exact bytes (or lets the route write what it likes), closes. ``received``
    maps each path to the request heads it read, byte for byte."""

    def __init__(
        self, routes: Mapping[str, bytes | Writer], tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes = dict(routes)
        self.tls = tls
        self.stopping = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received: dict[str, list[bytes]] = {}
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        if self.tls:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                conn.close()
                return
        with self._lock:
            self._conns.add(conn)
        try:
            with conn:
                head = b""
                while b"\r\n\r\n" not in head and (data := conn.recv(65536)):
                    head += data
                path = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else ""
                with self._lock:
                    self.received.setdefault(path, []).append(head)
                # a proxy is asked for the absolute URI
                route = self.routes.get(urlsplit(path).path, NOT_FOUND)
                if isinstance(route, bytes):
                    conn.sendall(route)
                else:
                    route(conn, self.stopping)
        except OSError:  # the client hung up: what hostile routes wait for
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def response_head(status: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- hostile routes ----------------------------------------------------------------------


def file_body(path: Path, headers: Sequence[tuple[str, str]]) -> Writer:
    """``200 OK`` with the file's bytes as the body (with its Content-Length), streamed."""
    head = response_head("200 OK", [*headers, ("Content-Length", str(path.stat().st_size))])

    def write(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(head)
        with open(path, "rb") as fh:
            while (piece := fh.read(_PIECE)) and not stopping.is_set():
                conn.sendall(piece)

    return write


def endless(piece: bytes = b"<p>more</p>\n") -> Writer:
    """An HTML page without a length that never ends: ``piece`` after ``piece`` until the
    client hangs up (or the server stops)."""
    head = response_head(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Connection", "close")]
    )
    block = piece * (_PIECE // len(piece))

    def write(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(head + b"<!doctype html><title>Endless</title>\n")
        while not stopping.is_set():
            conn.sendall(block)

    return write


def stalls(sent: bytes = b"<!doctype html><title>Stalled</title>", length: int = 10000) -> Writer:
    """A page announcing ``length`` bytes that sends its head and ``sent``, then nothing
    more, never closing the connection (until the server stops)."""
    head = response_head(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(length))]
    )

    def write(conn: socket.socket, stopping: threading.Event) -> None:
        conn.sendall(head + sent)
        stopping.wait()

    return write


# -- decompression bombs -------------------------------------------------------------------


def _deflate_pieces(size: int) -> Iterator[bytes]:
    """Raw deflate of ``size`` zero bytes (whole MiB), streamed: one MiB compressed with
    zlib.compressobj, ended by a full flush (byte-aligned, nothing referred to before it),
    so that the same piece may follow itself; then the final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    for _ in range(size // MIB):
        yield piece
    yield compressor.flush()


def _zeros_checksum(size: int, checksum: Callable[[bytes, int], int], start: int) -> int:
    value, zeros = start, bytes(MIB)
    for _ in range(size // MIB):
        value = checksum(zeros, value)
    return value


def write_gzip_bomb(path: Path, size: int = GIB) -> Path:
    """A gzip member (``Content-Encoding: gzip``) of ``size`` zero bytes: ~1 MB per GiB."""
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        for piece in _deflate_pieces(size):
            out.write(piece)
        crc = _zeros_checksum(size, zlib.crc32, 0)
        out.write(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return path


def write_deflate_bomb(path: Path, size: int = GIB) -> Path:
    """A zlib stream (``Content-Encoding: deflate``, RFC 9110) of ``size`` zero bytes."""
    with open(path, "wb") as out:
        out.write(b"\x78\xda")
        for piece in _deflate_pieces(size):
            out.write(piece)
        out.write(struct.pack(">I", _zeros_checksum(size, zlib.adler32, 1)))
    return path


def _sparse_noise(size: int) -> Iterator[bytes]:
    """``size`` bytes (whole MiB) of zeros with a random byte every 4 KiB: brotli makes
    ~1 MB of a GiB of it, where a GiB of zeros is 2 KB that any decoder given it in one
    call (warcio's, over brotlipy) must inflate in one piece."""
    rng = random.Random(1)
    for _ in range(size // MIB):
        chunk = bytearray(MIB)
        chunk[::4096] = rng.randbytes(MIB // 4096)
        yield bytes(chunk)


def write_brotli_bomb(path: Path, size: int = GIB) -> Path:
    """A brotli stream (``Content-Encoding: br``) inflating to ``size`` bytes."""
    import brotli  # pywb's brotlipy where it is installed, Google's Brotli otherwise

    compressor = brotli.Compressor(quality=1)
    # brotlipy's Compressor compresses, Google's processes (pywb, which brings brotlipy,
    # lives in the replay server's own environment: .venv-replay)
    compress = getattr(compressor, "compress", None) or compressor.process
    with open(path, "wb") as out:
        for chunk in _sparse_noise(size):
            out.write(compress(chunk))
        out.write(compressor.finish())
    return path


def write_zstd_bomb(path: Path, size: int = GIB) -> Path:
    """A zstd frame (``Content-Encoding: zstd``) of ``size`` zero bytes."""
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:  # before Python 3.14: the backport Scrapy depends on
        from backports import zstd  # type: ignore[import-not-found,no-redef]

    compressor = zstd.ZstdCompressor()
    zeros = bytes(MIB)
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(compressor.compress(zeros))
        out.write(compressor.flush())
    return path


#: Content-Encoding -> how its bomb is built.
BOMBS: dict[str, Callable[[Path], Path]] = {
    "gzip": write_gzip_bomb,
    "deflate": write_deflate_bomb,
    "br": write_brotli_bomb,
    "zstd": write_zstd_bomb,
}


# -- a process tree's memory -----------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found.setdefault(parent, []).append(int(entry))
    return found


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, summed (from /proc)."""
    children = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss(pid)
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    #: the highest summed VmRSS of the process and its descendants seen, in bytes
    peak_rss: int
    seconds: float


def run_measured(
    args: Sequence[str | Path], timeout: float = 120, interval: float = 0.05
) -> Measured:
    """Run ``args`` to its end, sampling its process tree's memory every ``interval``
    seconds. Past ``timeout`` the process group it leads is killed and TimeoutError raised."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(a) for a in args], stdout=out, stderr=err, start_new_session=True
        )
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            if time.monotonic() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise TimeoutError(f"{args[0]} still running after {timeout} s")
            time.sleep(interval)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            peak,
            seconds,
        )
