"""The replay origin: pywb's FrontEndApp over the archive's WARC folder, run in its own
process (``python -m archive.web.replay_server``) by ``archive serve``.

Its own process because pywb monkey-patches the standard library for gevent as soon as
its apps are imported, which the viewer's database drivers must never see; and its own
port, so archived pages live on an origin other than the viewer's. Every response is
additionally sandboxed by a CSP header and loses its ``Set-Cookie``: cookies are scoped
to a host, not a port, and an archived page must not plant any that the viewer's host
would see.

The sandbox gives every replayed document an opaque origin, so to the browser even the
replay origin is another origin: what a page loads in CORS mode (web fonts, module
scripts, ``fetch``) is refused unless the answer allows it. Such a request says
``Origin: null``; it is allowed when its ``Referer`` is on this origin, which a browser
sends only from a document replayed here (``Referrer-Policy: same-origin``: no page
elsewhere learns a replay address, and no page elsewhere can claim one). A document's own
``fetch`` and XHR carry no ``Referer`` from an opaque origin: they carry this server's
secret instead (``archive.web.replay_fetch``).
"""

from gevent import monkey

monkey.patch_all()  # before anything else imports socket or threading: pywb needs it

import argparse  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import yaml  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from archive.web.hosts import HostCheck  # noqa: E402
from archive.web.replay import COLLECTION, ReplayIndex  # noqa: E402
from archive.web.replay_fetch import SCRIPT, ReplayToken, preflight_headers  # noqa: E402

log = logging.getLogger("archive.web.replay_server")

#: Archived scripts may run (pages need them to render), but in a unique opaque origin:
#: no cookies, no storage, no access to any other page, top-level or framed.
REPLAY_CSP = "sandbox allow-scripts"
_DROPPED = {"set-cookie", "set-cookie2"}
# A crawl closing a WARC is seen by the next replay request at most this much later.
_REFRESH_INTERVAL = 0.5

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def pywb_config(index: ReplayIndex) -> dict[str, Any]:
    return {
        "debug": False,
        # The viewer frames each memento itself; pywb's own top frame is not wanted.
        "framed_replay": False,
        # Only the one collection below: nothing is discovered from the working folder.
        "enable_auto_colls": False,
        # Memento (RFC 7089): a TimeGate at /archive/<url>, TimeMaps at
        # /archive/timemap/link/<url>, Memento-Datetime and Link headers on every memento,
        # so Memento clients and the wiki's tools can ask for "this URL as of a date".
        "enable_memento": True,
        # Lets a replayed page's own fetch and XHR through the sandbox (replay_fetch).
        "inject_scripts": [SCRIPT],
        "collections_root": str(index.state_dir / "collections"),
        "collections": {
            COLLECTION: {
                "index_paths": str(index.path),
                "archive_paths": str(index.warc_dir) + os.sep,
            }
        },
    }


class ReplayOrigin:
    """pywb behind a thin wrapper: known hosts only, a fresh index, sandboxed responses,
    no cookies."""

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        index: ReplayIndex,
        hosts: HostCheck,
        token: ReplayToken | None = None,
    ) -> None:
        self.app = app
        self.index = index
        self.hosts = hosts
        self.token = token or ReplayToken()
        self._checked = 0.0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not self.hosts.allows(environ.get("HTTP_HOST")):
            start_response("421 Misdirected Request", [("Content-Type", "text/plain")])
            return [b"This replay server does not answer for that host.\n"]
        now = time.monotonic()
        if now - self._checked >= _REFRESH_INTERVAL:
            self._checked = now
            try:
                self.index.refresh()
            except OSError:
                log.exception("replay index refresh failed; serving the previous index")

        if environ.get("PATH_INFO") == f"/static/{SCRIPT}":
            script = self.token.script(environ.get("HTTP_HOST", ""))
            headers = [("Content-Type", "text/javascript"), ("Cache-Control", "no-store")]
            start_response("200 OK", headers)
            return [script]
        preflight = preflight_headers(environ)
        if preflight is not None:
            start_response("204 No Content", preflight)
            return []
        shared = _shared_with(environ) or (
            environ.get("HTTP_ORIGIN") == "null" and self.token.carried_by(environ)
        )

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
            kept.append(("Content-Security-Policy", REPLAY_CSP))
            kept.append(("Referrer-Policy", "same-origin"))
            kept.append(("Vary", "Origin"))
            if shared:
                kept.append(("Access-Control-Allow-Origin", "null"))
            return start_response(status, kept, exc_info)

        return self.app(environ, start)


def _shared_with(environ: Environ) -> bool:
    """Whether a CORS request comes from a document replayed here: one in the sandbox
    (``Origin: null``) whose ``Referer`` is on this origin."""
    if environ.get("HTTP_ORIGIN") != "null":
        return False
    own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}/"
    return environ.get("HTTP_REFERER", "").startswith(own)


def _watch_parent(parent: int) -> None:
    # `archive serve` may die without a chance to stop us (SIGKILL): follow it.
    while os.getppid() == parent:
        gevent.sleep(1)
    log.info("archive serve is gone; stopping the replay server")
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--warcs", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--allow-host", action="append", default=[], help="Host name to serve.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="replay: %(message)s", stream=sys.stderr)

    index = ReplayIndex(args.warcs.absolute(), args.state.absolute())
    index.state_dir.mkdir(parents=True, exist_ok=True)
    index.refresh()
    config_file = index.state_dir / "config.yaml"
    config_file.write_text(yaml.safe_dump(pywb_config(index)))
    # pywb reads templates and config relative to the working folder: make that ours.
    os.chdir(index.state_dir)
    os.environ.pop("PYWB_CONFIG_FILE", None)

    from pywb.apps.frontendapp import FrontEndApp

    app = ReplayOrigin(FrontEndApp(config_file=str(config_file)), index, HostCheck(args.allow_host))
    server = WSGIServer((args.host, args.port), app, log=None)
    gevent.spawn(_watch_parent, os.getppid())
    log.info("replaying %s on http://%s:%d/%s/", index.warc_dir, args.host, args.port, COLLECTION)
    # Ctrl-C reaches the whole process group; `archive serve` is the one that reports it.
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
