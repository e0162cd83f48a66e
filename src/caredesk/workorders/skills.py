"""The skills a work order needs, recognised from its masked text with a configurable lexicon; skills-based
routing matches them against skill groups and agents. Pure apart from loading the lexicon file once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ConfigDict, RootModel

from caredesk.config_files import Name, Word, load_config

__all__ = ["SkillLexicon", "SkillsFile", "load_skill_lexicon"]


class SkillLexicon:
    def __init__(self, words: Mapping[str, list[str]]) -> None:
        self._words = {skill: tuple(w.lower() for w in ws) for skill, ws in words.items()}

    def skills_in(self, text: str) -> frozenset[str]:
        lowered = text.lower()
        return frozenset(skill for skill, words in self._words.items() if any(w in lowered for w in words))


class SkillsFile(RootModel[dict[Name, list[Word]]]):
    """skills.yaml: skill -> the words (Chinese and English) that show a work order needs it."""

    model_config = ConfigDict(frozen=True)


@lru_cache(maxsize=4)
def load_skill_lexicon(path: Path | None = None) -> SkillLexicon:
    source = path or resources.files("caredesk.workorders").joinpath("skills.yaml")
    return SkillLexicon(load_config(SkillsFile, source, None if path else "skills.yaml").root)
