"""`caredesk analytics validate [FILE]` and `caredesk config validate` on the threshold rules, as an operator
runs them (a subprocess): ok and the rules, or every error with its line and field and exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import caredesk, cli_env

GOOD = """rules:
  - name: failures
    metric: response_failure_rate
    comparison: above
    value: 0.10
    window: last_hour
    channels: [in_app]
    recipients: [team_lead]
"""


def _run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(environment="test", var_dir=str(tmp_path / "var"), database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                  **extra)
    return caredesk(env, *args)


def test_analytics_validate_good_and_bad_files(tmp_path: Path) -> None:
    shipped = _run(tmp_path, "analytics", "validate")
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.startswith("ok  built-in thresholds.yaml: 4 rules")
    assert "  response_failure_high: response_failure_rate above 0.1 (last_hour, at least 20)" in shipped.stdout

    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"ok  {good}: 1 rules"

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("response_failure_rate", "failure_rate"), encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}:3: rules[0].metric: unknown metric 'failure_rate'")
    assert result.stdout == ""

    # every mistake at once, each with its line, then how many
    worse = tmp_path / "worse.yaml"
    worse.write_text(GOOD.replace("response_failure_rate", "failure_rate").replace("above", "over")
                     .replace("[team_lead]", "[janitor]") + "colour: red\n", encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(worse))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {worse}:3: rules[0].metric: unknown metric 'failure_rate'; one of auto_response_rate, backlog, "
        "csat_average, csat_satisfied_share, first_contact_resolution_rate, handoff_rate, reopen_rate, "
        "response_failure_rate, sla_met_rate",
        f"error: {worse}:4: rules[0].comparison: Input should be 'above' or 'below'",
        f"error: {worse}:8: rules[0].recipients[0]: Input should be 'agent', 'team_lead', 'quality_reviewer', "
        "'knowledge_editor', 'complaint_manager', 'admin' or 'auditor'",
        f"error: {worse}:9: colour: Extra inputs are not permitted",
        f"4 errors in {worse}"]

    # the file the settings name is the one checked by default, and by `config validate`
    result = _run(tmp_path, "analytics", "validate", analytics_thresholds_file=str(bad))
    assert result.returncode == 2 and f"{bad}:3:" in result.stderr
    result = _run(tmp_path, "config", "validate", analytics_thresholds_file=str(bad))
    assert result.returncode == 2
    assert "ok  analytics/thresholds.yaml" in result.stdout.splitlines()
    assert any(line.startswith(f"{bad}:3: rules[0].metric: unknown metric") for line in result.stdout.splitlines())


def test_analytics_validate_refuses_a_webhook_room_the_strategy_lacks(tmp_path: Path) -> None:
    hooked = tmp_path / "hooked.yaml"
    hooked.write_text(GOOD.replace("[in_app]", "[in_app, webhook]") + "    webhooks: [ops-room]\n", encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(hooked))
    assert result.returncode == 2
    assert "rule failures: webhook 'ops-room' is not a room of the alarm strategy in use" in result.stderr


def test_analytics_validate_checks_the_surges_section(tmp_path: Path) -> None:
    """Who is told about surges: shown when ok; a room the strategy lacks, or rooms without the webhook
    channel, refused with the line and field."""
    shipped = _run(tmp_path, "analytics", "validate")
    assert "  surges: opened and resolved -> in_app, email to team_lead, complaint_manager, admin" in shipped.stdout
    hooked = tmp_path / "surges.yaml"
    hooked.write_text(GOOD + "surges:\n  channels: [webhook]\n  recipients: [team_lead]\n  webhooks: [ops-room]\n",
                      encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(hooked))
    assert result.returncode == 2
    assert "surges: webhook 'ops-room' is not a room of the alarm strategy in use" in result.stderr
    stray = tmp_path / "stray.yaml"
    stray.write_text(GOOD + "surges:\n  channels: [email]\n  recipients: [team_lead]\n  webhooks: [ops-room]\n",
                     encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(stray))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {stray}:12: surges.webhooks: webhooks given but webhook is not in")


def test_analytics_validate_shows_and_checks_the_surge_detection_settings(tmp_path: Path) -> None:
    shipped = _run(tmp_path, "analytics", "validate")
    assert ("  surge detection: alpha 1.5e-06, windows up to 4 h, at least 5 messages, the busiest 1 customer "
            "counted once, 14 days of history; topic, product, content_type, problem_type, channel, branch"
            ) in shipped.stdout.splitlines()
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text(GOOD + "surges:\n  channels: [in_app]\n  recipients: [team_lead]\n  detection:\n"
                     "    alpha: 1e-5\n    longest_window_hours: 2\n    dimensions: [topic, channel]\n",
                     encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(tuned))
    assert result.returncode == 0, result.stderr
    assert ("  surge detection: alpha 1e-05, windows up to 2 h, at least 5 messages, the busiest "
            "1 customer counted once, 14 days of history; topic, channel") in result.stdout.splitlines()
    bad = tmp_path / "bad-detection.yaml"
    bad.write_text(GOOD + "surges:\n  detection:\n    alpha: 0\n    longest_window_hours: 6\n"
                   "    dimensions: [topic, region, topic]\n", encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    errors = result.stderr.splitlines()
    assert errors == [
        f"error: {bad}:11: surges.detection.alpha: Input should be greater than 0",
        f"error: {bad}:12: surges.detection.longest_window_hours: Input should be less than or equal to 4",
        f"error: {bad}:13: surges.detection.dimensions[1]: Input should be 'topic', 'product', 'content_type', "
        "'problem_type', 'channel' or 'branch'",
        f"3 errors in {bad}"]
    twice = tmp_path / "twice.yaml"
    twice.write_text(GOOD + "surges:\n  detection:\n    dimensions: [topic, channel, topic]\n", encoding="utf-8")
    result = _run(tmp_path, "analytics", "validate", str(twice))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {twice}:11: surges.detection.dimensions: named more than "
                                    "once: topic")
