"""The connectors file (integrations/connectors.yaml, or the file CAREDESK_CONNECTORS_FILE names): per system
(a CRM, an order system, a logistics tracker) its operations as URL templates with their field mapping, the
authentication (secrets named by environment variable, never written in the file), timeout, retries and circuit
breaker. Checked at start and by `caredesk connectors validate`: a mistake names file, line and field."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictStr, field_validator, model_validator

from caredesk.config_files import BadField, ConfigModel, load_config
from caredesk.integrations.http_json import (
    Auth,
    EnvName,
    MappedField,
    NoAuth,
    auth_env_names,
    parse_path,
    url_template_problem,
)

__all__ = ["KINDS", "OPERATIONS", "BreakerSpec", "ConnectorSpec", "ConnectorsFile", "Operation", "Operations",
           "UpdateOperation", "load_connectors"]

Kind = Literal["crm", "orders", "logistics"]
KINDS: tuple[Kind, ...] = ("crm", "orders", "logistics")
NAME = r"^[a-z][a-z0-9_]{0,63}$"
FieldName = Annotated[str, Field(pattern=NAME)]
# kind -> operation -> the one placeholder its URL takes
OPERATIONS: dict[str, dict[str, str]] = {
    "crm": {"lookup_by_ref": "customer_ref", "lookup_by_phone": "phone", "update": "customer_ref"},
    "orders": {"status": "order_number"},
    "logistics": {"status": "tracking_number"},
}
OPERATIONS_ALL = frozenset(op for ops in OPERATIONS.values() for op in ops)
# The fields CareDesk reads from an operation's answer (the others a file may map are not used: minimisation).
REQUIRED_FIELDS = {"status": ("status",)}
CRM_FIELDS = frozenset({"name", "tier"})  # what a CRM lookup may set on the customer
UPDATE_VALUES = frozenset({"complaint", "complaint_level", "case_number"})  # what an update may send


class Operation(ConfigModel):
    """`GET url` answering JSON; `fields` keeps only what is mapped. HTTP 404 means "no such record"."""

    url: StrictStr
    fields: dict[FieldName, MappedField] = Field(min_length=1)


class UpdateOperation(ConfigModel):
    """A write to the CRM: `method url` with a JSON body built from CareDesk's values (`body`: value -> the JSON
    path it goes to, e.g. `complaint: flags.complaint`)."""

    url: StrictStr
    method: Literal["POST", "PUT", "PATCH"] = "PATCH"
    body: dict[FieldName, StrictStr] = Field(min_length=1)

    @field_validator("body")
    @classmethod
    def _body(cls, body: dict[str, str]) -> dict[str, str]:
        for value, path in body.items():
            if value not in UPDATE_VALUES:
                raise ValueError(f"unknown value {value!r}; one of {sorted(UPDATE_VALUES)}")
            if any(not isinstance(step, str) or step == "*" for step in parse_path(path)):
                raise ValueError(f"body path of {value}: keys only (no [0] or [*])")
        return body


class Operations(ConfigModel):
    """Which operations a kind has is checked by ConnectorSpec (an unknown name is a typo reported here)."""

    lookup_by_ref: Operation | None = None
    lookup_by_phone: Operation | None = None
    update: UpdateOperation | None = None
    status: Operation | None = None


class BreakerSpec(ConfigModel):
    """Open after `failures` failures within `window_seconds`; after `cooldown_seconds` one probe call is let
    through (half-open): its success closes the breaker, its failure opens it again."""

    failures: int = Field(default=5, ge=1, le=1000)
    window_seconds: float = Field(default=60, gt=0, le=3600)
    cooldown_seconds: float = Field(default=30, gt=0, le=3600)


class ConnectorSpec(ConfigModel):
    name: FieldName
    kind: Kind
    enabled: StrictBool = True
    base_url_env: EnvName | None = None  # when set, each url is a path and the address comes from this variable
    auth: Auth = Field(default_factory=NoAuth)
    timeout_seconds: float = Field(default=2.0, gt=0, le=10)
    retries: int = Field(default=1, ge=0, le=3)  # after a timeout, a refused connection or a 5xx
    breaker: BreakerSpec = Field(default_factory=BreakerSpec)
    operations: Operations
    # the system's status codes in words for the customer, e.g. SHIPPED: {zh: 已发货, en: shipped}
    labels: dict[StrictStr, dict[Literal["zh", "en"], StrictStr]] = Field(default_factory=dict)
    # a CRM's customer levels as CareDesk's tiers, e.g. VIP: private (a level not listed is kept only when it is
    # a CareDesk tier already)
    tiers: dict[StrictStr, StrictStr] = Field(default_factory=dict)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, tiers: dict[str, str]) -> dict[str, str]:
        from caredesk.customers.tiers import CUSTOMER_TIERS

        for level, tier in tiers.items():
            if tier not in CUSTOMER_TIERS:
                raise ValueError(f"{level}: {tier!r} is not a tier; one of {list(CUSTOMER_TIERS)}")
        return tiers

    def operation(self, name: str) -> Operation | None:
        op = getattr(self.operations, name, None) if name in OPERATIONS[self.kind] else None
        return op if isinstance(op, Operation) else None

    def label(self, status: str, language: str) -> str:
        words = self.labels.get(status)
        return words.get("en" if language == "en" else "zh", status) if words else status

    def env_names(self) -> list[str]:
        return ([self.base_url_env] if self.base_url_env else []) + auth_env_names(self.auth)


def _check_operations(i: int, data: dict[str, Any]) -> None:
    """Each operation against its connector's kind; the error points at the operation's own line."""
    operations, kind = data.get("operations"), data.get("kind")
    known = OPERATIONS.get(kind) if isinstance(kind, str) else None
    if not isinstance(operations, dict) or known is None:
        return
    at: tuple[str | int, ...] = ("connectors", i, "operations")
    if not operations:
        raise BadField(at, f"a {kind} connector needs one of {sorted(known)}")
    relative = data.get("base_url_env") is not None
    for op, spec in operations.items():
        if op in OPERATIONS_ALL and op not in known:
            raise BadField((*at, op), f"a {kind} connector has no operation {op!r}; one of {sorted(known)}")
        if op not in known or not isinstance(spec, dict):
            continue  # an unknown name is reported by the model (extra key)
        url = spec.get("url")
        if isinstance(url, str):
            problem = url_template_problem(url, (known[op],), relative=relative)
            if problem is None and "{" + known[op] + "}" not in url:
                problem = f"the url must contain {{{known[op]}}}"
            if problem is not None:
                raise BadField((*at, op, "url"), problem)
        fields = spec.get("fields")
        if op == "update":
            continue
        if isinstance(fields, dict):
            for name in REQUIRED_FIELDS.get(op, ()):
                if name not in fields:
                    raise BadField((*at, op, "fields"), f"map the field {name!r}")
            extra = sorted(set(fields) - CRM_FIELDS) if op.startswith("lookup") else []
            if extra:
                raise BadField((*at, op, "fields"), f"a CRM lookup maps only {sorted(CRM_FIELDS)} (not {extra})")


class ConnectorsFile(ConfigModel):
    connectors: list[ConnectorSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        seen: set[str] = set()
        enabled_kinds: set[str] = set()
        for i, raw in enumerate(data.get("connectors") or []):
            if not isinstance(raw, dict):
                continue
            name, kind = raw.get("name"), raw.get("kind")
            if isinstance(name, str):
                if name in seen:
                    raise BadField(("connectors", i, "name"), f"connector {name!r} is defined twice")
                seen.add(name)
            if isinstance(kind, str) and raw.get("enabled", True) is True:
                if kind in enabled_kinds:
                    raise BadField(("connectors", i, "enabled"), f"another {kind} connector is enabled already: "
                                                                 f"the bot asks one system of each kind")
                enabled_kinds.add(kind)
            _check_operations(i, raw)
        return data

    def enabled(self, kind: str) -> ConnectorSpec | None:
        return next((c for c in self.connectors if c.kind == kind and c.enabled), None)

    def named(self, name: str) -> ConnectorSpec | None:
        return next((c for c in self.connectors if c.name == name), None)

    def missing_env(self, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """(connector, variable) for each variable an enabled connector reads that is not set here."""
        return [(c.name, n) for c in self.connectors if c.enabled for n in c.env_names() if not environ.get(n)]


def load_connectors(path: Path | None = None) -> ConnectorsFile:
    """The configured file, or the one shipped with CareDesk (its examples are disabled)."""
    if path is None:
        builtin = resources.files("caredesk.integrations").joinpath("connectors.yaml")
        return load_config(ConnectorsFile, builtin, "integrations/connectors.yaml")
    return load_config(ConnectorsFile, Path(path))
