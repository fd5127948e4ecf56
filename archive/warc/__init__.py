"""WARC writing and reading: what the capture middleware writes and replay reads.

``writer`` makes records (warcio builds them); ``rotation`` appends them to rotating
``.open`` files; ``records`` says what they hold and where they went; ``reader`` finds them
again by locator; ``repair`` finishes files whose writer died; ``exchange`` shapes the
stored HTTP messages; ``files`` names files and locks them; ``members`` walks gzip members.
"""

from archive.warc.files import Locator, open_warc
from archive.warc.reader import LocatorCheck, verify_locator
from archive.warc.records import ExchangeResult, RevisitTarget, WrittenRecord, payload_digest_of
from archive.warc.repair import RepairReport, repair_open_files
from archive.warc.writer import WarcWriter

__all__ = [
    "ExchangeResult",
    "Locator",
    "LocatorCheck",
    "RepairReport",
    "RevisitTarget",
    "WarcWriter",
    "WrittenRecord",
    "open_warc",
    "payload_digest_of",
    "repair_open_files",
    "verify_locator",
]
