"""The event record as Markdown: the meeting, the problem's context, every recorder's section with its
signature, the returns, and the version. (PDF is not offered: a PDF of Chinese text needs a CJK font that
CareDesk would have to ship; Markdown renders everywhere and converts to PDF with the bank's own tools.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.storage.orm import EmergencyMeeting, IncidentEntry, IncidentRecord, Staff

__all__ = ["export_markdown", "incident_markdown"]


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else ""


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or ">"


def incident_markdown(record: IncidentRecord, meeting: EmergencyMeeting, people: Mapping[str, Staff],
                      entries: Sequence[IncidentEntry]) -> str:
    def name(staff_id: str) -> str:
        person = people.get(staff_id)
        return f"{person.display_name} ({person.role})" if person else staff_id

    fault = meeting.context.get("fault", {}) if meeting.context else {}
    customer = meeting.context.get("customer", {}) if meeting.context else {}
    lines = [
        f"# 事件记录 / Incident record: {meeting.title}",
        "",
        f"- 记录 / Record: `{record.id}` · 版本 / version {record.version} · 状态 / status **{record.status}**",
        f"- 会议 / Meeting: `{meeting.id}` · {meeting.provider} · {meeting.room_url}",
        f"- 时间 / Time: {_when(meeting.starts_at)} – {_when(meeting.ended_at or meeting.ends_at)}",
        f"- 客户 / Customer: {customer.get('ref', '')} ({customer.get('tier', '')})",
        f"- 锁定 / Locked: {_when(record.locked_at) or '-'} · 已告知客户 / customer informed: "
        f"{_when(record.customer_informed_at) or '-'}",
        "",
        "## 故障描述 / Fault description",
        "",
        _quote(str(fault.get("description", ""))),
        "",
        "## 参会人 / Participants",
        "",
    ]
    lines += [f"- {name(p.staff_id)} — {p.reason} — 加入 / joined: {_when(p.joined_at) or '-'}"
              for p in meeting.participants]
    for recorder in record.recorders:
        section = (record.form.get("parts") or {}).get(recorder.section, {})
        lines += ["", f"## {recorder.position + 1}. {recorder.section}", "",
                  f"记录人 / Recorder: {name(recorder.staff_id)} · 状态 / status: {recorder.status}", "",
                  str(section.get("content", "")) or "_(empty)_", ""]
        if recorder.signature:
            lines.append(f"签署 / Signed: {_when(recorder.signed_at)} · SHA-256 `{recorder.signature}`")
    returns = [e for e in entries if e.kind == "return"]
    if returns:
        lines += ["", "## 退回记录 / Returns", ""]
        by_recorder = {r.id: r for r in record.recorders}
        lines += [f"- {_when(e.created_at)}: {name(by_recorder[e.recorder_id].staff_id)} → {e.section}: {e.content}"
                  for e in returns if e.recorder_id in by_recorder]
    return "\n".join(lines) + "\n"


def export_markdown(session: Session, record: IncidentRecord) -> str:
    """The record with its meeting, people and entries loaded."""
    from caredesk.emergency.actions import get_meeting
    from caredesk.emergency.incident_actions import list_entries

    meeting = get_meeting(session, record.meeting_id)
    ids = {r.staff_id for r in record.recorders} | {p.staff_id for p in meeting.participants}
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    return incident_markdown(record, meeting, people, list_entries(session, record.id))
