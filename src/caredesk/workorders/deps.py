"""What the work-order actions need from the running application, and nothing more: the processing flows,
the outgoing-reply compliance check, the time zone of case numbers and a unit of work. The runtime satisfies
it; a test may pass anything shaped like it."""

from __future__ import annotations

from datetime import tzinfo
from typing import Protocol

from caredesk.channels.outbound import Senders
from caredesk.compliance.outgoing import OutgoingChecker
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.workorders.flows import Flow

__all__ = ["WorkOrderDeps"]


class WorkOrderDeps(Protocol):
    @property
    def flows(self) -> dict[str, Flow]: ...
    @property
    def outgoing(self) -> OutgoingChecker: ...
    @property
    def case_zone(self) -> tzinfo: ...  # the day of a case number is the day there (workorders/case_numbers.py)
    def uow(self) -> UnitOfWork: ...
    @property
    def channels(self) -> Senders: ...  # replies go to the customer by their channel (channels/delivery.py)
