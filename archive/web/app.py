"""The viewer's WSGI app: routes, each a lookup (``queries``) → load (``records``) →
present (templates) in a few lines, and the headers that keep archived bytes harmless.

Nothing archived is ever served here as a document: pages are replayed by the replay
server on another origin inside a sandboxed frame, payloads are downloads, templates
escape everything, and the viewer's own pages allow no script at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from archive.inspect.card import (
    PREVIEW_CHARS,
    cut_at_word,
    fetched_on,
    footer,
    kb,
    preview_section,
)
from archive.inspect.history import outcome, text_diff
from archive.inspect.payload import NoPayload, capture_payload, original_of
from archive.inspect.prior import citing, prior_checks
from archive.registry.lookup import NotFound as UnknownId
from archive.rot.reports import parse_states, rot_report
from archive.store.db import Store
from archive.store.models import Capture, LinkState
from archive.warc.codings import decoded_cap
from archive.warc.stored import READ_ERRORS, Undecodable
from archive.web import downloads, listing, queries, records, screenshots, search
from archive.web.hosts import HostCheck, hostname_of, origin
from archive.web.replay import memento_path

#: What reading a capture's payload may raise when its record is unavailable or damaged.
UNREADABLE: tuple[type[Exception], ...] = (records.RecordUnavailable, *READ_ERRORS)

log = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

_ROUTES = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/resource/<path:ref>", endpoint="resource"),
        Rule("/capture/<capture_id>", endpoint="capture"),
        Rule("/capture/<capture_id>/payload", endpoint="payload"),
        Rule("/capture/<capture_id>/screenshot.png", endpoint="screenshot"),
        Rule("/diff/<a>/<b>", endpoint="diff"),
        Rule("/report", endpoint="report"),
        Rule("/search", endpoint="search"),
        Rule("/replay/<capture_id>", endpoint="replay"),
        Rule("/static/viewer.css", endpoint="stylesheet"),
    ],
    # `/resource/https://example.org/a` must keep its `//`.
    merge_slashes=False,
    strict_slashes=False,
)
_SAFE_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class Preview:
    """archive.inspect.card's preview section (the CLI's, from the last good capture) in
    its parts, so a page can style each: header line, the note saying later checks
    failed, the text, the ``... (truncated, N KB total)`` line."""

    head: str
    note: str | None = None
    text: str | None = None
    more: str | None = None


def preview_of(good: Capture | None, latest: Capture | None) -> Preview | None:
    if latest is None:
        return None
    lines = preview_section(good, latest).split("\n")
    if good is None:
        return Preview(lines[0])
    head, rest = lines[0], lines[1:]
    note = rest.pop(0) if latest.capture_id != good.capture_id else None
    text = good.full_text or ""
    more = rest.pop() if text and len(cut_at_word(text, PREVIEW_CHARS)) < len(text) else None
    return Preview(head, note, "\n".join(rest), more)


def _href(url: str | None) -> str | None:
    """A link to a URL from the archive, only if it is plain http(s) (never javascript:)."""
    return url if url and url.lower().startswith(_SAFE_SCHEMES) else None


def _is_pdf(s: Session, c: Capture) -> bool:
    """Whether the capture archived a PDF (a revisit: whether its original did)."""
    kind = c.content_type
    if kind is None and c.is_revisit:
        source = original_of(s, c)
        kind = source.content_type if source is not None else None
    return downloads.media_type(kind) == "application/pdf"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else ""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("archive.web", "templates"),
        autoescape=True,  # every template is HTML, and everything in them came from the web
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(kb=kb, when=_when, day=fetched_on, href=_href, outcome=outcome)
    env.filters["screenshot"] = screenshots.screenshot_of
    env.globals.update(
        states=[str(s) for s in LinkState],
        query=lambda args: ("?" + urlencode(args)) if args else "",
    )
    return env


class Viewer:
    """``archive serve``'s viewer; ``replay_port`` is where the replay server listens."""

    def __init__(
        self,
        store: Store,
        replay_port: int,
        hostnames: Iterable[str] = (),
        replay: bool = True,
        page_size: int = listing.PAGE_SIZE,
        search_page_size: int = search.PAGE_SIZE,
    ) -> None:
        self.store = store
        self.page_size = page_size
        self.search_page_size = search_page_size
        self.replay = replay
        self.salt = store.config.hashids_salt
        self.warc_dir = store.config.warc_dir
        #: a payload downloaded decoded is never inflated past the crawl's cap on bodies
        self.decoded_cap = decoded_cap(store.config.max_body_size)
        self.replay_port = replay_port
        self.hosts = HostCheck(hostnames)
        self.templates = _environment()
        self._css = resources.files("archive.web").joinpath("static/viewer.css").read_bytes()

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return self.secured(response, request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if not self.hosts.allows(request.host):
            return self.page(
                "error.html",
                421,
                title="Unknown host",
                message=f"This viewer does not answer for {request.host!r}.",
            )
        try:
            if request.method not in ("GET", "HEAD"):
                refused = self.page(
                    "error.html",
                    405,
                    title="Method not allowed",
                    message="This viewer only reads: GET and HEAD.",
                )
                refused.headers["Allow"] = "GET, HEAD"
                return refused
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"on_{endpoint}")(request, **args)
        except UnknownId as exc:
            return self.page("error.html", 404, title="Not found", message=str(exc))
        except NotFound:
            return self.page(
                "error.html", 404, title="Not found", message=f"Nothing here: {request.path}"
            )
        except BadRequest as exc:
            return self.page("error.html", 400, title="Bad request", message=exc.description)
        except HTTPException as exc:
            return exc.get_response(request.environ)
        except Exception:
            log.exception("viewer error on %s", request.path)
            return self.page(
                "error.html",
                500,
                title="Viewer error",
                message="Something went wrong; the server's log has the details.",
            )

    def replay_origin(self, request: Request) -> str:
        """The replay server as the browser reaches it: the host it used for us, our port."""
        return origin(hostname_of(request.host) or "127.0.0.1", self.replay_port)

    def secured(self, response: Response, request: Request) -> Response:
        h = response.headers
        # No script, no plugin, no form posting elsewhere; the only frame is the replay.
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; "
            f"frame-src {self.replay_origin(request)}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'",
        )
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        return response

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        body = self.templates.get_template(template).render(**context)
        return Response(body, status, content_type="text/html; charset=utf-8")

    # -- pages -------------------------------------------------------------------------
    def on_index(self, request: Request) -> Response:
        try:
            f = listing.ResourceFilter.from_args(request.args)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        with self.store.session() as s:
            found = listing.list_resources(s, f, self.page_size)
            return self.page("index.html", filters=f, listing=found, sorts=listing.SORTS)

    def on_resource(self, request: Request, ref: str) -> Response:
        if request.query_string:  # a pasted URL keeps its query string
            ref = f"{ref}?{request.query_string.decode('latin-1')}"
        with self.store.session() as s:
            view = queries.resource_view(s, ref, self.salt)
            preview = preview_of(view.good, view.latest)
            prior = prior_checks(s, view.resource.resource_id)
            return self.page(
                "resource.html",
                view=view,
                res=view.resource,
                preview=preview,
                footer=footer(view.resource),
                prior=prior,
                citing=citing(view.resource.cited_by or [], prior),
            )

    def on_capture(self, request: Request, capture_id: str) -> Response:
        with self.store.session() as s:
            c = queries.load_capture(s, capture_id)
            older = queries.adjacent(s, c, older=True)
            newer = queries.adjacent(s, c, older=False)
            diff_with = queries.adjacent(s, c, older=True, with_text=True) if c.full_text else None
            exchange, problem = None, None
            locator = c.locator
            if locator is not None:
                try:
                    exchange = records.load_exchange(self.warc_dir, locator)
                except records.RecordUnavailable as exc:
                    problem = str(exc)
            return self.page(
                "capture.html",
                c=c,
                res=c.resource,
                locator=locator,
                exchange=exchange,
                problem=problem,
                older=older,
                newer=newer,
                diff_with=diff_with,
            )

    def on_payload(self, request: Request, capture_id: str) -> Response:
        decoded = request.args.get("decoded") == "1"
        with self.store.session() as s:
            c = queries.load_capture(s, capture_id, text=False)
            source = original_of(s, c) if c.is_revisit else c
            payload, coding = self._payload(s, c, source, decoded)
            content_type = c.content_type or (source.content_type if source else None)
            url = c.final_url or c.requested_url
            title = c.resource.title or c.page_title or (source.page_title if source else None)
        name = downloads.file_name(url, title, content_type, capture_id, coding)
        # Archived bytes never reach a browser as something it would render or run here:
        # a download (attachment), never sniffed, and sandboxed should it be shown anyway.
        response = Response(
            payload,
            200,
            {
                "Content-Disposition": downloads.disposition(name),
                "Content-Security-Policy": "sandbox; default-src 'none'",
                "Cache-Control": "no-store",
            },
            content_type=downloads.stored_type(content_type, coding),
            direct_passthrough=True,
        )
        if isinstance(payload, records.Payload):
            response.call_on_close(payload.close)  # also when a HEAD request never reads it
        return response

    def _payload(
        self, s: Session, c: Capture, source: Capture | None, decoded: bool
    ) -> tuple[Iterable[bytes], str]:
        """The capture's payload as stored, streamed, with the Content-Encoding still
        applied to it; or ``decoded`` as ``archive cat --payload`` gives it (coding "").
        A revisit's (``source``) is its original's."""
        locator = source.locator if source is not None else None
        if locator is None:
            raise UnknownId(f"capture {c.capture_id} has no archived payload")
        try:
            # Opened first either way: a payload that is not a response's is refused.
            payload = records.open_payload(self.warc_dir, locator)
            if not decoded:
                return payload, payload.coding
            payload.close()
            try:
                return [capture_payload(s, self.warc_dir, c, self.decoded_cap)], ""
            except Undecodable as exc:  # shown as stored, as `archive cat` shows it
                return [exc.stored], payload.coding
        except NoPayload as exc:
            raise UnknownId(f"capture {c.capture_id} has no archived payload") from exc
        except UNREADABLE as exc:
            raise UnknownId(f"the payload of {c.capture_id} cannot be read: {exc}") from exc

    def on_screenshot(self, request: Request, capture_id: str) -> Response:
        with self.store.session() as s:
            locator = screenshots.screenshot_of(queries.load_capture(s, capture_id, text=False))
        if locator is None:
            raise UnknownId(f"capture {capture_id} has no screenshot")
        try:
            png = screenshots.load_screenshot(self.warc_dir, locator)
        except screenshots.NoScreenshot as exc:
            raise UnknownId(f"the screenshot of {capture_id} cannot be read: {exc}") from exc
        csp = {"Content-Security-Policy": "sandbox; default-src 'none'"}
        return Response(png, 200, csp, content_type="image/png")

    def on_diff(self, request: Request, a: str, b: str) -> Response:
        with self.store.session() as s:
            first, second = queries.load_capture(s, a), queries.load_capture(s, b)
            missing = [c.capture_id for c in (first, second) if c.full_text is None]
            diff = "" if missing else text_diff(first, second)
            return self.page(
                "diff.html", a=first, b=second, missing=missing, lines=diff.splitlines()
            )

    def on_report(self, request: Request) -> Response:
        chosen = request.args.getlist("state")
        try:
            states = parse_states(",".join(chosen))
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        with self.store.session() as s:
            rows = rot_report(s, states, viewer=request.host_url)
        return self.page(
            "report.html", rows=rows, states=states, all_states=[str(x) for x in LinkState]
        )

    def on_search(self, request: Request) -> Response:
        try:
            args = search.SearchArgs.from_args(request.args)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        with self.store.session() as s:
            found = search.search_page(s, args, request.host_url, self.search_page_size)
            return self.page("search.html", view=found, args=args)

    def on_replay(self, request: Request, capture_id: str) -> Response:
        with self.store.session() as s:
            c = queries.load_capture(s, capture_id, text=False)
            res = c.resource
            locator = c.locator
            if c.warc_date is None or locator is None:
                why = f"{c.error_class}: {c.error_message}" if c.error_class else "no record"
                raise UnknownId(f"capture {capture_id} has no archived response to replay ({why})")
            hop_url = (c.redirect_chain or [{}])[-1].get("url") or c.final_url or c.requested_url
            replay = self.replay_origin(request)
            return self.page(
                "replay.html",
                replay=self.replay,
                pdf=_is_pdf(s, c),
                writing=records.still_open(self.warc_dir, locator),
                c=c,
                res=res,
                frame_src=replay + memento_path(hop_url, c.warc_date),
                raw_src=replay + memento_path(hop_url, c.warc_date, "id_"),
            )

    def on_stylesheet(self, request: Request) -> Response:
        return Response(
            self._css,
            content_type="text/css; charset=utf-8",
            headers={"Cache-Control": "max-age=3600"},
        )
