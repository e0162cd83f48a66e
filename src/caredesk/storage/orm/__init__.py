"""SQLAlchemy models, one module per area. Import this package to register every table on Base.metadata."""

from caredesk.storage.orm.alarms import Alarm, AlarmDelivery, AlarmEvent
from caredesk.storage.orm.analytics import HourlyCount, OrderHour
from caredesk.storage.orm.analytics_surge import Surge
from caredesk.storage.orm.analytics_threshold import ThresholdNotice, ThresholdState
from caredesk.storage.orm.audit import AuditEntry, Notification
from caredesk.storage.orm.base import Base
from caredesk.storage.orm.calls import PhoneCall
from caredesk.storage.orm.channels import ChannelContact, InboundKey, MessageDelivery
from caredesk.storage.orm.conversations import (
    CUSTOMER_PII_FIELDS,
    Conversation,
    Customer,
    Message,
    TriageResult,
)
from caredesk.storage.orm.emergency import (
    EmergencyMeeting,
    IncidentEntry,
    IncidentRecord,
    IncidentRecorder,
    IncidentRecordVersion,
    MeetingParticipant,
)
from caredesk.storage.orm.idempotency import IdempotencyRecord
from caredesk.storage.orm.knowledge import KnowledgeEntry, KnowledgeSuggestion, KnowledgeVersion
from caredesk.storage.orm.mail import MailMessage
from caredesk.storage.orm.org import (
    ApiKey,
    Branch,
    Department,
    DutyShift,
    OnCallEntry,
    SkillGroup,
    Staff,
    StaffLoginPlace,
    staff_skill_groups,
)
from caredesk.storage.orm.outbox import OutboxEvent
from caredesk.storage.orm.profiles import CustomerProfile, CustomerSourceRecord, ProfileTrainingRun
from caredesk.storage.orm.training import LabelCorrection, TrainingRun
from caredesk.storage.orm.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription
from caredesk.storage.orm.workorders import (
    CallbackTask,
    CaseCounter,
    DutyHandoff,
    Macro,
    SatisfactionSurvey,
    SlaMark,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderLink,
)

__all__ = [
    "CUSTOMER_PII_FIELDS",
    "Alarm",
    "AlarmDelivery",
    "AlarmEvent",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Branch",
    "CallbackTask",
    "CaseCounter",
    "ChannelContact",
    "Conversation",
    "Customer",
    "CustomerProfile",
    "CustomerSourceRecord",
    "Department",
    "DutyHandoff",
    "DutyShift",
    "EmergencyMeeting",
    "HourlyCount",
    "IdempotencyRecord",
    "InboundKey",
    "IncidentEntry",
    "IncidentRecord",
    "IncidentRecordVersion",
    "IncidentRecorder",
    "KnowledgeEntry",
    "KnowledgeSuggestion",
    "KnowledgeVersion",
    "LabelCorrection",
    "Macro",
    "MailMessage",
    "MeetingParticipant",
    "Message",
    "MessageDelivery",
    "Notification",
    "OnCallEntry",
    "OrderHour",
    "OutboxEvent",
    "PhoneCall",
    "ProfileTrainingRun",
    "SatisfactionSurvey",
    "SkillGroup",
    "SlaMark",
    "Staff",
    "StaffLoginPlace",
    "Surge",
    "ThresholdNotice",
    "ThresholdState",
    "TrainingRun",
    "TriageResult",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderLink",
    "staff_skill_groups",
]
