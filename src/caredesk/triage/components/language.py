"""Language by script: the share of CJK ideographs among letters decides zh, en or mixed."""

from __future__ import annotations

from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component


def detect_language(text: str) -> str:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk == 0 and latin == 0:
        return "und"
    # A Chinese character carries about as much as a three-letter English word.
    share = cjk / (cjk + latin / 3)
    if share >= 0.7:
        return "zh"
    if share <= 0.2:
        return "en"
    return "mixed"


@component("caredesk.language.v1", reads=("normalized",), writes=("language",))
def make_language() -> Step:
    def language(doc: TriageDoc) -> TriageDoc:
        doc.language = detect_language(doc.normalized)
        return doc

    return language
