"""Identifiers (docs/design.md §3).

- ``resource_id``: first 16 hex digits of sha256 of the URL *exactly as written*,
  the wiki's own rule, so ids match the ones it already carries.
- ``stable_id``: ``sid_`` + hashids of a number assigned once per resource (the
  first 48 bits of its resource hash); short, unambiguous and decodable.
- ``capture_id``: ``cap_`` + hashids of (resource number, capture second, sequence),
  so a capture id names its resource and time without a lookup.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from hashids import Hashids

SID_PREFIX = "sid_"
CAPTURE_PREFIX = "cap_"
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MIN_LENGTH = 10
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
#: What an id given in the input may look like: the wiki's hex ids and a few hand-made slugs.
VALID_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
#: A stable id given in the input is the wiki's to choose, kept verbatim when plausible: its
#: resource pages show ``sid_`` + 10 random alphanumerics, its older exports the bare 10.
VALID_STABLE_ID = re.compile(r"^(?!sid_$)[A-Za-z0-9_-]{1,64}$")


def resource_id_for(url: str) -> str:
    """The wiki's rule: sha256 of the URL as written, first 16 hex digits."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def resource_number(resource_id: str) -> int:
    """The 48-bit number a resource's stable id encodes.

    For the usual hex ids it is the id's own first 48 bits, so the number can be
    read back from the id; hand-made ids are hashed first.
    """
    hex_id = resource_id if _HEX16.match(resource_id) else resource_id_for(resource_id)
    return int(hex_id[:12], 16)


@lru_cache(maxsize=8)
def _hashids(salt: str) -> Hashids:
    return Hashids(salt=salt, min_length=_MIN_LENGTH, alphabet=_ALPHABET)


def stable_id_for(number: int, salt: str) -> str:
    return SID_PREFIX + _hashids(salt).encode(number)


def stable_id_forms(stable_id: str) -> tuple[str, str]:
    """The stable id as written and its other spelling, with or without ``sid_``: the wiki
    shows ``sid_zdhec5IYfo`` where its older exports say ``zdhec5IYfo``, one id."""
    if stable_id.startswith(SID_PREFIX) and len(stable_id) > len(SID_PREFIX):
        return stable_id, stable_id[len(SID_PREFIX) :]
    return stable_id, SID_PREFIX + stable_id


def same_stable_id(a: str | None, b: str | None) -> bool:
    """Whether two stable ids are one, spelt with or without ``sid_``."""
    return a is not None and b is not None and b in stable_id_forms(a)


def decode_stable_id(stable_id: str, salt: str) -> int | None:
    """The number a generated ``sid_`` encodes, or None (e.g. a stable id given by the wiki)."""
    if not stable_id.startswith(SID_PREFIX):
        return None
    decoded = _hashids(salt).decode(stable_id[len(SID_PREFIX) :])
    return decoded[0] if len(decoded) == 1 else None


@dataclass(frozen=True)
class CaptureKey:
    resource_number: int
    captured_at: datetime
    sequence: int


def capture_id_for(number: int, when: datetime, salt: str, sequence: int = 0) -> str:
    seconds = int(when.replace(tzinfo=when.tzinfo or UTC).timestamp())
    return CAPTURE_PREFIX + _hashids(salt).encode(number, seconds, sequence)


def decode_capture_id(capture_id: str, salt: str) -> CaptureKey | None:
    if not capture_id.startswith(CAPTURE_PREFIX):
        return None
    decoded = _hashids(salt).decode(capture_id[len(CAPTURE_PREFIX) :])
    if len(decoded) != 3:
        return None
    number, seconds, sequence = decoded
    return CaptureKey(number, datetime.fromtimestamp(seconds, UTC), sequence)
