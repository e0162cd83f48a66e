"""Staff sign-in (password, or single sign-on through the bank's OpenID Provider when configured) and
sign-out. The browser session keeps only the staff id and the language."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caredesk.accounts.login import LoginAttempt, do_login
from caredesk.accounts.sso import SsoClient, SsoRefused, do_sso_login
from caredesk.errors import AccountFrozen, LoginThrottled, NotFound, Unauthenticated, Unavailable
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.web.rendering import WebRoute, current_staff, render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
_KEPT_ON_LOGIN = ("lang",)


def _sso_client(request: Request) -> SsoClient:
    client: SsoClient | None = request.app.state.sso
    if client is None:
        raise NotFound("single sign-on is not configured")
    return client


SsoDep = Annotated[SsoClient, Depends(_sso_client)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, *, status: int = 200, headers: dict[str, str] | None = None,
                **context: Any) -> HTMLResponse:
    """The sign-in page; the SSO button shows whenever single sign-on is configured."""
    settings = request.app.state.runtime.settings
    values = {"error": False, "username": "", "sso": request.app.state.sso is not None,
              "sso_label": settings.oidc_button_label, "sso_error": ""} | context
    return render(request, "login.html", values, status=status, headers=headers)


def _start_session(request: Request, staff_id: str) -> RedirectResponse:
    """The one way a sign-in (password or SSO) starts a session."""
    kept = {k: request.session[k] for k in _KEPT_ON_LOGIN if k in request.session}
    request.session.clear()  # a new session (and CSRF token) on sign-in: nothing set before carries over
    request.session.update(kept | {"staff_id": staff_id})
    return RedirectResponse("/workbench", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> Response:
    """Signed-in staff go to their workbench; anyone else chooses: the customer chat or the staff sign-in."""
    if current_staff(request, session) is not None:
        return RedirectResponse("/workbench", status_code=303)
    return render(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep) -> Response:
    if current_staff(request, session) is not None:
        return RedirectResponse("/workbench", status_code=303)
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, rt: RuntimeDep, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=256)] = "") -> Response:
    try:
        staff_id = do_login(rt, LoginAttempt(username.strip(), password, _address(request)))
    except LoginThrottled as exc:
        minutes = math.ceil(exc.retry_after / 60)
        return _login_page(request, throttled=minutes, username=username, status=429,
                           headers={"Retry-After": str(exc.retry_after)})
    except Unauthenticated:
        return _login_page(request, error=True, username=username, status=401)
    except AccountFrozen as exc:  # said only after the password was verified
        frozen = "now" if exc.details.get("reasons") else "yes"
        return _login_page(request, frozen=frozen, username=username, status=403)
    return _start_session(request, staff_id)


@router.get("/login/sso")
async def sso_start(request: Request, sso: SsoDep) -> Response:
    try:
        return await sso.redirect(request)
    except Unavailable:
        return _login_page(request, sso_error="unavailable", status=503)


@router.get("/login/sso/callback")
async def sso_callback(request: Request, rt: RuntimeDep, sso: SsoDep) -> Response:
    outcome = await run_in_threadpool(do_sso_login, rt, await sso.verified_claims(request), _address(request))
    if isinstance(outcome, SsoRefused):
        if outcome.reason in ("inactive_user", "frozen_now"):  # as the password form says it
            return _login_page(request, frozen="now" if outcome.reason == "frozen_now" else "yes", status=403)
        refused = outcome.reason in ("unknown_user", "no_username")
        return _login_page(request, sso_error="refused" if refused else "failed",
                           status=403 if refused else 401)
    return _start_session(request, outcome.staff_id)  # judged for a new network or an odd hour already


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    kept = {k: request.session[k] for k in _KEPT_ON_LOGIN if k in request.session}
    request.session.clear()
    request.session.update(kept)
    return RedirectResponse("/login", status_code=303)
