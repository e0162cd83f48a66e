"""What the customer is told when no knowledge entry answers: the work order that now carries the question,
or that the urgent response has started. Stored as the bot's message like any answer, so the conversation
shows what the customer saw."""

from __future__ import annotations

__all__ = ["acknowledgement"]

_TEXTS = {
    ("work_order", "zh"): "我们已为您创建工单（编号 {number}），客服人员会尽快与您联系。",
    ("work_order", "en"): "We have opened a ticket (number {number}); an agent will contact you.",
    ("emergency", "zh"): "已启动紧急处理，我们的团队已收到警报，将立即为您处理。",
    ("emergency", "en"): "Your case is being handled urgently, our team has been alerted.",
}


def acknowledgement(kind: str, language: str, *, number: str | None = None) -> str:
    """The reply for a work order or an emergency, in the customer's language (Chinese unless English)."""
    return _TEXTS[(kind, "en" if language == "en" else "zh")].format(number=number or "")
