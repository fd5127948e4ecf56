"""The real WARC tools, driven as a user would: ``warcio check``/``index``, ``cdxj-indexer``,
and pywb's ``wayback`` replaying a collection over HTTP.

Tests import this module as ``warctools`` (``tests/`` is on ``sys.path``). Everything runs
the command-line programs installed next to the test interpreter, as subprocesses, so a
test exercises the same code paths as an operator's shell. ``ConversionWriter`` adds a
record type the crawler never writes, to check that readers and indexers keep it apart.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from archive.warc.records import WrittenRecord, target_uri_of
from archive.warc.writer import WarcWriter

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a console script installed in the test interpreter's environment, or (pywb's
    ``wayback`` and ``wb-manager``) in the replay server's own (archive.web.server)."""
    from archive.web.server import REPLAY_VENV

    for folder in (BIN, REPLAY_VENV / "bin"):
        if (folder / name).exists():
            return str(folder / name)
    where = f"next to {sys.executable} nor in {REPLAY_VENV}"
    raise FileNotFoundError(f"{name} is installed neither {where}")


def run(
    *args: str | Path, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def warcio_check(paths: Iterable[Path]) -> subprocess.CompletedProcess:
    """``warcio check -v``: every record parses and every block/payload digest matches."""
    return run(tool("warcio"), "check", "-v", *paths)


def assert_warcio_check(paths: Iterable[Path]) -> str:
    paths = list(paths)
    assert paths, "no WARC files to check"
    result = warcio_check(paths)
    assert result.returncode == 0, f"warcio check failed:\n{result.stdout}\n{result.stderr}"
    assert "digest failed" not in result.stdout, result.stdout
    return result.stdout


def warcio_index(
    paths: Iterable[Path], fields: str = "warc-type,warc-record-id,warc-target-uri,offset,length"
) -> list[dict[str, str]]:
    """``warcio index``: one JSON object per record, all record types."""
    result = run(tool("warcio"), "index", "-f", fields, *paths)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@dataclass(frozen=True)
class CdxjLine:
    urlkey: str
    timestamp: str
    fields: dict[str, str]


def cdxj_index(paths: Iterable[Path], *extra: str) -> list[CdxjLine]:
    """``cdxj-indexer``: the index pywb and WACZ use (responses, revisits, metadata...)."""
    result = run(tool("cdxj-indexer"), *extra, *paths)
    assert result.returncode == 0, result.stderr
    lines = []
    for line in result.stdout.splitlines():
        if line.strip() and not line.startswith("!"):
            urlkey, timestamp, data = line.split(" ", 2)
            lines.append(CdxjLine(urlkey, timestamp, json.loads(data)))
    return lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Replayed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class Wayback:
    """pywb's ``wayback`` serving one collection built from WARC files, on a free port.

    The collection is made with ``wb-manager init`` and indexed with ``wb-manager
    reindex`` (pywb's own indexer, the one its autoindex uses). Files are linked, not
    copied, so what is replayed is exactly what was written.

        with Wayback(tmp_path / "pywb", warc_files) as wb:
            page = wb.get(url, timestamp)
    """

    def __init__(
        self,
        root: Path,
        warc_files: Iterable[Path],
        collection: str = "test",
        startup_timeout: float = 30,
    ) -> None:
        self.root = Path(root)
        self.collection = collection
        self.warc_files = [Path(p).absolute() for p in warc_files]
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path = self.root / "wayback.log"

    def build(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        result = run(tool("wb-manager"), "init", self.collection, cwd=self.root)
        assert result.returncode == 0, result.stderr
        archive = self.root / "collections" / self.collection / "archive"
        for path in self.warc_files:
            (archive / path.name).symlink_to(path)
        result = run(tool("wb-manager"), "reindex", self.collection, cwd=self.root)
        assert result.returncode == 0, result.stderr

    def index_lines(self) -> list[str]:
        indexes = self.root / "collections" / self.collection / "indexes"
        return [
            line
            for p in sorted(indexes.glob("*.cdxj"))
            for line in p.read_text().splitlines()
            if line.strip()
        ]

    def start(self) -> None:
        self.build()
        self.port = free_port()
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                [tool("wayback"), "-p", str(self.port), "-b", "127.0.0.1"],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its gevent workers go down with it
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"wayback exited:\n{self._log.read_text()}")
            try:
                if self.request("/").status < 500:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"wayback did not answer in {self.startup_timeout}s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> Wayback:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def request(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 20
    ) -> Replayed:
        """A raw GET: no decompression and no redirect following, so bytes are as served."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=dict(headers or {}))
            response = conn.getresponse()
            body = response.read()  # raises IncompleteRead if Content-Length lies
            return Replayed(response.status, response.getheaders(), body)
        finally:
            conn.close()

    def get(
        self,
        url: str,
        timestamp: str,
        modifier: str = "id_",
        headers: Mapping[str, str] | None = None,
    ) -> Replayed:
        """The memento of ``url`` closest to ``timestamp``; ``id_`` means as archived,
        without pywb's rewriting."""
        return self.request(f"/{self.collection}/{timestamp}{modifier}/{url}", headers)


#: Where Browsertrix stores a page's extracted text: a ``urn:`` keeps it out of the
#: page URL's lookups, as ``urn:metadata:`` does for our metadata records.
CONVERSION_URI_PREFIX = "urn:text:"


class ConversionWriter(WarcWriter):
    """A writer that can also write ``conversion`` records (text extracted from a
    response), as other tools put in the WARCs we read."""

    def write_conversion(
        self,
        target_uri: str,
        refers_to: str,
        date: datetime | None,
        text: str,
        content_type: str = "text/plain; charset=utf-8",
    ) -> WrittenRecord:
        """A ``conversion`` record: text extracted from the response ``refers_to``, stored
        under ``urn:text:<url>``."""
        target_uri = CONVERSION_URI_PREFIX + target_uri_of(target_uri)
        return self._write_block(
            "conversion", target_uri, refers_to, date, text.encode("utf-8"), content_type, None
        )
