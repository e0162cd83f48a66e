"""A message full of PII through intake, a work order and its reply: no raw phone, ID number, bank card or
e-mail address in any log line (every logger at DEBUG, SQL statements and parameters included) nor in the
stored triage text, work order or masked message text."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.logfilter import install_log_masking
from caredesk.intake.actions import IncomingMessage, do_receive_message

PHONE, EMAIL = "13812345678", "zhang.wei@example.com"


# valid numbers, and a mistyped ID (wrong check digit) with a card number that fails Luhn: masked all the same
@pytest.mark.parametrize(("id_number", "card"), [("11010519491231002X", "6222021234567890128"),
                                               ("110101199003071234", "6222021234567890123")])
def test_pii_reaches_no_log_line_and_no_stored_triage_text(runtime: Runtime, caplog: pytest.LogCaptureFixture,
                                                          id_number: str, card: str) -> None:
    said = f"我的手机{PHONE}，身份证{id_number}，卡号{card}，邮箱{EMAIL}，信用卡年费被乱扣了，我要投诉"
    install_log_masking()
    sql_log = logging.getLogger("sqlalchemy.engine")
    previous = sql_log.level
    sql_log.setLevel(logging.INFO)  # statements and their parameters: the raw text goes to the database
    try:
        with caplog.at_level(logging.DEBUG):
            outcome = do_receive_message(runtime, IncomingMessage(said, "chat", "pii-cust"))
            logging.getLogger("caredesk.test").warning("received %s", said)  # even a careless log call
    finally:
        sql_log.setLevel(previous)
    assert outcome.work_order_id
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert len(caplog.records) > 5
    for raw in (PHONE, id_number, card, EMAIL):
        assert raw not in logged, raw
    with runtime.engine.connect() as conn:
        stored = " ".join(str(v) for sql in ("SELECT * FROM triage_result", "SELECT * FROM work_order",
                                            "SELECT text_masked FROM message", "SELECT * FROM work_order_event")
                          for row in conn.execute(text(sql)) for v in row if v is not None)
    for raw in (PHONE, id_number, card, EMAIL):
        assert raw not in stored, raw
    assert "138****5678" in stored
