"""Every mistake in a threshold rules file at once, each with its line and field, for `caredesk analytics
validate`: the loader (thresholds.py) stops at the first, which is right for a process starting but makes an
operator fix a long file one run at a time. The same checks as the model: each rule's fields, the metric and
its window, the webhook channel and its rooms, unique names, the `surges` section, and (given the alarm
strategy's rooms) that each room exists."""

from __future__ import annotations

from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Any

from caredesk.analytics.thresholds import Rule, SurgeSettings, ThresholdsFile, metric_problem, webhook_problem
from caredesk.config_files import every_error, located, parse_yaml, validate_config
from caredesk.errors import InvalidConfig

__all__ = ["threshold_problems"]

WINDOWS = ("last_hour", "today", "now")


def _unknown_rooms(webhooks: Any, owner: str, at: tuple[str | int, ...], file: str, data: Any, node: Any,
                   rooms: Collection[str] | None) -> list[InvalidConfig]:
    """Each webhook room of a rule or of the surges section that the alarm strategy does not have."""
    if rooms is None or not isinstance(webhooks, list):
        return []
    return [located(file, data, node, (*at, "webhooks", j),
                    f"{owner}: webhook {room!r} is not a room of the alarm strategy in use")
            for j, room in enumerate(webhooks) if isinstance(room, str) and room not in rooms]


def _rule_problems(raw: dict[str, Any], i: int, file: str, data: Any, node: Any, seen: set[str],
                   rooms: Collection[str] | None) -> list[InvalidConfig]:
    at = ("rules", i)
    out = every_error(Rule, raw, file, data, node, at)
    metric, window = raw.get("metric"), raw.get("window")
    if isinstance(metric, str) and window in WINDOWS:
        problem = metric_problem(metric, str(window))
        if problem is not None:
            out.append(located(file, data, node, (*at, problem[0]), problem[1]))
    problem = webhook_problem(raw.get("channels"), raw.get("webhooks"))
    if problem is not None:
        out.append(located(file, data, node, (*at, problem[0] if "webhooks" in raw else "channels"), problem[1]))
    name = raw.get("name")
    if isinstance(name, str):
        if name in seen:
            out.append(located(file, data, node, (*at, "name"), f"rule {name!r} is defined twice"))
        seen.add(name)
    return out + _unknown_rooms(raw.get("webhooks"), f"rule {name}", at, file, data, node, rooms)


def _surge_problems(raw: Any, file: str, data: Any, node: Any, rooms: Collection[str] | None
                    ) -> list[InvalidConfig]:
    """The `surges` section: who is told of a surge, over which channels (as a rule's), and how surges are
    detected."""
    at = ("surges",)
    if not isinstance(raw, dict):
        return [located(file, data, node, at,
                        "the surges section is a mapping (channels, recipients, webhooks, detection)")]
    out = every_error(SurgeSettings, raw, file, data, node, at)
    problem = webhook_problem(raw.get("channels"), raw.get("webhooks"))
    if problem is not None and "channels" in raw:
        out.append(located(file, data, node, (*at, "webhooks" if "webhooks" in raw else "channels"), problem[1]))
    return out + _unknown_rooms(raw.get("webhooks"), "surges", at, file, data, node, rooms)


def threshold_problems(path: Path | None = None, *, rooms: Collection[str] | None = None) -> list[InvalidConfig]:
    """Every mistake in the file (the shipped one when `path` is None), in the order of their lines; empty
    when the file is good. `rooms`: the alarm strategy's chat-ops rooms, which webhooks must name."""
    source = resources.files("caredesk.analytics").joinpath("thresholds.yaml") if path is None else Path(path)
    file = "thresholds.yaml" if path is None else str(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [InvalidConfig(file, None, "", f"cannot read the file: {exc}")]
    try:
        data, node = parse_yaml(text, file)
    except InvalidConfig as exc:
        return [exc]
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        try:  # no list of rules to go through: the model's one error says what is wrong
            validate_config(ThresholdsFile, data, file, node)
        except InvalidConfig as exc:
            return [exc]
        return []
    out = [located(file, data, node, (key,), "Extra inputs are not permitted") for key in data
           if key not in ("rules", "surges")]
    if "surges" in data:
        out += _surge_problems(data["surges"], file, data, node, rooms)
    seen: set[str] = set()
    for i, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict):
            out.append(located(file, data, node, ("rules", i), "a rule is a mapping (name, metric, comparison, ...)"))
            continue
        out += _rule_problems(raw, i, file, data, node, seen, rooms)
    unique = {(p.line, p.path, p.reason): p for p in out}
    return sorted(unique.values(), key=lambda p: (p.line or 0, p.path))
