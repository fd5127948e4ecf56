"""A small headless Chromium for tests: Debian's chromium driven by its chromedriver over
the plain W3C WebDriver protocol (JSON over HTTP, with urllib), so no Selenium is needed.

    with Browser(tmp_path) as browser:
        browser.get("http://127.0.0.1:8600/")
        title = browser.execute("return document.title")

Tests import this module as ``browser`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = os.environ.get("ARCHIVE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ARCHIVE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Quiet and self-contained: no network of its own, no first-run UI, no sync or updates.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]
#: The W3C key under which an element reference travels.
ELEMENT = "element-6066-11e4-a52e-4f735466cecc"


def missing() -> str | None:
    """Why no browser can be started here, or None when one can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} is not installed (apt-get install -y chromium chromium-driver)"
    return None


class WebDriverError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One chromedriver process and one browser session, for one test."""

    def __init__(
        self, workdir: Path, startup_timeout: float = 30, args: tuple[str, ...] = ()
    ) -> None:
        """``args``: more Chromium switches, after (and so overriding) ``CHROMIUM_ARGS``."""
        self.workdir = Path(workdir)
        self.startup_timeout = startup_timeout
        self.args = args
        self.port = 0
        self.session = ""
        self._driver: subprocess.Popen[bytes] | None = None

    # -- lifecycle
    def start(self) -> Browser:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        log = open(self.workdir / "chromedriver.log", "wb")  # noqa: SIM115 - child keeps it
        self._driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its browser processes go down with it
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self._driver.poll() is not None:
                self.stop()
                raise WebDriverError(f"chromedriver did not start: {self.log()[-2000:]}")
            time.sleep(0.1)
        options = {
            "binary": CHROMIUM,
            "args": [*CHROMIUM_ARGS, *self.args, f"--user-data-dir={self.workdir / 'profile'}"],
        }
        caps = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        self.session = self._call("POST", "/session", {"capabilities": caps})["sessionId"]
        return self

    def stop(self) -> None:
        if self.session:
            with contextlib.suppress(OSError, WebDriverError):
                self._call("DELETE", f"/session/{self.session}")
            self.session = ""
        driver, self._driver = self._driver, None
        if driver is None or driver.poll() is not None:
            return
        os.killpg(driver.pid, signal.SIGTERM)
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()

    def __enter__(self) -> Browser:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        path = self.workdir / "chromedriver.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- the protocol
    def _call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:  # WebDriver errors come as JSON with a status
            detail = json.loads(exc.read() or b"{}").get("value", {})
            raise WebDriverError(f"{detail.get('error')}: {detail.get('message')}") from exc
        return payload.get("value")

    def _session(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    # -- what tests use
    def get(self, url: str) -> None:
        """Load ``url`` and wait for its load event (frames included)."""
        self._session("POST", "/url", {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: use ``return``) in the current frame."""
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> dict[str, str]:
        return self._session("POST", "/element", {"using": "css selector", "value": css})

    def enter_frame(self, css: str) -> None:
        """Switch into the frame ``css`` finds; works across origins (site isolation)."""
        self._session("POST", "/frame", {"id": self.find(css)})

    def leave_frames(self) -> None:
        self._session("POST", "/frame", {"id": None})

    def wait_for(self, script: str, timeout: float = 10, interval: float = 0.1) -> Any:
        """Poll ``script`` in the current frame until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.execute(script)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def add_cookie(self, name: str, value: str) -> None:
        """A cookie for the current page's host (cookies ignore ports)."""
        self._session("POST", "/cookie", {"cookie": {"name": name, "value": value, "path": "/"}})

    def screenshot(self, path: Path) -> Path:
        import base64

        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))
        return path
