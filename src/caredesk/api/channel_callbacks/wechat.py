"""The callback URLs (thin: parse, call callback.py, answer). Provider callbacks, not the JSON API: kept
out of the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from caredesk.channels.wechat.accounts import Account
from caredesk.channels.wechat.callback import CallbackQuery, forget_nonce, handle_post, verify_url
from caredesk.channels.wechat.service import WeChatService, service_of
from caredesk.errors import CareDeskError, NotFound
from caredesk.http.deps import RuntimeDep

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=512)]
Echo = Annotated[str, Query(max_length=4096)]


def _query(timestamp: str, nonce: str, signature: str = "", msg_signature: str = "", echostr: str = "",
           encrypt_type: str = "") -> CallbackQuery:
    return CallbackQuery(timestamp, nonce, signature, msg_signature, echostr, encrypt_type)


def _account(rt: RuntimeDep, kind: str, name: str | None) -> tuple[WeChatService, Account]:
    service = service_of(rt.channels, kind)
    account = service.account(kind, name) if service is not None else None
    if service is None or account is None:
        raise NotFound(f"no {kind} account {name!r} is configured" if name else f"{kind} is not configured")
    return service, account


def _verify(rt: RuntimeDep, kind: str, name: str | None, q: CallbackQuery) -> Response:
    service, account = _account(rt, kind, name)
    return PlainTextResponse(verify_url(service, account, q, now=rt.clock.now().timestamp()))


async def _post(request: Request, rt: RuntimeDep, kind: str, name: str | None, q: CallbackQuery) -> Response:
    service, account = _account(rt, kind, name)
    body = await request.body()
    try:
        answer = await run_in_threadpool(handle_post, rt, service, account, q, body)
    except CareDeskError:
        raise
    except Exception:
        forget_nonce(service, account, q)  # our failure: WeChat's retry must not be taken for a replay
        raise
    return Response(answer.body, media_type=answer.media_type)


@router.get("/channels/wechat")
def wechat_verify(rt: RuntimeDep, timestamp: Text = "", nonce: Text = "", signature: Text = "",
                  echostr: Echo = "", account: Text | None = None) -> Response:
    return _verify(rt, "wechat", account, _query(timestamp, nonce, signature, echostr=echostr))


@router.post("/channels/wechat")
async def wechat_callback(request: Request, rt: RuntimeDep, timestamp: Text = "", nonce: Text = "",
                          signature: Text = "", msg_signature: Text = "", encrypt_type: Text = "",
                          account: Text | None = None) -> Response:
    return await _post(request, rt, "wechat", account,
                       _query(timestamp, nonce, signature, msg_signature, encrypt_type=encrypt_type))


@router.get("/channels/wecom/{account}")
def wecom_verify(account: str, rt: RuntimeDep, timestamp: Text = "", nonce: Text = "", msg_signature: Text = "",
                 echostr: Echo = "") -> Response:
    return _verify(rt, "wecom", account, _query(timestamp, nonce, msg_signature=msg_signature, echostr=echostr))


@router.post("/channels/wecom/{account}")
async def wecom_callback(account: str, request: Request, rt: RuntimeDep, timestamp: Text = "", nonce: Text = "",
                         msg_signature: Text = "") -> Response:
    return await _post(request, rt, "wecom", account, _query(timestamp, nonce, msg_signature=msg_signature))
