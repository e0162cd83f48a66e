"""The SMS webhooks: thin (authenticate, parse the whole body, call one action, answer).

POST /channels/sms/inbound and /channels/sms/receipts: our generic JSON (signed or with the shared token).
POST /channels/sms/aliyun/inbound and /channels/sms/aliyun/receipts?token=...: Aliyun's HTTP push, answered
with `{"code": 0, "msg": "成功"}` (anything else makes Aliyun push the batch again)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.sms.formats import aliyun_receipts, aliyun_uplink, generic_inbound, generic_receipt
from caredesk.channels.sms.inbound import do_receive_sms, do_record_receipts
from caredesk.channels.sms.signature import check_generic, check_token
from caredesk.http.deps import RuntimeDep

__all__ = ["MAX_BODY", "PATHS", "router"]

router = APIRouter(tags=["channels: sms"])
MAX_BODY = 256 * 1024  # a few hundred pushed items at most (the app's body limit applies it: http/app.py)
PATHS = ("/channels/sms/inbound", "/channels/sms/receipts", "/channels/sms/aliyun/inbound",
         "/channels/sms/aliyun/receipts")
_ALIYUN_OK = {"code": 0, "msg": "成功"}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_sms_payload: not the documented JSON (nothing stored)", **_ERROR},
    403: {"description": "sms_signature_refused: missing, forged or stale signature or token", **_ERROR},
    413: {"description": "payload_too_large", **_ERROR}}


async def _generic_body(request: Request, rt: Runtime) -> bytes:
    body = await request.body()
    s = rt.settings
    check_generic(signature=request.headers.get("x-caredesk-signature"),
                  token=request.headers.get("x-caredesk-token"), body=body, secret=s.sms_inbound_secret,
                  shared_token=s.sms_inbound_token, now=rt.clock.now(), tolerance=s.sms_signature_tolerance_seconds)
    return body


@router.post("/channels/sms/inbound", responses=_REFUSALS)
async def sms_inbound(request: Request, rt: RuntimeDep) -> dict[str, Any]:
    sms = generic_inbound(await _generic_body(request, rt), max_chars=rt.settings.max_message_chars)
    taken = await run_in_threadpool(do_receive_sms, rt, sms)
    return {"status": taken.status, "conversation_id": taken.conversation_id, "message_id": taken.message_id}


@router.post("/channels/sms/receipts", responses=_REFUSALS)
async def sms_receipts(request: Request, rt: RuntimeDep) -> dict[str, Any]:
    receipt = generic_receipt(await _generic_body(request, rt))
    done = await run_in_threadpool(do_record_receipts, rt, [receipt])
    return {"updated": done.updated, "unknown": done.unknown}


@router.post("/channels/sms/aliyun/inbound", responses=_REFUSALS)
async def aliyun_inbound(request: Request, rt: RuntimeDep, token: str | None = None) -> dict[str, Any]:
    check_token(token, rt.settings.sms_aliyun_callback_token)
    for sms in aliyun_uplink(await request.body(), max_chars=rt.settings.max_message_chars):
        await run_in_threadpool(do_receive_sms, rt, sms)  # each once: a retried batch skips those taken
    return _ALIYUN_OK


@router.post("/channels/sms/aliyun/receipts", responses=_REFUSALS)
async def aliyun_reports(request: Request, rt: RuntimeDep, token: str | None = None) -> dict[str, Any]:
    check_token(token, rt.settings.sms_aliyun_callback_token)
    await run_in_threadpool(do_record_receipts, rt, aliyun_receipts(await request.body()))
    return _ALIYUN_OK
