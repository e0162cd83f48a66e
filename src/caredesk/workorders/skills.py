"""The skills a work order needs, recognised from its masked text with a configurable lexicon; skills-based
routing matches them against skill groups and agents. Pure apart from loading the lexicon file once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from caredesk.errors import InvalidFile

__all__ = ["SkillLexicon", "load_skill_lexicon"]


class SkillLexicon:
    def __init__(self, words: Mapping[str, list[str]]) -> None:
        self._words = {skill: tuple(w.lower() for w in ws) for skill, ws in words.items()}

    def skills_in(self, text: str) -> frozenset[str]:
        lowered = text.lower()
        return frozenset(skill for skill, words in self._words.items() if any(w in lowered for w in words))


def _parse(raw: object, source: str) -> SkillLexicon:
    if not isinstance(raw, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(w, str | int) and str(w) for w in v)
            for k, v in raw.items()):
        raise InvalidFile(f"{source}: a skill lexicon maps each skill to a list of words")
    return SkillLexicon({k: [str(w) for w in v] for k, v in raw.items()})


@lru_cache(maxsize=4)
def load_skill_lexicon(path: Path | None = None) -> SkillLexicon:
    text = path.read_text(encoding="utf-8") if path else \
        resources.files("caredesk.workorders").joinpath("skills.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text), str(path or "skills.yaml"))
