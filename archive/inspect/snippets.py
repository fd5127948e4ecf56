"""A few lines of a capture's text around what a search found, the found words marked.

Made from the text itself (not from the index, which holds pairs of CJK characters and
folded words): the query's words are looked for in the folded text, which is as long as
the text, so each match is where it is in the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archive.store.search_syntax import SearchQuery, body_cap, fold, is_cjk

#: Characters of text a snippet shows, about two lines.
SNIPPET_CHARS = 240
ELLIPSIS = "…"
_WORD_CHAR = r"[^\W_]"


@dataclass
class Snippet:
    text: str
    #: (start, end) of each marked match in ``text``
    marks: list[tuple[int, int]] = field(default_factory=list)

    def pieces(self) -> list[tuple[str, bool]]:
        """The text in order, each piece with whether it is marked (for templates)."""
        out: list[tuple[str, bool]] = []
        at = 0
        for start, end in self.marks:
            if start > at:
                out.append((self.text[at:start], False))
            out.append((self.text[start:end], True))
            at = end
        if at < len(self.text):
            out.append((self.text[at:], False))
        return out

    def marked(self, before: str = "[", after: str = "]") -> str:
        return "".join(f"{before}{p}{after}" if on else p for p, on in self.pieces())


def pattern_of(query: SearchQuery) -> re.Pattern[str] | None:
    """Every word of the query's wanted terms: whole words (a prefix may go on); CJK
    words anywhere, as they have no spaces around them."""
    alternatives: set[str] = set()
    for term in query.wanted:
        for i, part in enumerate(term.parts):
            if is_cjk(part):
                alternatives.add(re.escape(part))
                continue
            more = f"{_WORD_CHAR}*" if term.prefix and i == len(term.parts) - 1 else ""
            alternatives.add(f"(?<!{_WORD_CHAR}){re.escape(part)}{more}(?!{_WORD_CHAR})")
    if not alternatives:
        return None
    return re.compile("|".join(sorted(alternatives, key=len, reverse=True)))


def _window(text: str, at: int, width: int) -> tuple[int, int]:
    """About ``width`` characters around ``at``, a third before it, cut at spaces."""
    start = max(0, at - width // 3)
    if start > 0:
        space = text.find(" ", start, at)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", max(start, at), end)
        end = space if space > at else end
    return start, end


def snippet(text: str | None, query: SearchQuery, width: int = SNIPPET_CHARS) -> Snippet:
    """The part of ``text`` where the query's words first appear (its start if they
    appear only in the title or URL), whitespace collapsed, the words marked."""
    if not text:
        return Snippet("")
    text = text[: body_cap(text)]
    pattern = pattern_of(query)
    found = pattern.search(fold(text)) if pattern else None
    start, end = _window(text, found.start() if found else 0, width)
    shown = " ".join(text[start:end].split())
    lead = ELLIPSIS if start > 0 else ""
    out = lead + shown + (ELLIPSIS if end < len(text) else "")
    shift = len(lead)
    found_all = pattern.finditer(fold(shown)) if pattern else iter(())
    return Snippet(
        out, [(m.start() + shift, m.end() + shift) for m in found_all if m.end() > m.start()]
    )
