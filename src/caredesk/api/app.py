"""The ASGI application: create_app(runtime) wires the REST API, the web UI and the embedded task consumer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.middleware.sessions import SessionMiddleware

from caredesk import __version__
from caredesk.api.errors import install_error_handlers
from caredesk.api.limits import BodySizeLimit
from caredesk.api.routes import alarms, conversations, knowledge, meetings, messages, workorders
from caredesk.runtime import Runtime
from caredesk.tasks.app import start_embedded_consumer

__all__ = ["create_app"]

log = logging.getLogger(__name__)


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

    app = FastAPI(title="CareDesk", version=__version__, lifespan=lifespan,
                  description="Customer-service and complaint handling: intake, triage, knowledge answers, "
                              "work orders, escalation alarms and linked emergency response.")
    app.state.runtime = rt
    install_error_handlers(app)

    api = APIRouter(prefix="/api/v1")
    for module in (messages, conversations, workorders, knowledge, alarms, meetings):
        api.include_router(module.router)
    app.include_router(api)

    from caredesk.web.routes import router as web_router

    app.include_router(web_router)
    app.add_middleware(SessionMiddleware, secret_key=rt.settings.secret_key, session_cookie="caredesk_session",
                       same_site="lax", https_only=rt.settings.base_url.startswith("https"))
    app.add_middleware(BodySizeLimit, max_bytes=rt.settings.max_body_bytes,
                       uploads={"/api/v1/knowledge/import": rt.settings.max_upload_bytes})
    return app
