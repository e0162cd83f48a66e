"""What a valid macro (canned reply) is: one definition for the API body and the workbench form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MacroFields"]


class MacroFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    body_zh: str = Field(min_length=1, max_length=10_000)
    body_en: str = Field(min_length=1, max_length=10_000)
