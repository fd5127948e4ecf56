"""``fetch`` and XHR from replayed documents, which the sandbox makes cross-origin.

Every replayed document has an opaque origin (the replay origin's CSP sandbox), so what
its scripts ask for with ``fetch`` or ``XMLHttpRequest`` (the JSON a page builds its text
from) is a CORS request to the replay origin, with ``Origin: null`` and no ``Referer`` (a
browser sends none from an opaque origin), which the replay server cannot tell from a
request of some page elsewhere. So each replay server has a secret (:class:`ReplayToken`):
a small script it injects into every replayed page (through pywb's ``inject_scripts``)
adds it, in an ``X-Archive-Replay`` header, to the page's requests to the replay origin,
and only a request carrying it is shared (``Access-Control-Allow-Origin: null``).

The script is made for the host it is asked for, and does nothing unless the document
running it is on that host (``location.host``, which no script can forge): a page
elsewhere that loads it learns nothing, since it returns before touching anything that
page could have replaced. The preflight a custom header brings is answered for any
``Origin: null`` request: it grants nothing but sending the real request, which the
token decides.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

#: the script's name under pywb's static prefix (``/static/``)
SCRIPT = "archive-replay.js"
HEADER = "X-Archive-Replay"
_ENVIRON_HEADER = "HTTP_X_ARCHIVE_REPLAY"

_SOURCE = """(function () {
  if (location.host !== %(host)s) { return; }
  var token = %(token)s, header = %(header)s, host = %(host)s;
  function ours(url) {
    try { return new URL(String(url), location.href).host === host; } catch (e) { return false; }
  }
  var originalFetch = window.fetch;
  if (originalFetch) {
    window.fetch = function (input, init) {
      var url = (input && input.url) || input;
      if (!ours(url)) { return originalFetch.apply(this, arguments); }
      var options = Object.assign({}, init || {});
      var headers = new Headers(options.headers || (input && input.headers) || undefined);
      headers.set(header, token);
      options.headers = headers;
      return originalFetch.call(this, input, options);
    };
  }
  var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__archiveReplayOurs = ours(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.__archiveReplayOurs) {
      try { this.setRequestHeader(header, token); } catch (e) { /* not opened */ }
    }
    return send.apply(this, arguments);
  };
})();
"""


class ReplayToken:
    """One replay server's secret, and what it answers with."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)

    def script(self, host: str) -> bytes:
        """The injected script, for documents on ``host`` (the request's Host)."""
        values = {"host": json.dumps(host), "token": json.dumps(self.token)}
        values["header"] = json.dumps(HEADER)
        return (_SOURCE % values).encode()

    def carried_by(self, environ: dict[str, Any]) -> bool:
        """Whether the request carries this server's token."""
        given = environ.get(_ENVIRON_HEADER, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())


def preflight_headers(environ: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The answer to a CORS preflight from a sandboxed document (``Origin: null``) that
    asks to send the token header; None for any other request."""
    if environ.get("REQUEST_METHOD") != "OPTIONS" or environ.get("HTTP_ORIGIN") != "null":
        return None
    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
    if HEADER.lower() not in [h.strip().lower() for h in asked.split(",")]:
        return None
    method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "GET")
    return [
        ("Access-Control-Allow-Origin", "null"),
        ("Access-Control-Allow-Methods", method),
        ("Access-Control-Allow-Headers", asked),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
        ("Content-Length", "0"),
    ]
