"""What triage and the decision would make of a text, without storing anything (`caredesk triage`)."""

from __future__ import annotations

from typing import Any

from caredesk.errors import InvalidInput
from caredesk.intake.decision import decide, needs_emergency
from caredesk.triage.deps import PreviewDeps

__all__ = ["preview"]


def preview(rt: PreviewDeps, text: str) -> dict[str, Any]:
    if not text.strip():
        raise InvalidInput("text is empty")
    doc = rt.triage(text)
    policy = rt.decision_policy
    found = []
    if not needs_emergency(doc, policy):
        found = rt.knowledge_index().search(doc.masked, content_type=doc.label("content_type").label,
                                            problem_type=doc.label("problem_type").label, limit=3,
                                            language=doc.language)
    decision = decide(doc, found[0] if found else None, policy, runners_up=found[1:])
    out: dict[str, Any] = {"language": doc.language, "masked": doc.masked, "model_version": doc.model_version}
    for head, score in doc.labels.items():
        out[head] = {"label": score.label, "confidence": round(score.confidence, 4), "reasons": list(score.reasons),
                     "ranking": [[label, round(p, 4)] for label, p in score.ranking]}
    out |= {"emotion": doc.emotion.label, "complaint_level": doc.complaint_level,
            "complaint_types": doc.complaint_types,
            "entities": [{"kind": e.kind, "text": e.text} for e in doc.entities],
            "decision": {"kind": decision.kind.value, "reason": decision.reason,
                         "answer": decision.match.answer if decision.kind == "answer" and decision.match else None,
                         "score": decision.match.score if decision.match else None}}
    return out
