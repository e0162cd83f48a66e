"""The words of an alarm notice: an e-mail (plain text and HTML) and a short text for SMS and chat-ops."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from html import escape

__all__ = ["AlarmNotice", "alarm_email", "alarm_text"]


@dataclass(frozen=True)
class AlarmNotice:
    alarm_id: str
    conversation_id: str
    customer_ref: str
    channel: str
    level: int  # the highest complaint level among the counted messages
    count: int
    threshold: int
    types: tuple[str, ...]
    escalation_level: int  # 0: first notice; 1, 2...: escalated because nobody acknowledged
    probability: float | None
    reasons: tuple[str, ...]
    link: str  # absolute URL of the conversation on the workbench


def alarm_text(n: AlarmNotice) -> str:
    head = "告警升级 / Escalated alarm" if n.escalation_level else "投诉升级告警 / Complaint alarm"
    forecast = f" · 外部投诉概率 / external complaint {n.probability:.0%}" if n.probability is not None else ""
    return (f"[CareDesk] {head}: {n.customer_ref} ({n.channel}) {', '.join(n.types) or '-'} · "
            f"{n.count}/{n.threshold} ≥ L{n.level}{forecast} · {n.link}")


def alarm_email(n: AlarmNotice, *, to_name: str, to_address: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    prefix = "[CareDesk 告警升级 / Escalated]" if n.escalation_level else "[CareDesk 投诉告警 / Alarm]"
    msg["Subject"] = f"{prefix} {n.customer_ref}: {', '.join(n.types) or 'complaint'}"
    msg["From"] = sender
    msg["To"] = f"{to_name} <{to_address}>"
    msg["X-CareDesk-Alarm"] = n.alarm_id
    msg["X-CareDesk-Alarm-Level"] = str(n.escalation_level)
    reasons = "".join(f"  - {r}\n" for r in n.reasons)
    forecast = (f"外部投诉概率 / Probability of an external complaint: {n.probability:.0%}\n{reasons}"
                if n.probability is not None else "")
    msg.set_content(
        f"{to_name}，您好 / Hello {to_name},\n\n"
        f"会话中的投诉正在升级 / A conversation's complaints are escalating.\n"
        f"客户 / Customer: {n.customer_ref} · 渠道 / Channel: {n.channel}\n"
        f"类型 / Types: {', '.join(n.types) or '-'}\n"
        f"计数 / Count: {n.count} (阈值 / threshold {n.threshold}, 等级 / level ≥ {n.level})\n"
        f"{forecast}\n"
        f"请在工作台确认 / Please acknowledge on the workbench: {n.link}\n")
    items = "".join(f"<li>{escape(r)}</li>" for r in n.reasons)
    msg.add_alternative(
        f"<p>{escape(to_name)}，您好 / Hello {escape(to_name)},</p>"
        f"<p>客户 / Customer <strong>{escape(n.customer_ref)}</strong> · {escape(n.channel)} · "
        f"{escape(', '.join(n.types))} · {n.count}/{n.threshold}</p>"
        + (f"<p>外部投诉概率 / External complaint: <strong>{n.probability:.0%}</strong></p><ul>{items}</ul>"
           if n.probability is not None else "")
        + f'<p><a href="{escape(n.link)}">工作台 / Open on the workbench</a></p>', subtype="html")
    return msg
