"""Full-width to half-width (NFKC) and folded white space; traditional Chinese is left as is in v1."""

from __future__ import annotations

import re
import unicodedata

from caredesk.triage.doc import TriageDoc
from caredesk.triage.registry import Step, component

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


@component("caredesk.normalise.v1", reads=("text",), writes=("normalized",))
def make_normalise() -> Step:
    def normalise(doc: TriageDoc) -> TriageDoc:
        doc.normalized = normalise_text(doc.text)
        return doc

    return normalise
