"""Outside sources of customer data as configuration (customers/sources.yaml, or the file
CAREDESK_CUSTOMER_SOURCES_FILE names): HTTP JSON sources with their URL template, authentication, field mapping,
timeout and cache lifetime, and the extra columns `caredesk customers import` maps. Secrets are never in the file:
it names the environment variables that hold them. Only mapped fields are ever stored (PIPL: third-party data
kept to what was declared). The pieces shared with the connectors (JSON paths, value types, authentication,
URL templates) live in integrations/http_json.py and are re-exported here."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr, model_validator

from caredesk.config_files import BadField, ConfigModel, load_config
from caredesk.integrations.http_json import (
    LIST_MAX,
    TEXT_MAX,
    Auth,
    BasicAuth,
    BearerAuth,
    EnvName,
    FieldType,
    HeaderAuth,
    MappedField,
    NoAuth,
    auth_env_names,
    convert_value,
    extract_path,
    parse_path,
    url_template_problem,
)

__all__ = ["CRM_IMPORT", "FIELD_NAME", "LIST_MAX", "TEXT_MAX", "Auth", "BasicAuth", "BearerAuth", "CrmColumn",
           "CrmImport", "FieldType", "HeaderAuth", "HttpSource", "MappedField", "NoAuth", "SourcesFile",
           "active_sources", "convert_value", "extract_path", "install_sources", "load_sources", "parse_path"]

CRM_IMPORT = "crm_import"  # the source name of the fields `caredesk customers import` stores
FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"
PLACEHOLDERS = ("customer_ref", "customer_id")


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
        problem = url_template_problem(self.url, PLACEHOLDERS, relative=self.base_url_env is not None)
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
            names = ([src.base_url_env] if src.base_url_env else []) + auth_env_names(src.auth)
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
