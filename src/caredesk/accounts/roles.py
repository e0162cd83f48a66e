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
    "knowledge.read": _STAFF | {Role.AUDITOR},
    "knowledge.write": {Role.KNOWLEDGE_EDITOR, Role.ADMIN},
    # Approve or reject an entry in review; the four-eyes rule (knowledge/model.py) still applies.
    "knowledge.review": {Role.KNOWLEDGE_EDITOR, Role.ADMIN},
    "alarm.read": _STAFF | {Role.AUDITOR},
    "meeting.read": _STAFF | {Role.AUDITOR},
}


def can(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except ValueError:
        return False
