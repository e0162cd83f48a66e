"""The webhook bodies, parsed whole before anything is stored (one bad item refuses the request: the
provider's retry then brings the batch again, and nothing is half-taken).

Generic (ours): inbound `{"from", "to", "text", "id", "received_at"}`; receipt `{"id", "status":
"delivered"|"failed", "at", "error"}`. Aliyun SMS HTTP push (短信服务 HTTP 批量推送): uplink (SmsUp) a JSON array
of `{"phone_number", "content", "send_time", "dest_code", "sequence_id", "sign_name"}`, delivery report
(SmsReport) a JSON array of `{"phone_number", "success", "err_code", "err_msg", "report_time", "biz_id",
"out_id"}`; its times are Beijing time without an offset."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from caredesk.channels.sms.errors import InvalidSmsPayload
from caredesk.channels.sms.text import normalise_phone

__all__ = ["InboundSms", "Receipt", "aliyun_receipts", "aliyun_uplink", "generic_inbound", "generic_receipt"]

BEIJING = timezone(timedelta(hours=8))
MAX_ITEMS = 500  # Aliyun pushes up to a few hundred per request


@dataclass(frozen=True)
class InboundSms:
    external_id: str  # "<source>:<provider id>": the dedupe key of provider retries
    phone: str  # normalised (text.normalise_phone)
    to: str  # our number or extension the customer wrote to ("" when unknown)
    text: str
    received_at: datetime | None


@dataclass(frozen=True)
class Receipt:
    external_id: str | None  # the provider's id of our message (the send API's answer)
    delivery_id: str | None  # ours, when the provider echoes it (Aliyun out_id)
    delivered: bool
    at: datetime | None
    error: str | None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than the stack
        raise InvalidSmsPayload("the body is not JSON", problem="not_json") from None


def _str(item: dict[str, Any], key: str, *, required: bool = True, max_len: int = 255) -> str | None:
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        if required:
            raise InvalidSmsPayload(f"{key} is missing", field=key, problem="missing")
        return None
    if not isinstance(value, str):
        raise InvalidSmsPayload(f"{key} must be a string", field=key, problem="type")
    if len(value) > max_len:
        raise InvalidSmsPayload(f"{key} is longer than {max_len} characters", field=key, problem="too_long")
    if "\x00" in value:  # PostgreSQL cannot store it: refused before any row is written
        raise InvalidSmsPayload(f"{key} holds a NUL character", field=key, problem="nul")
    return value


def _phone(item: dict[str, Any], key: str) -> str:
    phone = normalise_phone(_str(item, key) or "")
    if phone is None:
        raise InvalidSmsPayload(f"{key} is not a phone number", field=key, problem="not_a_phone")
    return phone


def _iso(value: str | None, key: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSmsPayload(f"{key} is not an ISO-8601 time", field=key, problem="time") from None
    if moment.tzinfo is None:
        raise InvalidSmsPayload(f"{key} needs a UTC offset", field=key, problem="time")
    return moment.astimezone(UTC)


def _beijing(value: str | None, key: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        raise InvalidSmsPayload(f"{key} is not YYYY-MM-DD HH:MM:SS", field=key, problem="time") from None


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidSmsPayload("the body must be a JSON object", problem="not_object")
    return data


def _array(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data or len(data) > MAX_ITEMS:
        raise InvalidSmsPayload(f"the body must be a JSON array of 1-{MAX_ITEMS} objects", problem="not_array")
    return [_object(item) for item in data]


def _text(item: dict[str, Any], key: str, max_chars: int) -> str:
    text = _str(item, key, max_len=max_chars) or ""
    if not text.strip():
        raise InvalidSmsPayload(f"{key} is empty", field=key, problem="missing")
    return text


def generic_inbound(body: bytes, *, max_chars: int) -> InboundSms:
    item = _object(_json(body))
    return InboundSms(f"generic:{_str(item, 'id', max_len=200)}", _phone(item, "from"),
                      _str(item, "to", required=False, max_len=64) or "", _text(item, "text", max_chars),
                      _iso(_str(item, "received_at", required=False), "received_at"))


def generic_receipt(body: bytes) -> Receipt:
    item = _object(_json(body))
    status = _str(item, "status")
    if status not in {"delivered", "failed"}:
        raise InvalidSmsPayload("status must be delivered or failed", field="status", problem="value")
    return Receipt(_str(item, "id", max_len=128), None, status == "delivered",
                   _iso(_str(item, "at", required=False), "at"),
                   _str(item, "error", required=False, max_len=200))


def aliyun_uplink(body: bytes, *, max_chars: int) -> list[InboundSms]:
    out = []
    for item in _array(_json(body)):
        sequence = _str(item, "sequence_id", max_len=64)
        out.append(InboundSms(f"aliyun:{sequence}", _phone(item, "phone_number"),
                              _str(item, "dest_code", required=False, max_len=64) or "",
                              _text(item, "content", max_chars), _beijing(_str(item, "send_time",
                                                                               required=False), "send_time")))
    return out


def aliyun_receipts(body: bytes) -> list[Receipt]:
    out = []
    for item in _array(_json(body)):
        success = item.get("success")
        if not isinstance(success, bool):
            raise InvalidSmsPayload("success must be true or false", field="success", problem="type")
        code, why = _str(item, "err_code", required=False, max_len=64), _str(item, "err_msg", required=False)
        biz_id, out_id = _str(item, "biz_id", required=False, max_len=128), _str(item, "out_id", required=False,
                                                                                   max_len=64)
        if biz_id is None and out_id is None:
            raise InvalidSmsPayload("biz_id or out_id is needed", field="biz_id", problem="missing")
        error = None if success else f"{code or 'failed'}: {why or ''}".strip(": ")[:200]
        out.append(Receipt(biz_id, out_id, success, _beijing(_str(item, "report_time", required=False),
                                                             "report_time"), error))
    return out
