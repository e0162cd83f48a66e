"""Problem topics that have their own on-call roster (card fraud: the card centre and the fraud team, not
the content type's customer-service leads). The file is a strict schema (`topics.yaml`); the match is pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import Field, model_validator

from caredesk.config_files import BadField, ConfigModel, Name, load_config

__all__ = ["TOPIC_PREFIX", "Topic", "TopicsFile", "load_topics", "topic_of", "topic_roster"]

# Roster lines of a topic are stored under this prefix and the topic's name (the roster key column also holds
# content types and `complaint_escalation`): a topic can never collide with a content type.
TOPIC_PREFIX = "topic:"
_ROSTER_KEY_LENGTH = 32  # oncall_entry.content_type


@dataclass(frozen=True)
class Topic:
    name: str
    phrases: tuple[str, ...]
    hard_rules: frozenset[str]
    words: tuple[str, ...]

    def applies(self, text: str, hard_rules: Iterable[str]) -> bool:
        lowered = text.lower()
        if any(p in lowered for p in self.phrases):
            return True
        return bool(self.hard_rules & set(hard_rules)) and any(w in lowered for w in self.words)


class TopicSpec(ConfigModel):
    name: Name = Field(max_length=_ROSTER_KEY_LENGTH - len(TOPIC_PREFIX), pattern=r"^[a-z][a-z0-9_]*$")
    title_zh: Name
    title_en: Name
    phrases: tuple[Name, ...] = ()
    hard_rules: tuple[Name, ...] = ()
    words: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _can_match(self) -> TopicSpec:
        if not self.phrases and not (self.hard_rules and self.words):
            raise ValueError("a topic needs phrases, or hard_rules together with words")
        return self


class TopicsFile(ConfigModel):
    topics: tuple[TopicSpec, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> TopicsFile:
        seen: set[str] = set()
        for i, topic in enumerate(self.topics):
            if topic.name in seen:
                raise BadField(("topics", i, "name"), f"topic names must be unique ({topic.name!r} twice)")
            seen.add(topic.name)
        return self

    def to_topics(self) -> tuple[Topic, ...]:
        return tuple(Topic(t.name, tuple(p.lower() for p in t.phrases), frozenset(t.hard_rules),
                           tuple(w.lower() for w in t.words)) for t in self.topics)


def load_topics(path: Path | None = None) -> tuple[Topic, ...]:
    """The topics of `path`, or the shipped emergency/topics.yaml."""
    if path is not None:
        return load_config(TopicsFile, path).to_topics()
    shipped = resources.files("caredesk.emergency").joinpath("topics.yaml")
    return load_config(TopicsFile, shipped, "emergency/topics.yaml").to_topics()


def topic_of(text: str, hard_rules: Iterable[str], topics: Iterable[Topic]) -> str | None:
    """The first topic (in file order) that applies to the message, or None."""
    rules = tuple(hard_rules)
    return next((t.name for t in topics if t.applies(text, rules)), None)


def topic_roster(topic: str) -> str:
    """The roster key of a topic's on-call lines."""
    return f"{TOPIC_PREFIX}{topic}"
