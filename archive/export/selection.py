"""Which resources an export covers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.store.models import Resource


@dataclass
class Selection:
    """Which resources an export covers (all by default)."""

    ids: list[str] | None = None
    states: list[str] | None = None
    type: str | None = None

    def resources(self, session: Session) -> list[Resource]:
        query = select(Resource).order_by(Resource.resource_id)
        if self.ids:
            query = query.where(Resource.resource_id.in_(self.ids))
        if self.states:
            query = query.where(Resource.link_state.in_(self.states))
        if self.type:
            query = query.where(Resource.type == self.type)
        return list(session.scalars(query))
