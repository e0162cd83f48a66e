"""What the workbench shows for a triage result: per head, the label (the agent's correction if any, else the
model's), the features, rules and cues that drove it with their scores, and the labels an agent may pick.
Pure: reads the stored explanation (`TriageDoc.explanation()`), the stored labels and the corrections."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.learning.corrections import CORRECTABLE

__all__ = ["Correction", "HeadView", "Reason", "head_views", "parse_reason"]

_SCORED = re.compile(r"^(?P<name>.+):(?P<score>[+-]\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str  # feature (a word or character n-gram with its weight) | rule | cue (an emotion cue)
    text: str
    score: float | None = None
    rule: str = ""  # for rules: which rule (urgent, complaint, external_threat)


def parse_reason(raw: str) -> Reason:
    """`退款:+0.52` -> feature; `rule:urgent:报警,救命` -> rule; `cue:气死` -> cue."""
    if raw.startswith("rule:"):
        _, _, rest = raw.partition(":")
        rule, _, detail = rest.partition(":")
        return Reason("rule", detail.replace(",", ", "), None, rule)
    if raw.startswith("cue:"):
        return Reason("cue", raw[4:])
    match = _SCORED.match(raw)
    if match:
        return Reason("feature", match["name"], float(match["score"]))
    return Reason("feature", raw)


@dataclass(frozen=True, slots=True)
class Correction:
    label: str
    at: datetime
    by: str | None


@dataclass(frozen=True, slots=True)
class HeadView:
    head: str
    label: str  # shown: corrected label when corrected
    model_label: str
    confidence: float | None
    reasons: tuple[Reason, ...]
    ranking: tuple[tuple[str, float], ...]
    options: tuple[str, ...]  # what an agent may correct it to
    correction: Correction | None = None

    @property
    def corrected(self) -> bool:
        return self.correction is not None and self.correction.label != self.model_label


def head_views(explanation: Mapping[str, Any], labels: Mapping[str, str],
               corrections: Mapping[str, Correction],
               heads: Mapping[str, Sequence[str]] = CORRECTABLE) -> list[HeadView]:
    out = []
    for head, options in heads.items():
        ex = explanation.get(head) or {}
        model_label = str(labels.get(head) or ex.get("label") or "")
        correction = corrections.get(head)
        confidence = ex.get("confidence")
        ranking = tuple((str(lab), float(p)) for lab, p in ex.get("ranking") or ())
        out.append(HeadView(head, correction.label if correction else model_label, model_label,
                            float(confidence) if confidence is not None else None,
                            tuple(parse_reason(str(r)) for r in ex.get("reasons") or ()), ranking[:3],
                            tuple(options), correction))
    return out
