"""The pieces every HTTP JSON integration shares (profiles' customer sources, the CRM / order / logistics
connectors): authentication read from environment variable NAMES, JSON paths and typed fields, URL templates,
and one bounded request. Errors say what went wrong with the remote system (timeout, HTTP status, a field of the
wrong type) and never repeat a URL or a body: both carry a customer's data."""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import Field, StrictStr, field_validator, model_validator

from caredesk.config_files import ConfigModel

__all__ = ["LIST_MAX", "MAX_RESPONSE_BYTES", "TEXT_MAX", "Auth", "BasicAuth", "BearerAuth", "EnvName", "FieldType",
           "HeaderAuth", "HttpJsonError", "JsonAnswer", "MappedField", "NoAuth", "PathStep", "auth_env_names",
           "auth_headers", "convert_value", "extract_path", "failure_reason", "fill_url", "map_fields", "parse_path",
           "request_json", "url_template_problem"]

TEXT_MAX = 500  # a mapped text value is cut to this many characters
LIST_MAX = 100  # a mapped list keeps at most this many items
MAX_RESPONSE_BYTES = 1 << 20  # one record is small; a larger answer is a misconfigured URL
FieldType = Literal["str", "float", "int", "bool", "list", "date"]
_ENV = r"^[A-Z_][A-Z0-9_]{0,127}$"
EnvName = Annotated[str, Field(pattern=_ENV)]
_SEGMENT = re.compile(r"^([^.\[\]]+)((?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")

PathStep = str | int  # a key, an index, or "*" (every item)


class HttpJsonError(Exception):
    """Why a call failed, in words safe to store and log (no customer data); `status` when the system answered
    with an HTTP status CareDesk does not accept."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def parse_path(path: str) -> tuple[PathStep, ...]:
    """`customer.accounts[0].type` -> ("customer", "accounts", 0, "type"); `products[*].code` keeps "*" for
    "every item". An optional leading `$.` is allowed. ValueError says what is wrong."""
    text = path.removeprefix("$.").strip()
    if not text:
        raise ValueError("empty JSON path")
    steps: list[PathStep] = []
    for segment in text.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(f"bad JSON path segment {segment!r} (write key, key[0] or key[*])")
        steps.append(match.group(1))
        for index in _INDEX.findall(match.group(2)):
            steps.append("*" if index == "*" else int(index))
    return tuple(steps)


def extract_path(data: Any, steps: tuple[PathStep, ...]) -> Any:
    """The value at the path (None when any step is missing); a `*` step collects every item's value."""
    for i, step in enumerate(steps):
        if step == "*":
            if not isinstance(data, list):
                return None
            rest = steps[i + 1:]
            found = [extract_path(item, rest) for item in data]
            return [v for v in found if v is not None]
        if isinstance(step, int):
            if not isinstance(data, list) or step >= len(data):
                return None
            data = data[step]
        else:
            if not isinstance(data, dict) or step not in data:
                return None
            data = data[step]
    return data


_TRUE = frozenset({"true", "yes", "y", "1", "是", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "f"})


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)[:TEXT_MAX]
    raise ValueError("not a text or a number")


def convert_value(value: Any, kind: FieldType, *, separator: str = "|") -> Any:
    """The value in its stored (JSON) form, or ValueError with a reason that never repeats the value. None stays
    None (the source has no such data). Text is read leniently (a CSV cell, a number sent as a string);
    `separator` splits a text into a list (CSV cells)."""
    if value is None or (isinstance(value, str) and not value.strip() and kind != "str"):
        return None
    if kind == "str":
        return _scalar_text(value).strip() or None
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError("not a number")
        try:
            number = float(value.strip().replace(",", "")) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise ValueError("not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return number
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("not a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip().replace(",", "")):
            return int(value.strip().replace(",", ""))
        raise ValueError("not a whole number")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else ""
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("not true or false")
    if kind == "list":
        items = value if isinstance(value, list) else (
            [part.strip() for part in value.split(separator) if part.strip()] if isinstance(value, str) else None)
        if items is None:
            raise ValueError("not a list")
        return [item if isinstance(item, bool | int | float) else _scalar_text(item) for item in items[:LIST_MAX]]
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError("not a date")
        text = value.strip()
        try:
            return (date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text).date()).isoformat()
        except ValueError:
            try:  # 2026/11/02, as spreadsheets write it
                return datetime.strptime(text, "%Y/%m/%d").date().isoformat()
            except ValueError:
                raise ValueError("not a date (YYYY-MM-DD)") from None
    raise ValueError(f"unknown type {kind}")


class NoAuth(ConfigModel):
    kind: Literal["none"] = "none"


class BearerAuth(ConfigModel):
    """`Authorization: Bearer <token>`, the token read from `token_env` when a call is made."""

    kind: Literal["bearer"]
    token_env: EnvName


class BasicAuth(ConfigModel):
    kind: Literal["basic"]
    username_env: EnvName
    password_env: EnvName


class HeaderAuth(ConfigModel):
    """One header (e.g. `X-Api-Key`) whose value is read from `value_env`."""

    kind: Literal["header"]
    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    value_env: EnvName


Auth = Annotated[NoAuth | BearerAuth | BasicAuth | HeaderAuth, Field(discriminator="kind")]


def auth_env_names(auth: NoAuth | BearerAuth | BasicAuth | HeaderAuth) -> list[str]:
    """The environment variables the authentication reads."""
    if isinstance(auth, BearerAuth):
        return [auth.token_env]
    if isinstance(auth, BasicAuth):
        return [auth.username_env, auth.password_env]
    if isinstance(auth, HeaderAuth):
        return [auth.value_env]
    return []


def _env(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise HttpJsonError(f"environment variable {name} is not set")
    return value


def auth_headers(auth: NoAuth | BearerAuth | BasicAuth | HeaderAuth, environ: Mapping[str, str]
                 ) -> tuple[dict[str, str], tuple[str, str] | None]:
    """(extra headers, basic credentials) with the secrets read now, so a rotated secret needs no restart."""
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {_env(environ, auth.token_env)}"}, None
    if isinstance(auth, BasicAuth):
        return {}, (_env(environ, auth.username_env), _env(environ, auth.password_env))
    if isinstance(auth, HeaderAuth):
        return {auth.header: _env(environ, auth.value_env)}, None
    return {}, None


class MappedField(ConfigModel):
    """One field kept from the response: where it is (a JSON path) and its type."""

    path: StrictStr
    type: FieldType = "str"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value

    @model_validator(mode="after")
    def _wildcard_is_a_list(self) -> MappedField:
        if "*" in parse_path(self.path) and self.type != "list":
            raise ValueError("a path with [*] gives a list: set type: list")
        return self

    @property
    def steps(self) -> tuple[PathStep, ...]:
        return parse_path(self.path)


def map_fields(fields: Mapping[str, MappedField], data: Any) -> dict[str, Any]:
    """The mapped fields of a response, each converted to its type (a missing one is None); everything else in
    the response is dropped here. A field of the wrong type is an error: the system broke its contract."""
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        try:
            out[name] = convert_value(extract_path(data, spec.steps), spec.type)
        except ValueError as exc:
            raise HttpJsonError(f"field {name} ({spec.path}): {exc}") from None
    return out


def url_template_problem(url: str, placeholders: Sequence[str], *, relative: bool) -> str | None:
    """What is wrong with a URL template (None: nothing): unknown placeholders, no http(s) address, credentials
    in the URL. `relative`: the address comes from elsewhere and this is a path."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(url) if name is not None}
    except ValueError as exc:
        return f"bad URL template: {exc}"
    unknown = sorted(names - set(placeholders))
    if unknown:
        allowed = " and ".join("{" + p + "}" for p in placeholders)
        return f"unknown placeholder(s) {unknown}; only {allowed}"
    if relative:
        return None if url.startswith("/") else "with base_url_env the url is a path starting with /"
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "url must be an http:// or https:// address"
    if parts.username or parts.password:
        return "no credentials in the url: use auth"
    return None


def fill_url(template: str, values: Mapping[str, str], *, base_url_env: str | None,
             environ: Mapping[str, str]) -> str:
    """The template with each value URL-encoded (a reference cannot change the path), after the base address
    from `base_url_env` when set."""
    url = template.format(**{k: quote(v, safe="") for k, v in values.items()})
    if base_url_env is not None:
        base = _env(environ, base_url_env).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise HttpJsonError(f"{base_url_env} is not an http:// or https:// address")
        url = base + url
    return url


@dataclass(frozen=True)
class JsonAnswer:
    status: int
    data: Any  # the parsed JSON body (None when the body was empty)


def _read(response: httpx.Response, deadline: float) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise HttpJsonError(f"response larger than {MAX_RESPONSE_BYTES // 1024} KiB")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("deadline")
    return bytes(body)


def request_json(method: str, url: str, *, headers: Mapping[str, str], basic: tuple[str, str] | None,
                 timeout: float, body: Any = None, accept: frozenset[int] = frozenset({200}),
                 bodiless: frozenset[int] = frozenset(), user_agent: str = "CareDesk",
                 client: httpx.Client | None = None) -> JsonAnswer:
    """One request within `timeout` (connecting and reading together), redirects not followed. A status in
    `accept` is read as JSON (an empty body is None), one in `bodiless` (e.g. 404: "nothing on this customer")
    answers with no data whatever its body; any other status, a body over the size limit or not JSON raises
    HttpJsonError; httpx errors (timeouts, refused connections) pass through for the caller to name. `client`:
    a long-lived one (its connections and TLS setup reused: a new client costs tens of milliseconds or more)."""
    if client is None:
        with httpx.Client(follow_redirects=False) as own:
            return request_json(method, url, headers=headers, basic=basic, timeout=timeout, body=body,
                                accept=accept, bodiless=bodiless, user_agent=user_agent, client=own)
    deadline = time.monotonic() + timeout
    sent = {"Accept": "application/json", "User-Agent": user_agent, **headers}
    with client.stream(method, url, headers=sent, auth=basic, json=body, timeout=httpx.Timeout(timeout),
                       follow_redirects=False) as response:
        if response.status_code in bodiless:
            return JsonAnswer(response.status_code, None)
        if response.status_code not in accept:
            redirect = " (redirects are not followed)" if response.is_redirect else ""
            raise HttpJsonError(f"HTTP {response.status_code}{redirect}", status=response.status_code)
        raw = _read(response, deadline)
        status = response.status_code
    if not raw.strip():
        return JsonAnswer(status, None)
    try:
        return JsonAnswer(status, json.loads(raw))
    except ValueError:
        raise HttpJsonError("the response is not JSON") from None


def failure_reason(exc: Exception, timeout: float, *, what: str = "the system") -> str:
    """A failed call in words safe to log: the fault's kind, never the URL."""
    if isinstance(exc, HttpJsonError):
        return str(exc)[:500]
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:.2g} s"
    if isinstance(exc, httpx.HTTPError):  # connection refused, DNS, TLS, protocol: the type says which
        return f"cannot reach {what} ({type(exc).__name__})"
    return f"cannot build the request ({type(exc).__name__})"
