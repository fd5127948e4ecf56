"""Telling a script shell from a page: HTML that shows its text only once script has run.

A crawl captures such a page again with a browser (``crawler.browser``) when its HTTP
capture's preview is short and the HTML says why: a notice that JavaScript is needed
(in ``<noscript>`` or in the text itself), or an empty application root (``<div
id="root"></div>``, ``<div id="app">``, ``<div id="__next">``...) beside scripts. A page
that is short but plain (a stub, a redirect notice) is not one.
"""

from __future__ import annotations

import re

#: what pages say when they need script to show anything
NOTICES = re.compile(
    r"(requires?|needs?|enable|turn on|activate|without|have)\s+(the\s+)?javascript"
    r"|javascript\s+(is\s+)?(required|disabled|must be enabled|has not run|to run this app)"
    r"|please\s+(enable|allow)\s+(cookies\s+and\s+)?javascript"
    r"|this (website|site|page|app) (requires|needs|works best with) javascript",
    re.IGNORECASE,
)
#: the element a client-side application renders itself into, left empty in the HTML
_EMPTY_ROOT = re.compile(
    r"<(div|main|section|body)\b[^>]*\bid\s*=\s*[\"']?"
    r"(root|app|__next|__nuxt|___gatsby|main-app|react-root|app-root|svelte|ember-app)"
    r"[\"']?[^>]*>\s*(<!--.*?-->\s*)*</\1>"
    r"|<(app-root|ion-app)\b[^>]*>\s*</(app-root|ion-app)>",
    re.IGNORECASE | re.DOTALL,
)
_NOSCRIPT = re.compile(r"<noscript\b[^>]*>(.*?)</noscript>", re.IGNORECASE | re.DOTALL)
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
#: only the start of a page is looked at: a shell is small, its notice near the top
_HEAD_BYTES = 512 * 1024


def script_shell(html: bytes | None, text: str | None, max_text: int) -> str | None:
    """Why the page looks like a script shell (to be captured with a browser), or None.

    ``html`` is the page as fetched (decoded from its Content-Encoding), ``text`` the
    preview extracted from it, ``max_text`` the most characters of text a shell may have.
    """
    if not html or not _SCRIPT.search(html[:_HEAD_BYTES].decode("latin-1")):
        return None  # without script, nothing more would show in a browser
    words = " ".join((text or "").split())
    if len(words) > max_text:
        return None
    page = html[:_HEAD_BYTES].decode("utf-8", "replace")
    if NOTICES.search(words):
        return "its text says JavaScript is required"
    for notice in _NOSCRIPT.findall(page):
        if NOTICES.search(re.sub(r"<[^>]+>", " ", notice)):
            return "its <noscript> says JavaScript is required"
    if _EMPTY_ROOT.search(page):
        return "its application root is empty"
    if not words:
        return "it has scripts and no text"
    return None
