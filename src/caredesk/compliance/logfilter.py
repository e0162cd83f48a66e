"""PII is masked in every log record of the process, whatever logger or handler it goes through
(uvicorn configures its own handlers, so a filter on ours alone would miss its lines)."""

from __future__ import annotations

import logging
from typing import Any

from caredesk.compliance.masking import mask_text

__all__ = ["install_log_masking", "mask_record"]

_installed = False


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is still logged, masked as it stands
        message = str(record.msg)
    masked, found = mask_text(message)
    if found:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_text is None:
        record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))[0]
    return record


def install_log_masking() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
