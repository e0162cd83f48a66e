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
