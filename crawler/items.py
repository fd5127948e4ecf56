"""What the spider hands the pipeline: one fetch attempt of one resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from archive.capture.schema import Hop, Requisite


@dataclass
class FetchItem:
    resource_id: str
    requested_url: str
    #: When the request of the exchange that answered (or failed last) was sent, by the
    #: crawl's clock: the capture's fetched_at (crawler/spiders/resources.py says why).
    started_at: datetime
    #: From sending that request to its answer; None when it was never sent.
    duration_ms: int | None
    #: One entry per HTTP exchange written to the WARC (redirect hops, retried attempts).
    hops: list[Hop] = field(default_factory=list)
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    #: The decoded body (Content-Encoding undone) for extraction; None on failures.
    body: bytes | None = None
    error_class: str | None = None
    error_message: str | None = None
    #: What the page loads, each with its outcome; why and how many were left out.
    requisites: list[Requisite] = field(default_factory=list)
    requisites_cut: str | None = None
    requisites_left_out: int | None = None
    #: "scrapy" (the HTTP path) or "browser": then ``body`` is the rendered DOM, and the
    #: screenshot and DOM snapshot records are among ``requisites``
    fetch_method: str = "scrapy"

    @property
    def final_hop(self) -> Hop | None:
        """The exchange that answered (the last hop), when the fetch got an answer."""
        return self.hops[-1] if self.hops and self.status is not None else None
