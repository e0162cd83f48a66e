"""The outgoing compliance check: every reply to a customer is matched against sensitive-word and phrasing
rules (Chinese and English) before it is sent. A `block` hit keeps the reply from the customer and hands the
message to a human with the reason; a `warn` hit lets it go and records the warning.

Rules come from a YAML file (the bank's compliance team owns it; `outgoing_rules.yaml` next to this module
holds the defaults, CAREDESK_OUTGOING_RULES_PATH replaces them). All terms of all rules go into one
Aho-Corasick automaton (pyahocorasick), so a reply is scanned once whatever the number of terms.

Matching is on a normalised text so that trivial disguises do not pass: Unicode NFKC (full-width letters,
compatibility forms), case folded, zero-width characters dropped, whitespace dropped next to CJK characters
(保 本 保 息) and collapsed elsewhere. A term that starts with a Latin letter or digit must start a word
(`guaranteed return` matches "guaranteed returns" but not "unguaranteed return")."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from caredesk.config_files import BadField, ConfigModel, load_config

__all__ = ["OutgoingAction", "OutgoingCheck", "OutgoingChecker", "OutgoingRule", "OutgoingRulesFile", "RuleHit",
           "default_rules_path", "load_checker", "load_rules", "normalise"]

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


class OutgoingAction(StrEnum):
    BLOCK = "block"
    WARN = "warn"


@dataclass(frozen=True)
class OutgoingRule:
    id: str
    action: OutgoingAction
    reason: str  # in English (or the one text the file gives): logs, decision reasons, the API's `reason`
    terms: tuple[str, ...]
    # The rule's short name and its reason by language, for the people who read them on a page.
    names: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleHit:
    rule_id: str
    action: OutgoingAction
    term: str  # the rule's term as written in the rules file
    start: int  # where it was found in the original reply text
    end: int
    reason: str
    names: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingCheck:
    hits: tuple[RuleHit, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(h.action == OutgoingAction.BLOCK for h in self.hits)

    @property
    def action(self) -> str:
        """block | warn | pass."""
        return "block" if self.blocked else "warn" if self.hits else "pass"

    def reason(self) -> str:
        """One line for a work order or a decision reason: which rules, which words."""
        rules: dict[str, list[str]] = {}
        for h in self.hits:
            rules.setdefault(h.rule_id, [])
            if h.term not in rules[h.rule_id]:
                rules[h.rule_id].append(h.term)
        return "; ".join(f"{rule} ({', '.join(terms)})" for rule, terms in rules.items())

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action,
                "hits": [{"rule": h.rule_id, "action": h.action.value, "term": h.term, "start": h.start,
                          "end": h.end, "reason": h.reason, "names": dict(h.names), "reasons": dict(h.reasons)}
                         for h in self.hits]}


def _is_cjk(ch: str) -> bool:
    return ch > "\u2e7f"  # CJK and beyond: scripts written without spaces between words


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character."""
    out: list[str] = []
    where: list[int] = []
    pending_space: int | None = None
    for index, raw in enumerate(text):
        for ch in unicodedata.normalize("NFKC", raw).casefold():
            if ch in _ZERO_WIDTH:
                continue
            if ch.isspace():
                if out and pending_space is None:
                    pending_space = index
                continue
            if pending_space is not None:
                if not (_is_cjk(out[-1]) or _is_cjk(ch)):
                    out.append(" ")
                    where.append(pending_space)
                pending_space = None
            out.append(ch)
            where.append(index)
    return "".join(out), where


def _word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class OutgoingChecker:
    def __init__(self, rules: list[OutgoingRule]) -> None:
        import ahocorasick

        self.rules = tuple(rules)
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[OutgoingRule, str]]] = {}
        for rule in rules:
            for term in rule.terms:
                key, _ = normalise(term)
                if key:
                    entries.setdefault(key, []).append((rule, term))
        for key, owners in entries.items():
            self._automaton.add_word(key, (key, tuple(owners)))
        self._empty = not entries
        if not self._empty:
            self._automaton.make_automaton()

    def check(self, text: str) -> OutgoingCheck:
        if self._empty or not text:
            return OutgoingCheck()
        folded, where = normalise(text)
        found: dict[tuple[str, int], RuleHit] = {}  # per rule and start: the longest term (稳赚不赔 over 稳赚)
        for end, (key, owners) in self._automaton.iter(folded):
            start = end - len(key) + 1
            if _word_char(key[0]) and start > 0 and _word_char(folded[start - 1]):
                continue  # inside another word
            for rule, term in owners:
                hit = RuleHit(rule.id, rule.action, term, where[start], where[end] + 1, rule.reason, rule.names,
                              rule.reasons)
                known = found.get((rule.id, start))
                if known is None or hit.end > known.end:
                    found[(rule.id, start)] = hit
        hits = sorted(found.values(), key=lambda h: (h.action != OutgoingAction.BLOCK, h.start))
        return OutgoingCheck(tuple(hits))


def default_rules_path() -> Path:
    return Path(str(resources.files("caredesk.compliance").joinpath("outgoing_rules.yaml")))


def _not_blank(term: str) -> str:
    if not term.strip():
        raise ValueError("a term must not be blank")
    return term


Term = Annotated[str, AfterValidator(_not_blank)]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Language = Literal["zh", "en"]


def _by_language(value: str | dict[Language, Text]) -> dict[str, str]:
    """A text by language; one plain text stands for every language."""
    return {"zh": value, "en": value} if isinstance(value, str) else {k: v for k, v in value.items() if v}


def _in_english(texts: Mapping[str, str], default: str) -> str:
    return texts.get("en") or next(iter(texts.values()), default)


class RuleSpec(ConfigModel):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    action: OutgoingAction
    # Shown to the agent whose reply a rule stopped: a short name and why, plain or by language ({zh:, en:}).
    name: Text | dict[Language, Text] = ""
    reason: Text | dict[Language, Text] = ""
    # A list, or lists by language ({zh: [...], en: [...]}).
    terms: Annotated[list[Term], Field(min_length=1)] | dict[str, Annotated[list[Term], Field(min_length=1)]]

    def to_rule(self) -> OutgoingRule:
        terms = self.terms if isinstance(self.terms, list) else [t for group in self.terms.values() for t in group]
        names = _by_language(self.name) if self.name else {"zh": self.id, "en": self.id}
        reasons = _by_language(self.reason) if self.reason else {}
        return OutgoingRule(self.id, self.action, _in_english(reasons, ""), tuple(terms), names, reasons)


class OutgoingRulesFile(ConfigModel):
    version: Literal[1] = 1
    rules: list[RuleSpec]

    @model_validator(mode="after")
    def _ids_unique(self) -> OutgoingRulesFile:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in seen:
                raise BadField(("rules", i, "id"), f"duplicate rule id {rule.id!r} (ids are recorded with hits)")
            seen.add(rule.id)
        return self


def load_rules(path: Path, file: str | None = None) -> list[OutgoingRule]:
    """Rules from a YAML file; an invalid file is refused whole (InvalidConfig), never half-applied."""
    return [rule.to_rule() for rule in load_config(OutgoingRulesFile, path, file).rules]


@cache
def _default_checker() -> OutgoingChecker:
    return OutgoingChecker(load_rules(default_rules_path(), "outgoing_rules.yaml"))


def load_checker(path: Path | None = None) -> OutgoingChecker:
    """The checker for a rules file (None: the shipped defaults, built once per process)."""
    return _default_checker() if path is None else OutgoingChecker(load_rules(path))
