from __future__ import annotations

import pytest
from pydantic import ValidationError

from caredesk.settings import DEFAULT_SECRET, Settings


def test_settings_refuse_default_secret_in_production() -> None:
    with pytest.raises(ValidationError, match="CAREDESK_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    assert Settings(environment="production", secret_key="s" * 40).environment == "production"


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", "postgresql+psycopg://db/x")
    monkeypatch.setenv("CAREDESK_EMERGENCY_URGENCY", '["urgent", "attention"]')
    s = Settings(environment="test")
    assert s.database_url == "postgresql+psycopg://db/x"
    assert s.emergency_urgency == ["urgent", "attention"]
