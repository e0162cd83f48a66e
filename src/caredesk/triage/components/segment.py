"""The segment step: the masked text's word tokens (caredesk.text.segment)."""

from __future__ import annotations

from caredesk.text.segment import tokenize
from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component

__all__ = ["tokenize"]


@component("caredesk.segment.v1", reads=("masked",), writes=("tokens",))
def make_segment() -> Step:
    def segment(doc: TriageDoc) -> TriageDoc:
        doc.tokens = tokenize(doc.masked)
        return doc

    return segment
