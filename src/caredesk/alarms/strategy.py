"""The alarm strategy as configuration: audiences, channels, quiet hours, chat-ops rooms and escalation
levels, read from YAML (the file shipped here, or one named by CAREDESK_ALARM_STRATEGY_FILE) into typed,
validated objects. Nothing here touches the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, model_validator

from caredesk.alarms.rules import AlarmPolicy
from caredesk.config_files import BadField, ConfigModel, Name, TimeZoneName, load_config, validate_config

__all__ = ["CHANNELS", "DEFAULT_WATCH", "WEBHOOK_KINDS", "AlarmStrategy", "Audience", "Level", "QuietHours",
           "StrategyFile", "Target", "WebhookRoom", "load_strategy", "parse_strategy"]

CHANNELS = frozenset({"in_app", "email", "sms", "webhook"})
WEBHOOK_KINDS = frozenset({"wecom", "dingtalk", "feishu", "slack", "generic"})
# The conversation watch when a file names none: repeated contact, compensation or worse, three times (also
# counting the customer's contacts of the last 7 days) raises the alarm. strategy.yaml ships the same values.
DEFAULT_WATCH = AlarmPolicy(level=2, threshold=3, contacts_within=timedelta(days=7), contact_level=1)


@dataclass(frozen=True)
class Audience:
    name: str
    conversation_agent: bool = False
    roles: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()  # department codes; empty means every department
    prefer_agent_manager: bool = False


@dataclass(frozen=True)
class Target:
    """Tell an audience over channels, or (audience None) post to chat-ops rooms."""

    audience: str | None
    channels: tuple[str, ...]
    webhooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Level:
    name: str
    targets: tuple[Target, ...]
    acknowledge_within_minutes: int | None = None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: ZoneInfo
    hold: frozenset[str] = frozenset({"sms"})


@dataclass(frozen=True)
class WebhookRoom:
    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class AlarmStrategy:
    name: str
    levels: tuple[Level, ...]
    audiences: dict[str, Audience]
    webhooks: dict[str, WebhookRoom] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    dedupe: str = "while_open"
    watch: AlarmPolicy = DEFAULT_WATCH  # when a conversation's escalation raises the alarm
    sms_available: bool = True  # set from the settings: without a gateway, SMS notices are recorded as skipped

    def level(self, index: int) -> Level | None:
        return self.levels[index] if 0 <= index < len(self.levels) else None


Channel = Literal["in_app", "email", "sms", "webhook"]


def _clock_time(value: object) -> time:
    """HH:MM as a quoted string: unquoted, YAML 1.1 reads 22:00 as the number 1320."""
    try:
        return time.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise ValueError(f"must be HH:MM, not {value!r}") from None


class AudienceSpec(ConfigModel):
    conversation_agent: StrictBool = False
    roles: tuple[Name, ...] = ()
    departments: tuple[Name, ...] = ()  # department codes; empty means every department
    prefer_agent_manager: StrictBool = False

    @model_validator(mode="after")
    def _someone(self) -> AudienceSpec:
        if not self.conversation_agent and not self.roles:
            raise ValueError("an audience names conversation_agent or roles")
        return self


class WebhookSpec(ConfigModel):
    name: Name
    kind: Literal["wecom", "dingtalk", "feishu", "slack", "generic"] = "generic"
    url: Annotated[str, Field(pattern=r"^https?://")]


class TargetSpec(ConfigModel):
    """Either {audience, channels} or {webhooks: all | [room names]}."""

    audience: Name | None = None
    channels: tuple[Literal["in_app", "email", "sms"], ...] = ()
    webhooks: Literal["all"] | list[Name] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> TargetSpec:
        if self.webhooks is None and (self.audience is None or not self.channels):
            raise ValueError("a target names an audience and its channels (some of in_app, email, sms), or webhooks")
        if self.webhooks is not None and (self.audience is not None or self.channels):
            raise ValueError("a webhooks target names no audience or channels")
        return self


class LevelSpec(ConfigModel):
    name: Name | None = None  # default: level-<index>
    acknowledge_within_minutes: Annotated[StrictInt, Field(gt=0)] | None = None
    notify: tuple[TargetSpec, ...] = ()


class QuietHoursSpec(ConfigModel):
    start: Annotated[time, BeforeValidator(_clock_time)]
    end: Annotated[time, BeforeValidator(_clock_time)]
    timezone: TimeZoneName = "UTC"
    hold: tuple[Channel, ...] = ()


class ContactsSpec(ConfigModel):
    """The customer's earlier contacts (other conversations, any channel) that count as evidence."""

    within_days: Annotated[StrictInt, Field(ge=0)] = 7  # 0: earlier contacts never count
    level: Annotated[StrictInt, Field(ge=0, le=4)] = 1  # the contact reached this complaint level
    same_topic: StrictBool = False  # only contacts about one of the conversation's content types


class WatchSpec(ConfigModel):
    """When a conversation's escalation raises the alarm: `threshold` pieces of evidence, each a message at
    complaint level >= `level` (within `window_minutes` when given) or an earlier contact."""

    level: Annotated[StrictInt, Field(ge=1, le=4)] = DEFAULT_WATCH.level
    threshold: Annotated[StrictInt, Field(ge=1)] = DEFAULT_WATCH.threshold
    window_minutes: Annotated[StrictInt, Field(gt=0)] | None = None
    earlier_contacts: ContactsSpec = Field(default_factory=ContactsSpec)

    def to_policy(self) -> AlarmPolicy:
        contacts = self.earlier_contacts
        return AlarmPolicy(self.level, self.threshold,
                           timedelta(minutes=self.window_minutes) if self.window_minutes else None,
                           timedelta(days=contacts.within_days) if contacts.within_days else None,
                           contacts.level, contacts.same_topic)


class StrategyFile(ConfigModel):
    version: Literal[1] = 1
    name: Name = "default"
    dedupe: Literal["while_open", "per_conversation"] = "while_open"
    watch: WatchSpec = Field(default_factory=WatchSpec)
    audiences: dict[Name, AudienceSpec] = Field(default_factory=dict)
    quiet_hours: QuietHoursSpec | None = None
    webhooks: tuple[WebhookSpec, ...] = ()
    levels: Annotated[list[LevelSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _names_exist(self) -> StrategyFile:
        rooms = {w.name for w in self.webhooks}
        for i, level in enumerate(self.levels):
            for j, target in enumerate(level.notify):
                if target.audience is not None and target.audience not in self.audiences:
                    raise BadField(("levels", i, "notify", j, "audience"), f"unknown audience {target.audience!r}")
                if isinstance(target.webhooks, list):
                    unknown = [n for n in target.webhooks if n not in rooms]
                    if unknown:
                        raise BadField(("levels", i, "notify", j, "webhooks"), f"unknown webhooks {unknown}")
        return self

    def to_strategy(self) -> AlarmStrategy:
        rooms = {w.name: WebhookRoom(w.name, w.kind, w.url) for w in self.webhooks}
        audiences = {name: Audience(name, a.conversation_agent, tuple(a.roles), tuple(a.departments),
                                    a.prefer_agent_manager) for name, a in self.audiences.items()}
        levels = tuple(Level(lv.name or f"level-{i}", tuple(self._target(t, rooms) for t in lv.notify),
                             lv.acknowledge_within_minutes) for i, lv in enumerate(self.levels))
        q = self.quiet_hours
        quiet = QuietHours(q.start, q.end, ZoneInfo(q.timezone), frozenset(q.hold)) if q else None
        return AlarmStrategy(self.name, levels, audiences, rooms, quiet, self.dedupe, self.watch.to_policy())

    @staticmethod
    def _target(spec: TargetSpec, rooms: dict[str, WebhookRoom]) -> Target:
        if spec.webhooks is None:
            return Target(spec.audience, tuple(spec.channels))
        return Target(None, ("webhook",), tuple(rooms) if spec.webhooks == "all" else tuple(spec.webhooks))


def parse_strategy(data: Any, source: str = "<strategy>") -> AlarmStrategy:
    """A strategy from already-parsed data (no line numbers in errors)."""
    return validate_config(StrategyFile, data, source).to_strategy()


def load_strategy(path: Path | None = None) -> AlarmStrategy:
    """The configured file, or the strategy shipped with CareDesk."""
    if path is None:
        builtin = resources.files("caredesk.alarms").joinpath("strategy.yaml")
        return load_config(StrategyFile, builtin, "strategy.yaml").to_strategy()
    return load_config(StrategyFile, Path(path)).to_strategy()
