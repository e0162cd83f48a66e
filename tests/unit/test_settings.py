from __future__ import annotations

import pytest
from pydantic import ValidationError

from caredesk.settings import DEFAULT_SECRET, Settings


def test_settings_refuse_default_secret_in_production() -> None:
    with pytest.raises(ValidationError, match="CAREDESK_SECRET_KEY"):
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    keys = {"k1": "A" * 43 + "="}
    assert Settings(environment="production", secret_key="s" * 40, encryption_keys=keys).environment == "production"


def test_settings_require_encryption_keys_in_production() -> None:
    with pytest.raises(ValidationError, match="CAREDESK_ENCRYPTION_KEYS"):
        Settings(environment="production", secret_key="s" * 40)
    with pytest.raises(ValidationError, match="ACTIVE_KEY"):
        Settings(environment="test", encryption_keys={"k1": "A" * 43 + "="}, encryption_active_key="k2")


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_DATABASE_URL", "postgresql+psycopg://db/x")
    monkeypatch.setenv("CAREDESK_EMERGENCY_URGENCY", '["urgent", "attention"]')
    s = Settings(environment="test")
    assert s.database_url == "postgresql+psycopg://db/x"
    assert s.emergency_urgency == ["urgent", "attention"]
