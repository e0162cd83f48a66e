"""Staff sign-in and sign-out (the browser session keeps only the staff id and the language)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caredesk.accounts.login import LoginAttempt, do_login
from caredesk.api.deps import RuntimeDep, SessionDep
from caredesk.errors import LoginThrottled, Unauthenticated
from caredesk.web.rendering import WebRoute, current_staff, render

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
_KEPT_ON_LOGIN = ("lang",)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/workbench", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep) -> Response:
    if current_staff(request, session) is not None:
        return RedirectResponse("/workbench", status_code=303)
    return render(request, "login.html", {"error": False, "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, rt: RuntimeDep, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=256)] = "") -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        staff_id = do_login(rt, LoginAttempt(username.strip(), password, address))
    except LoginThrottled as exc:
        minutes = math.ceil(exc.retry_after / 60)
        return render(request, "login.html", {"error": False, "throttled": minutes, "username": username},
                      status=429, headers={"Retry-After": str(exc.retry_after)})
    except Unauthenticated:
        return render(request, "login.html", {"error": True, "username": username}, status=401)
    kept = {k: request.session[k] for k in _KEPT_ON_LOGIN if k in request.session}
    request.session.clear()  # a new session (and CSRF token) on sign-in: nothing set before carries over
    request.session.update(kept | {"staff_id": staff_id})
    return RedirectResponse("/workbench", status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    kept = {k: request.session[k] for k in _KEPT_ON_LOGIN if k in request.session}
    request.session.clear()
    request.session.update(kept)
    return RedirectResponse("/login", status_code=303)
