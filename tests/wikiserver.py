"""A stand-in for the wiki's server: ``POST /api/citations/content/upsert`` with the
schema, limits, bearer key and rate limiting of the real one, strict where it is lenient,
and a few ways of misbehaving on cue."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/api/citations/content/upsert"
#: zod's ``z.string().datetime()``: an ISO instant in UTC, ``Z`` and nothing else.
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
#: The short string fields and their limits, in JavaScript characters (UTF-16 units).
SHORT = {
    "url": 2000,
    "resourceId": 200,
    "contentType": 200,
    "pageTitle": 1000,
    "contentHash": 64,
    "fetchMethod": 50,
}
TEXT_BYTES = {"fullTextPreview": 50 * 1024, "fullText": 5 * 1024 * 1024}
INTEGERS = ("httpStatus", "contentLength")


def js_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def schema_problems(body: Any) -> list[str]:
    """What the wiki's UpsertCitationContentSchema (and PostgreSQL behind it) would refuse,
    and any field it does not know (it would drop those; we never send any)."""
    if not isinstance(body, dict):
        return ["not an object"]
    known = {*SHORT, *TEXT_BYTES, *INTEGERS, "fetchedAt"}
    problems = [f"unknown field {name}" for name in body if name not in known]
    url = body.get("url")
    if not isinstance(url, str) or not 1 <= js_length(url) <= 2000:
        problems.append("url must be 1 to 2000 characters")
    if not isinstance(body.get("fetchedAt"), str) or not INSTANT.match(body["fetchedAt"]):
        problems.append("fetchedAt must be an ISO datetime in UTC")
    for name, limit in SHORT.items():
        value = body.get(name)
        bad = not isinstance(value, str) or js_length(value) > limit
        if name != "url" and value is not None and bad:
            problems.append(f"{name} must be a string of at most {limit}")
    for name, limit in TEXT_BYTES.items():
        value = body.get(name)
        if value is not None and not (
            isinstance(value, str) and len(value.encode("utf-8")) <= limit and "\x00" not in value
        ):
            problems.append(f"{name} must be a string of at most {limit} bytes, no NUL")
    for name in INTEGERS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{name} must be an integer")
    return problems


@dataclass
class Request:
    at: float
    status: int
    url: str | None


@dataclass
class WikiServer:
    """Rows land in ``landed`` (in order); ``requests`` logs every write asked for."""

    key: str
    #: Every n-th write is answered 429 with a Retry-After (every other time an HTTP date).
    limit_every: int = 50
    retry_after: int = 1
    #: Writes answered 500 (each once), counted from 1.
    fail_at: set[int] = field(default_factory=set)
    #: Answer 503 to everything (a server down for maintenance).
    down: bool = False
    #: URLs containing this are refused as the server refuses a row (422), with a message
    #: that carries the request's Authorization header back.
    refuse: str = "/refused/"
    #: Called with each landed row before it is answered; may kill the client.
    on_land: Callable[[dict[str, Any]], None] | None = None
    landed: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> WikiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def landings(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.landed:
            counts[row["url"]] = counts.get(row["url"], 0) + 1
        return counts

    def answer(self, auth: str | None, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        if auth != f"Bearer {self.key}":
            return 401, {}, {"error": "unauthorized", "message": "Invalid or missing API key"}
        with self.lock:
            number = len(self.requests) + 1
            self.requests.append(Request(time.monotonic(), 0, None))
        status, headers, body = self._answer(number, auth, raw)
        self.requests[number - 1].status = status
        return status, headers, body

    def _answer(
        self, number: int, auth: str, raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {}, {"error": "invalid_json", "message": "Request body must be valid JSON"}
        url = body.get("url") if isinstance(body, dict) else None
        self.requests[number - 1].url = url
        if self.limit_every and number % self.limit_every == 0:
            return 429, {"Retry-After": self._retry_after(number)}, {"error": "rate_limited"}
        if self.down or number in self.fail_at:
            return (503 if self.down else 500), {}, {"error": "internal", "message": "db down"}
        problems = schema_problems(body)
        if problems:
            return 400, {}, {"error": "validation_error", "message": "; ".join(problems)}
        if self.refuse in url:
            message = f"url not accepted here (request had Authorization: {auth})"
            return 422, {}, {"error": "validation_error", "message": message}
        if self.on_land is not None:
            self.on_land(body)
        with self.lock:
            self.landed.append(body)
        return 200, {}, {"url": url}

    def _retry_after(self, number: int) -> str:
        if (number // self.limit_every) % 2:
            return str(self.retry_after)
        when = datetime.now(UTC) + timedelta(seconds=self.retry_after + 1)
        return format_datetime(when, usegmt=True)


def _handler(server: WikiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != PATH:
                status, headers, body = 404, {}, {"error": "not_found"}
            else:
                status, headers, body = server.answer(self.headers.get("Authorization"), raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
