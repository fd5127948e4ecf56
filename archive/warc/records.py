"""What the writer puts in every record and what it hands back: dates, ids, digests,
target URIs, and the results that tell the caller where each record went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

from warcio.statusandheaders import StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester

from archive.warc.files import Locator

WARC_VERSION = "WARC/1.1"
FORMAT = "WARC File Format 1.1"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

# Metadata records describe a capture but are not one. Under the capture's own URL,
# pywb's indexer and cdxj-indexer index them as mementos of that URL, and pywb then
# replays the JSON instead of the page when it is the closest one. A ``urn:`` target
# keeps them out of the URL's lookups (Browsertrix stores its extracted text as
# ``urn:text:<url>`` for the same reason); WARC-Refers-To links them.
METADATA_URI_PREFIX = "urn:metadata:"

# ALPN names (RFC 7301), the values proposed for WARC-Protocol in the WARC 1.2 drafts.
PROTOCOL_IDS = {"HTTP/2": "h2", "HTTP/2.0": "h2", "HTTP/3": "h3", "HTTP/3.0": "h3"}


def software() -> str:
    try:
        version = metadata.version("cited-archive")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        version = "0+unknown"
    return f"cited-archive/{version}"


def payload_digest_of(body: bytes) -> str:
    """The ``WARC-Payload-Digest`` a response with this body gets: ``sha1:<BASE32>``.

    Compare it with the previous capture's before writing to know whether the exchange
    will be stored as a revisit.
    """
    digester = Digester("sha1")
    digester.update(body)
    return str(digester)


def warc_date(when: datetime | None = None) -> str:
    """WARC/1.1 date with microseconds; a naive ``when`` is taken to be UTC already."""
    when = when or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return datetime_to_iso_date(when, use_micros=True)


def new_record_id() -> str:
    return StatusAndHeadersParser.make_warc_id()


def target_uri_of(url: str) -> str:
    # The fragment never leaves the client (RFC 9110 §4.2.5): it is not part of what
    # was requested, and pywb/cdxj lookups would never match it.
    return url.split("#", 1)[0]


@dataclass(frozen=True)
class RevisitTarget:
    """The earlier capture a new response may duplicate (its response or revisit record)."""

    record_id: str
    target_uri: str
    warc_date: str
    payload_digest: str


@dataclass(frozen=True)
class WrittenRecord:
    record_id: str
    record_type: str
    target_uri: str
    warc_date: str
    locator: Locator
    #: this record's own WARC-Payload-Digest (for a revisit, the payload it stands for)
    payload_digest: str | None
    revisit: bool = False


@dataclass(frozen=True)
class ExchangeResult:
    """The two records of one HTTP hop. ``response`` is a revisit record when deduplicated."""

    request: WrittenRecord
    response: WrittenRecord

    @property
    def revisit(self) -> bool:
        return self.response.revisit

    @property
    def payload_digest(self) -> str:
        """The response payload's digest, also when it was stored as a revisit."""
        assert self.response.payload_digest is not None
        return self.response.payload_digest

    @property
    def warc_date(self) -> str:
        return self.response.warc_date
