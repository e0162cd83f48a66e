"""Processing flows as configuration: parse errors say what is wrong and where; the most specific flow
wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caredesk.errors import InvalidConfig, InvalidFile
from caredesk.workorders.flows import (
    Flow,
    FlowStep,
    choose_flow,
    load_builtin_flows,
    load_flow_file,
    parse_flow,
)

GOOD: dict[str, Any] = {
    "name": "card_fraud", "version": 2, "title": {"zh": "盗刷处理", "en": "Card fraud"},
    "applies_to": {"problem_type": ["complaint"], "content_type": "business"},
    "steps": [{"name": "accept", "department": "customer_service", "timer_minutes": 10},
              {"name": "freeze", "department": "risk_and_fraud"}],
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def test_flows_parse_good_flow() -> None:
    flow = parse_flow(GOOD, "card_fraud.yaml")
    assert flow == Flow("card_fraud", 2, {"zh": "盗刷处理", "en": "Card fraud"},
                        {"problem_type": ("complaint",), "content_type": ("business",)},
                        (FlowStep("accept", "customer_service", 10, next=("freeze",)),
                             FlowStep("freeze", "risk_and_fraud", 0)))


@pytest.mark.parametrize(("data", "reason"), [
    (["not", "a", "mapping"], "Input should be a valid dictionary"),
    ({k: v for k, v in GOOD.items() if k != "name"}, "name: Field required"),
    ({k: v for k, v in GOOD.items() if k != "version"}, "version: Field required"),
    ({k: v for k, v in GOOD.items() if k != "steps"}, "steps: Field required"),
    (with_(steps=[]), "steps: List should have at least 1 item"),
    (with_(steps="accept"), "steps: Input should be a valid list"),
    (with_(steps=[{"name": "accept", "department": "cs"}, {"name": "reply"}]),
     "steps[1].department: Field required"),
    (with_(steps=["accept"]), "steps[0]: Input should be a valid dictionary"),
    (with_(steps=[{"name": "a", "department": "cs", "timer_minutes": -5}]),
     "steps[0].timer_minutes: Input should be greater than or equal to 0"),
    (with_(steps=[{"name": "a", "department": "cs", "timer_minutes": "1h"}]),
     "steps[0].timer_minutes: Input should be a valid integer"),
    (with_(steps=[{"name": "a", "department": "cs"}, {"name": "a", "department": "qa"}]),
     "steps[1].name: step names must be unique"),
    (with_(applies_to=["complaint"]), "applies_to: Input should be a valid dictionary"),
    (with_(owner="qa"), "owner: Extra inputs are not permitted"),
])
def test_flows_parse_errors_name_the_file_and_the_problem(data: Any, reason: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_flow(data, "flows/custom.yaml")
    assert caught.value.message.startswith("flows/custom.yaml: ")
    assert reason in caught.value.message
    assert caught.value.code == "invalid_config"


def test_flows_parse_non_numeric_version_is_invalid_file() -> None:
    with pytest.raises(InvalidConfig, match="version: Input should be a valid integer"):
        parse_flow(with_(version="two"), "flows/custom.yaml")


def test_flows_load_file_reports_yaml_errors_with_the_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsteps: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_flow_file(broken)
    assert caught.value.message.startswith(f"{broken}:3: not valid YAML")
    with pytest.raises(InvalidConfig) as missing:
        load_flow_file(tmp_path / "nope.yaml")
    assert "nope.yaml" in missing.value.message


def test_flows_load_file_parses_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "fraud.yaml"
    path.write_text("name: fraud\nversion: 1\napplies_to: {problem_type: [complaint]}\n"
                    "steps:\n  - {name: accept, department: risk_and_fraud, timer_minutes: 5}\n",
                    encoding="utf-8")
    flow = load_flow_file(path)
    assert (flow.name, flow.steps) == ("fraud", (FlowStep("accept", "risk_and_fraud", 5),))


def test_flows_builtin_flows_load() -> None:
    flows = load_builtin_flows()
    assert set(flows) == {"complaint", "consultation", "suggestion", "system_complaint", "regulator_complaint"}
    assert all(f.steps and f.steps[0].name == "accept" for f in flows.values())


@pytest.mark.parametrize(("labels", "chosen"), [
    ({"problem_type": "complaint", "content_type": "system"}, "system_complaint"),  # two conditions beat one
    ({"problem_type": "complaint", "content_type": "business"}, "complaint"),
    ({"problem_type": "consultation", "content_type": "system"}, "consultation"),
    ({"problem_type": "suggestion", "content_type": "branch"}, "suggestion"),
])
def test_flows_choose_flow_most_specific_wins(labels: dict[str, str], chosen: str) -> None:
    assert choose_flow(load_builtin_flows(), labels).name == chosen


def test_flows_choose_flow_prefers_specific_regardless_of_name_order() -> None:
    general = parse_flow({"name": "zz_general", "version": 1, "applies_to": {"problem_type": ["complaint"]},
                          "steps": [{"name": "a", "department": "cs"}]}, "g")
    specific = parse_flow({"name": "aa_specific", "version": 1,
                           "applies_to": {"problem_type": ["complaint"], "content_type": ["branch"]},
                           "steps": [{"name": "a", "department": "branch_management"}]}, "s")
    flows = {f.name: f for f in (general, specific)}
    assert choose_flow(flows, {"problem_type": "complaint", "content_type": "branch"}).name == "aa_specific"
    assert choose_flow(flows, {"problem_type": "complaint", "content_type": "system"}).name == "zz_general"


def test_flows_choose_flow_without_a_match_is_an_error() -> None:
    with pytest.raises(InvalidFile, match="no processing flow applies"):
        choose_flow(load_builtin_flows(), {"problem_type": "praise"})
    with pytest.raises(InvalidFile):
        choose_flow({}, {"problem_type": "complaint"})


def test_flows_flow_matches_counts_conditions() -> None:
    flow = parse_flow(GOOD, "g")
    assert flow.matches({"problem_type": "complaint", "content_type": "business"}) == 2
    assert flow.matches({"problem_type": "complaint", "content_type": "system"}) == -1
    assert flow.matches({"problem_type": "complaint"}) == -1  # a missing label fails its condition


def test_flows_transitions_and_required_fields_are_validated() -> None:
    base = {"name": "f", "version": 1, "steps": [{"name": "a", "department": "d"}, {"name": "b", "department": "d"}]}
    bad_next = {**base, "steps": [{"name": "a", "department": "d", "next": ["zz"]}, {"name": "b", "department": "d"}]}
    with pytest.raises(InvalidConfig, match=r"steps\[0\]\.next\[0\]: next names unknown step 'zz'"):
        parse_flow(bad_next, "f.yaml")
    with pytest.raises(InvalidConfig, match=r"steps\[0\]\.requires: Input should be a valid"):
        parse_flow({**base, "steps": [{"name": "a", "department": "d", "requires": "x"}]}, "f.yaml")
    complaint = load_builtin_flows()["complaint"]
    assert complaint.step("review").next == ("reply", "investigate")
    assert complaint.step("investigate").requires == ("root_cause",)


def test_regulator_flow_wins_for_complaints_naming_a_regulator() -> None:
    flows = load_builtin_flows()
    labels = {"problem_type": "complaint", "content_type": "business", "urgency": "attention"}
    assert choose_flow(flows, labels | {"complaint_types": ["regulator", "compensation"]}).name == "regulator_complaint"
    assert choose_flow(flows, labels | {"complaint_types": ["compensation"]}).name == "complaint"
