"""The bot's use of the order and logistics connectors: a status question is looked up BEFORE intake's write
transaction (no lock is held during the HTTP call, within a short budget), then answered with the live status
the system gave, never an invented one. No such record: the customer is asked to check the number. The system
unreachable (timeout, 5xx, garbage, open circuit): a work order carries the question, its timeline names the
failure, and the customer is told that we will follow up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from caredesk.compliance.masking import mask_text
from caredesk.intake.decision import Decision, DecisionKind, Reason
from caredesk.integrations.connectors.client import CallResult, Connectors, Failed, Found, Missing
from caredesk.integrations.connectors.config import ConnectorSpec
from caredesk.integrations.connectors.questions import StatusQuestion, status_question
from caredesk.storage.orm import WorkOrder

__all__ = ["LOOKUP_FAILED", "LiveLookup", "live_lookup"]

LOOKUP_FAILED = "lookup_failed"  # the work-order event and note code of a failed lookup

_WHAT = {("orders", "zh"): "订单", ("orders", "en"): "order",
         ("logistics", "zh"): "快递", ("logistics", "en"): "parcel"}
_SYSTEM = {("orders", "zh"): "订单系统", ("orders", "en"): "the order system",
           ("logistics", "zh"): "物流系统", ("logistics", "en"): "the parcel tracking system"}
_TEXTS = {
    "zh": {"status": "您的{what} {ref} 当前状态：{status}。", "updated_at": "更新时间：{value}。",
           "location": "当前位置：{value}。", "eta": "预计送达：{value}。",
           "missing": "没有查到{what} {ref}，请核对号码后再发给我们。",
           "failed": "{system}暂时无法查询{what} {ref} 的状态。我们已为您创建工单（编号 {number}），"
                     "查到后会主动联系您。"},
    "en": {"status": "Your {what} {ref}: {status}.", "updated_at": "Last update: {value}.",
           "location": "Current location: {value}.", "eta": "Expected delivery: {value}.",
           "missing": "We could not find {what} {ref}. Please check the number and send it again.",
           "failed": "We cannot reach {system} to check {what} {ref} right now. We have opened a ticket "
                     "({number}) and will follow up with its status."},
}
_DETAILS = ("updated_at", "location", "eta")


@dataclass(frozen=True)
class LiveLookup:
    question: StatusQuestion
    connector: ConnectorSpec
    result: CallResult

    @property
    def failed(self) -> bool:
        return isinstance(self.result, Failed)

    def _shown(self) -> str:
        return mask_text(self.question.reference)[0]  # a long number reads like an account: masked like one

    @property
    def decision(self) -> Decision:
        kind, name = self.question.kind, self.connector.name
        if isinstance(self.result, Failed):
            return Decision(DecisionKind.WORK_ORDER, f"live {kind} lookup ({name}) failed: {self.result.reason}",
                            because=(Reason(LOOKUP_FAILED, {"system": name, "reason": self.result.reason}),))
        found = "found" if isinstance(self.result, Found) else "not found"
        return Decision(DecisionKind.ANSWER, f"live {kind} status from {name} ({found})",
                        because=(Reason("live_status", {"system": name}),))

    def reply(self, language: str) -> str | None:
        """The answer from the live status, or None when the lookup failed (a work order answers then)."""
        texts = _TEXTS["en" if language == "en" else "zh"]
        what = _WHAT[(self.question.kind, "en" if language == "en" else "zh")]
        if isinstance(self.result, Missing):
            return texts["missing"].format(what=what, ref=self._shown())
        if not isinstance(self.result, Found):
            return None
        fields = self.result.fields
        status = self.connector.label(str(fields.get("status") or "?"), language)
        lines = [texts["status"].format(what=what, ref=self._shown(), status=status)]
        lines += [texts[name].format(value=fields[name]) for name in _DETAILS if fields.get(name) not in (None, "")]
        return " ".join(lines) if language == "en" else "".join(lines)

    def follow_up(self, s: Session, order: WorkOrder, language: str, *, now: datetime) -> str:
        """The failure on the order's timeline (for whoever follows up) and the customer's reply."""
        from caredesk.workorders.actions import append_event

        assert isinstance(self.result, Failed)
        kind, name, reason = self.question.kind, self.connector.name, self.result.reason
        append_event(s, order, LOOKUP_FAILED, actor="system", now=now,
                     data={"connector": name, "kind": kind, "reason": reason, "circuit_open": self.result.circuit_open,
                           "note_code": LOOKUP_FAILED, "note_params": {"system": name, "reason": reason}},
                     note=f"the live {kind} lookup failed ({name}: {reason}): tell the customer the status")
        lang = "en" if language == "en" else "zh"
        return _TEXTS[lang]["failed"].format(system=_SYSTEM[(kind, lang)], what=_WHAT[(kind, lang)],
                                             ref=self._shown(), number=order.number)


def live_lookup(connectors: Connectors, text: str, *, now: datetime, budget: float) -> LiveLookup | None:
    """The live answer to a status question, when the message asks one and a connector of its kind is enabled
    (None otherwise: intake goes on as without connectors). Called with no transaction open."""
    question = status_question(text)
    spec = connectors.enabled(question.kind) if question is not None else None
    if question is None or spec is None:
        return None
    result = connectors.call(spec, "status", question.reference, now=now.timestamp(), budget=budget)
    return LiveLookup(question, spec, result)
