"""Small text measures shared by the extraction steps."""

from __future__ import annotations

import re

WORDS = re.compile(r"\w+")


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def word_count(text: str) -> int:
    # CJK text has no spaces between words: count its characters in pairs
    words = len(WORDS.findall(text))
    if not text.isascii():
        words += len(_CJK.findall(text)) // 2
    return words


def same_words(a: str, b: str) -> bool:
    return WORDS.findall(a.lower()) == WORDS.findall(b.lower())
