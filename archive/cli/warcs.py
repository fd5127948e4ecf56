"""``verify``, ``reindex`` and ``cat``: the WARC files against the store, the store from
the WARC files, and one capture's record as stored."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click
from sqlalchemy.orm import Session

from archive.cli.context import Context
from archive.cli.progress import Progress
from archive.store.models import Capture
from archive.warc.files import Locator

#: Findings of one kind shown in text output; --json has them all.
SHOWN_PER_KIND = 20


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
def verify(ctx: Context, as_json: bool) -> None:
    """Check the WARC files against the store.

    Every row's locator must hold its complete record, every file must read to its end
    with sound digests, and every capture a file describes must have a row. Exits 0 when
    all is consistent, 1 on any problem; notes (a running crawl's open file, exchanges a
    killed crawl left without a capture) do not fail the check.
    """
    from archive.integrity.verify import verify as check

    progress = Progress()
    try:
        report = check(ctx.store, progress=progress)
    finally:
        progress.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=1))
    else:
        shown: dict[str, int] = {}
        for finding in report.findings:
            shown[finding.kind] = shown.get(finding.kind, 0) + 1
            if shown[finding.kind] <= SHOWN_PER_KIND:
                label = "problem" if finding.problem else "note"
                click.echo(f"{label}: {finding.kind}: {finding.message}")
        for kind, count in sorted(shown.items()):
            if count > SHOWN_PER_KIND:
                click.echo(f"... and {count - SHOWN_PER_KIND} more {kind} (see --json)")
        click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would be rebuilt; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def reindex(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Rebuild capture rows, previews and link states from the WARC files alone.

    Captures already in the store are left alone, so running it twice adds nothing.
    Abandoned .open files are repaired first. Exits 0 when every file was read, 1 when
    some could not be (their captures are missing), 75 while a crawl holds the store.
    """
    from archive.integrity.reindex import reindex as rebuild
    from archive.store.locks import Busy, crawl_lock

    progress = Progress()
    try:
        if dry_run:
            report = rebuild(ctx.store, dry_run=True, progress=progress)
        else:
            # A crawl writing meanwhile would race the rows being rebuilt.
            with crawl_lock(ctx.config.home, store=ctx.store):
                report = rebuild(ctx.store, progress=progress)
    except Busy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(75)
    finally:
        progress.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=1))
    else:
        for repair in report.repairs:
            click.echo(f"repaired {repair.path.name}: {repair.action}", err=True)
        why = "a dry run repairs nothing" if dry_run else "in use by a crawl, or damaged"
        for path in report.open_files:
            click.echo(f"warning: {path.name} not read ({why})", err=True)
        for path, problem in report.unreadable:
            click.echo(f"error: {path.name}: {problem}", err=True)
        previews = report.previews
        if previews.differs or previews.from_metadata:
            click.echo(
                f"previews: {previews.extracted} extracted again, {previews.differs} differ "
                f"from the crawl's, {previews.from_metadata} from metadata records only",
                err=True,
            )
        if report.missing_hops:
            click.echo(f"warning: {report.missing_hops} redirect hops not found", err=True)
        click.echo(report.summary())
    sys.exit(1 if report.unreadable else 0)


@click.command()
@click.argument("capture_id")
@click.option("--headers", "part", flag_value="headers", help="Only the WARC and HTTP headers.")
@click.option("--payload", "part", flag_value="payload", help="Only the decoded payload.")
@click.option("--raw", "part", flag_value="raw", help="The WARC record exactly as stored.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output (a binary payload, say).",
)
@click.pass_obj
def cat(ctx: Context, capture_id: str, part: str | None, output: Path | None) -> None:
    """Print a capture's record from its WARC file.

    By default the HTTP headers and the payload with its Content-Encoding undone (for
    a revisit, the payload of the capture it repeats). A payload that is not text (a
    PDF, an image) is not written to a terminal: give -o FILE, or pipe it.
    """
    from archive.inspect.payload import NoPayload, record_of
    from archive.warc.stored import READ_ERRORS

    with ctx.store.session() as session:
        capture = session.get(Capture, capture_id)
        if capture is None:
            raise click.ClickException(f"no capture {capture_id}")
        try:
            config = ctx.config
            chunks = _record_part(
                session, config.warc_dir, capture, record_of(capture), part, config.max_body_size
            )
            first = next(chunks, b"")
            if output is None and part != "headers" and _terminal():
                _refuse_binary(capture, first)
            with _opened(output) as out:
                for chunk in itertools.chain([first], chunks):
                    out.write(chunk)
        except NoPayload as exc:
            raise click.ClickException(str(exc)) from exc
        except READ_ERRORS as exc:  # a missing or damaged file: `archive verify` says more
            raise click.ClickException(f"cannot read the record of {capture_id}: {exc}") from exc


def _record_part(
    session: Session,
    directory: Path,
    capture: Capture,
    locator: Locator,
    part: str | None,
    max_body_size: int,
) -> Iterator[bytes]:
    """What ``cat`` prints, in chunks: the first holds the payload whole, but for --raw.
    A payload is not decoded past the crawl's cap on bodies (``max_body_size``)."""
    from archive.inspect.payload import capture_payload
    from archive.warc.codings import decoded_cap
    from archive.warc.stored import Undecodable, open_stored, raw_record

    if part == "raw":
        yield from raw_record(directory, locator)
        return
    if part == "headers":
        with open_stored(directory, locator) as stored:
            yield stored.warc_head + stored.http_head
        return
    try:
        body = capture_payload(session, directory, capture, decoded_cap(max_body_size))
    except Undecodable as exc:  # a payload that will not decode is still shown
        click.echo(f"warning: payload shown as stored, it does not decode: {exc}", err=True)
        body = exc.stored
    head = b""
    if part is None:
        with open_stored(directory, locator) as stored:
            head = stored.http_head
    yield head + body


def _terminal() -> bool:
    return sys.stdout.isatty()


def _refuse_binary(capture: Capture, first: bytes) -> None:
    """A terminal shown a PDF's bytes is garbled, or worse (escape sequences): refuse."""
    from archive.inspect.payload import looks_like_text

    # The HTTP headers before the payload are text: judge the bytes after them.
    body = first.split(b"\r\n\r\n", 1)[-1]
    if not looks_like_text(capture.content_type, body):
        kind = (capture.content_type or "binary").split(";", 1)[0].strip()
        raise click.ClickException(
            f"capture {capture.capture_id} holds {kind}, not text: "
            "write it to a file with -o FILE, or pipe it"
        )


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[BinaryIO]:
    if output is None:
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    try:
        fh = open(output, "wb")  # noqa: SIM115 - closed below, after the caller's writes
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc
    with fh:
        yield fh
