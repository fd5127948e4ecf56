"""What kind of document a body is: from its Content-Type, or by sniffing when that is missing
or generic (WHATWG MIME Sniffing: servers label PDFs and pages ``application/octet-stream``)."""

from __future__ import annotations

import re

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
TEXT_TYPES = frozenset({"text/plain"})
# labels that say nothing about the body: sniff instead
GENERIC_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "unknown/unknown",
        "application/x-unknown-content-type",
        "application/download",
        "application/force-download",
    }
)
_HTML_START = re.compile(
    rb"^\s*(?:<!doctype\s+html|<html|<head|<body|<!--|<meta|<title|<div|<p[\s>]|<h1|<table|<script)",
    re.I,
)


def media_type(content_type: str | None) -> str:
    """``text/html; charset=utf-8`` -> ``text/html``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff(body: bytes) -> str:
    """``html``, ``pdf``, ``text`` or ``none`` from the bytes alone."""
    head = body[:1024]
    if head.lstrip()[:5] == b"%PDF-" or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        head = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff").replace(b"\x00", b"")
    if _HTML_START.match(head):
        return "html"
    if head and _looks_textual(head):
        return "text"
    return "none"


def _looks_textual(head: bytes) -> bool:
    # binary formats carry control bytes early; text does not (WHATWG "binary data byte")
    return not any(
        b in head
        for b in (
            b"\x00",
            b"\x01",
            b"\x02",
            b"\x03",
            b"\x04",
            b"\x05",
            b"\x06",
            b"\x07",
            b"\x08",
            b"\x0e",
            b"\x0f",
            b"\x1a",
        )
    )


def kind(body: bytes, content_type: str | None) -> str:
    """``html``, ``pdf``, ``text`` or ``none``: the Content-Type if specific, else sniffed."""
    mtype = media_type(content_type)
    if mtype in HTML_TYPES:
        return "html"
    if mtype in PDF_TYPES:
        return "pdf"
    if mtype in TEXT_TYPES:
        # "text/plain" is the default label of many servers: an HTML page behind it is still
        # shown as text by browsers, but a PDF is not text at all
        return "pdf" if body[:5] == b"%PDF-" else "text"
    if mtype in GENERIC_TYPES:
        return sniff(body)
    if mtype.endswith("+xml") or mtype in {"text/xml", "application/xml"}:
        return "html" if _HTML_START.match(body[:1024].lstrip()) else "none"
    return "none"
