"""The priority rule: weights of urgency, tier and emotion, the reasons it gives, the 1..5 bounds."""

from __future__ import annotations

import pytest

from caredesk.customers.tiers import TIER_WEIGHT
from caredesk.workorders.model import priority_of


@pytest.mark.parametrize(("urgency", "tier", "emotion", "priority", "reasons"), [
    ("general", "standard", "calm", 5, ["urgency general +1"]),
    ("no-such-urgency", "no-such-tier", "calm", 5, ["urgency no-such-urgency +1"]),
    ("attention", "gold", "calm", 3, ["urgency attention +2", "tier gold +1"]),
    ("urgent", "standard", "anxious", 2, ["urgency urgent +3", "emotion anxious +1"]),
    ("urgent", "private", "angry", 1, ["urgency urgent +3", "tier private +2", "emotion angry +1"]),
])
def test_priority_of_weights_and_reasons(urgency: str, tier: str, emotion: str, priority: int,
                                         reasons: list[str]) -> None:
    assert priority_of(urgency, tier, emotion) == (priority, reasons)


def test_parse_priority_reason_reads_back_every_string_the_rule_writes() -> None:
    from caredesk.workorders.model import (
        EMERGENCY_REASON,
        UNCONFIRMED_REASON,
        PriorityReason,
        parse_priority_reason,
        priority_of,
    )

    _, reasons = priority_of("urgent", "private", "angry")
    assert [parse_priority_reason(r) for r in reasons] == [
        PriorityReason("urgency", "urgent", "3"), PriorityReason("tier", "private", str(TIER_WEIGHT["private"])),
        PriorityReason("emotion", "angry", "1")]
    assert parse_priority_reason(UNCONFIRMED_REASON) == PriorityReason("unconfirmed")
    assert parse_priority_reason(EMERGENCY_REASON) == PriorityReason("emergency")
    assert parse_priority_reason("urgency urgent") is None  # no weight: not the rule's string
    assert parse_priority_reason("a note someone typed") is None
