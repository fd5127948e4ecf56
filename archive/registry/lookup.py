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
    """Resolve ``ref`` (resource_id, ``sid_…`` or URL) to one resource or raise NotFound."""
    ref = ref.strip()
    if ref.startswith(ids.SID_PREFIX):
        res = session.scalar(select(Resource).where(Resource.stable_id == ref))
        number = None if res else ids.decode_stable_id(ref, salt)
        if number is not None:  # a generated id later replaced by the wiki's own
            res = session.scalar(select(Resource).where(Resource.number == number))
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
    if res is None:
        raise NotFound(f"no resource with id {ref}")
    return res
