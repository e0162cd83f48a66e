"""What a message counts for in the roll-ups, on hand-made triage rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caredesk.analytics.facts import message_facts
from caredesk.storage.orm import TriageResult

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _row(**overrides: Any) -> TriageResult:
    values: dict[str, Any] = dict(content_type="business", problem_type="consultation", urgency="general",
                                  decision_kind="answer", answer_entry_id=None, complaint_types=[], topic=None,
                                  product=None, explanation={"decision_reasons": []})
    values.update(overrides)
    return TriageResult(**values)


def _reasons(*codes: str) -> dict[str, Any]:
    return {"decision_reasons": [{"code": c, "params": {}} for c in codes]}


def test_a_knowledge_answer_counts_as_answered_by_the_bot() -> None:
    facts = message_facts(_row(answer_entry_id="kb1", explanation=_reasons("kb_match")), received_at=AT,
                          channel="web", branch=None)
    assert facts.counts == {"messages", "auto_answered"}
    assert facts.values["channel"] == ("web",) and facts.values["branch"] == () and facts.values["topic"] == ()


def test_a_clarifying_question_and_an_unreadable_message_are_bot_failures_not_answers() -> None:
    for code in ("clarify", "out_of_scope"):
        facts = message_facts(_row(explanation=_reasons(code)), received_at=AT, channel="api", branch=None)
        assert facts.counts == {"messages", "unanswered"}


def test_a_work_order_for_want_of_an_entry_is_a_failure_and_a_hand_off() -> None:
    facts = message_facts(_row(decision_kind="work_order", explanation=_reasons("below_threshold")),
                          received_at=AT, channel="web", branch="b1")
    assert facts.counts == {"messages", "unanswered", "handed_off"}
    assert facts.values["branch"] == ("b1",)


def test_a_regulator_complaint_by_hand_off_and_an_urgent_emergency() -> None:
    complaint = message_facts(_row(problem_type="complaint", decision_kind="handoff", topic="fees",
                                   complaint_types=["regulator", "media"], explanation=_reasons("handoff")),
                              received_at=AT, channel="wechat", branch=None)
    assert complaint.counts == {"messages", "complaints", "handed_off", "regulator"}
    assert complaint.values["complaint_type"] == ("regulator", "media") and complaint.values["topic"] == ("fees",)
    emergency = message_facts(_row(urgency="urgent", decision_kind="emergency", explanation=_reasons("hard_rule")),
                              received_at=AT, channel="phone", branch=None)
    assert emergency.counts == {"messages", "urgent", "emergencies"}
