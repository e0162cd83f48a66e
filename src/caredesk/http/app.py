"""The ASGI application: create_app(runtime) mounts the JSON API and the web pages, the shared middleware and
the embedded task consumer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.sessions import SessionMiddleware

from caredesk import __version__
from caredesk.accounts.sso import build_sso_client
from caredesk.api.channel_callbacks import sms
from caredesk.api.openapi_errors import document_errors
from caredesk.api.openapi_limits import document_limits
from caredesk.api.router import api_router, channel_callbacks_router
from caredesk.api.routes import calls
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.csrf import CsrfProtection
from caredesk.http.errors import install_error_handlers
from caredesk.http.health import router as health_router
from caredesk.http.limits import BodySizeLimit
from caredesk.http.metrics_route import router as metrics_router
from caredesk.http.observe import RequestObservation
from caredesk.http.security_headers import SecurityHeaders
from caredesk.tasks.app import start_embedded_consumer
from caredesk.web.routes import router as web_router

__all__ = ["create_app"]

log = logging.getLogger(__name__)
SESSION_COOKIE = "caredesk_session"


def create_app(rt: Runtime, *, start_consumer: bool | None = None) -> FastAPI:
    embedded = rt.settings.tasks_mode == "embedded" if start_consumer is None else start_consumer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer = start_embedded_consumer(rt.queue.huey) if embedded else None
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
            rt.live.close()

    # /docs and /redoc load Swagger UI and ReDoc from the installed package, never from a CDN: offline sites work.
    app = FastAPIOffline(title="CareDesk", version=__version__, lifespan=lifespan,
                  description="Customer-service and complaint handling: intake, triage, knowledge answers, "
                              "work orders, escalation alarms and linked emergency response.")
    app.state.runtime = rt
    app.state.sso = build_sso_client(rt.settings)  # None: single sign-on is off
    install_error_handlers(app)
    document_errors(app)
    document_limits(app, max_message_chars=rt.settings.max_message_chars)

    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router())
    app.include_router(web_router)
    app.include_router(channel_callbacks_router())  # /channels/...: WeChat and WeCom, inbound e-mail, SMS
    https = rt.settings.base_url.startswith("https")
    # Outermost last: security headers on every answer, then the body limit, the session, and CSRF inside it.
    app.add_middleware(CsrfProtection, cookie_name=SESSION_COOKIE)
    app.add_middleware(SessionMiddleware, secret_key=rt.settings.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=rt.settings.session_max_age_seconds, same_site="lax", https_only=https)
    app.add_middleware(BodySizeLimit, max_bytes=rt.settings.max_body_bytes,
                       uploads={"/api/v1/knowledge/import": rt.settings.max_upload_bytes,
                                "/api/v1/calls": calls.MAX_BODY,
                                "/channels/email/inbound": rt.settings.mail_max_message_bytes,
                                **dict.fromkeys(sms.PATHS, sms.MAX_BODY)})
    app.add_middleware(SecurityHeaders, https=https)
    # outermost: the request id and the metrics see every answer, refusals by the layers inside included
    app.add_middleware(RequestObservation, access_log=rt.settings.log_format == "json")
    return app
