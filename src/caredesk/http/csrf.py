"""CSRF protection for requests that a browser's session cookie authenticates.

A random token lives in the signed session; pages carry it (base.html puts it on <body hx-headers>, so
every htmx request sends `X-CSRF-Token`; plain forms carry a hidden `csrf_token` field). An unsafe request
(POST/PUT/PATCH/DELETE) that comes with the session cookie must present it, and so must the sign-in form
(login CSRF needs no cookie). Requests authenticated by `Authorization: Bearer <API key>` are exempt: a
cross-site page cannot set that header, and the API key, not the session, is what authenticates them."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "CsrfProtection", "csrf_token"]

SESSION_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(request: Request) -> str:
    """This session's token, created on first use (the session cookie then carries it)."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


class CsrfProtection:
    """Pure ASGI middleware; must run inside SessionMiddleware (it reads `scope["session"]`)."""

    def __init__(self, app: ASGIApp, *, cookie_name: str, always: Collection[str] = ("/login",)) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.always = frozenset(always)  # paths checked even without a session cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("authorization", "").lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path not in self.always and self.cookie_name not in Request(scope).cookies:
            await self.app(scope, receive, send)  # no session: nothing ambient for a forged request to use
            return
        sent = headers.get(CSRF_HEADER)
        is_form = headers.get("content-type", "").startswith(_FORM_TYPES)
        if sent is None and is_form and not path.startswith("/api/"):
            body = await _read_body(receive)
            sent = await _form_field(scope, body)
            receive = _replay(body, then=receive)  # the handler reads the same body again
        expected = scope.get("session", {}).get(SESSION_KEY)
        if isinstance(expected, str) and expected and sent and hmac.compare_digest(sent.encode(),
                                                                                   expected.encode()):
            await self.app(scope, receive, send)
            return
        await self._reject(scope, receive, send, path)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        message = "the request lacks this session's CSRF token (reload the page and try again)"
        if path.startswith("/api/"):
            body = json.dumps({"code": "csrf_failed", "message": message}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        from caredesk.web.rendering import render

        response = render(Request(scope, receive), "csrf_failed.html", status=403,
                          headers={"X-CareDesk-Error": "csrf_failed"})
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, *, then: Receive | None = None) -> Receive:
    """The body once, then the client's own messages (e.g. its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _form_field(scope: Scope, body: bytes) -> str | None:
    try:
        form = await Request(scope, _replay(body)).form()
    except Exception:  # a malformed form body has no token; the handler never sees it
        return None
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None
