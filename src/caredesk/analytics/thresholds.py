"""Threshold alert rules as configuration (analytics/thresholds.yaml, or the file CAREDESK_ANALYTICS_THRESHOLDS_FILE
names) and the pure judgement of one figure against one rule. Nothing here touches the database."""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, StrictFloat, StrictInt, field_validator, model_validator

from caredesk.accounts.roles import Role
from caredesk.config_files import BadField, ConfigModel, Name, load_config

__all__ = ["METRICS", "SERIES_DIMENSIONS", "Judgement", "Rule", "RuleState", "SurgeDetection", "SurgeDimension",
           "SurgeSettings", "ThresholdsFile", "judge", "load_thresholds", "metric_problem", "webhook_problem"]

# metric -> the windows it may be judged over and what its volume counts (analytics/overview.py computes each)
METRICS: dict[str, tuple[frozenset[str], str]] = {
    "response_failure_rate": (frozenset({"last_hour", "today"}), "messages"),
    "auto_response_rate": (frozenset({"last_hour", "today"}), "messages"),
    "handoff_rate": (frozenset({"last_hour", "today"}), "messages"),
    "first_contact_resolution_rate": (frozenset({"last_hour", "today"}), "resolved orders"),
    "reopen_rate": (frozenset({"last_hour", "today"}), "resolved orders"),
    "sla_met_rate": (frozenset({"last_hour", "today"}), "resolved orders under an SLA"),
    "csat_average": (frozenset({"last_hour", "today"}), "surveys"),
    "csat_satisfied_share": (frozenset({"last_hour", "today"}), "surveys"),
    "backlog": (frozenset({"now"}), "open work orders"),
}


class RuleState(StrEnum):
    OK = "ok"
    BREACHED = "breached"


class Judgement(StrEnum):
    BREACH = "breach"
    RECOVERY = "recovery"
    NONE = "none"


class Rule(ConfigModel):
    name: Name = Field(max_length=64, pattern=r"^[a-z0-9_]+$")
    metric: str
    comparison: Literal["above", "below"]
    value: StrictFloat | StrictInt
    window: Literal["last_hour", "today", "now"]
    minimum_volume: StrictInt = Field(default=1, ge=0)
    channels: list[Literal["in_app", "email", "sms", "webhook"]] = Field(min_length=1)
    recipients: list[Role] = Field(min_length=1)
    webhooks: list[Name] = Field(default_factory=list)  # chat-ops rooms of the alarm strategy (channel webhook)

    @model_validator(mode="after")
    def _metric_window(self) -> Rule:
        problem = metric_problem(self.metric, self.window) or webhook_problem(self.channels, self.webhooks)
        if problem is not None:
            raise ValueError(problem[1])
        return self


def webhook_problem(channels: object, webhooks: object) -> tuple[str, str] | None:
    """The webhook channel needs the rooms to post to; rooms without the channel are a mistake."""
    on = isinstance(channels, list) and "webhook" in channels
    if on and not webhooks:
        return "webhooks", "channel webhook needs webhooks: the names of chat-ops rooms of the alarm strategy"
    if webhooks and not on:
        return "webhooks", "webhooks given but webhook is not in channels"
    return None


def metric_problem(metric: str, window: str) -> tuple[str, str] | None:
    """(field, reason) when the metric is unknown or not judged over the window."""
    if metric not in METRICS:
        return "metric", f"unknown metric {metric!r}; one of {', '.join(sorted(METRICS))}"
    windows = METRICS[metric][0]
    if window not in windows:
        return "window", f"{metric} is judged over {' or '.join(sorted(windows))}"
    return None


Channel = Literal["in_app", "email", "sms", "webhook"]


def _in_app_and_email() -> list[Channel]:
    return ["in_app", "email"]


# The series surge detection judges, most specific first: detection judges them in this order, and a surge
# accounts for the rise it causes in the later dimensions' series (analytics/surge_attribution.py).
SurgeDimension = Literal["topic", "product", "content_type", "problem_type", "channel", "branch"]
SERIES_DIMENSIONS: tuple[SurgeDimension, ...] = get_args(SurgeDimension)


class SurgeDetection(ConfigModel):
    """How surges are detected (analytics/surge_scan.py ScanParams): what a centre tunes on its own history,
    trying a setting first with `caredesk analytics try-surges` (docs/analytics-surge.md). The defaults are the
    bench's choice: at most one false surge in 60 days over a centre of about nine topics."""

    alpha: float = Field(default=1.5e-6, gt=0, le=0.01)  # a window this unlikely under the usual level opens a
    # surge: higher, sooner and more surges (false ones too); lower, fewer and later
    longest_window_hours: StrictInt = Field(default=4, ge=1, le=4)  # windows of 15 minutes up to this: longer
    # ones add up a low rise that shorter ones never see
    min_count: StrictInt = Field(default=5, ge=1)  # never a surge on fewer messages in the window
    busiest_customers_once: StrictInt = Field(default=1, ge=0, le=5)  # still a surge with this many of the
    # window's busiest customers counted once each (one customer's burst is a conversation, not a rise)
    history_days: StrictInt = Field(default=14, ge=7, le=28)  # a series is judged once it has this much history
    dimensions: list[SurgeDimension] = Field(default_factory=lambda: list(SERIES_DIMENSIONS))  # those judged

    @field_validator("dimensions")
    @classmethod
    def _once_each(cls, dimensions: list[SurgeDimension]) -> list[SurgeDimension]:
        twice = sorted({d for d in dimensions if dimensions.count(d) > 1})
        if twice:
            raise ValueError(f"named more than once: {', '.join(twice)}")
        return dimensions


class SurgeSettings(ConfigModel):
    """The `surges` section: who is told when a surge opens and when it is resolved, over which channels (as a
    rule's), and how surges are detected."""

    channels: list[Channel] = Field(default_factory=_in_app_and_email, min_length=1)
    recipients: list[Role] = Field(
        default_factory=lambda: [Role.TEAM_LEAD, Role.COMPLAINT_MANAGER, Role.ADMIN], min_length=1)
    webhooks: list[Name] = Field(default_factory=list)
    detection: SurgeDetection = Field(default_factory=SurgeDetection)

    @model_validator(mode="after")
    def _rooms(self) -> SurgeSettings:
        problem = webhook_problem(self.channels, self.webhooks)
        if problem is not None:
            raise ValueError(problem[1])
        return self


class ThresholdsFile(ConfigModel):
    rules: list[Rule] = Field(min_length=1)
    surges: SurgeSettings = Field(default_factory=SurgeSettings)  # notices (analytics/surge_notices.py), detection

    @model_validator(mode="before")
    @classmethod
    def _locate(cls, data: object) -> object:
        """Rule-level checks carry their own field; prefix them with the rule's index for the error's line."""
        if not isinstance(data, dict):
            return data
        surges = data.get("surges")
        if isinstance(surges, dict) and "channels" in surges:
            problem = webhook_problem(surges.get("channels"), surges.get("webhooks"))
            if problem is not None:
                raise BadField(("surges", "webhooks" if "webhooks" in surges else "channels"), problem[1])
        if not isinstance(data.get("rules"), list):
            return data
        seen: set[str] = set()
        for i, raw in enumerate(data["rules"]):
            if not isinstance(raw, dict):
                continue
            metric, window = raw.get("metric"), raw.get("window")
            if isinstance(metric, str) and window in ("last_hour", "today", "now"):
                problem = metric_problem(metric, str(window))
                if problem is not None:
                    raise BadField(("rules", i, problem[0]), problem[1])
            problem = webhook_problem(raw.get("channels"), raw.get("webhooks"))
            if problem is not None:
                raise BadField(("rules", i, problem[0] if "webhooks" in raw else "channels"), problem[1])
            name = raw.get("name")
            if isinstance(name, str):
                if name in seen:
                    raise BadField(("rules", i, "name"), f"rule {name!r} is defined twice")
                seen.add(name)
        return data


def load_thresholds(path: Path | None = None) -> ThresholdsFile:
    """The configured file, or the rules shipped with CareDesk."""
    if path is None:
        builtin = resources.files("caredesk.analytics").joinpath("thresholds.yaml")
        return load_config(ThresholdsFile, builtin, "thresholds.yaml")
    return load_config(ThresholdsFile, Path(path))


def judge(rule: Rule, value: float | None, volume: int, state: RuleState) -> Judgement:
    """Breach when an ok rule's figure crosses its threshold (strictly above / below) on at least the rule's
    minimum volume; recovery when a breached rule's figure is back on the right side (or equal). No figure, or too
    little volume, changes nothing: a quiet night neither raises nor clears an alert."""
    if value is None or volume < rule.minimum_volume:
        return Judgement.NONE
    crossed = value > rule.value if rule.comparison == "above" else value < rule.value
    if crossed and state is RuleState.OK:
        return Judgement.BREACH
    if not crossed and state is RuleState.BREACHED:
        return Judgement.RECOVERY
    return Judgement.NONE
