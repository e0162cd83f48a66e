"""The triage lexicons (`triage/lexicons/*.yaml`) as strict schemas, so a typo in a phrase list fails the
whole lexicon with file, line and field instead of a KeyError or a rule that silently never fires. The files
keep phrases as written; `lexicon_rules.load_lexicons` lower-cases them."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel, model_validator

from caredesk.config_files import BadField, ConfigModel, Name, Word, load_config
from caredesk.triage.labels import COMPLAINT_TYPES, Emotion

__all__ = ["CUED_EMOTIONS", "LEXICON_FILES", "ComplaintLexicon", "ComplaintTypeLexicon", "EmotionLexicon",
           "HowToLexicon", "TopicEntry", "TopicLexicon", "UrgencyLexicon", "lexicon_label", "read_lexicon"]

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


# A topic's or product's name is stored in triage_result.topic / .product (48 characters) and in the roll-ups.
TopicName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)]


class TopicEntry(ConfigModel):
    """A topic or a product: its titles and phrases (a trailing `*` matches any word starting with it)."""

    title_zh: Name
    title_en: Name
    phrases: Annotated[Phrases, Field(min_length=1)]
    product: TopicName | None = None  # topics only: the product when the message names none


def _phrase_key(phrase: str) -> str:
    return phrase.strip().lower()


class TopicLexicon(ConfigModel):
    """topics.yaml: topics (business intent) and products, each name -> titles and phrases."""

    topics: dict[TopicName, TopicEntry]
    products: dict[TopicName, TopicEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> TopicLexicon:
        for group, entries in (("topics", self.topics), ("products", self.products)):
            owner: dict[str, str] = {}
            for name, entry in entries.items():
                if group == "products" and entry.product is not None:
                    raise BadField((group, name, "product"), "only a topic names a product")
                if entry.product is not None and entry.product not in self.products:
                    raise BadField((group, name, "product"), f"unknown product {entry.product!r} "
                                                             f"(known: {', '.join(self.products) or 'none'})")
                for i, phrase in enumerate(entry.phrases):
                    key = _phrase_key(phrase)
                    if not key.rstrip("*"):
                        raise BadField((group, name, "phrases", i), "a phrase must not be blank")
                    if owner.get(key, name) != name:
                        raise BadField((group, name, "phrases", i), f"{phrase!r} is already a phrase of "
                                                                    f"{owner[key]!r}: a phrase has one owner")
                    owner[key] = name
        return self


LEXICON_FILES: dict[str, type[BaseModel]] = {
    "complaint.yaml": ComplaintLexicon, "emotion.yaml": EmotionLexicon, "how_to.yaml": HowToLexicon,
    "topics.yaml": TopicLexicon, "urgency.yaml": UrgencyLexicon}


def lexicon_label(name: str) -> str:
    """How errors and `caredesk config validate` name a shipped lexicon."""
    return f"triage/lexicons/{name}"


def read_lexicon(model: type[M], name: str) -> M:
    """A shipped lexicon file, validated; a mistake is an InvalidConfig with file, line and field path."""
    source = resources.files("caredesk.triage").joinpath(f"lexicons/{name}")
    return load_config(model, source, lexicon_label(name))
