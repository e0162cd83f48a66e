"""The triage lexicons (`triage/lexicons/*.yaml`) as strict schemas, so a typo in a phrase list fails the
whole lexicon with file, line and field instead of a KeyError or a rule that silently never fires. The files
keep phrases as written; `lexicon_rules.load_lexicons` lower-cases them."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel

from caredesk.config_files import ConfigModel, Word, load_config
from caredesk.triage.labels import COMPLAINT_TYPES, Emotion

__all__ = ["CUED_EMOTIONS", "LEXICON_FILES", "ComplaintLexicon", "ComplaintTypeLexicon", "EmotionLexicon",
           "HowToLexicon", "UrgencyLexicon", "lexicon_label", "read_lexicon"]

M = TypeVar("M", bound=BaseModel)

# The emotions a cue can set, in the order they are tried (anger first: it also overrules "satisfied").
CUED_EMOTIONS: tuple[str, ...] = (Emotion.ANGRY.value, Emotion.ANXIOUS.value, Emotion.SATISFIED.value)


def _none_as_empty(value: object) -> object:
    return [] if value is None else value  # `urgent:` with nothing after it: no phrases


def _complaint_type(name: str) -> str:
    if name not in COMPLAINT_TYPES:
        raise ValueError(f"unknown complaint type {name!r} (known: {', '.join(COMPLAINT_TYPES)})")
    return name


def _cued_emotion(name: str) -> str:
    if name not in CUED_EMOTIONS:
        raise ValueError(f"no cues for emotion {name!r} (cued: {', '.join(CUED_EMOTIONS)})")
    return name


Phrases = Annotated[list[Word], BeforeValidator(_none_as_empty)]  # "a valid list" in errors, as YAML calls it
ComplaintType = Annotated[str, AfterValidator(_complaint_type)]
CuedEmotion = Annotated[str, AfterValidator(_cued_emotion)]
# A hard rule's name is stored in `hard_rules`, written into rule explanations (`urgent:fraud:...`) and named by
# emergency topics (`emergency/topics.yaml`).
RuleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ComplaintTypeLexicon(ConfigModel):
    phrases: Phrases


class ComplaintLexicon(ConfigModel):
    """complaint.yaml: complaint type (one of labels.COMPLAINT_TYPES) -> its phrases."""

    types: dict[ComplaintType, ComplaintTypeLexicon]


class EmotionLexicon(RootModel[dict[CuedEmotion, Phrases]]):
    """emotion.yaml: emotion -> the cues that overrule a neutral reading by the trained head."""

    model_config = ConfigDict(frozen=True)


class UrgencyLexicon(ConfigModel):
    """urgency.yaml: the hard rules (name -> phrases), the prevention words that disarm them, and the urgent,
    attention and hand-off phrases."""

    hard: dict[RuleName, Phrases]
    prevention: Phrases
    urgent: Phrases
    attention: Phrases
    handoff: Phrases


class HowToLexicon(ConfigModel):
    """how_to.yaml: the forms and framings that make a worry cue (怎么办) part of a how-to question."""

    forms: Phrases
    framing: Phrases


LEXICON_FILES: dict[str, type[BaseModel]] = {
    "complaint.yaml": ComplaintLexicon, "emotion.yaml": EmotionLexicon, "how_to.yaml": HowToLexicon,
    "urgency.yaml": UrgencyLexicon}


def lexicon_label(name: str) -> str:
    """How errors and `caredesk config validate` name a shipped lexicon."""
    return f"triage/lexicons/{name}"


def read_lexicon(model: type[M], name: str) -> M:
    """A shipped lexicon file, validated; a mistake is an InvalidConfig with file, line and field path."""
    source = resources.files("caredesk.triage").joinpath(f"lexicons/{name}")
    return load_config(model, source, lexicon_label(name))
