"""Roles and what each may do. Issue 7 turns this into the full permission matrix."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role", "can"]


class Role(StrEnum):
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    QUALITY_REVIEWER = "quality_reviewer"
    KNOWLEDGE_EDITOR = "knowledge_editor"
    COMPLAINT_MANAGER = "complaint_manager"
    ADMIN = "admin"
    AUDITOR = "auditor"


_STAFF = {Role.AGENT, Role.TEAM_LEAD, Role.QUALITY_REVIEWER, Role.KNOWLEDGE_EDITOR, Role.COMPLAINT_MANAGER,
          Role.ADMIN}
PERMISSIONS: dict[str, set[Role]] = {
    "message.post": _STAFF,
    "conversation.read": _STAFF | {Role.AUDITOR},
    "workorder.read": _STAFF | {Role.AUDITOR},
    "workorder.change": {Role.AGENT, Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # Assign others' orders, merge, manage macros, see the SLA breach board, set agents away (issue 4).
    "workorder.supervise": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # See a customer's unmasked data (message text, contact and identity fields); every reveal is audited.
    "pii.reveal": {Role.COMPLAINT_MANAGER, Role.ADMIN},
    # Set a customer's profile (contact and identity data, tier, home branch): CRM integrations and managers.
    "customer.update": {Role.COMPLAINT_MANAGER, Role.ADMIN},
    "knowledge.read": _STAFF | {Role.AUDITOR},
    "knowledge.write": {Role.KNOWLEDGE_EDITOR, Role.ADMIN},
    # Approve or reject an entry in review; the four-eyes rule (knowledge/model.py) still applies.
    "knowledge.review": {Role.KNOWLEDGE_EDITOR, Role.ADMIN},
    "alarm.read": _STAFF | {Role.AUDITOR},
    # Acknowledge and resolve an alarm; assign it to someone (issue 6).
    "alarm.handle": {Role.AGENT, Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    "alarm.assign": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # The incident feedback form: read it; write is further limited to the recorder whose turn it is.
    "incident.read": _STAFF | {Role.AUDITOR},
    "incident.write": _STAFF,
    "meeting.manage": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    "meeting.read": _STAFF | {Role.AUDITOR},
    # Correct a message's triage labels (the corrections train the next model).
    "triage.correct": {Role.AGENT, Role.TEAM_LEAD, Role.QUALITY_REVIEWER, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # Service analytics (overview, breakdowns): supervisors, as the SLA board (issue 15).
    "analytics.read": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # Surges of a topic, product, channel, ... (analytics): read them; acknowledge and resolve them.
    "surge.read": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN, Role.AUDITOR},
    "surge.handle": {Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN},
    # Staff accounts: lift a freeze (after an unusual sign-in or bulk record reads).
    "staff.manage": {Role.ADMIN},
    # The profile model's quality: training runs (held-out AUC), CSAT by segment (issue 16).
    "profiles.model": {Role.ADMIN},
    # Outgoing event webhooks: subscriptions, their delivery log, replays, personal data in payloads (issue 17).
    "webhooks.manage": {Role.ADMIN},
}


def can(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except ValueError:
        return False
