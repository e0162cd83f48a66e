"""Configurable zh/en lexicons: complaint level and types, urgent phrases that override the classifier,
and emotion cues. Every rule that fires is named in the explanation."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from caredesk.triage.doc import LabelScore, TriageDoc
from caredesk.triage.labels import ComplaintLevel, ProblemType, Urgency
from caredesk.triage.registry import Step, component

__all__ = ["Lexicons", "complaint_of", "load_lexicons"]


@dataclass(frozen=True)
class Lexicons:
    complaint: dict[str, tuple[int, tuple[str, ...]]]
    urgent: tuple[str, ...]
    emotion: dict[str, tuple[str, ...]]


def _yaml(name: str) -> Any:
    return yaml.safe_load(resources.files("caredesk.triage").joinpath(f"lexicons/{name}").read_text("utf-8"))


@lru_cache(maxsize=1)
def load_lexicons() -> Lexicons:
    complaint = {t: (int(v["level"]), tuple(str(p).lower() for p in v["phrases"]))
                 for t, v in _yaml("complaint.yaml")["types"].items()}
    urgent = tuple(str(p).lower() for p in _yaml("urgency.yaml")["urgent"])
    emotion = {k: tuple(str(p).lower() for p in v) for k, v in _yaml("emotion.yaml").items()}
    return Lexicons(complaint, urgent, emotion)


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str] | None:
    """English phrases match whole words only ("issued" must not hit "sue"); Chinese has no word spaces."""
    if phrase.isascii() and any(ch.isalnum() for ch in phrase):
        return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")
    return None


def _hits(text: str, phrases: tuple[str, ...]) -> list[str]:
    hits = []
    for phrase in phrases:
        if phrase not in text:  # a cheap necessary condition; the word-boundary regex only confirms
            continue
        pattern = _pattern(phrase)
        if pattern is None or pattern.search(text):
            hits.append(phrase)
    return hits


def complaint_of(text: str, problem_type: str, lex: Lexicons) -> tuple[int, list[str], list[str]]:
    """(level, types, matched phrases) for one lower-cased, masked text."""
    level = ComplaintLevel.COMPLAINT if problem_type == ProblemType.COMPLAINT else ComplaintLevel.NONE
    types: list[str] = []
    matched: list[str] = []
    for kind, (kind_level, phrases) in lex.complaint.items():
        hits = _hits(text, phrases)
        if hits:
            types.append(kind)
            matched.extend(hits)
            level = max(level, kind_level)
    return level, types, matched


@component("caredesk.lexicon_rules.v1", reads=("masked", "labels"), writes=("labels", "emotion", "complaint_level"))
def make_lexicon_rules() -> Step:
    lex = load_lexicons()

    def rules(doc: TriageDoc) -> TriageDoc:
        text = doc.masked.lower()
        problem = doc.labels.get("problem_type")
        doc.complaint_level, doc.complaint_types, matched = complaint_of(text, problem.label if problem else "", lex)
        if doc.complaint_level >= ComplaintLevel.EXTERNAL_THREAT and problem and problem.label != ProblemType.COMPLAINT:
            doc.labels["problem_type"] = replace(problem, label=ProblemType.COMPLAINT.value,
                                                 reasons=(*problem.reasons, f"rule:complaint:{','.join(matched)}"))
        urgent_hits = _hits(text, lex.urgent)
        if doc.complaint_level >= ComplaintLevel.SAFETY:
            urgent_hits.append("complaint_level:safety")
        urgency = doc.labels.get("urgency")
        if urgency and urgent_hits and urgency.label != Urgency.URGENT:
            doc.labels["urgency"] = replace(urgency, label=Urgency.URGENT.value,
                                            reasons=(f"rule:urgent:{','.join(urgent_hits)}", *urgency.reasons))
        elif urgency and doc.complaint_level >= ComplaintLevel.EXTERNAL_THREAT and urgency.label == Urgency.GENERAL:
            doc.labels["urgency"] = replace(urgency, label=Urgency.ATTENTION.value,
                                            reasons=("rule:external_threat", *urgency.reasons))
        scores = {emotion: len(_hits(text, cues)) for emotion, cues in lex.emotion.items()}
        best = max(scores, key=lambda k: scores[k]) if any(scores.values()) else "neutral"
        cues = _hits(text, lex.emotion.get(best, ()))
        doc.emotion = LabelScore(best, 1.0 if best == "neutral" else min(1.0, 0.5 + 0.15 * len(cues)),
                                 reasons=tuple(f"cue:{c}" for c in cues))
        return doc

    return rules
