"""The preview block and card, as the wiki shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from archive.inspect.card import cut_at_word, preview_block
from archive.store.models import Capture


def capture(text: str | None, status: int | None = 200, **kw: object) -> Capture:
    return Capture(
        capture_id="cap_x",
        resource_id="r",
        requested_url="https://x.org/",
        fetched_at=datetime(2026, 4, 9, 15, 30, tzinfo=UTC),
        http_status=status,
        full_text=text,
        **kw,
    )


def test_preview_header_and_truncation_like_the_wiki() -> None:
    text = ("Jan Leike, who co-led the team, said safety culture took a backseat. " * 90).strip()
    block = preview_block(capture(text)).splitlines()
    assert block[0] == "Cached Content Preview · HTTP 200 · Fetched Apr 9, 2026 · 6 KB"
    shown = block[1]
    assert len(shown) <= 3000 and text.startswith(shown) and not shown.endswith(" ")
    assert text[len(shown)] == " "  # cut at a word boundary
    assert block[2] == "... (truncated, 6 KB total)"


def test_short_preview_is_not_marked_truncated() -> None:
    block = preview_block(capture("A short page.")).splitlines()
    assert block == [
        "Cached Content Preview · HTTP 200 · Fetched Apr 9, 2026 · 1 KB",
        "A short page.",
    ]


def test_failed_capture_names_its_error() -> None:
    block = preview_block(capture(None, status=None, error_class="dns")).splitlines()
    assert block[0].startswith("Cached Content Preview · dns · Fetched Apr 9, 2026")
    assert block[1] == "(no text extracted)"


def test_cut_at_word_keeps_whole_words() -> None:
    assert cut_at_word("alpha beta gamma", 12) == "alpha beta"
    assert cut_at_word("short", 12) == "short"
