"""The alarm strategy's pure parts: parsing the YAML, quiet hours with the clock passed in, the external-
complaint forecast, and the chat-ops webhook signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from caredesk.alarms.forecast import Point, forecast_external_complaint
from caredesk.alarms.quiet import held_until, quiet_until
from caredesk.alarms.strategy import load_strategy, parse_strategy
from caredesk.errors import InvalidConfig
from caredesk.notify.webhook import build_webhook_request, sign, verify

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_strategy_builtin_levels_audiences_and_quiet_hours() -> None:
    s = load_strategy()
    assert [lv.name for lv in s.levels] == ["frontline", "management"]
    assert s.levels[0].acknowledge_within_minutes == 15 and s.levels[1].acknowledge_within_minutes is None
    first = {t.audience: t.channels for t in s.levels[0].targets}
    assert first == {"agent": ("in_app",), "team_lead": ("in_app", "email"), "complaint_manager": ("in_app",)}
    assert s.audiences["team_lead"].roles == ("team_lead",) and s.audiences["agent"].conversation_agent
    assert s.quiet_hours is not None and s.quiet_hours.hold == frozenset({"sms"})
    assert s.dedupe == "while_open" and s.level(2) is None


@pytest.mark.parametrize("change, message", [
    ({"levels": []}, "levels: List should have at least 1 item"),
    ({"levels": [{"notify": [{"audience": "nobody", "channels": ["email"]}]}]}, "unknown audience"),
    ({"levels": [{"notify": [{"audience": "lead", "channels": ["fax"]}]}]},
     r"levels\[0\]\.notify\[0\]\.channels\[0\]: Input should be 'in_app', 'email' or 'sms'"),
    ({"levels": [{"acknowledge_within_minutes": 0, "notify": []}]}, "acknowledge_within_minutes: .*greater than 0"),
    ({"webhooks": [{"name": "x", "kind": "telegram", "url": "https://x"}]}, r"webhooks\[0\]\.kind: Input should be"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "HH:MM"),
    ({"dedupe": "never"}, "dedupe"),
])
def test_strategy_invalid_files_say_why(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"audiences": {"lead": {"roles": ["team_lead"]}},
                               "levels": [{"notify": [{"audience": "lead", "channels": ["email"]}]}]}
    with pytest.raises(InvalidConfig, match=message):
        parse_strategy(base | change)


def test_quiet_hours_overnight_in_local_time() -> None:
    quiet = load_strategy().quiet_hours  # 22:00-07:00 Asia/Shanghai, holds SMS
    assert quiet_until(NOW, quiet) is None  # 10:00 local
    late = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 local
    assert quiet_until(late, quiet) == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 next local day
    early = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 04:00 local on the 3rd
    assert quiet_until(early, quiet) == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 3, 2, 23, 0, tzinfo=UTC), quiet) is None  # 07:00 sharp: over
    assert held_until("sms", late, quiet) is not None and held_until("email", late, quiet) is None
    assert held_until("sms", late, None) is None


def test_forecast_rises_with_threats_and_anger_and_names_its_reasons() -> None:
    calm = forecast_external_complaint([Point(0, "neutral"), Point(1, "neutral")])
    angry = forecast_external_complaint([Point(1, "angry"), Point(3, "angry", ("regulator",)),
                                         Point(3, "angry", ("regulator",)), Point(3, "angry", ("regulator", "media"))])
    assert calm.probability < 0.2 < 0.8 < angry.probability
    features = [r.feature for r in angry.reasons]
    assert features[0] == "external_threats"
    assert {"max_level", "angry_share", "angry_streak", "rising"} <= set(features)
    assert all(r.contribution > 0 for r in angry.reasons)
    assert [r.contribution for r in angry.reasons] == sorted((r.contribution for r in angry.reasons), reverse=True)
    one_more = forecast_external_complaint([Point(1, "angry"), Point(3, "angry", ("regulator",))])
    assert one_more.probability < angry.probability
    assert forecast_external_complaint([]).probability < 0.1
    payload = angry.to_json()
    assert payload["model"] and payload["reasons"][0]["feature"] == "external_threats"


def test_webhook_generic_signature_verifies_and_rejects_tampering() -> None:
    req = build_webhook_request("slack", "https://hooks.example/x", "s3cret", "alarm!", {}, now=NOW)
    stamp = req.headers["X-CareDesk-Timestamp"]
    expected = "v1=" + hmac.new(b"s3cret", f"{stamp}.".encode() + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-CareDesk-Signature"] == expected == sign("s3cret", stamp, req.body)
    assert json.loads(req.body) == {"text": "alarm!"}
    assert verify("s3cret", stamp, req.body, expected, now=NOW + timedelta(seconds=60))
    assert not verify("s3cret", stamp, req.body + b" ", expected, now=NOW)
    assert not verify("other", stamp, req.body, expected, now=NOW)
    assert not verify("s3cret", stamp, req.body, expected, now=NOW + timedelta(minutes=10))  # replayed late


def test_webhook_dingtalk_and_feishu_robot_signatures() -> None:
    ding = build_webhook_request("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", "SEC",
                                 "告警", {}, now=NOW)
    query = parse_qs(urlsplit(ding.url).query)
    millis = query["timestamp"][0]
    digest = hmac.new(b"SEC", f"{millis}\nSEC".encode(), hashlib.sha256).digest()
    assert query["sign"][0] == base64.b64encode(digest).decode()  # parse_qs undoes the URL quoting
    assert json.loads(ding.body) == {"msgtype": "text", "text": {"content": "告警"}}

    feishu = build_webhook_request("feishu", "https://open.feishu.cn/hook/x", "SEC", "告警", {}, now=NOW)
    body = json.loads(feishu.body)
    key = f"{body['timestamp']}\nSEC".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["content"] == {"text": "告警"} and body["msg_type"] == "text"
    unsigned = build_webhook_request("wecom", "https://qyapi.weixin.qq.com/x", None, "hi", {}, now=NOW)
    assert "X-CareDesk-Signature" not in unsigned.headers


def test_strategy_cli_validate_prints_levels_or_the_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from caredesk.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["alarms", "validate"])
    assert ok.exit_code == 0, ok.output
    assert "frontline, next level after 15 min" in ok.output and "team_lead: in_app, email" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: []\n", encoding="utf-8")
    result = runner.invoke(app, ["alarms", "validate", str(bad)])
    assert result.exit_code == 2 and f"{bad}:1: levels: List should have at least 1 item" in result.output
