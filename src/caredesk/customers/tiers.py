"""Customer tiers: the tiers a customer may have and what each adds to a work order's priority (workorders'
priority rule reads the weights; SLA policies match on the tier name). Pure."""

from __future__ import annotations

__all__ = ["CUSTOMER_TIERS", "TIER_WEIGHT"]

TIER_WEIGHT = {"private": 2, "gold": 1, "standard": 0}
CUSTOMER_TIERS = tuple(TIER_WEIGHT)  # the tiers a customer may have
