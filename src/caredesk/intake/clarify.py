"""Clarifying questions, as pure functions: the options offered when the best knowledge matches are too close to
tell apart, the question put to the customer, the state kept on the conversation until the next message, and
how that message resolves it (a number, an ordinal in Chinese or English, or text that finds one option)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caredesk.knowledge.match import KbMatch
from caredesk.text.normalise import normalise_text

__all__ = ["TEXT_CHOICE_MIN_SCORE", "ClarifyOption", "clarifying_question", "options_from", "options_of",
           "parse_choice", "pending_state", "resolve_choice"]


@dataclass(frozen=True)
class ClarifyOption:
    index: int  # 1-based, as shown to the customer
    entry_id: str
    version: int
    question: str
    score: float


def options_from(matches: Sequence[KbMatch]) -> tuple[ClarifyOption, ...]:
    return tuple(ClarifyOption(i, m.entry_id, m.version, m.question, m.score) for i, m in enumerate(matches, 1))


def clarifying_question(options: Sequence[ClarifyOption], language: str) -> str:
    lines = [f"{o.index}. {o.question}" for o in options]
    if language == "zh":
        return "\n".join(["您想咨询的是以下哪一项？", *lines, "请回复序号，或直接描述您的问题。"])
    return "\n".join(["Which of these do you mean?", *lines, "Reply with the number, or tell us more."])


def pending_state(options: Sequence[ClarifyOption], *, message_id: str, asked_at: datetime) -> dict[str, Any]:
    """What `Conversation.pending_clarification` holds until the customer's next message."""
    return {"message_id": message_id, "asked_at": asked_at.isoformat(),
            "options": [{"index": o.index, "entry_id": o.entry_id, "version": o.version, "question": o.question,
                         "score": o.score} for o in options]}


def options_of(pending: Mapping[str, Any] | None) -> tuple[ClarifyOption, ...]:
    """The options of a stored state; empty when there is none or it is malformed."""
    if not pending:
        return ()
    out = []
    for raw in pending.get("options") or ():
        try:
            out.append(ClarifyOption(int(raw["index"]), str(raw["entry_id"]), int(raw["version"]),
                                     str(raw.get("question", "")), float(raw.get("score", 0.0))))
        except (KeyError, TypeError, ValueError):
            return ()
    return tuple(out)


TEXT_CHOICE_MIN_SCORE = 0.2  # a reply's best match must be at least this plausible to count as picking it

_ZH_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "壹": 1, "贰": 2, "叁": 3}
_EN_ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3,
                "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5}
_EN_FILLER = frozenset({"the", "a", "an", "one", "option", "number", "no", "choice", "i", "mean", "meant", "want",
                        "it's", "its", "is", "it", "that", "please", "pls", "ok", "okay", "yes", "choose", "pick",
                        "take", "go", "with", "for", "me", "my", "question", "answer", "item", "#"})
_ZH_CHOICE = re.compile(r"^(?:我(?:想|要)?(?:问|咨询|选|选择|是)?的?(?:是)?|选|选择|就|是)?第?([一二两三四五壹贰叁]|\d)"
                        r"(?:个|项|条|种|号|个问题)?(?:吧|的|啊|呀|。|！|!)*$")
_DIGIT = re.compile(r"^\D{0,12}?(\d)\D{0,12}$")


def parse_choice(text: str, count: int) -> int | None:
    """The option number a short reply names ("2", "第二个", "选2", "the second one", "option 2", "前者", "the
    last one"), or None. Long messages are never read as a choice: "I have 2 cards that…" is a new question."""
    if count <= 0:
        return None
    t = normalise_text(text).lower().strip(" .。!！?？,，")
    if not t or len(t) > 24:
        return None
    choice: int | None = None
    if t in ("前者", "前一个", "上面那个", "former") and count >= 1:
        choice = 1
    elif t in ("后者", "后一个", "最后一个", "最后那个", "latter", "last", "the last", "the last one", "last one"):
        choice = count
    elif m := _ZH_CHOICE.match(t):
        g = m.group(1)
        choice = int(g) if g.isdigit() else _ZH_NUMBERS.get(g)
    else:
        words = re.findall(r"[a-z0-9#']+", t)
        named = [_EN_ORDINALS[w] for w in words if w in _EN_ORDINALS]
        if len(named) > 1 and "one" in words:  # "the second one": "one" is the noun, not the number
            named = [_EN_ORDINALS[w] for w in words if w in _EN_ORDINALS and w != "one"]
        digits = [int(w.lstrip("#")) for w in words if w.lstrip("#").isdigit()]
        rest = [w for w in words if w not in _EN_ORDINALS and not w.lstrip("#").isdigit() and w not in _EN_FILLER]
        if words and not rest and len(named) + len(digits) == 1:
            choice = (named or digits)[0]
        elif not words and (m := _DIGIT.match(t)):
            choice = int(m.group(1))
    return choice if choice is not None and 1 <= choice <= count else None


def resolve_choice(text: str, options: Sequence[ClarifyOption], matches: Sequence[KbMatch]) -> ClarifyOption | None:
    """The option the customer's reply picks: by number or ordinal; else when the reply's best knowledge match
    (searched over every entry) is one of the options, with a confidence of at least TEXT_CHOICE_MIN_SCORE;
    else when the reply is part of exactly one option's question ("交易密码"). None: the reply is something else,
    to be handled as a new question."""
    if not options:
        return None
    number = parse_choice(text, len(options))
    if number is not None:
        return next((o for o in options if o.index == number), None)
    by_id = {o.entry_id: o for o in options}
    if matches and matches[0].entry_id in by_id and matches[0].score >= TEXT_CHOICE_MIN_SCORE:
        return by_id[matches[0].entry_id]
    t = normalise_text(text).lower().strip(" .。!！?？,，")
    if len(t) >= 2:
        containing = [o for o in options if t in normalise_text(o.question).lower()]
        if len(containing) == 1:
            return containing[0]
    return None
