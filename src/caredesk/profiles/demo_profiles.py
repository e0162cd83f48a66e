"""The demo's profiles: a few dozen customers with generated history (profiles/generated.py: not real data),
a profile model trained on it when it is good enough (else the cold-start rule scores them), and every
profile refreshed. Idempotent: a second run adds no customers and trains nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from caredesk.profiles.actions import do_refresh_all
from caredesk.profiles.generated import generate_history
from caredesk.profiles.model import load_active
from caredesk.profiles.training import do_train_profiles
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["DEMO_CUSTOMERS", "DemoProfiles", "do_load_demo_profiles"]

DEMO_CUSTOMERS = 120
DEMO_PREFIX = "DEMO-P"


@dataclass(frozen=True)
class DemoProfiles:
    customers: int
    messages: int
    promoted: bool | None  # None: nothing new, no training
    auc_recent: float | None
    refreshed: int


def do_load_demo_profiles(uow: UnitOfWork, models_root: Path, *, now: datetime,
                          customers: int = DEMO_CUSTOMERS) -> DemoProfiles:
    with uow:
        made = generate_history(uow.session, customers=customers, now=now, prefix=DEMO_PREFIX)
        uow.commit()
    if not made.customers:
        return DemoProfiles(0, 0, None, None, 0)
    outcome = do_train_profiles(uow, models_root, now=now, trigger="bootstrap", actor="demo")
    refreshed = do_refresh_all(uow, now=now, model=load_active(models_root))
    return DemoProfiles(made.customers, made.messages, outcome.promoted, outcome.candidate_metrics.get("auc_recent"),
                        refreshed)
