"""What the work-order actions need from the running application, and nothing more: the processing flows,
the outgoing-reply compliance check and a unit of work. The runtime satisfies it; a test may pass anything
shaped like it."""

from __future__ import annotations

from typing import Protocol

from caredesk.compliance.outgoing import OutgoingChecker
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.flows import Flow

__all__ = ["WorkOrderDeps"]


class WorkOrderDeps(Protocol):
    @property
    def flows(self) -> dict[str, Flow]: ...
    @property
    def outgoing(self) -> OutgoingChecker: ...
    def uow(self) -> UnitOfWork: ...
