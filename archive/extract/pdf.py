"""Text and title of a PDF, with pypdf (pure Python)."""

from __future__ import annotations

import io
import logging
import re

from archive.extract.metadata import iso_date

# pypdf logs every malformed object it recovers from; a broken PDF is an expected input here
logging.getLogger("pypdf").setLevel(logging.ERROR)

_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
MAX_PAGES = 200  # a preview needs the start; huge scanned reports would take minutes


def extract_pdf(
    body: bytes, max_pages: int = MAX_PAGES
) -> tuple[str, str | None, str | None, str | None]:
    """``(text, title, author, date)`` of the first ``max_pages`` pages; empty text when the
    PDF is encrypted or unreadable."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted:
            try:
                # many "encrypted" PDFs only restrict printing and open with the empty password
                if not reader.decrypt(""):
                    return "", None, None, None
            except Exception:
                return "", None, None, None
        info = _info(reader)
        pages = []
        for page in reader.pages[:max_pages]:
            try:
                pages.append(page.extract_text() or "")
            except Exception:  # one broken page must not cost the others
                continue
    except MemoryError:
        raise
    except Exception:
        return "", None, None, None
    return _paragraphs("\n\n".join(pages)), *info


def _info(reader) -> tuple[str | None, str | None, str | None]:
    try:
        meta = reader.metadata
    except Exception:
        return None, None, None
    if not meta:
        return None, None, None

    def field(name: str) -> str | None:
        try:
            value = meta.get(name)
        except Exception:
            return None
        value = str(value).strip() if value is not None else ""
        return value or None

    raw_date = field("/CreationDate")
    return field("/Title"), field("/Author"), iso_date(raw_date[2:] if raw_date else None)


def _paragraphs(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\x00", "").splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
