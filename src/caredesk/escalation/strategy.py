"""The alarm strategy as configuration: audiences, channels, quiet hours, chat-ops rooms and escalation
levels, read from YAML (the file shipped here, or one named by CAREDESK_ALARM_STRATEGY_FILE) into typed,
validated objects. Nothing here touches the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from caredesk.errors import InvalidFile

__all__ = ["CHANNELS", "WEBHOOK_KINDS", "AlarmStrategy", "Audience", "Level", "QuietHours", "Target",
           "WebhookRoom", "load_strategy", "parse_strategy"]

CHANNELS = frozenset({"in_app", "email", "sms", "webhook"})
WEBHOOK_KINDS = frozenset({"wecom", "dingtalk", "feishu", "slack", "generic"})
DEDUPE = frozenset({"while_open", "per_conversation"})


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
    sms_available: bool = True  # set from the settings: without a gateway, SMS notices are recorded as skipped

    def level(self, index: int) -> Level | None:
        return self.levels[index] if 0 <= index < len(self.levels) else None


def _fail(source: str, message: str) -> InvalidFile:
    return InvalidFile(f"alarm strategy {source}: {message}", file=source)


def _time(value: Any, source: str, key: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise _fail(source, f"quiet_hours.{key} must be HH:MM, not {value!r}") from None


def _quiet(raw: Any, source: str) -> QuietHours | None:
    if not raw:
        return None
    try:
        zone = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(source, f"unknown time zone {raw.get('timezone')!r}") from None
    hold = frozenset(raw.get("hold") or ())
    if not hold <= CHANNELS:
        raise _fail(source, f"quiet_hours.hold: unknown channels {sorted(hold - CHANNELS)}")
    return QuietHours(_time(raw.get("start"), source, "start"), _time(raw.get("end"), source, "end"), zone, hold)


def _audiences(raw: Any, source: str) -> dict[str, Audience]:
    out = {}
    for name, spec in (raw or {}).items():
        spec = spec or {}
        audience = Audience(str(name), bool(spec.get("conversation_agent", False)),
                            tuple(spec.get("roles") or ()), tuple(spec.get("departments") or ()),
                            bool(spec.get("prefer_agent_manager", False)))
        if not audience.conversation_agent and not audience.roles:
            raise _fail(source, f"audience {name!r} names neither conversation_agent nor roles")
        out[audience.name] = audience
    return out


def _webhooks(raw: Any, source: str) -> dict[str, WebhookRoom]:
    out = {}
    for spec in raw or []:
        room = WebhookRoom(str(spec.get("name", "")), str(spec.get("kind", "generic")), str(spec.get("url", "")))
        if not room.name or not room.url.startswith(("http://", "https://")):
            raise _fail(source, f"webhook {spec!r} needs a name and an http(s) url")
        if room.kind not in WEBHOOK_KINDS:
            raise _fail(source, f"webhook {room.name!r}: kind must be one of {sorted(WEBHOOK_KINDS)}")
        out[room.name] = room
    return out


def _target(spec: dict[str, Any], audiences: dict[str, Audience], rooms: dict[str, WebhookRoom], source: str
            ) -> Target:
    if "webhooks" in spec:
        names = tuple(rooms) if spec["webhooks"] == "all" else tuple(spec["webhooks"] or ())
        unknown = [n for n in names if n not in rooms]
        if unknown:
            raise _fail(source, f"unknown webhooks {unknown}")
        return Target(None, ("webhook",), names)
    audience = spec.get("audience")
    if audience not in audiences:
        raise _fail(source, f"unknown audience {audience!r}")
    channels = tuple(spec.get("channels") or ())
    if not channels or not set(channels) <= CHANNELS - {"webhook"}:
        raise _fail(source, f"audience {audience!r}: channels must be some of in_app, email, sms")
    return Target(str(audience), channels)


def parse_strategy(data: Any, source: str = "<strategy>") -> AlarmStrategy:
    if not isinstance(data, dict) or not data.get("levels"):
        raise _fail(source, "expected a mapping with at least one level")
    audiences = _audiences(data.get("audiences"), source)
    rooms = _webhooks(data.get("webhooks"), source)
    levels = []
    for i, raw in enumerate(data["levels"]):
        minutes = raw.get("acknowledge_within_minutes")
        if minutes is not None and (not isinstance(minutes, int) or minutes <= 0):
            raise _fail(source, f"level {i}: acknowledge_within_minutes must be a positive whole number")
        targets = tuple(_target(t, audiences, rooms, source) for t in raw.get("notify") or ())
        levels.append(Level(str(raw.get("name", f"level-{i}")), targets, minutes))
    dedupe = str(data.get("dedupe", "while_open"))
    if dedupe not in DEDUPE:
        raise _fail(source, f"dedupe must be one of {sorted(DEDUPE)}")
    return AlarmStrategy(str(data.get("name", "default")), tuple(levels), audiences, rooms,
                         _quiet(data.get("quiet_hours"), source), dedupe)


def load_strategy(path: Path | None = None) -> AlarmStrategy:
    """The configured file, or the strategy shipped with CareDesk."""
    if path is None:
        text = resources.files("caredesk.escalation").joinpath("strategy.yaml").read_text("utf-8")
        source = "strategy.yaml (built-in)"
    else:
        text, source = Path(path).read_text("utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML: {exc}") from None
    return parse_strategy(data, source)
