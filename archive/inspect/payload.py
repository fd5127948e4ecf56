"""A capture's payload: the body it fetched, read from its record or, for a revisit, from
the record of the capture it repeats; what ``archive cat``, the viewer and the export use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from archive.store.db import chunks
from archive.store.models import Capture
from archive.warc.codings import MAX_DECODED
from archive.warc.files import Locator
from archive.warc.stored import read_payload


class NoPayload(LookupError):
    """The capture has no payload to read; the message says why."""


def _refers_to(capture: Capture) -> str | None:
    # The WARC-Refers-To of the final hop's revisit record: found even when the row of
    # the capture it repeats was not known when the revisit was recorded.
    return (capture.redirect_chain or [{}])[-1].get("revisit_of_record")


def _rows(session: Session, column: InstrumentedAttribute[Any], keys: list[str]) -> list[Capture]:
    found: list[Capture] = []
    for chunk in chunks(sorted(keys)):
        query = select(Capture).where(column.in_(chunk))
        found.extend(session.scalars(query.options(defer(Capture.full_text))))
    return found


def originals_of(session: Session, captures: Iterable[Capture]) -> dict[str, Capture]:
    """The capture each revisit among ``captures`` repeats, by the revisit's capture id:
    its ``revisit_of``, else the capture whose record its final hop's revisit refers to.
    Revisits whose original the store does not know are left out."""
    revisits = [c for c in captures if c.is_revisit]
    repeated = [c.revisit_of for c in revisits if c.revisit_of]
    by_id = {c.capture_id: c for c in _rows(session, Capture.capture_id, repeated)}
    originals = {c.capture_id: by_id[c.revisit_of] for c in revisits if c.revisit_of in by_id}
    pending = {
        c.capture_id: r
        for c in revisits
        if c.capture_id not in originals and (r := _refers_to(c)) is not None
    }
    if pending:
        rows = _rows(session, Capture.warc_record_id, list(set(pending.values())))
        by_record = {c.warc_record_id: c for c in rows}
        for capture_id, record_id in pending.items():
            if record_id in by_record:
                originals[capture_id] = by_record[record_id]
    return originals


def original_of(session: Session, capture: Capture) -> Capture | None:
    """The capture a revisit repeats (see ``originals_of``); None for any other capture."""
    return originals_of(session, [capture]).get(capture.capture_id)


def record_of(capture: Capture) -> Locator:
    """The capture's ``locator``; NoPayload says why it has none."""
    if capture.locator is not None:
        return capture.locator
    if capture.warc_record_id:
        raise NoPayload(
            f"capture {capture.capture_id}: its record {capture.warc_record_id} is in no WARC file"
        )
    why = f"{capture.error_class}: {capture.error_message}" if capture.error_class else ""
    raise NoPayload(
        f"capture {capture.capture_id} has no WARC record: the fetch failed"
        + (f" ({why})" if why else "")
    )


def capture_payload(
    session: Session, warc_dir: Path, capture: Capture, max_size: int = MAX_DECODED
) -> bytes:
    """The capture's payload decoded as the crawler decoded it (a revisit's is its
    original's), never to more than ``max_size`` bytes (the crawl's cap on decoded bodies,
    ARCHIVE_MAX_BODY_SIZE). Raises NoPayload when there is none to read, archive.warc.stored's
    Undecodable when its coding cannot be undone (its TooLargeToDecode when undoing it would
    pass ``max_size``), READ_ERRORS when its record cannot be read.
    """
    locator = record_of(capture)
    original = None
    if capture.is_revisit:
        source = original_of(session, capture)
        original = source.locator if source is not None else None
        if original is None:
            raise NoPayload(
                f"capture {capture.capture_id} is a revisit of a record the store does not know"
            )
    return read_payload(warc_dir, locator, original, max_size)


#: Types whose bytes are text though not ``text/*``.
_TEXT_TYPES = ("json", "xml", "javascript", "ecmascript", "x-www-form-urlencoded", "yaml")
_SNIFF = 8192


def looks_like_text(content_type: str | None, head: bytes) -> bool:
    """Whether bytes are fit for a terminal: a text type (or none given) and, in their
    first 8 KB, no NUL byte, nor anything but UTF-8 when no type says they are text."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    texty = kind.startswith("text/") or any(t in kind for t in _TEXT_TYPES)
    if kind and not texty:
        return False
    sample = head[:_SNIFF]
    if b"\x00" in sample:
        return False
    if texty:
        return True
    try:  # a character cut at the sample's end is not a reason to refuse
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"
    return True
