"""The rules after the trained heads (configurable zh/en lexicons): complaint level and types from the
lexicon and the complaint-type heads, the hard rules that start an emergency by themselves (self-harm, fraud
or theft, physical safety, an outage), urgent phrases, emotion cues the head missed, a request for a person, and
messages that are no customer-service message at all. Every rule that fires is named in `doc.rules`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from caredesk.triage.doc import LabelScore, TriageDoc
from caredesk.triage.labels import (
    COMPLAINT_TYPES,
    ComplaintLevel,
    Emotion,
    ProblemType,
    Urgency,
    complaint_head,
    level_of_types,
)
from caredesk.triage.lexicon_files import (
    CUED_EMOTIONS,
    ComplaintLexicon,
    EmotionLexicon,
    HowToLexicon,
    UrgencyLexicon,
    read_lexicon,
)
from caredesk.triage.registry import Step, component

__all__ = ["Lexicons", "complaint_of", "emotion_cues_of", "hard_rules_of", "load_lexicons"]

HEAD_TYPE_THRESHOLD = 0.5  # a complaint-type head at or above this adds its type
HEAD_URGENT_THRESHOLD = 0.8  # ... and an external threat found by the head alone makes the message urgent
OUT_OF_SCOPE_THRESHOLD = 0.6
# Fraud, theft and threat phrases also turn up in long narratives that mention them in passing ("disputed as
# fraud", "the collector's lawyer"). A long text's opening (its first LONG_TEXT characters) is read as a short
# message is; past it, a fraud or theft phrase makes the message urgent only when the model gives urgent at least
# CORROBORATE_BELOW, and never starts the emergency response by itself: the label keeps the model's confidence
# and the gate decides (below it, a lead confirms). So does a threat anywhere in a long text. Self-harm, safety and
# outages always count.
CORROBORATE_BELOW = 0.25
LONG_TEXT = 160  # characters; shorter messages are about the one thing they say
_ALWAYS_HARD = ("self_harm", "safety", "outage")
EXTERNAL = ("regulator", "media", "lawsuit")
_PREVENTION_REACH = 30  # a prevention word counts in the hard-rule phrase's own clause, this many characters back
_MARKUP = re.compile(r"<\s*/?\s*[a-z][^>]*>", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_END = re.compile(r"[,.!?;:，。！？；：]")


@dataclass(frozen=True)
class Lexicons:
    complaint: dict[str, tuple[str, ...]]
    hard: dict[str, tuple[str, ...]]
    prevention: tuple[str, ...]
    urgent: tuple[str, ...]
    attention: tuple[str, ...]
    handoff: tuple[str, ...]
    emotion: dict[str, tuple[str, ...]]
    how_to_forms: tuple[str, ...] = ()
    how_to_framing: tuple[str, ...] = ()


def _phrases(values: list[str]) -> tuple[str, ...]:
    return tuple(p.lower() for p in values)


@lru_cache(maxsize=1)
def load_lexicons() -> Lexicons:
    """The shipped lexicons; a bad file fails whole, as an InvalidConfig naming file, line and field."""
    urgency = read_lexicon(UrgencyLexicon, "urgency.yaml")
    how_to = read_lexicon(HowToLexicon, "how_to.yaml")
    return Lexicons(
        complaint={t: _phrases(v.phrases) for t, v in read_lexicon(ComplaintLexicon, "complaint.yaml").types.items()},
        hard={k: _phrases(v) for k, v in urgency.hard.items()},
        prevention=_phrases(urgency.prevention),
        urgent=_phrases(urgency.urgent),
        attention=_phrases(urgency.attention),
        handoff=_phrases(urgency.handoff),
        emotion={k: _phrases(v) for k, v in read_lexicon(EmotionLexicon, "emotion.yaml").root.items()},
        how_to_forms=_phrases(how_to.forms),
        how_to_framing=_phrases(how_to.framing),
    )


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str] | None:
    """English phrases match whole words only ("issued" must not hit "sue"); Chinese has no word spaces."""
    if phrase.isascii() and any(ch.isalnum() for ch in phrase):
        return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")
    return None


def _positions(text: str, phrase: str) -> list[int]:
    if phrase not in text:  # a cheap necessary condition; the word-boundary regex only confirms
        return []
    pattern = _pattern(phrase)
    if pattern is None:
        return [m.start() for m in re.finditer(re.escape(phrase), text)]
    return [m.start() for m in pattern.finditer(text)]


def _hits(text: str, phrases: tuple[str, ...]) -> list[str]:
    return [p for p in phrases if _positions(text, p)]


def complaint_of(text: str, lex: Lexicons) -> dict[str, list[str]]:
    """Complaint type -> the phrases found, for one lower-cased, masked text."""
    return {kind: hits for kind, phrases in lex.complaint.items() if (hits := _hits(text, phrases))}


def _hard_hits(text: str, lex: Lexicons) -> dict[str, list[tuple[str, int]]]:
    """Hard rule -> (phrase, where it first occurs outside a prevention question)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for rule, phrases in lex.hard.items():
        for phrase in phrases:
            for start in _positions(text, phrase):
                # "how do i protect my account from fraud"; not "how do i stop it. yesterday … fraudulent"
                clause = _CLAUSE_END.split(text[max(0, start - _PREVENTION_REACH):start])[-1]
                if not any(p in clause for p in lex.prevention):
                    out.setdefault(rule, []).append((phrase, start))
                    break
    return out


def _phrases_by_rule(hits: dict[str, list[tuple[str, int]]]) -> dict[str, list[str]]:
    return {rule: [phrase for phrase, _ in found] for rule, found in hits.items()}


def hard_rules_of(text: str, lex: Lexicons) -> dict[str, list[str]]:
    """Hard rule -> the phrases found, leaving out those asked about in a prevention question."""
    return _phrases_by_rule(_hard_hits(text, lex))


def _set(score: LabelScore, label: str, reason: str, confidence: float | None = None) -> LabelScore:
    return replace(score, label=label, confidence=score.confidence if confidence is None else confidence,
                   reasons=(f"rule:{reason}", *score.reasons))


def _relabel(doc: TriageDoc, head: str, label: str, reason: str, confidence: float) -> None:
    """A rule sets a head's label: named in the rules and first among the head's reasons."""
    doc.rules.append(reason)
    doc.labels[head] = _set(doc.labels[head], label, reason, confidence)


def _complaint(doc: TriageDoc, text: str, lex: Lexicons) -> dict[str, str]:
    """Types with where each came from ("lexicon" or "model"); sets level and types on the doc."""
    found: dict[str, str] = {}
    for kind, hits in complaint_of(text, lex).items():
        found[kind] = "lexicon"
        doc.rules.append(f"complaint:{kind}:{','.join(hits)}")
    for kind in COMPLAINT_TYPES:
        signal = doc.signals.get(complaint_head(kind))
        if kind not in found and signal and signal.label == "1" and signal.confidence >= HEAD_TYPE_THRESHOLD:
            found[kind] = "model"
            doc.rules.append(f"complaint:{kind}:model({signal.confidence:.2f})")
    problem = doc.labels.get("problem_type")
    level = ComplaintLevel.COMPLAINT if problem and problem.label == ProblemType.COMPLAINT else ComplaintLevel.NONE
    doc.complaint_types = [k for k in COMPLAINT_TYPES if k in found]
    doc.complaint_level = max(level, level_of_types(doc.complaint_types))
    forcing = [k for k in doc.complaint_types if k != "repeated"]
    if forcing and problem and problem.label != ProblemType.COMPLAINT:
        doc.labels["problem_type"] = _set(problem, ProblemType.COMPLAINT.value, f"complaint:{','.join(forcing)}")
        doc.complaint_level = max(doc.complaint_level, ComplaintLevel.COMPLAINT)
    return found


def _urgency(doc: TriageDoc, text: str, lex: Lexicons, types: dict[str, str]) -> None:
    hits = _hard_hits(text, lex)
    hard = _phrases_by_rule(hits)
    if "self_harm" in types:
        hard["self_harm"] = [types["self_harm"]]
    urgency = doc.labels.get("urgency")
    if urgency is None:
        doc.hard_rules = sorted(hard)
        return
    p_urgent = dict(urgency.ranking).get(Urgency.URGENT.value, 0.0)
    long_text = len(doc.masked) >= LONG_TEXT
    corroborated = not long_text or p_urgent >= CORROBORATE_BELOW
    loose: list[str] = []  # phrases past a long text's opening: they set the label as `urgent` phrases do
    for rule in [r for r in hard if r not in _ALWAYS_HARD and min(at for _, at in hits[r]) >= LONG_TEXT]:
        phrases = hard.pop(rule)
        loose += phrases if corroborated else []
        doc.rules.append(f"{'unconfirmed' if corroborated else 'uncorroborated'}:{rule}:{','.join(phrases)}")
    doc.hard_rules = sorted(hard)
    threats = [k for k in EXTERNAL if types.get(k) == "lexicon"]
    model_threats = [k for k in EXTERNAL if types.get(k) == "model"
                     and doc.signals[complaint_head(k)].confidence >= HEAD_URGENT_THRESHOLD]
    if hard:
        why = ";".join(f"{rule}:{','.join(phrases)}" for rule, phrases in sorted(hard.items()))
        _relabel(doc, "urgency", Urgency.URGENT.value, f"urgent:{why}", 1.0)
    elif threats or model_threats:
        why = ",".join(threats + model_threats)
        _relabel(doc, "urgency", Urgency.URGENT.value, f"urgent:external_threat:{why}",
                 1.0 if threats and not long_text else p_urgent)
    elif (phrases := loose + _hits(text, lex.urgent)) and urgency.label != Urgency.URGENT:
        # the label follows the phrase; the confidence stays the model's, so the gate still weighs it
        _relabel(doc, "urgency", Urgency.URGENT.value, f"urgent:{','.join(phrases)}", p_urgent)
    elif urgency.label == Urgency.GENERAL and (phrases := _hits(text, lex.attention) + _exclamation(text)):
        _relabel(doc, "urgency", Urgency.ATTENTION.value, f"attention:{','.join(phrases)}",
                 dict(urgency.ranking).get(Urgency.ATTENTION.value, urgency.confidence))


def _exclamation(text: str) -> list[str]:
    """Heavy exclamation: three or more exclamation marks (NFKC has made ！ into !)."""
    return ["!!!"] if text.count("!") >= 3 else []


def _in_how_to(text: str, start: int, lex: Lexicons) -> bool:
    """The cue at `start` begins a how-to word (怎么办理) or follows an intention, hypothesis or request for
    information in its clause (我想开户怎么办, 如果到期了怎么办)."""
    if any(text.startswith(form, start) for form in lex.how_to_forms):
        return True
    clause = _CLAUSE_END.split(text[:start])[-1]
    return any(word in clause for word in lex.how_to_framing)


def emotion_cues_of(text: str, lex: Lexicons) -> dict[str, list[str]]:
    """Emotion -> the cues found in one lower-cased, masked text; an anxious cue counts only where it is no
    part of a how-to question."""
    out: dict[str, list[str]] = {}
    for emotion, cues in lex.emotion.items():
        found = [c for c in cues if any(emotion != Emotion.ANXIOUS or not _in_how_to(text, start, lex)
                                        for start in _positions(text, c))]
        if found:
            out[emotion] = found
    return out


def _emotion(doc: TriageDoc, text: str, lex: Lexicons) -> None:
    cues = emotion_cues_of(text, lex)
    current = doc.emotion.label
    for emotion in CUED_EMOTIONS:
        hits = cues.get(emotion)
        overrides = current == Emotion.NEUTRAL or (emotion == Emotion.ANGRY and current == Emotion.SATISFIED)
        if hits and overrides:
            doc.emotion = LabelScore(emotion, max(0.6, doc.emotion.confidence), doc.emotion.ranking,
                                     tuple(f"cue:{c}" for c in hits) + doc.emotion.reasons)
            doc.rules.append(f"emotion:{emotion}:{','.join(hits)}")
            return


def _scope(doc: TriageDoc, text: str, lex: Lexicons) -> None:
    doc.handoff = bool(handoff := _hits(text, lex.handoff))
    if handoff:
        doc.rules.append(f"handoff:{','.join(handoff)}")
    if doc.hard_rules or doc.complaint_level >= ComplaintLevel.REPEATED_OR_COMPENSATION or doc.handoff:
        return
    signal = doc.signals.get("out_of_scope")
    if _MARKUP.search(doc.masked):
        doc.out_of_scope = True
        doc.rules.append("out_of_scope:markup")
    elif signal and signal.label == "1" and signal.confidence >= OUT_OF_SCOPE_THRESHOLD:
        doc.out_of_scope = True
        doc.rules.append(f"out_of_scope:model({signal.confidence:.2f})")
    elif not _CJK.search(text) and doc.tokens and not doc.known_words:
        doc.out_of_scope = True
        doc.rules.append("out_of_scope:no_known_word")


@component("caredesk.lexicon_rules.v2", reads=("masked", "tokens", "labels", "signals"),
           writes=("labels", "emotion", "complaint_level", "rules", "hard_rules", "handoff", "out_of_scope"))
def make_lexicon_rules() -> Step:
    lex = load_lexicons()

    def rules(doc: TriageDoc) -> TriageDoc:
        text = doc.masked.lower()
        types = _complaint(doc, text, lex)
        _urgency(doc, text, lex, types)
        _emotion(doc, text, lex)
        _scope(doc, text, lex)
        return doc

    return rules
