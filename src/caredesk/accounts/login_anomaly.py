"""Acting on an unusual sign-in (the rule: accounts/login_risk.py), for every sign-in method once the
credentials are verified: judge the sign-in against the account's known places, then either freeze the
account and alert the administrators (the sign-in is refused), alert them and let it through, or just learn
the place. The account's row is locked while it is judged, so that two sign-ins of one account are judged
in turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.abuse import freeze_account, notify_admins
from caredesk.accounts.credentials import FROZEN
from caredesk.accounts.login_risk import LoginRisk, LoginRiskPolicy, PlaceHistory, assess
from caredesk.compliance.audit import record_audit
from caredesk.errors import AccountFrozen
from caredesk.settings import Settings
from caredesk.storage.orm import Staff, StaffLoginPlace

__all__ = ["FROZEN_NOW", "Admission", "admit_sign_in", "login_risk_policy"]

FROZEN_NOW = "this sign-in was unusual for the account; the account is frozen and administrators were alerted"


def login_risk_policy(settings: Settings) -> LoginRiskPolicy:
    return LoginRiskPolicy(hours_start=settings.login_hours_start, hours_end=settings.login_hours_end,
                           timezone=settings.login_hours_timezone,
                           trusted=tuple(settings.login_trusted_networks),
                           learning_sign_ins=settings.login_learning_sign_ins,
                           action=settings.login_anomaly_action)


@dataclass(frozen=True)
class Admission:
    risk: LoginRisk
    admitted: bool
    frozen_now: bool = False  # not admitted because this sign-in froze the account (else: frozen meanwhile)

    def refusal(self) -> AccountFrozen:
        if self.frozen_now:
            return AccountFrozen(FROZEN_NOW, reasons=list(self.risk.codes))
        return AccountFrozen(FROZEN)


def _learn(session: Session, places: dict[str, StaffLoginPlace], staff_id: str, network: str, now: datetime,
           *, status: str) -> None:
    """Insert or update the place; safe without ON CONFLICT because the account's row is locked."""
    place = places.get(network)
    if place is None:
        place = StaffLoginPlace(staff_id=staff_id, network=network, status=status, first_seen=now,
                                last_seen=now, sign_ins=0)
        session.add(place)
    if status == "known":
        place.status, place.last_seen, place.sign_ins = "known", now, place.sign_ins + 1


def admit_sign_in(session: Session, staff_id: str, address: str, *, method: str, now: datetime,
                  policy: LoginRiskPolicy) -> Admission:
    """Judge one sign-in in the caller's transaction: freeze (audited `auth.login_anomaly`, then
    `account.frozen`), alert, or admit; an admitted sign-in's place is learnt. The caller commits either
    way."""
    staff = session.scalar(select(Staff).where(Staff.id == staff_id).with_for_update())
    places = {p.network: p for p in session.scalars(select(StaffLoginPlace)
                                                    .where(StaffLoginPlace.staff_id == staff_id))}
    history = PlaceHistory(frozenset(n for n, p in places.items() if p.status == "known"),
                           sum(p.sign_ins for p in places.values()))
    risk = assess(history, address, now, policy)
    if staff is None or not staff.active:  # frozen meanwhile by a concurrent sign-in
        return Admission(risk, admitted=False)
    act = policy.action if risk.risky else "off"
    summary = f"unusual sign-in ({method}) from {address}: {risk.describe()}"
    if act != "off":
        data = {"address": address, "network": risk.network, "method": method, "reasons": list(risk.codes),
                "action": act}
        record_audit(session, actor="system", action="auth.login_anomaly", object_type="staff",
                     object_id=staff_id, data=data, now=now)
    if act == "freeze":
        if "new_place" in risk.codes:  # an administrator's unfreeze makes it known
            _learn(session, places, staff_id, risk.network, now, status="held")
        freeze_account(session, kind="staff", account_id=staff_id, reason=summary, now=now)
        return Admission(risk, admitted=False, frozen_now=True)
    if act == "alert":
        notify_admins(session, kind="login_anomaly", body=summary, now=now,
                      title=f"Unusual sign-in: {staff.display_name} ({staff.username})")
    _learn(session, places, staff_id, risk.network, now, status="known")
    return Admission(risk, admitted=True)

