"""The notices file (notices.yaml): which key points of a work order tell the customer, with what text, how
often, and when they wait for the morning. Validated when CareDesk starts: a bad file stops the start with
the line to fix, rather than a customer getting a broken text at night."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, field_validator, model_validator

from caredesk.alarms.strategy import QuietHours
from caredesk.config_files import BadField, ConfigModel, Name, TimeZoneName, load_config
from caredesk.workorders.model import Status

__all__ = ["LANGUAGES", "TRIGGERS", "NoticeConfig", "NoticeKind", "NoticesSpec", "load_notices"]

LANGUAGES = ("zh", "en")
# The customer-facing events of a work order's timeline; every other kind (step_changed, note, queued,
# sla marks, compliance warnings ...) is internal and never notifies.
TRIGGERS = frozenset({"created", "assigned", "handed_to_lead", "transferred",
                      *(f"status_changed:{s.value}" for s in Status if s is not Status.NEW)})


def _clock_time(value: object) -> time:
    """HH:MM quoted: unquoted, YAML 1.1 reads 22:00 as the number 1320."""
    try:
        return time.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise ValueError(f"must be HH:MM, not {value!r}") from None


class KindSpec(ConfigModel):
    when: Annotated[list[Name], Field(min_length=1)]
    once: StrictBool = False
    text: dict[str, Name]

    @field_validator("when")
    @classmethod
    def _customer_facing(cls, value: list[str]) -> list[str]:
        for trigger in value:
            if trigger not in TRIGGERS:
                raise ValueError(f"{trigger!r} is not a customer-facing event (one of: {', '.join(sorted(TRIGGERS))})")
        return value

    @field_validator("text")
    @classmethod
    def _both_languages(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in LANGUAGES if lang not in value]
        if missing:
            raise ValueError(f"a text in {', '.join(missing)} is needed")
        for lang, template in value.items():
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError as exc:
                raise ValueError(f"{lang}: {exc}") from None
            if fields - {"case"}:
                raise ValueError(f"{lang}: only {{case}} may be filled in, not {sorted(fields - {'case'})}")
        return value


class QuietSpec(ConfigModel):
    start: Annotated[time, BeforeValidator(_clock_time)]
    end: Annotated[time, BeforeValidator(_clock_time)]
    timezone: TimeZoneName = "UTC"
    hold: list[Name] = Field(default_factory=list)


class NoticesSpec(ConfigModel):
    window_minutes: Annotated[StrictInt, Field(ge=0)] = 60
    kinds: dict[str, KindSpec] = Field(default_factory=dict)
    flows: dict[str, list[Name]] = Field(default_factory=dict)
    quiet_hours: QuietSpec | None = None

    @model_validator(mode="after")
    def _flows_name_kinds(self) -> NoticesSpec:
        for flow, kinds in self.flows.items():
            for i, kind in enumerate(kinds):
                if kind not in self.kinds:
                    raise BadField(("flows", flow, i), f"unknown notice kind {kind!r}")
        return self

    def to_config(self) -> NoticeConfig:
        quiet = self.quiet_hours
        return NoticeConfig(
            kinds={name: NoticeKind(name, frozenset(k.when), k.once, dict(k.text)) for name, k in self.kinds.items()},
            window=timedelta(minutes=self.window_minutes),
            flows={flow: frozenset(kinds) for flow, kinds in self.flows.items()},
            quiet_hours=QuietHours(quiet.start, quiet.end, ZoneInfo(quiet.timezone), frozenset(quiet.hold))
            if quiet else None)


@dataclass(frozen=True)
class NoticeKind:
    name: str
    when: frozenset[str]  # the timeline triggers (the key is not `on`: YAML 1.1 reads that as true)
    once: bool
    text: dict[str, str]  # language -> template with {case}


@dataclass(frozen=True)
class NoticeConfig:
    kinds: dict[str, NoticeKind]
    window: timedelta
    flows: dict[str, frozenset[str]]  # flow -> the kinds it notifies (a flow not listed: all)
    quiet_hours: QuietHours | None = None


def load_notices(path: Path | None = None) -> NoticeConfig:
    """The operator's file when given, else the shipped one; InvalidConfig with the line when it is wrong."""
    if path is not None:
        return load_config(NoticesSpec, path).to_config()
    shipped = resources.files("caredesk.channels.notices").joinpath("notices.yaml")
    return load_config(NoticesSpec, shipped, "channels/notices/notices.yaml").to_config()
