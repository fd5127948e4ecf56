"""Undoing a body's Content-Encoding, never past a size cap.

Scrapy's decoders, the ones its HttpCompressionMiddleware uses, each given the cap as its
``max_size``: they stop as soon as their output passes it, so a small body that inflates
to gigabytes (a decompression bomb) costs at most the cap in memory and time. The crawl
(crawler/compression.py) and every reader of stored payloads (``archive cat``, the viewer,
reindex) decode through here, so they agree on what a body decodes to, and on which
bodies they refuse to decode.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from scrapy.utils import _compression
from scrapy.utils._compression import _DecompressionMaxSizeExceeded, _inflate, _unzstd
from scrapy.utils.gz import gunzip

#: The cap when a reader is given none: the default of ARCHIVE_MAX_BODY_SIZE.
MAX_DECODED = 50 * 1024 * 1024
#: The cap when ARCHIVE_MAX_BODY_SIZE is 0 (bodies uncapped on the wire): Scrapy's
#: default DOWNLOAD_MAXSIZE. Decoding is never uncapped.
MAX_DECODED_UNCAPPED = 1024 * 1024 * 1024


def decoded_cap(max_body_size: int) -> int:
    """What a body may decode to when bodies are cut at ``max_body_size`` on the wire."""
    return max_body_size if max_body_size > 0 else MAX_DECODED_UNCAPPED


class DecodedTooLarge(ValueError):
    """Undoing ``coding`` would make the body larger than ``max_size`` bytes."""

    def __init__(self, coding: str, max_size: int) -> None:
        super().__init__(
            f"its {coding} coding decodes to more than {max_size} bytes, "
            "the cap on decoded bodies (ARCHIVE_MAX_BODY_SIZE)"
        )
        self.coding = coding
        self.max_size = max_size


@functools.cache
def _brotli_module() -> Any:
    """Google's Brotli, whose decompressor can stop at an output limit (``process``).

    pywb depends on brotlipy, which installs a ``brotli`` package of another API (no output
    limit) that shadows Google's ``brotli.py``, and registers its own extension as
    ``_brotli``, the name of Google's: that one is loaded from its file, beside
    ``sys.modules``. None when no decompressor with an output limit is installed.
    """
    module = _compression.brotli  # the one Scrapy's own decoder imported
    if hasattr(module.Decompressor, "process"):
        return module
    spec = importlib.machinery.PathFinder.find_spec("_brotli")
    if spec is None or spec.loader is None:
        return None
    try:
        found = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(found)
    except (ImportError, OSError):
        return None
    decompressor = getattr(found, "Decompressor", None)
    return found if hasattr(decompressor, "process") else None


def _unbrotli(data: bytes, *, max_size: int = 0) -> bytes:
    """Scrapy's ``_unbrotli``, with whichever module has what it needs."""
    module = _brotli_module()
    if module is _compression.brotli:
        return _compression._unbrotli(data, max_size=max_size)
    if module is None:
        raise ValueError("br: no Brotli decoder with an output limit is installed")
    # Scrapy's loop, over Google's extension module.
    chunk = _compression._CHUNK_SIZE
    decompressor = module.Decompressor()
    output = BytesIO()
    piece = decompressor.process(data, output_buffer_limit=chunk)
    while piece:
        output.write(piece)
        _compression._check_max_size(output.tell(), max_size)
        if decompressor.is_finished():
            break
        piece = decompressor.process(b"", output_buffer_limit=chunk)
    return output.getvalue()


#: Content-codings we undo, by name: Scrapy's decoders, each taking a ``max_size``.
DECODERS: dict[str, Callable[..., bytes]] = {
    "gzip": gunzip,
    "x-gzip": gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}


def content_codings(values: Iterable[str]) -> list[str]:
    """The codings named by Content-Encoding header values, in the order applied."""
    return [c.strip().lower() for value in values for c in value.split(",") if c.strip()]


def decode(body: bytes, codings: Iterable[str], max_size: int) -> bytes:
    """``body`` with ``codings`` (in the order they were applied) undone, last first,
    stopping at the first one there is no decoder for.

    Raises DecodedTooLarge once a decoder's output passes ``max_size`` (0: no cap), or
    the decoder's own error (zlib.error, brotli's, zstd's...) when the coding is broken.
    """
    for coding in reversed(list(codings)):
        decoder = DECODERS.get(coding)
        if decoder is None:
            break
        try:
            body = decoder(body, max_size=max_size)
        except _DecompressionMaxSizeExceeded as exc:
            raise DecodedTooLarge(coding, max_size) from exc
    return body
