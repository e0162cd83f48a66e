"""The message keys the pages compute from stored values (`t.label(order.status)`, `t("wo.sla." ~ state)`):
each family's prefix and its values, taken from the domain's own tables wherever it has one, so that a new
status or step shows up in `make messages` and fails the catalog test until it is translated.

`extract` is the Babel extractor babel.cfg names for this file; `computed_keys()` is what it yields."""

from __future__ import annotations

import csv
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import caredesk
from caredesk.accounts.roles import Role
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.alarms.delivery_status import DeliveryStatus
from caredesk.alarms.forecast import WEIGHTS
from caredesk.customers.tiers import CUSTOMER_TIERS
from caredesk.emergency.incident_status import IncidentStatus, RecorderStatus
from caredesk.emergency.meeting_status import MeetingStatus
from caredesk.emergency.notice_status import NoticeStatus
from caredesk.emergency.roster import INVITE_REASONS
from caredesk.errors import CareDeskError
from caredesk.intake.decision import REASON_CODES, DecisionKind
from caredesk.knowledge.model import EntryStatus, Move
from caredesk.sla.policy import SlaState, Target
from caredesk.triage.labels import COMPLAINT_TYPES, HEADS, ContentType, Emotion, ProblemType, Urgency
from caredesk.workorders.flows import load_builtin_flows
from caredesk.workorders.model import NOTE_CODES, PRIORITY_REASONS, Status
from caredesk.workorders.queue_order import reason_key_names
from caredesk.workorders.routing import ROUTING_CODES

__all__ = ["FAMILIES", "computed_keys", "extract"]

# entry points and tools: they declare no error of their own, and importing them here would turn the layers round
_NOT_DOMAIN = ("caredesk.api", "caredesk.web", "caredesk.cli", "caredesk.http", "caredesk.bench",
               "caredesk.bootstrap")


def _import_domain() -> None:
    """Import every module below the entry points: an error class a package declares (a channel callback's, a
    webhook's) exists as a subclass only once its module is imported. Before, the walk saw what the caller
    happened to have imported (`make messages` alone dropped 13 codes)."""
    for module in pkgutil.walk_packages(caredesk.__path__, "caredesk."):
        if not module.name.startswith(_NOT_DOMAIN) and ".migrations" not in module.name:
            importlib.import_module(module.name)


def _errors() -> Iterator[str]:
    """Every stable error code of the tree (errors.py and the packages' own) that a page may show."""
    _import_domain()
    pending: list[type[CareDeskError]] = [CareDeskError]
    while pending:
        cls = pending.pop()
        yield cls.code
        pending.extend(cls.__subclasses__())


def _flow_names(kind: str) -> Iterator[str]:
    for flow in load_builtin_flows().values():
        for step in flow.steps:
            yield from ((step.name,) if kind == "step" else step.requires)


def _shipped_categories() -> Iterator[str]:
    """The categories of the shipped knowledge base (the demo's, which new entries follow)."""
    with resources.files("caredesk.demo").joinpath("knowledge_base.csv").open(encoding="utf-8") as rows:
        yield from (row["category"] for row in csv.DictReader(rows) if row["category"])


def _values(*sources: Iterable[Any]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for source in sources for v in source}))


# prefix -> the values that complete it. Values without a table in the domain are listed here.
FAMILIES: dict[str, tuple[str, ...]] = {
    "label.": _values(ContentType, ProblemType, Urgency, Emotion, DecisionKind, Status, MeetingStatus,
                      NoticeStatus, IncidentStatus, RecorderStatus, AlarmStatus, DeliveryStatus, EntryStatus,
                      ("superseded",), CUSTOMER_TIERS, ("chat", "email", "api", "wechat", "phone", "sms")),
    "complaint_type.": _values(COMPLAINT_TYPES),
    "role.": _values(Role),
    "triage.": _values(HEADS, ("emotion",)),
    "message.": ("agent", "bot", "customer", "system"),
    "forecast.": _values(WEIGHTS),
    "wo.sla.": _values(SlaState),
    "wo.target.": _values(Target),
    "wo.step.": _values(_flow_names("step")),
    "wo.field.": _values(_flow_names("field"), ("resolution",)),
    "wo.queue.": ("mine", "team"),
    "wo.risk.": ("alarm", "complaint_level", "emergency"),  # workorders/duty.py high_risk
    "wo.lead_by.": ("complaint_manager", "rota", "team_lead"),  # workorders/duty.py LeadChoice.by
    "wo.queue_hint.": ("mine", "team"),
    "wo.ev.": ("assigned", "callback_created", "callback_done", "compliance_warning", "created",
               "emergency_started", "emergency_suggested", "handed_to_lead", "handoff_requested",
               "knowledge_inserted", "lead_told", "linked", "lookup_failed", "merged", "note", "priority_raised",
               "queued", "reassigned", "reply", "sla_breach", "sla_escalation", "sla_warning", "split",
               "status_changed", "step_changed", "survey_answered", "transferred"),
    "kb.move.": _values(Move),
    "kb.done.": _values(Move),
    "kb.action.": _values(Move, ("created", "saved", "rolled_back")),
    "kb.field.": ("answer", "answer_variants", "category", "content_type", "owner_id", "problem_type", "question",
                  "similar_questions", "status", "valid_from", "valid_until"),
    "kb.category.": _values(_shipped_categories()),
    "login.sso_": ("failed", "refused", "unavailable"),
    "survey.r": ("1", "2", "3", "4", "5"),
    "decision.code.": tuple(REASON_CODES),
    "priority.": tuple(PRIORITY_REASONS),
    "wo.route.": _values(ROUTING_CODES),  # why routing chose an agent, queued, or went to the lead
    "wo.note.": _values(NOTE_CODES),  # the notes the system writes on an order's timeline
    "meeting.invite.": _values(INVITE_REASONS),  # why the roster invited a person
    "reason.": reason_key_names(),  # the queues' priority reasons (workorders/queue_order.py)
    "error.code.": _values(_errors()),
    # Specific refusals, named by the error's `problem` detail where the action raises it.
    "error.problem.": ("reason_required", "too_long"),
    "punct.": ("list_separator",),
    "profile.trend.": ("falling", "rising", "steady"),  # profiles/cold_start.py emotion_trend
    "profile.score.": ("escalation_risk", "loyalty_score", "value_score"),  # customer_profile.drivers keys
    "profile.source.": ("failed", "ok", "stale"),  # customer_source_record.status
}


def computed_keys() -> list[str]:
    return sorted(prefix + value for prefix, values in FAMILIES.items() for value in values)


def extract(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor interface: (line, function, message, comments) for each computed key."""
    for key in computed_keys():
        yield 1, "N_", key, []
