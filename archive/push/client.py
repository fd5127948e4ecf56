"""The wiki's server, one upsert at a time and politely: paced under its rate limit,
waiting out a 429 as its Retry-After asks (up to a cap), retrying a 5xx or a failed
connection with exponential backoff.

The key goes in one place only, the ``Authorization`` header of a request to the address
given: never into a message, an exception or a log line (a server that echoes it back has
it replaced by ``[key]``), never after a redirect (one is refused, not followed).
"""

from __future__ import annotations

import email.message
import email.utils
import http.client
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

#: The endpoint taking one citation_content row.
UPSERT_PATH = "/api/citations/content/upsert"
#: Answers that say no row can go through (the key, the address): the push stops.
FATAL = {401, 403, 404, 405, 407}


class ServerTrouble(RuntimeError):
    """The push cannot go on now: the key refused, a wrong address, a server still failing."""


class Stopped(RuntimeError):
    """Asked to stop (SIGINT, SIGTERM) while waiting to retry."""


@dataclass
class Manners:
    """How hard to push (the wiki's server allows about 200 writes a minute)."""

    per_minute: float = 180.0  # 0: as fast as it answers
    max_wait: float = 300.0  # the longest Retry-After honoured; a longer one waits this long
    backoff: float = 2.0  # the first wait after a 5xx or a failed connection, then doubled
    retries: int = 4  # of one row, after a 5xx or a failed connection
    rate_limited: int = 10  # 429s in a row for one row before the push stops
    timeout: float = 120.0


@dataclass
class Answer:
    """What became of one row: ``sent``, ``rejected`` (a 4xx: the server's word on it) or
    ``failed`` (the server kept failing on it)."""

    outcome: str
    status: int | None
    message: str = ""


def endpoint_of(server: str) -> str:
    """The upsert address of a server given as its base URL (or as that address itself)."""
    base = server.strip().rstrip("/")
    return base if base.endswith(UPSERT_PATH) else base + UPSERT_PATH


def check_server(server: str, allow_http: bool = False) -> str:
    """``server`` as a base URL, or ValueError: plain http only to this machine, since
    the key travels with every request."""
    parts = urlsplit(endpoint_of(server))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--server {server!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("--server takes the server's address alone (no credentials or query)")
    if parts.scheme == "http" and not allow_http and not _loopback(parts.hostname):
        raise ValueError(
            f"refusing to send the key in clear to {parts.hostname} over http: use https "
            "(or --allow-http)"
        )
    return endpoint_of(server).removesuffix(UPSERT_PATH)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After asks for: delay-seconds or an HTTP date (None: unreadable)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _seconds(value: float) -> str:
    return f"{round(value, 1):g}"


def redact(text: str, key: str) -> str:
    return text.replace(key, "[key]") if key else text


def server_message(body: bytes, key: str) -> str:
    """The server's word on a refused row, on one line: its JSON ``error`` and ``message``
    (the wiki's server answers so), else the text of the answer."""
    try:
        doc: Any = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and (doc.get("error") or doc.get("message")):
        text = ": ".join(str(doc[k]) for k in ("error", "message") if doc.get(k))
    else:
        text = body.decode("utf-8", "replace")
    return redact(" ".join(text.split())[:500], key) or "(no message)"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is (an error), never followed with the key."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WikiServer:
    """The wiki's server at ``base``, spoken to with ``key``. ``say`` is told what waits
    and retries happen; ``stop`` says when to give up waiting."""

    def __init__(
        self,
        base: str,
        key: str,
        manners: Manners,
        *,
        user_agent: str,
        say: Callable[[str], None] = lambda _: None,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.endpoint = endpoint_of(base)
        self._key = key
        self.manners = manners
        self._say, self._stop = say, stop
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._last = float("-inf")

    def upsert(self, payload: bytes) -> Answer:
        """Send one row until the server has answered it for good."""
        failures = limited = 0
        while True:
            self._pace()
            status, headers, body = self._post(payload)
            if status is not None and 200 <= status < 300:
                return Answer("sent", status)
            if status == 429:
                limited += 1
                if limited >= self.manners.rate_limited:
                    raise ServerTrouble(f"still rate-limited (HTTP 429) after {limited} tries")
                asked = retry_after(headers.get("Retry-After"))
                wait = min(self.manners.max_wait, self.manners.backoff if asked is None else asked)
                self._wait(wait, f"rate-limited (HTTP 429): waiting {_seconds(wait)} s")
                continue
            if status is None or status >= 500:
                what = f"HTTP {status}" if status else server_message(body, self._key)
                if failures >= self.manners.retries:
                    return Answer("failed", status, f"{what} after {failures} retries")
                wait = min(self.manners.max_wait, self.manners.backoff * 2**failures)
                failures += 1
                self._wait(wait, f"server trouble ({what}): retry {failures} in {_seconds(wait)} s")
                continue
            return self._refused(status, headers, body)

    def _refused(self, status: int, headers: email.message.Message, body: bytes) -> Answer:
        message = server_message(body, self._key)
        if status in FATAL:
            raise ServerTrouble(f"{self.endpoint} answered HTTP {status}: {message}")
        if 300 <= status < 400:
            where = redact(headers.get("Location") or "elsewhere", self._key)
            raise ServerTrouble(
                f"{self.endpoint} redirects (HTTP {status}) to {where}: give that as --server"
            )
        return Answer("rejected", status, message)

    def _post(self, payload: bytes) -> tuple[int | None, email.message.Message, bytes]:
        headers = self._headers | {"Authorization": f"Bearer {self._key}"}
        request = urllib.request.Request(self.endpoint, payload, headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.manners.timeout) as answer:
                return answer.status, answer.headers, answer.read(1 << 16)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read(1 << 16)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            return None, email.message.Message(), f"no answer: {reason}".encode()

    def _pace(self) -> None:
        if self.manners.per_minute > 0:
            gap = 60.0 / self.manners.per_minute - (time.monotonic() - self._last)
            if gap > 0:
                self._wait(gap)
        self._last = time.monotonic()

    def _wait(self, seconds: float, why: str | None = None) -> None:
        if why:
            self._say(why)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._stop():
                raise Stopped("asked to stop")
            time.sleep(min(left, 0.2))
