"""Masks PII before anything else reads the text: later steps, storage and logs see only `masked` (what the
model reads) and `display` (what people are shown: the customer's punctuation kept)."""

from __future__ import annotations

from caredesk.compliance.masking import mask_text
from caredesk.text.normalise import fold_width
from caredesk.triage.doc import Entity, TriageDoc
from caredesk.triage.registry import Step, component


@component("caredesk.pii.v1", reads=("text", "normalized"), writes=("masked", "display", "entities"))
def make_pii() -> Step:
    def pii(doc: TriageDoc) -> TriageDoc:
        doc.display = mask_text(fold_width(doc.text))[0]
        doc.masked, found = mask_text(doc.normalized)
        doc.entities.extend(Entity(m.kind, m.masked, m.start, m.end) for m in found)
        return doc

    return pii
