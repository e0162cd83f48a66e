"""Steps that run inside the transaction of every work-order event (`actions.append_event`): another package
(channels/notices) reacts to a key point in the same transaction as the change, without every action calling
it. Hooks are kept per runtime on its session factory (each session starts with them in `session.info`),
not in a module-level list, so two runtimes in one process (the tests) never see each other's hooks."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from caredesk.storage.orm import WorkOrder, WorkOrderEvent

__all__ = ["TimelineHook", "add_timeline_hook", "run_timeline_hooks"]

TimelineHook = Callable[[Session, WorkOrder, WorkOrderEvent], None]
_KEY = "caredesk.timeline_hooks"


def add_timeline_hook(factory: sessionmaker[Session], hook: TimelineHook) -> None:
    info = dict(factory.kw.get("info") or {})
    info[_KEY] = (*info.get(_KEY, ()), hook)
    factory.configure(info=info)


def run_timeline_hooks(session: Session, order: WorkOrder, event: WorkOrderEvent) -> None:
    for hook in session.info.get(_KEY, ()):
        hook(session, order, event)
