"""What the workbench shows of a triage explanation."""

from __future__ import annotations

from datetime import UTC, datetime

from caredesk.learning.explain import Correction, Reason, head_views, parse_reason

EXPLANATION = {
    "urgency": {"label": "urgent", "confidence": 0.61, "reasons": ["rule:urgent:报警,盗刷", "盗刷:+1.20"],
                "ranking": [["attention", 0.61], ["urgent", 0.3], ["general", 0.09]]},
    "emotion": {"label": "angry", "reasons": ["cue:气死"]},
}


def test_parse_reason_kinds() -> None:
    assert parse_reason("退款 没:+0.52") == Reason("feature", "退款 没", 0.52)
    assert parse_reason("card:-0.10") == Reason("feature", "card", -0.10)
    assert parse_reason("rule:urgent:报警,盗刷") == Reason("rule", "报警, 盗刷", None, "urgent")
    assert parse_reason("rule:external_threat") == Reason("rule", "", None, "external_threat")
    assert parse_reason("cue:气死") == Reason("cue", "气死")
    assert parse_reason("odd:thing") == Reason("feature", "odd:thing")


def test_head_views_show_the_correction_over_the_model_label() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    views = {v.head: v for v in head_views(EXPLANATION, {"urgency": "urgent", "emotion": "angry"},
                                           {"urgency": Correction("general", at, "s1")})}
    u = views["urgency"]
    assert (u.label, u.model_label, u.corrected) == ("general", "urgent", True)
    assert u.confidence == 0.61 and u.ranking[0] == ("attention", 0.61)
    assert [r.kind for r in u.reasons] == ["rule", "feature"]
    assert "general" in u.options and len(u.options) == 3
    e = views["emotion"]
    assert not e.corrected and e.reasons == (Reason("cue", "气死"),) and e.confidence is None
    assert views["content_type"].label == "" and views["content_type"].reasons == ()
