"""Processing flows as configuration files, validated when loaded; the most specific flow for a message wins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StrictInt, model_validator

from caredesk.config_files import BadField, ConfigModel, Name, OneOrMany, load_config, validate_config
from caredesk.errors import InvalidFile

__all__ = ["Flow", "FlowSpec", "FlowStep", "choose_flow", "load_builtin_flows", "load_flow_file", "parse_flow"]


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


class StepSpec(ConfigModel):
    name: Name
    department: Name
    timer_minutes: Annotated[StrictInt, Field(ge=0)] = 0
    skill_group: Name | None = None  # None: the department's group whose skills fit the order best
    next: tuple[Name, ...] = ()  # default: the following step
    requires: tuple[Name, ...] = ()


class FlowSpec(ConfigModel):
    """One flow file: which messages it applies to (label -> allowed values) and its steps in order."""

    name: Name
    version: Annotated[StrictInt, Field(ge=1)]
    title: dict[str, str] = Field(default_factory=dict)
    applies_to: dict[str, OneOrMany] = Field(default_factory=dict)
    steps: Annotated[list[StepSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _steps_connect(self) -> FlowSpec:
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.name in seen:
                raise BadField(("steps", i, "name"), f"step names must be unique ({step.name!r} twice)")
            seen.add(step.name)
        for i, step in enumerate(self.steps):
            for j, name in enumerate(step.next):
                if name not in seen:
                    raise BadField(("steps", i, "next", j), f"next names unknown step {name!r}")
        return self

    def to_flow(self) -> Flow:
        steps = [FlowStep(s.name, s.department, s.timer_minutes, s.skill_group,
                          tuple(s.next) or ((after.name,) if after else ()), tuple(s.requires))
                 for s, after in zip(self.steps, [*self.steps[1:], None], strict=True)]
        return Flow(self.name, self.version, dict(self.title), {k: tuple(v) for k, v in self.applies_to.items()},
                    tuple(steps))


def parse_flow(data: Any, source: str) -> Flow:
    """A flow from already-parsed data (no line numbers in errors)."""
    return validate_config(FlowSpec, data, source).to_flow()


def load_flow_file(path: Path) -> Flow:
    return load_config(FlowSpec, path).to_flow()


def load_builtin_flows() -> dict[str, Flow]:
    flows = {}
    for item in resources.files("caredesk.workorders").joinpath("flows").iterdir():
        if item.name.endswith(".yaml"):
            flow = load_config(FlowSpec, item, f"flows/{item.name}").to_flow()
            flows[flow.name] = flow
    return flows


def choose_flow(flows: dict[str, Flow], labels: dict[str, Any]) -> Flow:
    ranked = sorted(((f.matches(labels), f.name) for f in flows.values()), reverse=True)
    if not ranked or ranked[0][0] < 0:
        raise InvalidFile(f"no processing flow applies to {labels}")
    return flows[ranked[0][1]]
