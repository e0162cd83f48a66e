"""Intake with an Idempotency-Key: a client's retry (after an error or no answer) replays the first answer
instead of creating a second message, work order or alarm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.deps import IntakeDeps
from caredesk.intake.idempotency import IdempotentRequest, StoredResponse
from caredesk.intake.idempotency_store import AlreadyAnswered, KeyClaim, stored_response

__all__ = ["IdempotentAnswer", "do_receive_message_once"]


@dataclass(frozen=True)
class IdempotentAnswer:
    response: StoredResponse
    replayed: bool  # True: the answer kept from the key's first use; nothing was done this time


def do_receive_message_once(rt: IntakeDeps, cmd: IncomingMessage, request: IdempotentRequest,
                            render: Callable[[IntakeOutcome], StoredResponse]) -> IdempotentAnswer:
    """The kept answer when the caller's key was answered within its lifetime (read first: a retry costs no
    triage); otherwise the message is received and `render`'s answer is kept with it in its transaction.
    A failed intake keeps nothing, so a retry after an error is processed afresh. IdempotencyKeyReused (409)
    when the key came with another body."""
    with rt.session_factory() as session:
        kept = stored_response(session, request, now=rt.clock.now())
    if kept is not None:
        return IdempotentAnswer(kept, replayed=True)
    claim = KeyClaim(request, render)
    try:
        do_receive_message(rt, cmd, claim=claim)
    except AlreadyAnswered as done:  # a concurrent request with the key committed while this one waited
        return IdempotentAnswer(done.response, replayed=True)
    assert claim.response is not None
    return IdempotentAnswer(claim.response, replayed=False)
