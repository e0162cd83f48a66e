"""The notice rules and the notices file: which timeline event notifies, the quiet window and once-only
kinds, the language fallback, and the file's checks (customer-facing triggers only, both languages, only
{case} filled in); the shipped file is valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.channels.notices.config import NoticesSpec, load_notices
from caredesk.channels.notices.rules import is_due, language_of, notice_for, render
from caredesk.config_files import validate_config
from caredesk.errors import InvalidConfig

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
TEXT = {"zh": "工单 {case}", "en": "Case {case}"}


def _config(**extra: object):  # type: ignore[no-untyped-def]
    data = {"window_minutes": 30,
            "kinds": {"accepted": {"when": ["assigned", "handed_to_lead"], "once": True, "text": TEXT},
                      "transferred": {"when": ["transferred"], "text": TEXT},
                      "resolved": {"when": ["status_changed:resolved"], "text": TEXT}}} | extra
    return validate_config(NoticesSpec, data, "notices.yaml").to_config()


def test_notice_for_names_the_kind_of_a_customer_facing_event_only() -> None:
    config = _config()
    assert notice_for(config, flow="complaint", event_kind="assigned", data={}).name == "accepted"  # type: ignore[union-attr]
    assert notice_for(config, flow="complaint", event_kind="status_changed",
                      data={"from": "in_progress", "to": "resolved"}).name == "resolved"  # type: ignore[union-attr]
    assert notice_for(config, flow="complaint", event_kind="status_changed", data={"to": "closed"}) is None
    for internal in ("step_changed", "note", "queued", "reply", "customer_notified"):
        assert notice_for(config, flow="complaint", event_kind=internal, data={}) is None


def test_notice_for_follows_the_flows_choice() -> None:
    config = _config(flows={"regulator_complaint": ["resolved"]})
    assert notice_for(config, flow="regulator_complaint", event_kind="transferred", data={}) is None
    assert notice_for(config, flow="complaint", event_kind="transferred", data={}) is not None


def test_quiet_window_and_once_only_kinds() -> None:
    config = _config()
    accepted, transferred = config.kinds["accepted"], config.kinds["transferred"]
    window = config.window.total_seconds()
    assert is_due(transferred, [], window_s=window, now=NOW)
    assert not is_due(transferred, [NOW - timedelta(minutes=29)], window_s=window, now=NOW)
    assert is_due(transferred, [NOW - timedelta(minutes=30)], window_s=window, now=NOW)
    assert not is_due(accepted, [NOW - timedelta(days=3)], window_s=window, now=NOW)


def test_language_falls_back_to_the_customer_then_chinese() -> None:
    assert language_of("en", "zh") == "en"
    assert language_of(None, "en") == "en"
    assert language_of("fr", None) == "zh"
    assert render(_config().kinds["resolved"], language="en", case_number="C-1") == "Case C-1"


@pytest.mark.parametrize(("kind", "says"), [
    ({"when": ["step_changed"], "text": TEXT}, "not a customer-facing event"),
    ({"when": ["assigned"], "text": {"zh": "工单 {case}"}}, "a text in en is needed"),
    ({"when": ["assigned"], "text": {"zh": "工单 {case} {phone}", "en": "x"}}, "only {case}"),
    ({"when": ["assigned"], "text": {"zh": "工单 {case", "en": "x"}}, "zh:"),
])
def test_the_file_refuses_internal_triggers_and_broken_texts(kind: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        validate_config(NoticesSpec, {"kinds": {"k": kind}}, "notices.yaml")
    assert says in str(caught.value)


def test_the_file_refuses_a_flow_naming_an_unknown_kind() -> None:
    with pytest.raises(InvalidConfig, match="unknown notice kind 'survey'"):
        _config(flows={"complaint": ["survey"]})


def test_the_shipped_file_is_valid() -> None:
    config = load_notices()
    assert set(config.kinds) == {"accepted", "transferred", "resolved"}
    assert config.quiet_hours is not None and "sms" in config.quiet_hours.hold
