"""NUL characters never reach a text column, on SQLite and PostgreSQL alike: InvalidInput, nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import InvalidInput
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Conversation, Customer, Message


def test_text_with_nul_is_refused_whole(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        do_receive_message(runtime, IncomingMessage("my card\x00 is blocked", "web", "cust-nul"))
    with runtime.session_factory() as s:
        for model in (Conversation, Message):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    with runtime.uow() as uow:  # JSON values and bytes are not text columns: only str parameters are checked
        uow.session.add(Customer(ref="cust-ok", name="A\u0001B"))
        uow.commit()


def test_failed_intake_leaves_no_customer(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput):
        do_receive_message(runtime, IncomingMessage("my card\x00 is blocked", "web", "cust-nul"))
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 0
