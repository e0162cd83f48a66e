"""Work-order statuses, their categories, the allowed transitions and the priority rule."""

from __future__ import annotations

import pytest

from caredesk.errors import Conflict
from caredesk.workorders.model import (
    TRANSITIONS,
    Status,
    StatusCategory,
    category_of,
    check_transition,
    priority_of,
)


@pytest.mark.parametrize(("current", "target"), [
    ("new", "in_progress"), ("new", "waiting_customer"), ("new", "resolved"), ("new", "closed"),
    ("in_progress", "waiting_customer"), ("waiting_customer", "in_progress"), ("in_progress", "resolved"),
    ("resolved", "closed"), ("resolved", "reopened"), ("closed", "reopened"), ("reopened", "in_progress"),
])
def test_workorder_model_allowed_transitions(current: str, target: str) -> None:
    assert check_transition(current, target) == Status(target)


@pytest.mark.parametrize(("current", "target"), [
    ("new", "reopened"), ("new", "new"), ("in_progress", "new"), ("in_progress", "reopened"),
    ("resolved", "in_progress"), ("closed", "resolved"), ("closed", "in_progress"), ("closed", "closed"),
    ("waiting_customer", "reopened"),
])
def test_workorder_model_forbidden_transitions_raise_conflict_with_allowed(current: str, target: str) -> None:
    with pytest.raises(Conflict) as caught:
        check_transition(current, target)
    assert caught.value.details["allowed"] == sorted(s.value for s in TRANSITIONS[Status(current)])
    assert current in caught.value.message and target in caught.value.message


def test_workorder_model_unknown_status_is_a_conflict() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition("new", "archived")
    assert "archived" in caught.value.message
    assert set(caught.value.details["allowed"]) == {s.value for s in Status}
    with pytest.raises(Conflict):
        check_transition("archived", "new")


def test_workorder_model_every_status_has_a_category_and_transitions() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert {s: category_of(s) for s in Status} == {
        Status.NEW: StatusCategory.OPEN, Status.IN_PROGRESS: StatusCategory.OPEN,
        Status.REOPENED: StatusCategory.OPEN, Status.WAITING_CUSTOMER: StatusCategory.PAUSED,
        Status.RESOLVED: StatusCategory.RESOLVED, Status.CLOSED: StatusCategory.CLOSED,
    }


def test_workorder_model_closed_can_only_be_reopened() -> None:
    assert TRANSITIONS[Status.CLOSED] == frozenset({Status.REOPENED})
    assert all(Status.NEW not in targets for targets in TRANSITIONS.values())  # nothing goes back to new


@pytest.mark.parametrize(("urgency", "tier", "emotion", "priority"), [
    ("general", "standard", "neutral", 5),
    ("attention", "standard", "neutral", 4),
    ("urgent", "standard", "neutral", 3),
    ("general", "gold", "neutral", 4),
    ("general", "private", "neutral", 3),
    ("general", "standard", "angry", 4),
    ("general", "standard", "anxious", 4),
    ("general", "standard", "satisfied", 5),
    ("urgent", "gold", "angry", 1),
    ("urgent", "private", "angry", 1),  # capped at 1
    ("unknown", "unknown", "unknown", 5),  # unknown labels weigh like the lowest
])
def test_workorder_model_priority_of(urgency: str, tier: str, emotion: str, priority: int) -> None:
    assert priority_of(urgency, tier, emotion)[0] == priority


def test_workorder_model_priority_reasons_name_what_moved_it() -> None:
    assert priority_of("urgent", "private", "angry")[1] == [
        "urgency urgent +3", "tier private +2", "emotion angry +1"]
    assert priority_of("general", "standard", "neutral")[1] == ["urgency general +1"]


def test_workorder_model_unknown_current_status_is_named_in_the_error() -> None:
    with pytest.raises(Conflict) as caught:
        check_transition("archived", "new")
    assert "archived" in caught.value.message


def test_says_not_solved_reads_chinese_and_english() -> None:
    from caredesk.workorders.follow_up import says_not_solved

    assert says_not_solved("问题还是没解决，钱没到账")
    assert says_not_solved("It is STILL NOT working")
    assert not says_not_solved("谢谢，已经收到退款了")
    assert not says_not_solved("Thanks, all solved now")


def test_follow_up_joins_open_orders_reopens_resolved_ones_and_closed_ones_not_solved() -> None:
    from caredesk.workorders.follow_up import FollowUp, follow_up_of

    assert follow_up_of("open", merged=False, text="thanks") == FollowUp.JOIN
    assert follow_up_of("paused", merged=False, text="thanks") == FollowUp.JOIN
    assert follow_up_of("resolved", merged=False, text="thanks") == FollowUp.REOPEN
    assert follow_up_of("closed", merged=False, text="问题还是没解决") == FollowUp.REOPEN
    assert follow_up_of("closed", merged=False, text="谢谢") == FollowUp.NEW
    assert follow_up_of("closed", merged=True, text="still not working") == FollowUp.NEW
    assert follow_up_of(None, merged=False, text="still not working") == FollowUp.NEW
