"""What intake (`intake.actions.do_receive_message`) needs from the running application, and nothing more, so
that intake does not import the composition root. The runtime satisfies it; a test may pass anything shaped
like it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from caredesk.alarms.rules import AlarmPolicy
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.channels.outbound import Senders
from caredesk.clock import Clock
from caredesk.compliance.outgoing import OutgoingChecker
from caredesk.emergency.actions import EmergencyPlan
from caredesk.intake.decision import DecisionPolicy
from caredesk.integrations.connectors.client import Connectors
from caredesk.settings import Settings
from caredesk.sla.policy import SlaConfig
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.doc import TriageDoc
from caredesk.workorders.flows import Flow

if TYPE_CHECKING:  # the index module loads numpy and the encoder; a type is all this needs
    from caredesk.knowledge.retrieval import KnowledgeIndex

__all__ = ["IntakeDeps"]


class IntakeDeps(Protocol):
    @property
    def settings(self) -> Settings: ...  # message length, knowledge thresholds
    @property
    def clock(self) -> Clock: ...
    @property
    def triage(self) -> Callable[[str], TriageDoc]: ...  # the current pipeline; only called here
    @property
    def decision_policy(self) -> DecisionPolicy: ...
    def knowledge_index(self) -> KnowledgeIndex: ...  # called before the write transaction (it may rebuild)
    @property
    def session_factory(self) -> sessionmaker[Session]: ...  # the conversation's history, read before it
    def uow(self) -> UnitOfWork: ...
    @property
    def emergency(self) -> EmergencyPlan: ...
    @property
    def flows(self) -> dict[str, Flow]: ...  # a new work order's flow, SLA and case number
    @property
    def sla(self) -> SlaConfig: ...
    @property
    def case_zone(self) -> tzinfo: ...
    @property
    def outgoing(self) -> OutgoingChecker: ...  # the compliance check of every reply
    @property
    def alarm_policy(self) -> AlarmPolicy: ...
    @property
    def alarm_strategy(self) -> AlarmStrategy: ...
    @property
    def channels(self) -> Senders: ...  # a reply that goes back by the customer's channel
    @property
    def connectors(self) -> Connectors: ...  # live order and parcel status (asked before the write transaction)
