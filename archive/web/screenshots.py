"""A browser capture's screenshot, as the viewer shows it: the PNG of its WARC resource
record (``urn:screenshot:<url>``), found through the capture's requisites (kind
``screenshot``, written by crawler/browser.py).

Served as an image only: the record must be a ``resource`` record of type image/png
whose bytes are a PNG, and it goes out with ``nosniff`` and a sandboxing CSP, so no
archived byte runs as script in the viewer's origin.
"""

from __future__ import annotations

from pathlib import Path

from archive.extract.requisites import SCREENSHOT
from archive.store.models import Capture
from archive.warc import Locator
from archive.warc.reader import READ_ERRORS, read_record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: a screenshot is at most 10,000 px tall (crawler/browser.py); anything far larger is not one
MAX_BYTES = 64 * 1024 * 1024


class NoScreenshot(LookupError):
    """The capture has no screenshot, or its record is not one."""


def screenshot_of(capture: Capture) -> Locator | None:
    """Where the capture's screenshot record is; None for a capture without one."""
    for requisite in capture.requisites:
        if requisite.kind != SCREENSHOT or not requisite.hops:
            continue
        hop = requisite.hops[0]
        if hop.get("warc_file") and hop.get("offset") is not None and hop.get("length"):
            return Locator(hop["warc_file"], int(hop["offset"]), int(hop["length"]))
    return None


def load_screenshot(warc_dir: Path, locator: Locator) -> bytes:
    """The PNG the record at ``locator`` holds; NoScreenshot when it holds no PNG."""
    try:
        with read_record(warc_dir, locator) as record:
            content_type = record.rec_headers.get_header("Content-Type") or ""
            if record.rec_type != "resource" or content_type.split(";")[0] != "image/png":
                raise NoScreenshot(f"the record at {locator.offset} is no screenshot")
            data = record.content_stream().read(MAX_BYTES + 1)
    except READ_ERRORS as exc:
        raise NoScreenshot(f"{locator.filename} at {locator.offset}: {exc}") from exc
    if not data.startswith(PNG_SIGNATURE) or len(data) > MAX_BYTES:
        raise NoScreenshot(f"the record at {locator.offset} holds no PNG")
    return data
