"""Topic (business intent) and product of a message, from the configurable phrase lists in
`triage/lexicons/topics.yaml`: one Aho-Corasick pass over the masked, lower-cased text finds every phrase of every
topic and product; the longest phrase found wins (a Latin word counting as two characters), a tie goes to the
entry written first (the file's header says
why). A topic may name the product it implies when the text names none."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from caredesk.triage.doc import TriageDoc
from caredesk.triage.lexicon_files import TopicLexicon, read_lexicon
from caredesk.triage.registry import Step, component

if TYPE_CHECKING:
    import ahocorasick

__all__ = ["TopicMatch", "TopicMatcher", "load_topic_matcher", "weight"]


@dataclass(frozen=True, slots=True)
class TopicMatch:
    topic: str | None
    product: str | None
    topic_phrase: str | None = None  # the phrase that decided, as the file writes it (the explanation's reason)
    product_phrase: str | None = None


@dataclass(frozen=True, slots=True)
class _Owner:
    group: int  # 0 topic, 1 product
    name: str
    rank: int  # the entry's place in its group (ties: the first wins)
    phrase: str  # as written
    prefix: bool  # `transfer*`: the match may run on into the word
    weight: int  # see `weight`


def _word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def weight(phrase: str) -> int:
    """How specific a phrase is: its length, with a word in Latin letters or digits counted as two characters
    (about a Chinese word), so that "fee for" (4) outweighs "transfer*" (2) and 手续费 (3) outweighs 转账 (2)."""
    latin = _LATIN_WORD.findall(phrase)
    return len(_LATIN_WORD.sub("", phrase).replace(" ", "").replace("*", "")) + 2 * len(latin)


class TopicMatcher:
    def __init__(self, lexicon: TopicLexicon) -> None:
        import ahocorasick

        self.lexicon = lexicon
        self._implied = {name: entry.product for name, entry in lexicon.topics.items()}
        self._automaton: ahocorasick.Automaton = ahocorasick.Automaton()
        keys: dict[str, list[_Owner]] = {}
        for group, entries in enumerate((lexicon.topics, lexicon.products)):
            for rank, (name, entry) in enumerate(entries.items()):
                for phrase in entry.phrases:
                    raw = phrase.strip().lower()
                    key = raw.rstrip("*")
                    keys.setdefault(key, []).append(_Owner(group, name, rank, phrase, raw.endswith("*"), weight(key)))
        for key, owners in keys.items():
            self._automaton.add_word(key, (key, tuple(owners)))
        self._automaton.make_automaton()

    def match(self, text: str) -> TopicMatch:
        """`text`: the normalised, masked text (lower-cased here)."""
        folded = text.lower()
        best: list[tuple[int, int, _Owner] | None] = [None, None]  # per group: (-weight, rank, owner), least wins
        for end, (key, owners) in self._automaton.iter(folded):
            start = end - len(key) + 1
            latin = _word(key[0])
            if latin and start > 0 and _word(folded[start - 1]):
                continue  # inside another word
            runs_on = _word(key[-1]) and end + 1 < len(folded) and _word(folded[end + 1])
            for owner in owners:
                if latin and runs_on and not owner.prefix:
                    continue  # "fee" in "feel"
                candidate = (-owner.weight, owner.rank, owner)
                current = best[owner.group]
                if current is None or candidate[:2] < current[:2]:
                    best[owner.group] = candidate
        topic, product = best
        product_name = product[2].name if product else None
        implied = self._implied.get(topic[2].name) if topic else None
        return TopicMatch(topic[2].name if topic else None, product_name or implied,
                          topic[2].phrase if topic else None,
                          product[2].phrase if product else (f"topic:{topic[2].name}" if implied and topic else None))

    def titles(self, language: str) -> dict[str, str]:
        """Topic and product name -> its title in `language` (zh or en), for the pages and reports."""
        entries = {**self.lexicon.topics, **self.lexicon.products}
        return {name: entry.title_zh if language == "zh" else entry.title_en for name, entry in entries.items()}


@lru_cache(maxsize=1)
def load_topic_matcher() -> TopicMatcher:
    """The shipped topics.yaml; a bad file fails whole, as an InvalidConfig naming file, line and field."""
    return TopicMatcher(read_lexicon(TopicLexicon, "topics.yaml"))


@component("caredesk.topics.v1", reads=("masked",), writes=("topic", "product", "topic_reasons"))
def make_topics() -> Step:
    matcher = load_topic_matcher()

    def topics(doc: TriageDoc) -> TriageDoc:
        found = matcher.match(doc.masked)
        doc.topic, doc.product = found.topic, found.product
        doc.topic_reasons = tuple(f"{kind}:{name}:{phrase}" for kind, name, phrase in
                                  (("topic", found.topic, found.topic_phrase),
                                   ("product", found.product, found.product_phrase)) if name and phrase)
        return doc

    return topics
