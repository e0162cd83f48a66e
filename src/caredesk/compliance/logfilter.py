"""PII is masked in every log record of the process, whatever logger or handler it goes through
(uvicorn configures its own handlers, so a filter on ours alone would miss its lines). Access lines lose their
query strings: a channel callback carries the customer's openid and signatures there, a search its terms."""

from __future__ import annotations

import logging
import re
from typing import Any

from caredesk.compliance.masking import mask_text

__all__ = ["install_log_masking", "mask_record"]

_installed = False


_QUERY = re.compile(r"\?[^\s\"]*")


def _without_query(record: logging.LogRecord) -> None:
    """uvicorn's access record: (client, method, path with query, version, status); gunicorn's: its atoms."""
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
        record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
    elif record.name == "gunicorn.access" and isinstance(args, dict):
        record.args = {**args, "q": "", "r": _QUERY.sub("", str(args.get("r", ""))),
                       "{raw_uri}": _QUERY.sub("", str(args.get("{raw_uri}", "")))}


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    if record.name in ("uvicorn.access", "gunicorn.access"):
        _without_query(record)
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
