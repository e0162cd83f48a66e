"""Every error leaves as JSON with a stable `code`; nothing a client sends produces a 500."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from caredesk.errors import CareDeskError, ServiceUnavailable
from caredesk.storage.outages import is_storage_outage

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    # Never echo the input back: it may hold customer data.
    return [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
            for e in exc.errors()]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _resources(app: Any) -> list[tuple[re.Pattern[str], int, str]]:
    """(path regex, number of parameters, Allow) of every documented path, computed once per app."""
    cached: list[tuple[re.Pattern[str], int, str]] | None = getattr(app.state, "allow_by_path", None)
    if cached is None:
        cached = []
        for path, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
            methods = {m.upper() for m in operations}
            cached.append((re.compile(f"^{regex}$"), path.count("{"),
                           ", ".join(m for m in _METHODS if m in methods)))
        app.state.allow_by_path = cached
    return cached


def allowed_methods(request: Request) -> str | None:
    """The methods of the resource at the request's path (None: not a documented path). FastAPI has one route
    per operation and Starlette's 405 names only the first matching route's methods; RFC 9110 wants all of
    them. A literal path wins over a template (/knowledge/categories, not /knowledge/{entry_id}), as in the
    router, where the literal routes come first."""
    found = [(params, allow) for regex, params, allow in _resources(request.app)
             if regex.match(request.url.path)]
    return min(found)[1] if found else None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CareDeskError)
    async def _domain(_: Request, exc: CareDeskError) -> JSONResponse:
        retry = getattr(exc, "retry_after", None)
        return JSONResponse(exc.to_json(), status_code=exc.status,
                            headers={"Retry-After": str(retry)} if retry is not None else None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse({"code": "invalid_json", "message": "the body is not valid JSON", "errors": errors},
                                status_code=400)
        return JSONResponse({"code": "validation_error", "message": "the request does not match the schema",
                             "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")  # pages: Starlette's
        return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=headers or None)

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        if is_storage_outage(exc):  # the transaction rolled back whole: the client may retry
            log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return await _domain(request, ServiceUnavailable("the database is unavailable for a moment; retry"))
        return await _unexpected(request, exc)

    for error in (DBAPIError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(error, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"code": "internal_error", "message": "an unexpected error occurred"}, status_code=500)
