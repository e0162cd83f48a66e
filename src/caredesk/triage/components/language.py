"""Language by script: the share of CJK ideographs among letters decides zh, en or mixed."""

from __future__ import annotations

import re

from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component

_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN = re.compile("[A-Za-z]")


def detect_language(text: str) -> str:
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
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
