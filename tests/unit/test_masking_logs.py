"""Customer data never reaches a log line unmasked."""

from __future__ import annotations

import logging

import pytest

from caredesk.compliance.logfilter import install_log_masking


def test_log_masking_masks_args_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    log = logging.getLogger("uvicorn.error")  # a logger with handlers of its own in production
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        log.info("customer %s wrote from %s", "13812345678", "li.wei@example.com")
        try:
            raise ValueError("card 6222020200112233446 declined")  # Luhn-valid test card number
        except ValueError:
            log.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "13812345678" not in text and "138****5678" in text
    assert "li.wei@example.com" not in text
    assert "6222020200112233446" not in text


def test_access_lines_lose_their_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    """A WeChat callback's query names the customer's openid; uvicorn logs the full path otherwise."""
    install_log_masking()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                                 "/channels/wechat?openid=oXyZ123&signature=abc", "1.1", 200)
    assert caplog.records[-1].getMessage() == '127.0.0.1:5000 - "POST /channels/wechat HTTP/1.1" 200'
