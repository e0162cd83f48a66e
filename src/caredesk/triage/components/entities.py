"""Amounts, dates and account/order numbers by pattern (v1); names and places come with issue 3."""

from __future__ import annotations

import re

from caredesk.triage.doc import Entity, TriageDoc
from caredesk.triage.registry import Step, component

_PATTERNS = (
    ("amount", re.compile(r"(?:[¥$￥]|RMB|CNY|USD)\s?\d[\d,]*(?:\.\d+)?"
                          r"|\d[\d,]*(?:\.\d+)?\s?(?:元|块|万元|万|dollars|yuan)")),
    ("date", re.compile(r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?|\d{1,2}月\d{1,2}[日号]"
                        r"|(?:yesterday|today|昨天|今天|前天)")),
    ("order_no", re.compile(r"(?:订单号?|order\s?(?:no\.?|number|#))\s*[:：]?\s*[A-Za-z0-9-]{6,}", re.IGNORECASE)),
)


@component("caredesk.entities.v1", reads=("masked",), writes=("entities",))
def make_entities() -> Step:
    def entities(doc: TriageDoc) -> TriageDoc:
        for kind, pattern in _PATTERNS:
            doc.entities.extend(Entity(kind, m.group(), m.start(), m.end()) for m in pattern.finditer(doc.masked))
        return doc

    return entities
