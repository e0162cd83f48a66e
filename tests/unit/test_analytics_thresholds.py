"""Threshold alert rules: the shipped file, what validation refuses (with the line and field), and the pure
judgement of a figure against a rule and its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.analytics.threshold_check import threshold_problems
from caredesk.analytics.thresholds import Judgement, Rule, RuleState, judge, load_thresholds
from caredesk.errors import InvalidConfig

GOOD = """rules:
  - name: failures
    metric: response_failure_rate
    comparison: above
    value: 0.10
    window: last_hour
    minimum_volume: 20
    channels: [in_app, email]
    recipients: [team_lead]
"""


def _rule(**change: object) -> Rule:
    values: dict[str, object] = dict(name="r", metric="response_failure_rate", comparison="above", value=0.1,
                                     window="last_hour", minimum_volume=20, channels=["in_app"],
                                     recipients=["team_lead"])
    return Rule.model_validate(values | change)


def test_shipped_rules_are_the_four_defaults() -> None:
    rules = {r.name: r for r in load_thresholds().rules}
    assert {(r.metric, r.comparison, r.value, r.window) for r in rules.values()} == {
        ("response_failure_rate", "above", 0.10, "last_hour"), ("backlog", "above", 50, "now"),
        ("csat_satisfied_share", "below", 0.80, "today"), ("sla_met_rate", "below", 0.90, "today")}
    assert all("in_app" in r.channels for r in rules.values())


def _error(tmp_path: Path, text: str) -> InvalidConfig:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_thresholds(path)
    return caught.value


MISTAKES = [
    ("metric: response_failure_rate", "metric: failure_rate", 3, "rules[0].metric", "unknown metric 'failure_rate'"),
    ("window: last_hour", "window: now", 6, "rules[0].window", "judged over last_hour or today"),
    ("window: last_hour", "window: yesterday", 6, "rules[0].window", "Input should be"),
    ("comparison: above", "comparison: over", 4, "rules[0].comparison", "Input should be 'above' or 'below'"),
    ("value: 0.10", "value: high", 5, "rules[0].value", ""),
    ("[in_app, email]", "[in_app, pigeon]", 8, "rules[0].channels[1]", "Input should be"),
    ("[team_lead]", "[janitor]", 9, "rules[0].recipients[0]", "Input should be"),
    ("minimum_volume: 20", "minimum_volume: -1", 7, "rules[0].minimum_volume", "greater than or equal to 0"),
    ("    recipients: [team_lead]\n", "    recipients: [team_lead]\n    colour: red\n", 10, "rules[0].colour",
     "Extra inputs"),
    ("[in_app, email]", "[in_app, webhook]", 8, "rules[0].channels", "channel webhook needs webhooks"),
    ("    recipients: [team_lead]\n", "    recipients: [team_lead]\n    webhooks: [ops]\n", 10, "rules[0].webhooks",
     "webhook is not in channels"),
]


@pytest.mark.parametrize(("old", "new", "line", "field", "reason"), MISTAKES)
def test_a_bad_rule_is_refused_with_its_line_and_field(tmp_path: Path, old: str, new: str, line: int, field: str,
                                                       reason: str) -> None:
    assert old in GOOD
    error = _error(tmp_path, GOOD.replace(old, new))
    assert (error.line, error.path) == (line, field)
    assert reason in error.message


@pytest.mark.parametrize(("old", "new", "line", "field", "reason"), MISTAKES)
def test_the_checker_finds_each_mistake_where_the_loader_does(tmp_path: Path, old: str, new: str, line: int,
                                                             field: str, reason: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    (problem,) = threshold_problems(path)
    assert (problem.line, problem.path) == (line, field) and reason in problem.message


def test_the_checker_reports_every_mistake_of_the_file_in_line_order(tmp_path: Path) -> None:
    second = (GOOD.removeprefix("rules:\n").replace("comparison: above", "comparison: over")
              .replace("[team_lead]", "[janitor]").replace("[in_app, email]", "[in_app, webhook]")
              + "    webhooks: [ops, war-room]\n")
    third = "  - just a word\n"
    text = GOOD.replace("metric: response_failure_rate", "metric: failure_rate") + second + third + "colour: red\n"
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    found = [(p.line, p.path) for p in threshold_problems(path, rooms={"ops"})]
    assert found == [(3, "rules[0].metric"), (10, "rules[1].name"), (12, "rules[1].comparison"),
                     (17, "rules[1].recipients[0]"), (18, "rules[1].webhooks[1]"), (19, "rules[2]"),
                     (20, "colour")]
    messages = [p.message for p in threshold_problems(path, rooms={"ops"})]
    assert "defined twice" in messages[1] and "'war-room' is not a room of the alarm strategy" in messages[4]
    assert threshold_problems(None) == []  # the shipped file
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert threshold_problems(good, rooms=set()) == []
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    (syntax,) = threshold_problems(broken)
    assert "not valid YAML" in syntax.message


def test_a_rule_name_twice_is_refused(tmp_path: Path) -> None:
    error = _error(tmp_path, GOOD + GOOD.removeprefix("rules:\n"))
    assert (error.line, error.path) == (10, "rules[1].name")
    assert "defined twice" in error.message


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD, encoding="utf-8")
    (rule,) = load_thresholds(path).rules
    assert (rule.name, rule.minimum_volume, rule.channels, rule.recipients) == (
        "failures", 20, ["in_app", "email"], ["team_lead"])


def test_a_rule_alone_refuses_an_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        _rule(metric="mood")


def test_judge_breach_once_then_recovery_once() -> None:
    rule = _rule()
    assert judge(rule, 0.2, 30, RuleState.OK) is Judgement.BREACH
    assert judge(rule, 0.2, 30, RuleState.BREACHED) is Judgement.NONE  # still breached: told already
    assert judge(rule, 0.05, 30, RuleState.BREACHED) is Judgement.RECOVERY
    assert judge(rule, 0.05, 30, RuleState.OK) is Judgement.NONE


def test_judge_the_threshold_itself_is_not_a_breach() -> None:
    assert judge(_rule(), 0.1, 30, RuleState.OK) is Judgement.NONE
    assert judge(_rule(), 0.1, 30, RuleState.BREACHED) is Judgement.RECOVERY
    below = _rule(comparison="below", value=0.9)
    assert judge(below, 0.9, 30, RuleState.OK) is Judgement.NONE
    assert judge(below, 0.89, 30, RuleState.OK) is Judgement.BREACH


def test_judge_too_little_volume_or_no_figure_changes_nothing() -> None:
    rule = _rule()
    assert judge(rule, 1.0, 2, RuleState.OK) is Judgement.NONE  # 1 of 2 messages failed: not judged
    assert judge(rule, 0.0, 2, RuleState.BREACHED) is Judgement.NONE  # nor recovered on 2 messages
    assert judge(rule, None, 0, RuleState.BREACHED) is Judgement.NONE
    assert judge(rule, 0.2, 20, RuleState.OK) is Judgement.BREACH  # the minimum itself is enough
