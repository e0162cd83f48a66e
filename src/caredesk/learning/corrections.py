"""Pure rules for agent label corrections: which heads an agent may correct, and with which labels. How
corrections become training examples is `caredesk.triage.examples` (the model trains on those)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from caredesk.errors import InvalidInput
from caredesk.triage.labels import HEADS, TRAINED_HEADS, Emotion

__all__ = ["CORRECTABLE", "TRAINED_HEADS", "check_correction", "correctable_heads"]

# Every head an agent may correct; the trained heads (caredesk.triage.labels.TRAINED_HEADS, emotion among
# them) learn from those corrections.
CORRECTABLE: dict[str, tuple[str, ...]] = {head: tuple(m.value for m in labels)
                                           for head, labels in HEADS.items()}
CORRECTABLE["emotion"] = tuple(m.value for m in Emotion)


def correctable_heads(intent_labels: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """The heads and labels an agent may pick; `intent` joins when the active model has an intent head."""
    heads = dict(CORRECTABLE)
    if intent_labels:
        heads["intent"] = tuple(intent_labels)
    return heads


def check_correction(head: str, label: str, heads: Mapping[str, Sequence[str]] = CORRECTABLE) -> None:
    """Raise InvalidInput (400, code invalid_input) naming what is allowed."""
    if head not in heads:
        raise InvalidInput(f"unknown head {head!r}", field="head", allowed=sorted(heads))
    if label not in heads[head]:
        raise InvalidInput(f"{label!r} is not a {head} label", field="label", allowed=list(heads[head]))
