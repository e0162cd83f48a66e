"""Recognising a status question the order system or the logistics tracker can answer: an order number or a
tracking number, and words asking where it is or how it stands ("我的订单 123456 到哪了", "where is my order
123456", "快递单号 SF1234567890 到哪了"). Pure: text in, typed question out.

It reads the customer's own text, not triage's masked one: PII masking hides every run of 12 or more digits
(bank cards, accounts) and an order number is often that long. Triage's `order_no` entity only finds the same
"订单号 ..." form and keeps its masked text, so it cannot give the number to look up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["StatusQuestion", "status_question"]

_TRACKING = re.compile(
    r"(?:快递单?号?|运单号?|物流单?号?|包裹(?:单?号)?|tracking\s*(?:no\.?|number|#|id)?|waybill|parcel|package)"
    r"(?:\s+is)?\s*[:：#]?\s*([A-Za-z]{0,4}\d[A-Za-z0-9]{7,31})(?![A-Za-z0-9])", re.IGNORECASE)
# a carrier's prefix is enough: SF (顺丰), JD (京东), YT (圆通), ZTO (中通), STO (申通), YD (韵达), JT (极兔), EMS
_CARRIER = re.compile(r"(?<![A-Za-z0-9])((?:SF|JDV?|YT|ZTO|STO|YD|JT|EMS)\d{9,20})(?![A-Za-z0-9])", re.IGNORECASE)
_ORDER = re.compile(
    r"(?:订单(?:号|编号)?|order\s*(?:no\.?|number|#|id)?)(?:\s+is)?\s*[:：#]?\s*"
    r"([A-Za-z0-9]*\d[A-Za-z0-9-]{3,39})(?![A-Za-z0-9-])", re.IGNORECASE)
# asking where it is or how it stands; without such words a number is context ("订单 123456 退款"), not a question
_STATUS = re.compile(r"到哪|在哪|到了吗|到没到|状态|进度|进展|物流|发货|发出|送到|派送|配送|签收|查询|查一下|查下"
                     r"|什么时候到|where|status|track|ship|deliver|arriv|when will|progress", re.IGNORECASE)


@dataclass(frozen=True)
class StatusQuestion:
    kind: Literal["orders", "logistics"]
    reference: str  # the order or tracking number as the customer wrote it (upper-cased)


def status_question(text: str) -> StatusQuestion | None:
    """The question, or None (no number, or nothing asks about its status). A tracking number wins over an order
    number in the same message: the parcel's status is the more precise answer."""
    if len(text) > 500 or not _STATUS.search(text):  # a long message is a complaint or a story: a person reads it
        return None
    for pattern in (_TRACKING, _CARRIER):
        match = pattern.search(text)
        if match is not None:
            return StatusQuestion("logistics", match.group(1).upper())
    match = _ORDER.search(text)
    return StatusQuestion("orders", match.group(1).upper()) if match is not None else None
