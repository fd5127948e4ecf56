"""The store's tables (docs/design.md §4). Column names follow the wiki's
``citation_content`` table where they overlap, so its exports map one to one."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from archive.warc.files import Locator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: The type of a resource whose list gave none: a web page.
DEFAULT_TYPE = "web"


class LinkState(StrEnum):
    UNKNOWN = "unknown"
    ALIVE = "alive"
    REDIRECTED = "redirected"
    PAYWALLED = "paywalled"
    GONE = "gone"
    DEAD = "dead"
    BLOCKED = "blocked"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Resource(Base):
    __tablename__ = "resources"

    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The number the generated stable id encodes; assigned once.
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    stable_id: Mapped[str] = mapped_column(String(80), unique=True)
    #: "generated" or "input": an input stable id replaces a generated one, never another input one.
    stable_id_source: Mapped[str] = mapped_column(String(16), default="generated")
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(Text, index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(32), index=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cited_by: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Every other input field (authors, summary, key_points, fetch_status...), kept verbatim.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    link_state: Mapped[str] = mapped_column(String(16), default=LinkState.UNKNOWN, index=True)
    state_since: Mapped[datetime | None]
    #: Failed checks in a row that count towards gone/dead, of one kind ("gone", "network").
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failure_kind: Mapped[str | None] = mapped_column(String(16))
    #: When the last *counted* failure happened (dead needs checks 72 h apart).
    last_failure_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    last_checked_at: Mapped[datetime | None]
    last_ok_capture_id: Mapped[str | None] = mapped_column(String(64))
    #: Seconds between refreshes for this resource alone (None: by type, then the default).
    refresh_seconds: Mapped[int | None] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)

    captures: Mapped[list[Capture]] = relationship(
        back_populates="resource", order_by="Capture.fetched_at", cascade="all, delete-orphan"
    )


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)


class Capture(Base):
    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_resource_time", "resource_id", "fetched_at"),)

    capture_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.resource_id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    requested_url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    #: Each hop: {url, status, location, record_id, warc_file, offset, length}.
    redirect_chain: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime]
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(255))
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    payload_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    is_revisit: Mapped[bool] = mapped_column(Boolean, default=False)
    revisit_of: Mapped[str | None] = mapped_column(String(64))
    warc_record_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: WARC-Date exactly as written, for WARC-Refers-To-Date of later revisits.
    warc_date: Mapped[str | None] = mapped_column(String(40))
    warc_file: Mapped[str | None] = mapped_column(String(255))
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    error_class: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    # The preview, named as in the wiki's citation_content table.
    page_title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_date: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    full_text: Mapped[str | None] = mapped_column(Text)
    full_text_preview: Mapped[str | None] = mapped_column(Text)
    content_length: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(80))
    fetch_method: Mapped[str | None] = mapped_column(String(32))
    extractor: Mapped[str | None] = mapped_column(String(64))
    text_changed: Mapped[bool | None] = mapped_column(Boolean)
    change_size: Mapped[int | None] = mapped_column(Integer)
    #: Why the page's requisites were cut short ("count", "bytes"), and how many were left.
    requisites_cut: Mapped[str | None] = mapped_column(String(16))
    requisites_left_out: Mapped[int | None] = mapped_column(Integer)

    resource: Mapped[Resource] = relationship(back_populates="captures")
    requisites: Mapped[list[CaptureRequisite]] = relationship(
        order_by="CaptureRequisite.position", cascade="all, delete-orphan"
    )

    @property
    def locator(self) -> Locator | None:
        """Where the capture's response (or revisit) record is; None unless file, offset
        and length are all known: a gzip member cannot be read without its length."""
        if not self.warc_file or self.warc_offset is None or self.warc_length is None:
            return None
        return Locator(self.warc_file, self.warc_offset, self.warc_length)


class CaptureRequisite(Base):
    """One thing a capture's page loads and how its fetch went (not a resource: no link
    state, no preview). A requisite shared by many pages is fetched once per crawl and
    named by each page's capture; its records are those of its final exchange."""

    __tablename__ = "capture_requisites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.capture_id"), index=True)
    #: The order in which the page's requisites were found.
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    found_in: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    #: sha256 of the final URL: later crawls look up the record an identical payload
    #: repeats by it (an index on the URL itself would refuse long ones on PostgreSQL).
    final_url_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(255))
    error_class: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    #: Each exchange, as in ``captures.redirect_chain``.
    hops: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warc_record_id: Mapped[str | None] = mapped_column(String(64))
    warc_date: Mapped[str | None] = mapped_column(String(40))
    payload_digest: Mapped[str | None] = mapped_column(String(80))
    is_revisit: Mapped[bool] = mapped_column(Boolean, default=False)


class LinkEvent(Base):
    """A change of a resource's link state, with the capture that caused it."""

    __tablename__ = "link_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.resource_id"), index=True)
    at: Mapped[datetime]
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    capture_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class PriorCheck(Base):
    """A check the wiki made of one of its citations itself, from its citation-archive
    files: shown on the resource's card, never a capture, never part of its link state."""

    __tablename__ = "prior_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.resource_id"), index=True)
    #: The wiki page citing it, and the footnote there.
    page_id: Mapped[str] = mapped_column(String(255))
    footnote: Mapped[int | None] = mapped_column(Integer)
    #: The URL as the page cites it, and how.
    url: Mapped[str | None] = mapped_column(Text)
    link_text: Mapped[str | None] = mapped_column(Text)
    claim_context: Mapped[str | None] = mapped_column(Text)
    #: The wiki's check: when (``fetchedAt``), what came back, what it made of it.
    checked_at: Mapped[datetime | None]
    http_status: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(32))
    page_title: Mapped[str | None] = mapped_column(Text)
    content_snippet: Mapped[str | None] = mapped_column(Text)
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    #: The file's ``verifiedAt``, the file it came from, and when it was imported.
    verified_at: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime]


class WikiPush(Base):
    """A row of the wiki's ``citation_content`` that its server acknowledged to
    ``archive push wiki``: one per server and URL, so a later push sends only what changed
    and a resumed one only what was not acknowledged yet."""

    __tablename__ = "wiki_pushes"

    server: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: sha256 of the URL: a key on the URL itself would refuse long ones on PostgreSQL.
    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    resource_id: Mapped[str] = mapped_column(String(64))
    capture_id: Mapped[str] = mapped_column(String(64))
    #: sha256 of the row as sent, its fetchedAt aside: what decides it changed.
    row_hash: Mapped[str] = mapped_column(String(64))
    #: The row's contentHash (sha256 of the text sent).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    pushed_at: Mapped[datetime]


def type_is(name: str) -> ColumnElement[bool]:
    """Resources of type ``name`` as the CLI and the viewer show types: in any case, and
    ``web`` for those their list gave no type."""
    return func.lower(func.coalesce(Resource.type, DEFAULT_TYPE)) == name.strip().lower()
