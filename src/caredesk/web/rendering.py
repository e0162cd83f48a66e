"""Rendering for the web UI: the Jinja environment, the page context (language, signed-in staff), and the
route class that turns "sign in first" and "not found" into a redirect and an HTML 404 page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from caredesk.accounts.roles import can
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.analytics.surge_status import SurgeStatus
from caredesk.emergency.incident_status import IncidentStatus
from caredesk.emergency.meeting_status import MeetingStatus
from caredesk.errors import CareDeskError, Forbidden, NotFound
from caredesk.http.csrf import csrf_token
from caredesk.http.deps import Caller, SessionDep
from caredesk.storage.orm import Staff
from caredesk.web.i18n import LANGUAGES, Translator, choose_language

__all__ = ["LoginRequired", "WebRoute", "current_staff", "is_htmx", "package_dir", "refusal", "render",
           "require_staff", "staff_who_may", "template_module", "ui_language"]


class LoginRequired(Exception):
    """Raised by `require_staff`; `WebRoute` answers it with a redirect to the login page."""


def package_dir(name: str) -> Path:
    """A folder shipped inside `caredesk.web` (templates, static)."""
    return Path(str(resources.files("caredesk.web").joinpath(name)))


@jinja2.pass_context
def _datetime(context: jinja2.runtime.Context, value: datetime | str | None) -> str:
    """A time in the centre's zone (`display_timezone`), minute precision; stored naive times are UTC. ISO
    strings from JSON context are accepted too."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    zone = context.get("time_zone") or UTC
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(zone).strftime(
        "%Y-%m-%d %H:%M")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(package_dir("templates")), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["dt"] = _datetime
    env.filters["pct"] = _percent
    env.globals["can"] = can  # templates show an action only to those whose role allows it
    # Templates compare statuses with the enums, as the code does, not with bare strings.
    env.globals.update(AlarmStatus=AlarmStatus, IncidentStatus=IncidentStatus, MeetingStatus=MeetingStatus,
                       SurgeStatus=SurgeStatus)
    return env


def template_module(name: str, context: dict[str, Any]) -> Any:
    """A template's macros, for a fragment written outside a response (a server-sent event's HTML)."""
    return _environment().get_template(name).make_module(context)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request", "").lower() == "true"


def ui_language(request: Request) -> str:
    """The page language; `?lang=` is remembered in the session."""
    asked = request.query_params.get("lang")
    language = choose_language(asked, request.session.get("lang"), request.headers.get("accept-language", ""))
    if asked in LANGUAGES:
        request.session["lang"] = language
    return language


def refusal(request: Request, error: CareDeskError) -> str:
    """A domain or API refusal shown on a page, translated by its stable code (never the bare English)."""
    return Translator(ui_language(request)).error(error)


def current_staff(request: Request, session: Session) -> Staff | None:
    staff_id = request.session.get("staff_id")
    if not staff_id:
        return None
    staff = session.get(Staff, staff_id)
    return staff if staff is not None and staff.active else None


def require_staff(request: Request, session: Session) -> Staff:
    staff = current_staff(request, session)
    if staff is None:
        raise LoginRequired()
    return staff


def staff_who_may(permission: str) -> Any:
    """`staff: Annotated[Staff, staff_who_may("workorder.read")]`: signed in, and the role allows it."""

    def dependency(request: Request, session: SessionDep) -> Staff:
        staff = require_staff(request, session)
        if not can(staff.role, permission):
            raise Forbidden(f"role {staff.role} may not {permission}")
        return staff

    return Depends(dependency)


def staff_who_may_see(permission: str, find: Callable[[Session, Caller, str], object], param: str) -> Any:
    """`staff: Annotated[Staff, staff_who_may_see("alarm.handle", alarm_for, "alarm_id")]`: signed in, the role
    allows it, and the record named by the path parameter is within the staff member's scope (else "not
    found", as on the API); `find` is the aggregate's function from accounts/access.py."""

    def dependency(request: Request, session: SessionDep,
                   staff: Staff = staff_who_may(permission)) -> Staff:  # noqa: B008  (FastAPI's Depends)
        find(session, Caller.of_staff(staff), request.path_params[param])
        return staff

    return Depends(dependency)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           staff: Staff | None = None, headers: dict[str, str] | None = None) -> HTMLResponse:
    language = ui_language(request)
    translator = Translator(language)
    other = "en" if language == "zh" else "zh"
    query = {k: v for k, v in request.query_params.items() if k != "lang"} | {"lang": other}
    values: dict[str, Any] = {
        "request": request, "t": translator, "tn": translator.plural, "lang": language, "staff": staff,
        "switch_url": f"{request.url.path}?{urlencode(query)}", "htmx": is_htmx(request),
        "csrf_token": csrf_token(request),
        "time_zone": request.app.state.runtime.settings.display_timezone,
    }
    values.update(context or {})
    html = _environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=headers)
    if staff is not None:  # customer data: never kept in a shared cache or the browser's disk cache
        response.headers["Cache-Control"] = "no-store"
    return response


def _login_redirect(request: Request) -> Response:
    if is_htmx(request):  # an XHR follows redirects silently: ask htmx to move the whole page instead
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


class WebRoute(APIRoute):
    """Answers `LoginRequired` with a redirect to /login and `NotFound` with the HTML 404 page (the API's
    error handlers answer in JSON, which is right for /api and wrong for a browser)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except NotFound:
                return render(request, "error.html", {"status": 404}, status=404)
            except Forbidden:
                return render(request, "error.html", {"status": 403}, status=403)

        return web_handler
