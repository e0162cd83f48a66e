"""Processing flows as configuration files, validated when loaded; the most specific flow for a message wins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from caredesk.errors import InvalidFile

__all__ = ["Flow", "FlowStep", "choose_flow", "load_builtin_flows", "load_flow_file", "parse_flow"]


@dataclass(frozen=True)
class FlowStep:
    name: str
    department: str
    timer_minutes: int
    skill_group: str | None = None  # None: the department's group whose skills fit the order best
    next: tuple[str, ...] = ()  # steps this one may move on to (default: the following step)
    requires: tuple[str, ...] = ()  # fields that must be filled before leaving this step


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    title: dict[str, str]
    applies_to: dict[str, tuple[str, ...]]
    steps: tuple[FlowStep, ...]

    def step(self, name: str) -> FlowStep | None:
        return next((s for s in self.steps if s.name == name), None)

    def matches(self, labels: dict[str, Any]) -> int:
        """How many conditions match (-1 when one fails): the most specific flow is chosen."""
        for key, allowed in self.applies_to.items():
            value = labels.get(key)
            values = value if isinstance(value, list | tuple | frozenset) else (value,)
            if not set(values) & set(allowed):
                return -1
        return len(self.applies_to)


def parse_flow(data: Any, source: str) -> Flow:
    def fail(reason: str) -> InvalidFile:
        return InvalidFile(f"{source}: {reason}")

    if not isinstance(data, dict):
        raise fail("a flow is a mapping with name, version, applies_to and steps")
    for key in ("name", "version", "steps"):
        if key not in data:
            raise fail(f"missing {key!r}")
    steps_data = data["steps"]
    if not isinstance(steps_data, list) or not steps_data:
        raise fail("steps must be a non-empty list")
    steps = []
    for i, step in enumerate(steps_data, start=1):
        if not isinstance(step, dict) or not step.get("name") or not step.get("department"):
            raise fail(f"step {i} needs a name and a department")
        timer = step.get("timer_minutes", 0)
        if isinstance(timer, bool) or not isinstance(timer, int) or timer < 0:
            raise fail(f"step {i}: timer_minutes must be a whole number >= 0")
        names = {}
        for key in ("next", "requires"):
            value = step.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise fail(f"step {i}: {key} must be a list of names")
            names[key] = tuple(value)
        group = step.get("skill_group")
        if group is not None and (not isinstance(group, str) or not group):
            raise fail(f"step {i}: skill_group must be a skill group code")
        steps.append(FlowStep(str(step["name"]), str(step["department"]), timer, group, names["next"],
                              names["requires"]))
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail("version must be a whole number >= 1")
    if len({s.name for s in steps}) != len(steps):
        raise fail("step names must be unique")
    known = {s.name for s in steps}
    for pos, st in enumerate(steps):
        unknown = [n for n in st.next if n not in known]
        if unknown:
            raise fail(f"step {st.name}: next names unknown step {unknown[0]!r}")
        if not st.next and pos + 1 < len(steps):
            steps[pos] = FlowStep(st.name, st.department, st.timer_minutes, st.skill_group,
                                  (steps[pos + 1].name,), st.requires)
    applies = data.get("applies_to") or {}
    if not isinstance(applies, dict):
        raise fail("applies_to must be a mapping of label -> list of values")
    return Flow(str(data["name"]), version, dict(data.get("title") or {}),
                {k: tuple(v if isinstance(v, list) else [v]) for k, v in applies.items()}, tuple(steps))


def load_flow_file(path: Path) -> Flow:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidFile(f"{path}: {exc}") from exc
    return parse_flow(data, str(path))


def load_builtin_flows() -> dict[str, Flow]:
    flows = {}
    for item in resources.files("caredesk.workorders").joinpath("flows").iterdir():
        if item.name.endswith(".yaml"):
            flow = parse_flow(yaml.safe_load(item.read_text("utf-8")), item.name)
            flows[flow.name] = flow
    return flows


def choose_flow(flows: dict[str, Flow], labels: dict[str, Any]) -> Flow:
    ranked = sorted(((f.matches(labels), f.name) for f in flows.values()), reverse=True)
    if not ranked or ranked[0][0] < 0:
        raise InvalidFile(f"no processing flow applies to {labels}")
    return flows[ranked[0][1]]
