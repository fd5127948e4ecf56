"""``archive`` run as a command, and ``archive serve`` started and stopped, for the tests
that read the viewer and the replay server over HTTP or in a browser.

Tests import this module as ``servers`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path

from warctools import free_port

#: The ``archive`` command of the running interpreter's environment.
ARCHIVE = str(Path(sys.executable).parent / "archive")


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [ARCHIVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def serve_command(viewer: int, replay: int) -> list[str]:
    return [ARCHIVE, "serve", "--port", str(viewer), "--replay-port", str(replay)]


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def plain(self) -> str:
        """The page's text without tags, entities decoded, whitespace collapsed."""
        text = re.sub(r"(?s)<(head|script|style)\b.*?</\1>", " ", self.text)
        return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


class Server:
    """``archive serve`` in its own process group (the replay server is its child)."""

    def __init__(self, home: Path, log: Path, env: dict[str, str]) -> None:
        self.viewer, self.replay = free_port(), free_port()
        while self.replay == self.viewer:
            self.replay = free_port()
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                serve_command(self.viewer, self.replay),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"archive serve exited:\n{self.output()}")
            try:
                if get(self.viewer, "/").status == 200 and get(self.replay, "/").status < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"archive serve did not answer:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # serve stops its replay child itself
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
