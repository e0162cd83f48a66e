"""Typed settings, read from the environment (prefix CAREDESK_) when the composition root asks for them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_SECRET", "Settings"]

DEFAULT_SECRET = "change-me-development-only"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREDESK_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEFAULT_SECRET
    database_url: str = "sqlite:///var/caredesk.db"
    redis_url: str | None = None
    var_dir: Path = Path("var")
    base_url: str = "http://127.0.0.1:8000"

    # Background tasks: "embedded" runs a Huey consumer inside the server process; "external" expects
    # `caredesk worker` processes (required with Redis and several API processes).
    tasks_mode: Literal["embedded", "external", "immediate"] = "embedded"

    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 50_000_000  # knowledge-base files (XLSX/CSV import)
    max_message_chars: int = 5_000

    # Seed-method decision (DESIGN.md steps 1-4): all of it is configuration.
    emergency_urgency: list[str] = Field(default_factory=lambda: ["urgent"])
    kb_threshold: float = 0.55
    kb_widen_below_confidence: float = 0.5
    kb_clarify_margin: float = 0.08
    kb_clarify_max_options: int = 3
    alarm_complaint_level: int = 3
    alarm_threshold: int = 3
    alarm_window_minutes: int | None = None

    # Linked emergency response
    meeting_url_pattern: str = "https://meet.jit.si/caredesk-{meeting_id}"
    meeting_duration_minutes: int = 60

    # Outgoing e-mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "CareDesk <caredesk@localhost>"

    model_dir: Path | None = None  # defaults to var_dir / "models"

    @property
    def models_path(self) -> Path:
        return self.model_dir or self.var_dir / "models"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.secret_key == DEFAULT_SECRET:
            message = "CAREDESK_SECRET_KEY is the development default; set a long random value"
            if self.environment == "production":
                raise ValueError(message)
            if self.environment != "test":
                logging.getLogger("caredesk.settings").warning(message)
        return self
