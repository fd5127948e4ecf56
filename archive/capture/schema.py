"""The capture record, defined once: what a fetch attempt leaves in the WARC and the store.

Two words that used to be confused:

- a *hop* (:class:`Hop`) is one HTTP exchange written to the WARC: a redirect hop or a
  retried attempt, with its record's locator. The capture row keeps its hops, as JSON, in
  the ``captures.redirect_chain`` column; the metadata record under ``hops``.
- the *redirect chain* is the URLs of those hops, requested first: the metadata record's
  ``redirect_chain`` key (``CaptureRecord.hop_urls`` here).

:class:`CaptureRecord` is the JSON block of a capture's ``metadata`` record, which makes
the WARCs self-describing (``archive reindex`` rebuilds the row from it). ``to_json`` writes
exactly the keys the crawler has always written, so existing archives stay readable;
``from_json`` reads any of them, old ones included (records written before ``hops``
existed), taking a missing or mistyped field as absent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from types import NoneType, UnionType
from typing import Any, get_args, get_origin, get_type_hints


def _typed(data: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """``data[key]`` if it is a ``kind`` (a bool is no int here), else ``default``."""
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        return default
    return value


def _kinds(cls: type) -> dict[str, type]:
    """Each field of dataclass ``cls`` with the type a reader accepts for it: the
    annotation's class (``X | None``: X; ``list[X]``: list)."""
    hints = get_type_hints(cls)
    out: dict[str, type] = {}
    for f in fields(cls):
        hint = hints[f.name]
        if isinstance(hint, UnionType):
            hint = next(a for a in get_args(hint) if a is not NoneType)
        out[f.name] = get_origin(hint) or hint
    return out


@dataclass
class PreviewMetadata:
    """The metadata a preview carries, named as in the wiki's citation_content table (and
    the capture row's columns); declared once for the preview and its record."""

    page_title: str | None = None
    author: str | None = None
    published_date: str | None = None
    language: str | None = None
    description: str | None = None
    canonical_url: str | None = None

    def page_metadata(self) -> dict[str, Any]:
        """These fields alone, as keyword arguments for another holder of them."""
        return {name: getattr(self, name) for name in PREVIEW_FIELDS}


#: The preview's metadata field names, in order: every copy between an extraction, a
#: preview, its record and a capture row goes through these.
PREVIEW_FIELDS = tuple(f.name for f in fields(PreviewMetadata))


@dataclass
class PreviewRecord(PreviewMetadata):
    """The ``preview`` part of a metadata record: the text clipped to 50 KB, or for an
    unchanged revisit, ``preview_of`` the capture whose record holds the same text."""

    content_length: int | None = None
    content_hash: str | None = None
    full_text_preview: str | None = None
    extractor: str | None = None
    preview_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.page_metadata()
        out["content_length"] = self.content_length
        out["content_hash"] = self.content_hash
        if self.preview_of is None:
            out["full_text_preview"] = self.full_text_preview
        out["extractor"] = self.extractor
        if self.preview_of is not None:
            out["preview_of"] = self.preview_of
        return out

    @classmethod
    def from_json(cls, data: Any) -> PreviewRecord | None:
        if not isinstance(data, dict):
            return None
        return cls(**{name: _typed(data, name, kind) for name, kind in _PREVIEW_KINDS.items()})


_PREVIEW_KINDS = _kinds(PreviewRecord)


@dataclass(frozen=True)
class Hop:
    """One HTTP exchange written to the WARC, and where its response (or revisit) is."""

    url: str
    status: int | None = None
    location: str | None = None
    record_id: str | None = None
    warc_date: str | None = None
    warc_file: str | None = None
    offset: int | None = None
    length: int | None = None
    payload_digest: str | None = None
    payload_length: int | None = None
    #: the record whose payload a revisit repeats; None for a full response
    revisit_of_record: str | None = None
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        # The field order is the key order stored in captures.redirect_chain.
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Hop | None:
        """The hop ``data`` describes; None if it is not a JSON object."""
        if not isinstance(data, dict):
            return None
        values = {name: _typed(data, name, kind) for name, kind in _HOP_KINDS.items()}
        values["url"] = values["url"] or ""
        values["truncated"] = bool(values["truncated"])
        return cls(**values)


_HOP_KINDS = _kinds(Hop)


@dataclass(frozen=True)
class Requisite:
    """One thing a captured page loads (a stylesheet, an image, a font, a frame...) and
    how its fetch went: its exchanges (redirect hops, retries), like a capture's, or the
    class of its failure. Not a resource: no link state, no preview."""

    url: str
    kind: str
    #: the stylesheet or frame it was found in; None when found in the page itself
    found_in: str | None = None
    status: int | None = None
    content_type: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    hops: tuple[Hop, ...] = ()

    @property
    def archived(self) -> bool:
        """Whether an answer other than an error is in the WARC (a 2xx or 3xx)."""
        return self.status is not None and self.status < 400 and bool(self.hops)

    @property
    def final_hop(self) -> Hop | None:
        return self.hops[-1] if self.hops and self.status is not None else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _REQUISITE_SCALARS}
        out["hops"] = [hop.to_json() for hop in self.hops]
        return out

    @classmethod
    def from_json(cls, data: Any) -> Requisite | None:
        """The requisite ``data`` describes; None unless it names a URL and a kind."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("url", "kind")
        ):
            return None
        hops = data.get("hops")
        return cls(
            hops=tuple(h for h in map(Hop.from_json, hops) if h) if isinstance(hops, list) else (),
            **{name: _typed(data, name, kind) for name, kind in _REQUISITE_SCALARS.items()},
        )


_REQUISITE_SCALARS = {k: v for k, v in _kinds(Requisite).items() if k != "hops"}


@dataclass
class CaptureRecord:
    """Everything a capture's metadata record says: the capture row but for the whole
    text, so that the row can be rebuilt even if the response record were lost."""

    capture_id: str
    resource_id: str
    requested_url: str
    fetched_at: datetime
    stable_id: str | None = None
    job_id: int | None = None
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    #: the redirect chain: each hop's URL, requested first (key ``redirect_chain``)
    hop_urls: list[str] = field(default_factory=list)
    #: each exchange; empty in records written before hops were recorded
    hops: list[Hop] = field(default_factory=list)
    payload_length: int | None = None
    payload_digest: str | None = None
    truncated: bool = False
    is_revisit: bool = False
    revisit_of: str | None = None
    warc_date: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    duration_ms: int | None = None
    fetch_method: str | None = None
    preview: PreviewRecord | None = None
    #: what the page loads, each with its outcome (empty when none were looked for)
    requisites: list[Requisite] = field(default_factory=list)
    #: why the page's requisites were cut short ("count" or "bytes"), and how many
    #: were left out
    requisites_cut: str | None = None
    requisites_left_out: int | None = None

    def to_json(self) -> dict[str, Any]:
        # The metadata record's JSON is written with sorted keys: the order here is free.
        out: dict[str, Any] = {name: getattr(self, name) for name in _SCALARS}
        out["fetched_at"] = self.fetched_at.isoformat()
        out["redirect_chain"] = list(self.hop_urls)
        out["hops"] = [hop.to_json() for hop in self.hops]
        if self.preview is not None:
            out["preview"] = self.preview.to_json()
        # Only when there is something to say: records of pages without requisites keep
        # the keys they always had.
        if self.requisites:
            out["requisites"] = [r.to_json() for r in self.requisites]
        if self.requisites_cut is not None:
            out["requisites_cut"] = self.requisites_cut
            out["requisites_left_out"] = self.requisites_left_out
        return out

    @classmethod
    def from_json(cls, data: Any) -> CaptureRecord | None:
        """The record ``data`` describes; None if it lacks what names a capture (its id,
        resource, requested URL and time)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _REQUIRED):
            return None
        try:
            fetched_at = datetime.fromisoformat(data["fetched_at"])
        except ValueError:
            return None
        chain = data.get("redirect_chain")
        hops = data.get("hops")
        requisites = data.get("requisites")
        return cls(
            capture_id=data["capture_id"],
            resource_id=data["resource_id"],
            requested_url=data["requested_url"],
            fetched_at=fetched_at,
            hop_urls=[u for u in chain if isinstance(u, str)] if isinstance(chain, list) else [],
            hops=[h for h in map(Hop.from_json, hops) if h] if isinstance(hops, list) else [],
            preview=PreviewRecord.from_json(data.get("preview")),
            requisites=(
                [r for r in map(Requisite.from_json, requisites) if r]
                if isinstance(requisites, list)
                else []
            ),
            requisites_cut=_typed(data, "requisites_cut", str),
            requisites_left_out=_typed(data, "requisites_left_out", int),
            **{
                name: _typed(data, name, kind, False if kind is bool else None)
                for name, kind in _SCALARS.items()
                if name not in _REQUIRED
            },
        )


_REQUIRED = ("capture_id", "resource_id", "requested_url", "fetched_at")
#: CaptureRecord's fields that to_json and from_json write and read one by one
_STRUCTURED = (
    *("fetched_at", "hop_urls", "hops", "preview"),
    *("requisites", "requisites_cut", "requisites_left_out"),
)
#: CaptureRecord's fields written as they are, with the type a reader accepts
_SCALARS = {name: kind for name, kind in _kinds(CaptureRecord).items() if name not in _STRUCTURED}


@dataclass
class LatePreview:
    """The block of a metadata record that brings a capture its preview after the capture
    was recorded (``archive extract --pending``, or a crawl stopped while pages waited for
    theirs). It refers to the same response record as the capture's own metadata record."""

    capture_id: str
    resource_id: str
    preview: PreviewRecord

    def to_json(self) -> dict[str, Any]:
        return {
            "preview_for": self.capture_id,
            "resource_id": self.resource_id,
            "preview": self.preview.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> LatePreview | None:
        """The late preview ``data`` describes; None if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("preview_for"), str):
            return None
        preview = PreviewRecord.from_json(data.get("preview"))
        if preview is None:
            return None
        return cls(data["preview_for"], _typed(data, "resource_id", str, ""), preview)
