"""Every API route x every role, generated from the routes themselves: a route either declares the one
permission it needs (and then each role gets 403 exactly when the permission table denies it) or is on
the short list of public routes. A new route without a permission fails this test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from caredesk.accounts.roles import PERMISSIONS, Role, can
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from tests.conftest import create_key

# Reached without an account: the customer's own survey link (the token is the credential).
PUBLIC = {("GET", "/api/v1/surveys/{token}"), ("POST", "/api/v1/surveys/{token}")}


def _permission(route: APIRoute) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        permission = getattr(dep.call, "permission", None)
        if permission:
            return str(permission)
        stack.extend(dep.dependencies)
    return None


def _walk(routes: Any, prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(full path, route) of every APIRoute, through included routers (FastAPI keeps them nested)."""
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            out.extend(_walk(route.original_router.routes, prefix + route.include_context.prefix))
    return out


def _api_routes(app: Any) -> list[tuple[str, str, str | None]]:
    out = []
    for path, route in _walk(app.routes):
        if path.startswith("/api/v1"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                out.append((method, path, _permission(route)))
    schema_paths = set(app.openapi()["paths"])
    assert {p for _, p, _ in out} == {p for p in schema_paths if p.startswith("/api/v1")}
    return out


def test_every_api_route_declares_a_known_permission_or_is_public(demo_runtime: Runtime) -> None:
    routes = _api_routes(create_app(demo_runtime, start_consumer=False))
    assert len(routes) > 30
    missing = [(m, p) for m, p, perm in routes if perm is None and (m, p) not in PUBLIC]
    assert missing == [], f"routes without a permission: {missing}"
    unknown = {perm for _, _, perm in routes if perm and perm not in PERMISSIONS}
    assert unknown == set()


def test_route_role_matrix(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    app = create_app(rt, start_consumer=False)
    clients = {}
    for role in Role:
        client = TestClient(app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {create_key(rt, role.value)}"
        clients[role] = client
    anonymous = TestClient(app, raise_server_exceptions=False)
    checked = 0
    for method, path, permission in _api_routes(app):
        if permission is None:
            continue
        url = re.sub(r"\{[^}]+\}", "matrix-missing-id", path)
        assert anonymous.request(method, url, json={}).status_code == 401, (method, path)
        for role, client in clients.items():
            status = client.request(method, url, json={}).status_code
            assert status != 500, (method, path, role)
            if can(role.value, permission):
                assert status != 403, f"{role} should pass {permission} on {method} {path}"
            else:
                assert status == 403, f"{role} must get 403 for {permission} on {method} {path}, got {status}"
            checked += 1
    assert checked >= 30 * len(Role)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_roles_are_known(role: str) -> None:
    assert any(can(role, p) for p in PERMISSIONS)
