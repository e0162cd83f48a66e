"""The incident form's pure rules: whose turn it is, locked forms, returns, and chained signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caredesk.emergency.incident import (
    Turn,
    check_may_open,
    check_may_write,
    check_return,
    check_sign,
    section_signature,
)
from caredesk.errors import Conflict, Forbidden, InvalidInput

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_incident_only_the_current_recorder_writes_and_locked_refuses_everyone() -> None:
    turn = Turn("in_progress", 1, "s2")
    check_may_write(turn, "s2")
    with pytest.raises(Forbidden):
        check_may_write(turn, "s1")
    with pytest.raises(Forbidden):
        check_may_write(turn, None)  # an API key is nobody's turn
    with pytest.raises(Conflict, match="locked"):
        check_may_write(Turn("locked", 2, "s3"), "s3")
    with pytest.raises(Conflict, match="not open"):
        check_may_write(Turn("pending", 0, "s1"), "s1")


def test_incident_opens_after_the_meeting_and_once() -> None:
    check_may_open("ended", "pending")
    with pytest.raises(Conflict):
        check_may_open("active", "pending")
    with pytest.raises(Conflict):
        check_may_open("ended", "in_progress")


def test_incident_return_needs_a_previous_recorder_and_a_reason() -> None:
    check_return(Turn("in_progress", 1, "s2"), "missing times")
    with pytest.raises(Conflict):
        check_return(Turn("in_progress", 0, "s1"), "why")
    with pytest.raises(InvalidInput):
        check_return(Turn("in_progress", 2, "s3"), "  ")
    with pytest.raises(InvalidInput):
        check_sign("   ")


def test_incident_signature_covers_content_and_chains() -> None:
    first = section_signature(record_id="r", section="timeline", content="a", staff_id="s1", signed_at=NOW,
                              previous=None)
    again = section_signature(record_id="r", section="timeline", content="a", staff_id="s1", signed_at=NOW,
                              previous=None)
    changed = section_signature(record_id="r", section="timeline", content="b", staff_id="s1", signed_at=NOW,
                                previous=None)
    second = section_signature(record_id="r", section="cause", content="c", staff_id="s2", signed_at=NOW,
                               previous=first)
    other_chain = section_signature(record_id="r", section="cause", content="c", staff_id="s2", signed_at=NOW,
                                    previous=changed)
    assert first == again and len(first) == 64
    assert len({first, changed, second, other_chain}) == 4
