"""Finding a resource by what a user types: resource id, stable id or URL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.registry import ids
from archive.registry.urls import url_key
from archive.store.models import Resource


class NotFound(LookupError):
    pass


def find_resource(session: Session, ref: str, salt: str) -> Resource:
    """Resolve ``ref`` (resource_id, stable id with or without ``sid_``, or URL) to one
    resource or raise NotFound."""
    ref = ref.strip()
    if ref.startswith(ids.SID_PREFIX):
        res = by_stable_id(session, ref, salt)
        if res:
            return res
        raise NotFound(f"no resource with stable id {ref}")
    if "/" in ref or "." in ref:
        res = session.scalar(select(Resource).where(Resource.url == ref))
        if res:
            return res
        try:
            key = url_key(ref if "://" in ref else f"https://{ref}")
        except ValueError as exc:
            raise NotFound(f"{ref!r} is not a URL we can match: {exc}") from exc
        matches = session.scalars(select(Resource).where(Resource.url_key == key).limit(2)).all()
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise NotFound(f"{ref} matches several resources; use a resource id")
        if not ids.VALID_RESOURCE_ID.match(ref):
            raise NotFound(f"no resource with URL {ref}")
    res = session.get(Resource, ref)
    if res is None and ids.VALID_STABLE_ID.match(ref):  # the wiki's bare stable ids
        res = by_stable_id(session, ref, salt)
    if res is None:
        raise NotFound(f"no resource with id {ref}")
    return res


def by_stable_id(session: Session, ref: str, salt: str) -> Resource | None:
    """The resource with stable id ``ref``, spelt with or without ``sid_``, or whose
    generated id it is (one later replaced by the wiki's own still decodes to its number)."""
    forms = ids.stable_id_forms(ref)
    found = session.scalars(select(Resource).where(Resource.stable_id.in_(forms))).all()
    if found:  # the spelling asked for first, should both be stored
        return min(found, key=lambda r: forms.index(r.stable_id))
    prefixed = next(f for f in forms if f.startswith(ids.SID_PREFIX))
    number = ids.decode_stable_id(prefixed, salt)
    if number is None:
        return None
    return session.scalar(select(Resource).where(Resource.number == number))
