"""HTTP message heads as they crossed the wire, kept byte for byte in the records.

A head is the start line, the header lines and the blank line that ends them, exactly as
sent or received: the reason phrase, header names as cased, their order, repeated and
folded headers, lines without a colon, ``\\n`` instead of ``\\r\\n``. ``RawHead`` splits
one into its lines without normalising anything, so the few deliberate changes
``exchange`` makes (see its docstring) touch only the lines they are about and every
other byte is stored as it came.

Lines end at ``\\n`` alone, as Twisted's parser reads them (bytes.splitlines would also
split at a lone ``\\r`` inside a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warcio.statusandheaders import StatusAndHeaders


@dataclass
class RawField:
    """One header as it arrived: its first line and any continuation lines (obs-fold),
    each with its own line ending. ``name`` is empty for a line without a colon."""

    lines: list[bytes]

    @property
    def name(self) -> str:
        first = self.lines[0]
        return first.split(b":", 1)[0].decode("latin-1") if b":" in first else ""

    @property
    def value(self) -> str:
        # Continuations joined as Twisted joins them (and Scrapy then sees them).
        joined = b"".join(line.rstrip(b"\r\n") for line in self.lines)
        return joined.split(b":", 1)[1].strip().decode("latin-1")

    @property
    def eol(self) -> bytes:
        return b"\r\n" if self.lines[-1].endswith(b"\r\n") else b"\n"

    def renamed(self, prefix: str) -> RawField:
        """The same header under ``prefix`` + its name, value and folding untouched."""
        return RawField([prefix.encode("latin-1") + self.lines[0], *self.lines[1:]])


@dataclass
class RawHead:
    """A head split into its start line, header fields and final blank line."""

    start: bytes
    fields: list[RawField] = field(default_factory=list)
    end: bytes = b"\r\n"

    @classmethod
    def parse(cls, head: bytes) -> RawHead | None:
        """Split ``head``; None when it is not one whole head (no start line, or no blank
        line at its end), so that the caller falls back to the parsed headers."""
        lines = [line + b"\n" for line in head.split(b"\n")]
        if lines.pop() != b"\n" or len(lines) < 2 or lines[-1] not in (b"\r\n", b"\n"):
            return None
        start, *header_lines, end = lines
        if not start.strip():
            return None
        fields: list[RawField] = []
        for line in header_lines:
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1].lines.append(line)
            else:
                fields.append(RawField([line]))
        return cls(start, fields, end)

    @property
    def start_text(self) -> str:
        return self.start.rstrip(b"\r\n").decode("latin-1")

    def pairs(self) -> list[tuple[str, str]]:
        """The headers as (name, value), folded values joined; lines without a colon,
        which parsers skip, are left out here but kept in ``to_bytes``."""
        return [(f.name, f.value) for f in self.fields if f.name]

    def to_bytes(self) -> bytes:
        return self.start + b"".join(b"".join(f.lines) for f in self.fields) + self.end


class RawHeaders(StatusAndHeaders):
    """warcio's headers object for a head stored exactly as ``raw``.

    ``protocol``, ``statusline`` and ``headers`` are the parsed view, for code that reads
    them; what warcio writes into the record (and digests) is ``to_ascii_bytes``, which
    here is the raw head itself.
    """

    def __init__(self, raw: RawHead, protocol: str, statusline: str) -> None:
        super().__init__(statusline, raw.pairs(), protocol=protocol)
        self.raw = raw

    def to_ascii_bytes(self, filter_func=None) -> bytes:  # noqa: ANN001 - warcio's signature
        if filter_func is not None:  # a filtering writer rebuilds the head by design
            return super().to_ascii_bytes(filter_func)
        return self.raw.to_bytes()
