"""A method a resource does not serve is 405 with `Allow` listing every method the resource does serve (RFC
9110), for every path of the API: FastAPI has one route per operation, and Starlette named only the first."""

from __future__ import annotations

import re
from typing import Any

import pytest

METHODS = ("get", "put", "post", "delete", "patch", "options")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_405_lists_the_documented_methods_in_allow(api: Any) -> None:
    paths = {p: ops for p, ops in api.get("/openapi.json").json()["paths"].items() if p.startswith("/api/")}
    assert len(paths) >= 30
    templates = {p: re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$") for p in paths}
    wrong = {}
    for path, operations in paths.items():
        documented = {m.upper() for m in operations if m in METHODS}
        url = re.sub(r"\{[^}]+\}", "0", path)
        # GET /customers/search is GET /customers/{customer_id}: another resource serves it (a 404 here)
        elsewhere = {m.upper() for other, ops in paths.items() if other != path and templates[other].match(url)
                     for m in ops}
        for method in sorted({m.upper() for m in METHODS} - documented - elsewhere):
            r = api.request(method, url)
            allowed = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()} - {"HEAD"}
            if r.status_code != 405 or allowed != documented:
                wrong[f"{method} {path}"] = (r.status_code, r.headers.get("allow"), sorted(documented))
    assert not wrong, wrong


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_allow_on_a_path_served_by_two_routes(api: Any) -> None:
    r = api.request("OPTIONS", "/api/v1/knowledge")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, POST"
