"""What the customer is told when no knowledge entry answers: the work order that now carries the question,
or, for an emergency, the self-help steps, the case number and what happens next. Stored as the bot's message
like any answer, so the conversation shows what the customer saw."""

from __future__ import annotations

from caredesk.intake.decision import Decision, DecisionKind

__all__ = ["acknowledgement", "emergency_reply", "work_order_reply"]

_TEXTS = {
    ("work_order", "zh"): "我们已为您创建工单（编号 {number}），客服人员会尽快与您联系。",
    ("work_order", "en"): "We have opened a ticket (number {number}); an agent will contact you.",
    ("handoff", "zh"): "正在为您转接人工客服（工单编号 {number}），请稍候，客服人员会接手您的对话。",
    ("handoff", "en"): "We are passing you to a person (ticket {number}); an agent will take over this conversation.",
    ("urgent_review", "zh"): "您的问题已作为紧急工单（编号 {number}）优先处理，值班主管正在核实，会尽快与您联系。",
    ("urgent_review", "en"): "Your case is a priority ticket ({number}); a duty lead is reviewing it and will contact "
                             "you shortly.",
    ("out_of_scope", "zh"): "抱歉，我没能理解您的问题。请问您需要办理或咨询哪项业务？"
                            "例如：账户、银行卡、转账、贷款、手机银行。如需人工服务，请回复“转人工”。",
    ("out_of_scope", "en"): "Sorry, I did not understand. What can we help you with: your account, a card, a transfer, "
                            "a loan or the app? Reply \"talk to a human\" to reach a person.",
}


def acknowledgement(kind: str, language: str, *, number: str | None = None) -> str:
    """The reply for a work order or an emergency, in the customer's language (Chinese unless English)."""
    return _TEXTS[(kind, "en" if language == "en" else "zh")].format(number=number or "")


def work_order_reply(decision: Decision, language: str, number: str) -> str:
    """The acknowledgement of the order a message opened or joined: a hand-off, an urgent case a lead reviews,
    or an ordinary order."""
    if decision.kind == DecisionKind.HANDOFF:
        return acknowledgement("handoff", language, number=number)
    if decision.confirm_emergency:
        return acknowledgement("urgent_review", language, number=number)
    return acknowledgement("work_order", language, number=number)


_EMERGENCY = {
    "zh": {"ack": "我们已收到您的紧急求助，已立即启动紧急处理。",
           "advice": "请您先这样做：{advice}",
           "number": "您的工单号：{number}（咨询进展时请提供此编号）。",
           "next_minutes": "接下来：处理团队已集结，工作人员将在 {minutes} 分钟内与您联系，并跟进到问题解决。",
           "next": "接下来：处理团队已集结，工作人员将尽快与您联系，并跟进到问题解决。"},
    "en": {"ack": "We have received your urgent request and started our emergency response.",
           "advice": "What you can do right now: {advice}",
           "number": "Your case number is {number}; please quote it when you contact us.",
           "next_minutes": "What happens next: our response team has been called together; someone will contact you "
                           "within {minutes} minutes and follow your case until it is resolved.",
           "next": "What happens next: our response team has been called together; someone will contact you shortly "
                   "and follow your case until it is resolved."},
}


def emergency_reply(language: str, *, advice: str | None, number: str | None, minutes: int | None) -> str:
    """The emergency reply, one paragraph a line: acknowledgement, the self-help steps from the knowledge base
    (when an entry fits), the case number, and what happens next (the first-response time of the order's SLA)."""
    texts = _EMERGENCY["en" if language == "en" else "zh"]
    lines = [texts["ack"]]
    if advice:
        lines.append(texts["advice"].format(advice=advice.strip()))
    if number:
        lines.append(texts["number"].format(number=number))
    lines.append(texts["next_minutes"].format(minutes=minutes) if minutes else texts["next"])
    return "\n".join(lines)
