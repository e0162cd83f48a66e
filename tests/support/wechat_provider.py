"""A real stand-in for WeChat's and WeCom's HTTP APIs: a FastAPI app under uvicorn on a loopback port that
issues access tokens (`/cgi-bin/token`, `/cgi-bin/gettoken`), takes customer-service messages
(`/cgi-bin/message/custom/send`, `/cgi-bin/kf/send_msg`) and hands out WeCom messages (`/cgi-bin/kf/sync_msg`)
as the real ones do, with the errcodes a test queues. It keeps every request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from tests.conftest import free_port
from tests.support.serving import uvicorn_in_thread

SECRET = "test-app-secret"


@dataclass
class Provider:
    url: str = ""
    tokens_issued: int = 0
    current: set[str] = field(default_factory=set)  # tokens the API still takes
    sent: list[dict[str, Any]] = field(default_factory=list)  # message bodies taken, with the path
    token_requests: list[dict[str, str]] = field(default_factory=list)
    errcodes: list[int] = field(default_factory=list)  # answers of the next send calls, first first
    waiting: list[dict[str, Any]] = field(default_factory=list)  # WeCom messages not yet pulled
    syncs: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retire_tokens(self) -> None:
        """As when another client fetched a new token: the ones handed out stop working."""
        with self._lock:
            self.current.clear()


def _app(p: Provider) -> Any:
    app = FastAPI()

    def issue() -> dict[str, Any]:
        with p._lock:
            p.tokens_issued += 1
            token = f"ACCESS_TOKEN_{p.tokens_issued}"
            p.current.add(token)
        return {"access_token": token, "expires_in": 7200}

    @app.get("/cgi-bin/token")
    def token(grant_type: str, appid: str, secret: str) -> dict[str, Any]:
        p.token_requests.append({"appid": appid, "grant_type": grant_type})
        if secret != SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return issue()

    @app.get("/cgi-bin/gettoken")
    def gettoken(corpid: str, corpsecret: str) -> dict[str, Any]:
        p.token_requests.append({"corpid": corpid})
        if corpsecret != SECRET:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        return {"errcode": 0, "errmsg": "ok", **issue()}

    async def take(path: str, request: Request) -> dict[str, Any]:
        token = request.query_params.get("access_token", "")
        if token not in p.current:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        with p._lock:
            if p.errcodes:
                code = p.errcodes.pop(0)
                return {"errcode": code, "errmsg": f"test errcode {code}"}
            body = await request.json()
            p.sent.append({"path": path, **body})
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/cgi-bin/message/custom/send")
    async def custom_send(request: Request) -> dict[str, Any]:
        return await take("custom/send", request)

    @app.post("/cgi-bin/kf/send_msg")
    async def kf_send(request: Request) -> dict[str, Any]:
        answer = await take("kf/send_msg", request)
        if answer["errcode"] == 0:
            answer["msgid"] = "kf-" + str(p.sent[-1].get("msgid", ""))
        return answer

    @app.post("/cgi-bin/kf/sync_msg")
    async def kf_sync(request: Request) -> dict[str, Any]:
        if request.query_params.get("access_token", "") not in p.current:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        body = await request.json()
        p.syncs.append(body)
        start = int(body.get("cursor") or 0)
        page = p.waiting[start:start + 2]  # two a page: the tests see has_more and the cursor at work
        end = start + len(page)
        return {"errcode": 0, "errmsg": "ok", "next_cursor": str(end), "has_more": int(end < len(p.waiting)),
                "msg_list": page}

    return app


@contextmanager
def wechat_provider() -> Iterator[Provider]:
    p = Provider()
    port = free_port()
    p.url = f"http://127.0.0.1:{port}"
    with uvicorn_in_thread(_app(p), port, "WeChat API stand-in", log_level="warning"):
        yield p
