"""What the crawler learned about one fetch attempt: the outcome the record path records.

Its own module, free of SQLAlchemy: the crawl's process handles outcomes, and only the
recorder process (crawler/record_path.py) opens the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from archive.capture.preview import Preview
from archive.capture.schema import Hop, Requisite


@dataclass
class FetchOutcome:
    """Everything the crawler learned about one fetch attempt of one resource."""

    capture_id: str
    resource_id: str
    requested_url: str
    fetched_at: datetime
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    payload_length: int | None = None
    payload_digest: str | None = None
    truncated: bool = False
    is_revisit: bool = False
    revisit_of: str | None = None
    warc_record_id: str | None = None
    warc_date: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    #: every exchange of the attempt (the row's ``redirect_chain`` column)
    hops: list[Hop] = field(default_factory=list)
    error_class: str | None = None
    error_message: str | None = None
    duration_ms: int | None = None
    preview: Preview | None = None
    job_id: int | None = None
    #: what the page loads, each with its outcome
    requisites: list[Requisite] = field(default_factory=list)
    requisites_cut: str | None = None
    requisites_left_out: int | None = None
    #: how the page was fetched: "scrapy" (the HTTP path) or "browser" (headless Chromium)
    fetch_method: str = "scrapy"

    def answered_by(self, final: Hop) -> None:
        """Take the payload and locator of the exchange that answered."""
        self.payload_length = final.payload_length
        self.payload_digest = final.payload_digest
        self.truncated = final.truncated
        self.warc_record_id = final.record_id
        self.warc_date = final.warc_date
        self.warc_file = final.warc_file
        self.warc_offset = final.offset
        self.warc_length = final.length
