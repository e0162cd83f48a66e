"""The shared configuration loader: the line and field path of the first mistake are right for nested fields,
missing keys, unknown keys, cross-field rules and YAML syntax errors; validation without YAML has no line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, model_validator

from caredesk.config_files import BadField, ConfigModel, config_path, load_config, validate_config
from caredesk.errors import InvalidConfig, InvalidFile, InvalidInput


class Target(ConfigModel):
    resolution: int
    first_response: int = 0


class Policy(ConfigModel):
    name: str
    calendar: str = "always"
    targets: Target


class Doc(ConfigModel):
    calendars: tuple[str, ...] = ()
    policies: tuple[Policy, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _calendars(self) -> Doc:
        for i, p in enumerate(self.policies):
            if p.calendar != "always" and p.calendar not in self.calendars:
                raise BadField(("policies", i, "calendar"), f"no calendar named {p.calendar!r}")
        return self


GOOD = """\
# comment
calendars: [bank]
policies:
  - name: a
    targets: {resolution: 5}
  - name: b
    calendar: bank
    targets:
      resolution: 60
      first_response: 10
"""


def load(tmp_path: Path, text: str) -> Doc:
    path = tmp_path / "sla.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(Doc, path, "sla.yaml")


def error(tmp_path: Path, text: str) -> InvalidConfig:
    with pytest.raises(InvalidConfig) as caught:
        load(tmp_path, text)
    return caught.value


def test_a_valid_file_becomes_the_model(tmp_path: Path) -> None:
    doc = load(tmp_path, GOOD)
    assert [p.targets.resolution for p in doc.policies] == [5, 60]


def test_nested_bad_field_has_its_line_and_path(tmp_path: Path) -> None:
    exc = error(tmp_path, GOOD.replace("resolution: 60", "resolution: soon"))
    assert (exc.file, exc.line, exc.path) == ("sla.yaml", 9, "policies[1].targets.resolution")
    assert exc.message == "sla.yaml:9: policies[1].targets.resolution: Input should be a valid integer, " \
                          "unable to parse string as an integer"
    assert exc.code == "invalid_config" and exc.status == 400
    assert isinstance(exc, InvalidFile) and isinstance(exc, InvalidInput)
    assert exc.to_json()["details"] == {"file": "sla.yaml", "line": 9, "path": "policies[1].targets.resolution"}


def test_a_field_in_a_flow_mapping_is_on_the_item_line(tmp_path: Path) -> None:
    exc = error(tmp_path, GOOD.replace("{resolution: 5}", "{resolution: x}"))
    assert (exc.line, exc.path) == (5, "policies[0].targets.resolution")


def test_missing_required_key_points_at_its_mapping(tmp_path: Path) -> None:
    exc = error(tmp_path, GOOD.replace("  - name: b\n    calendar: bank\n", "  - calendar: bank\n"))
    assert (exc.line, exc.path, exc.reason) == (6, "policies[1].name", "Field required")


def test_unknown_key_is_refused_at_its_line(tmp_path: Path) -> None:
    exc = error(tmp_path, GOOD.replace("      first_response: 10", "      first_respones: 10"))
    assert (exc.line, exc.path, exc.reason) == (10, "policies[1].targets.first_respones",
                                                 "Extra inputs are not permitted")


def test_cross_field_rule_names_the_field(tmp_path: Path) -> None:
    exc = error(tmp_path, GOOD.replace("calendar: bank", "calendar: nope"))
    assert exc.message == "sla.yaml:7: policies[1].calendar: no calendar named 'nope'"


@pytest.mark.parametrize(("text", "line"), [
    ("policies:\n  - name: a\n    targets: {resolution: 5\n", 4),
    ("policies:\n  - name: a\n   bad indent: 1\n", 3),
    ("policies: [a\n  b: c]\n", 2),
])
def test_yaml_syntax_errors_have_a_line_and_no_path(tmp_path: Path, text: str, line: int) -> None:
    exc = error(tmp_path, text)
    assert exc.line == line and exc.path == ""
    assert exc.message.startswith(f"sla.yaml:{line}: not valid YAML: ")


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    assert error(tmp_path, "").message == "sla.yaml: policies: Field required"
    assert error(tmp_path, "- a\n- b\n").message.startswith("sla.yaml:1: Input should be a valid dictionary")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match=r"missing\.yaml: cannot read the file"):
        load_config(Doc, tmp_path / "missing.yaml")


def test_validating_data_without_yaml_has_no_line() -> None:
    with pytest.raises(InvalidConfig) as caught:
        validate_config(Doc, {"policies": [{"name": "a", "targets": {}}]}, "<test>")
    assert caught.value.line is None
    assert caught.value.message == "<test>: policies[0].targets.resolution: Field required"


def test_config_path() -> None:
    assert config_path(("policies", 2, "targets", "resolution")) == "policies[2].targets.resolution"
    assert config_path((3, "a")) == "[3].a"
    assert config_path(()) == ""
