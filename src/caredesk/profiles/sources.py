"""Outside sources of customer data as configuration (customers/sources.yaml, or the file
CAREDESK_CUSTOMER_SOURCES_FILE names): HTTP JSON sources with their URL template, authentication, field mapping,
timeout and cache lifetime, and the extra columns `caredesk customers import` maps. Secrets are never in the file:
it names the environment variables that hold them. Only mapped fields are ever stored (PIPL: third-party data
kept to what was declared). Also the pure pieces both the fetch and the import use: JSON paths and value types."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, StrictBool, StrictStr, field_validator, model_validator

from caredesk.config_files import BadField, ConfigModel, load_config

__all__ = ["CRM_IMPORT", "FIELD_NAME", "LIST_MAX", "TEXT_MAX", "Auth", "BasicAuth", "BearerAuth", "CrmColumn",
           "CrmImport", "FieldType", "HeaderAuth", "HttpSource", "MappedField", "NoAuth", "SourcesFile",
           "active_sources", "convert_value", "extract_path", "install_sources", "load_sources", "parse_path"]

CRM_IMPORT = "crm_import"  # the source name of the fields `caredesk customers import` stores
FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"
TEXT_MAX = 500  # a mapped text value is cut to this many characters
LIST_MAX = 100  # a mapped list keeps at most this many items
FieldType = Literal["str", "float", "int", "bool", "list", "date"]
PLACEHOLDERS = frozenset({"customer_ref", "customer_id"})
_ENV = r"^[A-Z_][A-Z0-9_]{0,127}$"
EnvName = Annotated[str, Field(pattern=_ENV)]
_SEGMENT = re.compile(r"^([^.\[\]]+)((?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")

PathStep = str | int  # a key, an index, or "*" (every item)


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
    """`Authorization: Bearer <token>`, the token read from `token_env` when a fetch runs."""

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


def _url_template_problem(url: str, relative: bool) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(url) if name is not None}
    except ValueError as exc:
        return f"bad URL template: {exc}"
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        return f"unknown placeholder(s) {unknown}; only {{customer_ref}} and {{customer_id}}"
    if relative:
        return None if url.startswith("/") else "with base_url_env the url is a path starting with /"
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "url must be an http:// or https:// address"
    if parts.username or parts.password:
        return "no credentials in the url: use auth"
    return None


class HttpSource(ConfigModel):
    """A system answering `GET url` with JSON about one customer (CRM, core banking, billing, loyalty)."""

    name: Annotated[str, Field(pattern=FIELD_NAME)]
    kind: Literal["http_json"] = "http_json"
    enabled: StrictBool = True
    url: StrictStr  # template: {customer_ref}, {customer_id}; each value is URL-encoded
    base_url_env: EnvName | None = None  # when set, url is a path and the address comes from this variable
    auth: Auth = Field(default_factory=NoAuth)
    fields: dict[Annotated[str, Field(pattern=FIELD_NAME)], MappedField] = Field(min_length=1)
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    ttl_seconds: int = Field(default=3600, ge=60, le=30 * 86400)  # how long a good answer is used
    retry_seconds: int = Field(default=300, ge=10, le=86400)  # after a failure, when to try again
    not_found: Literal["empty", "error"] = "empty"  # HTTP 404: the source has nothing on the customer

    @model_validator(mode="after")
    def _url(self) -> HttpSource:
        problem = _url_template_problem(self.url, self.base_url_env is not None)
        if problem is not None:
            raise ValueError(problem)
        return self


class CrmColumn(ConfigModel):
    """An extra column of the CRM export: the field it is stored as and its type."""

    field: Annotated[str, Field(pattern=FIELD_NAME)]
    type: FieldType = "str"
    separator: Annotated[str, Field(min_length=1, max_length=3)] = "|"  # list cells: items separated by this


class CrmImport(ConfigModel):
    """The columns `caredesk customers import` reads beside the customer's own ones, stored as the customer's
    `crm_import` source record (only these)."""

    enabled: StrictBool = True
    columns: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")], CrmColumn] = Field(
        default_factory=dict)


_BASE_COLUMNS = ("customer_ref", "name", "phone", "email", "tier", "branch")


class SourcesFile(ConfigModel):
    sources: list[HttpSource] = Field(default_factory=list)
    crm_import: CrmImport = Field(default_factory=CrmImport)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        seen: set[str] = set()
        for i, raw in enumerate(data.get("sources") or []):
            name = raw.get("name") if isinstance(raw, dict) else None
            if name == CRM_IMPORT:
                raise BadField(("sources", i, "name"), f"{CRM_IMPORT} is the CSV import's own source name")
            if isinstance(name, str):
                if name in seen:
                    raise BadField(("sources", i, "name"), f"source {name!r} is defined twice")
                seen.add(name)
        crm = data.get("crm_import")
        columns = crm.get("columns") if isinstance(crm, dict) else None
        if isinstance(columns, dict):
            fields_seen: set[str] = set()
            for column, spec in columns.items():
                if column in _BASE_COLUMNS:
                    raise BadField(("crm_import", "columns", column), f"{column} is a customer column already")
                target = spec.get("field") if isinstance(spec, dict) else None
                if isinstance(target, str):
                    if target in fields_seen:
                        raise BadField(("crm_import", "columns", column, "field"),
                                       f"field {target!r} is mapped twice")
                    fields_seen.add(target)
        return data

    @property
    def enabled(self) -> list[HttpSource]:
        return [s for s in self.sources if s.enabled]

    def source(self, name: str) -> HttpSource | None:
        return next((s for s in self.sources if s.name == name), None)

    def missing_env(self, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """(source, variable) for each variable an enabled source reads that is not set here."""
        out = []
        for src in self.enabled:
            names = [src.base_url_env] if src.base_url_env else []
            auth = src.auth
            if isinstance(auth, BearerAuth):
                names.append(auth.token_env)
            elif isinstance(auth, BasicAuth):
                names += [auth.username_env, auth.password_env]
            elif isinstance(auth, HeaderAuth):
                names.append(auth.value_env)
            out += [(src.name, n) for n in names if n is not None and not environ.get(n)]
        return out


def load_sources(path: Path | None = None) -> SourcesFile:
    """The configured file, or the one shipped with CareDesk (its examples are disabled)."""
    if path is None:
        builtin = resources.files("caredesk.customers").joinpath("sources.yaml")
        return load_config(SourcesFile, builtin, "customers/sources.yaml")
    return load_config(SourcesFile, Path(path))


_active: SourcesFile | None = None


def install_sources(config: SourcesFile | None) -> None:
    """The process's sources, set once by the composition root (like the keyring): readers that only have a
    session (`source_statuses`) list the sources in use without being handed the configuration."""
    global _active
    _active = config


def active_sources() -> SourcesFile:
    global _active
    if _active is None:
        _active = load_sources()
    return _active
