"""Which knowledge entry an agent inserted into a reply: a `knowledge_inserted` event on the order's timeline
(entry, version, key), so that later learning can see which answers agents reach for on which cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from caredesk.errors import InvalidInput, NotFound
from caredesk.storage.orm import KnowledgeEntry, KnowledgeVersion, WorkOrderEvent
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.actions import append_event, get_work_order

__all__ = ["do_record_knowledge_use"]


def do_record_knowledge_use(uow: UnitOfWork, order_id: str, *, entry_id: str, version: int, actor: str,
                            source: str, now: datetime) -> WorkOrderEvent:
    """`source`: the page the agent inserted it on ("conversation" or "work_order")."""
    if version < 1:
        raise InvalidInput("the entry version must be 1 or more", field="version")
    with uow:
        s = uow.session
        order = get_work_order(s, order_id, for_update=True)
        entry = s.get(KnowledgeEntry, entry_id)
        known = s.scalar(select(KnowledgeVersion.id).where(KnowledgeVersion.entry_id == entry_id,
                                                           KnowledgeVersion.version == version))
        if entry is None or (known is None and entry.version != version):
            raise NotFound("knowledge entry version not found", entry_id=entry_id, version=version)
        event = append_event(s, order, "knowledge_inserted", actor=actor, now=now,
                             data={"entry_id": entry_id, "version": version, "key": entry.key, "source": source})
        uow.commit()
    return event
