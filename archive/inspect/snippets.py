"""A few lines of a capture's text around what a search found, the found words marked.

Made from the text itself (not from the index, which holds pairs of CJK characters and
folded words): the query's words are looked for in the folded text, which is as long as
the text, so each match is where it is in the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from archive.store.search_syntax import TEXT_CAP, SearchQuery, fold, is_cjk

#: Characters of text a snippet shows, about two lines.
SNIPPET_CHARS = 240
ELLIPSIS = "…"


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


@dataclass(frozen=True)
class _Needle:
    #: a whole word (else anywhere, as CJK words are)
    word: bool
    #: and it may go on
    prefix: bool


@dataclass(frozen=True)
class Finder:
    """The query's wanted words, found in folded text: one alternation of plain strings
    (which the regex engine scans for quickly), each hit then checked for word edges."""

    pattern: re.Pattern[str]
    needles: dict[str, _Needle]

    def find(
        self, folded: str, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """(start, end) of each match in ``folded[start:end]``, a prefix taken to its word's end."""
        end = len(folded) if end is None else end
        for m in self.pattern.finditer(folded, start, end):
            a, b = m.span()
            needle = self.needles[m.group()]
            if needle.word:
                if a > 0 and _is_word(folded[a - 1]):
                    continue
                if needle.prefix:
                    while b < len(folded) and _is_word(folded[b]):
                        b += 1
                elif b < len(folded) and _is_word(folded[b]):
                    continue
            if b <= end:
                yield a, b


def _is_word(char: str) -> bool:
    return char.isalnum()


def finder_of(query: SearchQuery) -> Finder | None:
    """Every word of the query's wanted terms: whole words (the last of a prefix term may
    go on), CJK words anywhere, as they have no spaces around them."""
    needles: dict[str, _Needle] = {}
    for term in query.wanted:
        for i, part in enumerate(term.parts):
            prefix = term.prefix and i == len(term.parts) - 1
            old = needles.get(part)
            needles[part] = _Needle(not is_cjk(part), prefix or bool(old and old.prefix))
    if not needles:
        return None
    alternatives = sorted(needles, key=len, reverse=True)
    return Finder(re.compile("|".join(map(re.escape, alternatives))), needles)


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


#: Text folded for the first match a piece at a time: most pages have it early.
_FIRST_PIECE = 20_000


def _as_typed(text: str, finder: Finder) -> int | None:
    """The first match as most text has its words (lower case, capitalised, capitals),
    found without folding the text: str.find is fast, and the text may be long."""
    best: int | None = None
    for needle, how in finder.needles.items():
        for form in {needle, needle.capitalize(), needle.upper()}:
            at = text.find(form)
            while at >= 0 and (best is None or at < best):
                end = at + len(form)
                before = at > 0 and _is_word(text[at - 1])
                after = end < len(text) and _is_word(text[end]) and not how.prefix
                if not (how.word and (before or after)):
                    best = at
                    break
                at = text.find(form, at + 1)
    return best


def _first(text: str, finder: Finder) -> int:
    """Where the query's words first appear in ``text`` (0 if they do not)."""
    piece = fold(text[:_FIRST_PIECE])
    last = len(piece) if len(text) <= _FIRST_PIECE else len(piece) - 1  # its edge unknown
    found = next(finder.find(piece, 0, last), None)
    if found is not None:
        return found[0]
    if len(text) <= _FIRST_PIECE:
        return 0
    at = _as_typed(text, finder)
    if at is None:  # accents or odd capitals: the whole text folded
        found = next(finder.find(fold(text)), None)
        at = found[0] if found else 0
    return at


def snippet(text: str | None, query: SearchQuery, width: int = SNIPPET_CHARS) -> Snippet:
    """The part of ``text`` where the query's words first appear (its start if they
    appear only in the title or URL), whitespace collapsed, the words marked."""
    if not text:
        return Snippet("")
    text = text[:TEXT_CAP]
    finder = finder_of(query)
    start, end = _window(text, _first(text, finder) if finder else 0, width)
    shown = " ".join(text[start:end].split())
    lead = ELLIPSIS if start > 0 else ""
    out = lead + shown + (ELLIPSIS if end < len(text) else "")
    found = finder.find(fold(shown)) if finder else iter(())
    return Snippet(out, [(a + len(lead), b + len(lead)) for a, b in found if b > a])
