"""WARC writing and reading: what the capture middleware writes and replay reads.

``writer`` makes records (warcio builds them); ``records`` says what they hold and where
they went; ``reader`` finds them again by locator; ``repair`` finishes files whose writer
died; ``exchange`` shapes the stored HTTP messages; ``files`` names files and locks them;
``members`` walks gzip members.
"""

from archive.warc.files import Locator, open_warc, resolve_path
from archive.warc.reader import LocatorCheck, iter_records, read_record, verify_locator
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
    "iter_records",
    "open_warc",
    "payload_digest_of",
    "read_record",
    "repair_open_files",
    "resolve_path",
    "verify_locator",
]
