"""Which notice a timeline event calls for, whether it is due, and its text. Pure: the clock is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from caredesk.channels.notices.config import LANGUAGES, NoticeConfig, NoticeKind

__all__ = ["is_due", "language_of", "notice_for", "render", "trigger_of"]


def trigger_of(event_kind: str, data: Mapping[str, Any] | None) -> str:
    """The trigger name of a timeline event: a status change is named by its new status."""
    if event_kind == "status_changed":
        return f"status_changed:{(data or {}).get('to', '')}"
    return event_kind


def notice_for(config: NoticeConfig, *, flow: str, event_kind: str, data: Mapping[str, Any] | None
               ) -> NoticeKind | None:
    """The notice this event triggers for an order in `flow`, or None (internal event, kind off for the flow)."""
    trigger = trigger_of(event_kind, data)
    allowed = config.flows.get(flow)
    for kind in config.kinds.values():
        if trigger in kind.when and (allowed is None or kind.name in allowed):
            return kind
    return None


def is_due(kind: NoticeKind, sent_at: Iterable[datetime], *, window_s: float, now: datetime) -> bool:
    """`sent_at`: when this kind was sent to this order before. Once-only kinds never repeat; the others
    wait out the quiet window, so that an order bouncing between departments is one notice, not a storm."""
    times = list(sent_at)
    if kind.once and times:
        return False
    return all((now - at).total_seconds() >= window_s for at in times)


def language_of(*candidates: str | None) -> str:
    """The first known language of the order, the customer ...; Chinese by default."""
    return next((c for c in candidates if c in LANGUAGES), LANGUAGES[0])


def render(kind: NoticeKind, *, language: str, case_number: str) -> str:
    return kind.text[language].format(case=case_number)
