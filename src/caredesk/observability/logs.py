"""Logs for operators. The default is the plain text line CareDesk always wrote; `CAREDESK_LOG_FORMAT=json` gives
one JSON object per line (time, level, logger, message, request id, route, status, duration) for a log
shipper. Customer data never reaches either: every record's message is masked when it is created
(compliance/logfilter.py), and the JSON formatter masks what it writes once more (exception text, extras)."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from caredesk.compliance.logfilter import install_log_masking
from caredesk.compliance.masking import mask_text

__all__ = ["TEXT_FORMAT", "JsonFormatter", "configure_logging", "gunicorn_log_config", "request_id_var", "route_var"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Set by the HTTP middleware for the request being answered (threads of the request's handler see them too).
request_id_var: ContextVar[str | None] = ContextVar("caredesk_request_id", default=None)
route_var: ContextVar[str | None] = ContextVar("caredesk_route", default=None)
_EXTRAS = ("method", "status", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_text(record.getMessage())[0],
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        route = getattr(record, "route", None) or route_var.get()
        if request_id:
            entry["request_id"] = request_id
        if route:
            entry["route"] = route
        for name in _EXTRAS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, int | float) else mask_text(str(value))[0]
        if record.exc_info:
            entry["exception"] = record.exc_text or mask_text(self.formatException(record.exc_info))[0]
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(fmt: Literal["text", "json"], level: int = logging.INFO) -> None:
    """The root logger writes to stderr in the chosen format; uvicorn's and Huey's loggers propagate to it
    (in JSON mode the caller turns uvicorn's own access log off: the middleware writes one line per request)."""
    install_log_masking()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs each request's full URL at INFO: an outside system's URL carries a customer's reference, phone or
    # order number (profile sources, connectors), so only its warnings are kept
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    if fmt == "json":
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers[:] = []
            logger.propagate = True


def gunicorn_log_config() -> dict[str, Any]:
    """gunicorn's `logconfig_dict` for JSON mode: its master's and workers' lines in the same format."""
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": JsonFormatter}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                    "stream": "ext://sys.stderr"}},
            "root": {"level": "INFO", "handlers": ["stderr"]},
            "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True}}}
