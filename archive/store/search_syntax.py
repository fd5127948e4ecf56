"""What a search indexes and what it asks, as tokens both databases agree on.

Text is lowercased and Latin diacritics are folded (``café`` is ``cafe``); a word is a run
of letters and digits. Chinese, Japanese and Korean do not separate words with spaces, so
a run of those characters is indexed as its overlapping pairs, the last character also
alone (``東京都`` → ``東京 京都 都``): a word of two or more characters is found inside a
sentence as the phrase of its pairs, a single character as a prefix of a pair.

The user's syntax (``archive search``, the viewer's box): words, ``"phrases"`` in double
quotes, ``-word`` or ``-"phrase"`` left out, ``word*`` as a prefix. It is parsed here into
terms of tokens, and written out as an FTS5 MATCH string or a PostgreSQL tsquery in which
every token is quoted: no input is syntax to either database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: The characters of a page's text that are indexed: PostgreSQL keeps a document's words
#: and their positions under 1 MB, and a CJK character costs up to 10 bytes there (a pair
#: of 6 bytes, its count and position), any other under 4; so a text with CJK characters
#: in it is indexed to a shorter length.
TEXT_CAP = 150_000
CJK_TEXT_CAP = 90_000
#: Of a title and of the URLs.
FIELD_CAP = 2_000
#: The longest query taken, in characters, and the most terms in one.
QUERY_MAX = 1_000
TERMS_MAX = 32

#: Han (with extension A and compatibility ideographs), kana, Hangul syllables.
CJK_CLASS = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
)
_CJK_RUN = re.compile(f"([{CJK_CLASS}]+)")
#: A CJK character after another ends one pair and begins the next: written twice (``\1 \1``).
_CJK_PAIR = re.compile(f"(?<=[{CJK_CLASS}])([{CJK_CLASS}])")
_CJK_CHAR = re.compile(f"[{CJK_CLASS}]")
_WORD = re.compile(r"[^\W_]+")


def _latin_folds() -> dict[int, str]:
    """Latin letters with diacritics → their base letter (what SQLite's unicode61 with
    ``remove_diacritics 2`` folds); one character for one, so offsets survive folding."""
    out: dict[int, str] = {}
    for block in (range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        for code in block:
            parts = unicodedata.normalize("NFD", chr(code))
            base = parts[0]
            marks = parts[1:]
            diacritics = bool(marks) and all(unicodedata.combining(c) for c in marks)
            if diacritics and base.isascii() and base.isalpha():
                out[code] = base
    return out


FOLDS = _latin_folds()
_FOLDABLE = re.compile("[" + "".join(chr(c) for c in FOLDS) + "]")


def _folded(found: re.Match[str]) -> str:
    return FOLDS[ord(found.group())]


def fold(text: str) -> str:
    """Lowercased, Latin diacritics folded, as long as ``text`` (so offsets carry over)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter lowercases into two: keep it as it is
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    # Only the letters that fold are touched: str.translate looks up every character.
    return _FOLDABLE.sub(_folded, lowered)


def body_cap(text: str) -> int:
    """How much of a page's text is indexed: TEXT_CAP characters, CJK_TEXT_CAP when
    there are CJK characters among them."""
    return CJK_TEXT_CAP if _CJK_CHAR.search(text, 0, TEXT_CAP) else TEXT_CAP


def document_text(text: str | None, cap: int = 0) -> str | None:
    """What SQLite's index is given of a column: its first ``cap`` characters (a page's
    text: ``body_cap``), each run of CJK characters written as its pairs (the tokenizer
    lowercases and folds the rest)."""
    if text is None:
        return None
    text = text[: cap or body_cap(text)]
    if not _CJK_CHAR.search(text):
        return text
    return _CJK_PAIR.sub(r"\1 \1", _CJK_RUN.sub(r" \1 ", text))


def is_cjk(text: str) -> bool:
    """Whether ``text`` begins with a CJK character."""
    return bool(_CJK_CHAR.match(text))


class QueryError(ValueError):
    """A query that cannot be searched; its message says why in one line."""


@dataclass
class Term:
    """Tokens that must appear in a row (a phrase when more than one); ``prefix``: the last
    one may go on; ``parts``: the folded words the user typed, to highlight."""

    tokens: list[str]
    prefix: bool = False
    negated: bool = False
    parts: list[str] = field(default_factory=list)


@dataclass
class SearchQuery:
    text: str
    terms: list[Term]

    @property
    def wanted(self) -> list[Term]:
        return [t for t in self.terms if not t.negated]

    @property
    def left_out(self) -> list[Term]:
        return [t for t in self.terms if t.negated]


def _cjk_tokens(run: str, last: bool) -> tuple[list[str], bool]:
    """A run of CJK characters as the tokens it was indexed as; whether the last is a prefix."""
    if len(run) == 1:
        return [run], last  # a single character: the start of a pair, or one alone
    pairs = [run[i : i + 2] for i in range(len(run) - 1)]
    return (pairs if last else [*pairs, run[-1]]), False


def term_of(text: str, prefix: bool, negated: bool) -> list[Term]:
    """The term(s) a word or phrase of the query stands for (none if it has no word)."""
    pieces: list[str] = []
    for word in _WORD.findall(fold(text)):
        pieces += [p for p in _CJK_RUN.split(word) if p]
    if not pieces:
        return []
    tokens: list[str] = []
    last_prefix = prefix
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if is_cjk(piece):
            more, cjk_prefix = _cjk_tokens(piece, last)
            tokens += more
            if last:
                last_prefix = prefix or cjk_prefix
        else:
            tokens.append(piece)
    return [Term(tokens, last_prefix, negated, pieces)]


#: An optional minus, then a quoted phrase (its closing quote optional) or a word; a star
#: after either makes its last word a prefix.
_QUERY = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))(\*?)')


def parse_query(text: str) -> SearchQuery:
    """The user's query as terms; QueryError when there is nothing to search for."""
    text = unicodedata.normalize("NFC", text.strip())
    if len(text) > QUERY_MAX:
        raise QueryError(f"the query is too long ({len(text):,} characters; at most {QUERY_MAX:,})")
    terms: list[Term] = []
    for minus, phrase, word, star in _QUERY.findall(text):
        raw = word or phrase
        prefix = bool(star) or raw.endswith("*")
        terms += term_of(raw, prefix, negated=minus == "-")
    if not terms:
        raise QueryError("nothing to search for: the query has no words, only punctuation")
    if not any(not t.negated for t in terms):
        raise QueryError("a query needs a word to find, not only words to leave out (-word)")
    if len(terms) > TERMS_MAX:
        raise QueryError(f"too many words in the query ({len(terms)}; at most {TERMS_MAX})")
    return SearchQuery(text, terms)


# -- written out for each database ---------------------------------------------------------


def _fts5_term(term: Term) -> str:
    quoted = " ".join(t.replace('"', '""') for t in term.tokens)
    return f'"{quoted}"' + ("*" if term.prefix else "")


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH string: every token inside double quotes, so none is an operator."""
    out = "(" + " AND ".join(_fts5_term(t) for t in query.wanted) + ")"
    for term in query.left_out:
        out = f"({out} NOT {_fts5_term(term)})"
    return out


def _lexeme(token: str, prefix: bool) -> str:
    escaped = token.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'" + (":*" if prefix else "")


def _ts_term(term: Term) -> str:
    last = len(term.tokens) - 1
    lexemes = [_lexeme(t, term.prefix and i == last) for i, t in enumerate(term.tokens)]
    return "(" + " <-> ".join(lexemes) + ")"


def tsquery(query: SearchQuery) -> str:
    """The PostgreSQL tsquery, in its own syntax with each lexeme quoted (cast, not parsed
    by to_tsquery: the tokens are already what the index holds)."""
    wanted = [_ts_term(t) for t in query.wanted]
    left_out = [f"!{_ts_term(t)}" for t in query.left_out]
    return " & ".join(wanted + left_out)
