"""SQLAlchemy models, one module per area. Import this package to register every table on Base.metadata."""

from caredesk.storage.orm.audit import AuditEntry, Notification
from caredesk.storage.orm.base import Base
from caredesk.storage.orm.conversations import Conversation, Customer, Message, TriageResult
from caredesk.storage.orm.emergency import (
    EmergencyMeeting,
    IncidentEntry,
    IncidentRecord,
    IncidentRecorder,
    MeetingParticipant,
)
from caredesk.storage.orm.escalation import Alarm
from caredesk.storage.orm.knowledge import KnowledgeEntry, KnowledgeSuggestion, KnowledgeVersion
from caredesk.storage.orm.org import ApiKey, Branch, Department, OnCallEntry, SkillGroup, Staff, staff_skill_groups
from caredesk.storage.orm.workorders import WorkOrder, WorkOrderEvent

__all__ = [
    "Alarm",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Branch",
    "Conversation",
    "Customer",
    "Department",
    "EmergencyMeeting",
    "IncidentEntry",
    "IncidentRecord",
    "IncidentRecorder",
    "KnowledgeEntry",
    "KnowledgeSuggestion",
    "KnowledgeVersion",
    "MeetingParticipant",
    "Message",
    "Notification",
    "OnCallEntry",
    "SkillGroup",
    "Staff",
    "TriageResult",
    "WorkOrder",
    "WorkOrderEvent",
    "staff_skill_groups",
]
