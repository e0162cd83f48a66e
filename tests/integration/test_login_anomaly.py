"""Unusual sign-ins on the real database (SQLite and PostgreSQL): after an account's learning period, a
sign-in from a new network or outside office hours freezes it, alerts the administrators, is audited and
refused; "alert" lets it through; trusted networks are never judged; an administrator's unfreeze trusts the
place."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from caredesk.accounts.login import LoginAttempt, do_login
from caredesk.accounts.unfreeze import do_unfreeze_staff
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.compliance.audit import verify_chain
from caredesk.errors import AccountFrozen, Conflict, Unauthenticated
from caredesk.storage.orm import AuditEntry, Notification, Staff, StaffLoginPlace

PASSWORD = "caredesk-demo"
HOME = "198.51.100.10"  # the office the agent learns in: 198.51.100.0/24
ELSEWHERE = "203.0.113.7"  # 203.0.113.0/24, never seen before
CST = timezone(timedelta(hours=8))  # Asia/Shanghai: UTC+8 all year


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CST).astimezone(UTC)


@pytest.fixture
def rt(demo_runtime: Runtime) -> Runtime:
    demo_runtime.clock = FrozenClock(shanghai(9, 10))
    return demo_runtime


def sign_in(rt: Runtime, address: str, username: str = "agent", password: str = PASSWORD) -> str:
    return do_login(rt, LoginAttempt(username, password, address))


def learn(rt: Runtime, address: str = HOME, times: int = 3) -> str:
    """The learning period: the first three sign-ins only learn the place."""
    staff_ids = {sign_in(rt, address) for _ in range(times)}
    assert len(staff_ids) == 1
    return staff_ids.pop()


def staff_row(rt: Runtime, username: str = "agent") -> Staff:
    with rt.session_factory() as s:
        staff = s.scalar(select(Staff).where(Staff.username == username))
        assert staff is not None
        return staff


def audit(rt: Runtime) -> list[tuple[str, dict[str, Any]]]:
    with rt.session_factory() as s:
        return [(e.action, e.data) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def places(rt: Runtime, staff_id: str) -> dict[str, tuple[str, int]]:
    with rt.session_factory() as s:
        return {p.network: (p.status, p.sign_ins)
                for p in s.scalars(select(StaffLoginPlace).where(StaffLoginPlace.staff_id == staff_id))}


def admin_notices(rt: Runtime, kind: str) -> list[Notification]:
    with rt.session_factory() as s:
        admins = set(s.scalars(select(Staff.id).where(Staff.role == "admin", Staff.active.is_(True))))
        notices = list(s.scalars(select(Notification).where(Notification.kind == kind)))
    assert admins and {n.staff_id for n in notices} == admins, "every active administrator, nobody else"
    return notices


def test_new_place_after_learning_freezes_alerts_audits_and_refuses(rt: Runtime) -> None:
    staff_id = learn(rt)
    assert places(rt, staff_id) == {"198.51.100.0/24": ("known", 3)}

    with pytest.raises(AccountFrozen) as refused:
        sign_in(rt, ELSEWHERE)  # 10:00 in Shanghai: office hours, but a new network
    exc = refused.value
    assert (exc.code, exc.status, exc.details) == ("account_frozen", 403, {"reasons": ["new_place"]})
    assert not staff_row(rt).active
    notices = admin_notices(rt, "account_frozen")
    assert notices[0].title.startswith("Account frozen: ") and notices[0].title.endswith("(agent)")
    assert "203.0.113.0/24" in notices[0].body and ELSEWHERE in notices[0].body
    assert places(rt, staff_id) == {"198.51.100.0/24": ("known", 3), "203.0.113.0/24": ("held", 0)}

    actions = audit(rt)
    assert [a for a, _ in actions][-3:] == ["auth.login_succeeded", "auth.login_anomaly", "account.frozen"]
    assert actions[-2][1] == {"address": ELSEWHERE, "network": "203.0.113.0/24", "method": "password",
                              "reasons": ["new_place"], "action": "freeze"}

    # Frozen: refused from the old place too, with the right password; a wrong one says nothing more.
    rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with pytest.raises(AccountFrozen) as again:
        sign_in(rt, HOME)
    assert again.value.details == {}
    with pytest.raises(Unauthenticated):
        sign_in(rt, HOME, password="not-the-password")
    assert [a for a, _ in audit(rt)][-2:] == ["auth.login_refused", "auth.login_failed"]
    assert audit(rt)[-2][1] == {"username": "agent", "address": HOME, "reason": "account_frozen"}
    assert len(admin_notices(rt, "account_frozen")) == len(notices)  # one alert per freeze
    with rt.session_factory() as s:
        assert verify_chain(s).intact


def test_odd_hour_from_a_known_place_freezes(rt: Runtime) -> None:
    staff_id = learn(rt)
    rt.clock = FrozenClock(shanghai(10, 3))  # 03:00 the next night, same office network
    with pytest.raises(AccountFrozen) as refused:
        sign_in(rt, "198.51.100.77")
    assert refused.value.details == {"reasons": ["odd_hour"]}
    assert not staff_row(rt).active
    assert "outside office hours 07:00-22:00" in admin_notices(rt, "account_frozen")[0].body
    assert places(rt, staff_id) == {"198.51.100.0/24": ("known", 3)}  # nothing to hold: the place is known


def test_office_hours_end_is_exclusive(rt: Runtime) -> None:
    learn(rt)
    rt.clock = FrozenClock(shanghai(9, 21, 59))
    sign_in(rt, HOME)
    rt.clock = FrozenClock(shanghai(9, 22, 0))
    with pytest.raises(AccountFrozen):
        sign_in(rt, HOME)


def test_alert_mode_lets_the_sign_in_through_and_notifies(rt: Runtime) -> None:
    rt.settings.login_anomaly_action = "alert"
    staff_id = learn(rt)
    assert sign_in(rt, ELSEWHERE) == staff_id
    assert staff_row(rt).active
    notices = admin_notices(rt, "login_anomaly")
    assert notices[0].title.startswith("Unusual sign-in:") and "203.0.113.0/24" in notices[0].body
    assert [a for a, _ in audit(rt)][-2:] == ["auth.login_anomaly", "auth.login_succeeded"]
    assert audit(rt)[-2][1]["action"] == "alert"
    assert places(rt, staff_id)["203.0.113.0/24"] == ("known", 1)
    sign_in(rt, "203.0.113.99")  # the place is known now: no second alert
    assert len(admin_notices(rt, "login_anomaly")) == len(notices)


def test_off_mode_only_learns(rt: Runtime) -> None:
    rt.settings.login_anomaly_action = "off"
    staff_id = learn(rt)
    rt.clock = FrozenClock(shanghai(10, 3))
    assert sign_in(rt, ELSEWHERE) == staff_id
    assert "auth.login_anomaly" not in [a for a, _ in audit(rt)]
    assert places(rt, staff_id)["203.0.113.0/24"] == ("known", 1)


def test_trusted_network_never_freezes(rt: Runtime) -> None:
    rt.settings.login_trusted_networks = [ipaddress.ip_network("10.20.0.0/16")]
    staff_id = learn(rt)
    rt.clock = FrozenClock(shanghai(10, 3))
    assert sign_in(rt, "10.20.99.4") == staff_id  # a new /24 of the office LAN, at 03:00
    assert sign_in(rt, "10.20.7.1") == staff_id
    assert staff_row(rt).active and "auth.login_anomaly" not in [a for a, _ in audit(rt)]
    with pytest.raises(AccountFrozen):
        sign_in(rt, "10.21.0.4")  # just outside it


def test_loopback_and_non_ip_addresses_never_freeze_by_default(rt: Runtime) -> None:
    """The test clients and a local console: TestClient says "testclient", uvicorn says 127.0.0.1."""
    learn(rt)
    rt.clock = FrozenClock(shanghai(10, 3))
    for address in ("127.0.0.1", "::1", "testclient", "unknown"):
        sign_in(rt, address)
    assert staff_row(rt).active


def test_unfreeze_reactivates_and_trusts_the_place(rt: Runtime, api: Any) -> None:
    staff_id = learn(rt)
    with pytest.raises(AccountFrozen):
        sign_in(rt, ELSEWHERE)
    reason = "confirmed by phone: working from home"
    r = api.post(f"/api/v1/staff/{staff_id}/unfreeze", json={"reason": reason})
    assert r.status_code == 200, r.text
    assert r.json() == {"staff_id": staff_id, "username": "agent", "active": True,
                        "trusted_places": ["203.0.113.0/24"]}
    assert sign_in(rt, "203.0.113.50") == staff_id  # the place that froze it is known now
    assert places(rt, staff_id)["203.0.113.0/24"] == ("known", 1)
    unfrozen = [d for a, d in audit(rt) if a == "account.unfrozen"]
    assert unfrozen == [{"reason": reason, "trusted_places": ["203.0.113.0/24"]}]
    with rt.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "account.unfrozen"))
        assert entry is not None and entry.actor.startswith("api_key:") and entry.object_id == staff_id

    again = api.post(f"/api/v1/staff/{staff_id}/unfreeze", json={"reason": "again"})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert api.post("/api/v1/staff/nobody/unfreeze", json={"reason": "x"}).status_code == 404
    assert api.post(f"/api/v1/staff/{staff_id}/unfreeze", json={"reason": ""}).status_code == 422
    with pytest.raises(AccountFrozen):  # still judged: a third network freezes again
        sign_in(rt, "192.0.2.1")


def test_unfreeze_after_an_odd_hour_trusts_no_hour(rt: Runtime) -> None:
    learn(rt)
    rt.clock = FrozenClock(shanghai(10, 3))
    with pytest.raises(AccountFrozen):
        sign_in(rt, HOME)
    staff_id = staff_row(rt).id
    done = do_unfreeze_staff(rt.uow(), staff_id, reason="night shift cover", actor="staff:admin",
                             now=rt.clock.now())
    assert done.trusted_places == ()
    with pytest.raises(Conflict):
        do_unfreeze_staff(rt.uow(), staff_id, reason="twice", actor="staff:admin", now=rt.clock.now())
    rt.clock = FrozenClock(shanghai(10, 9))
    assert sign_in(rt, HOME) == staff_id


def test_accounts_learn_separately(rt: Runtime) -> None:
    learn(rt)
    for _ in range(3):
        sign_in(rt, ELSEWHERE, username="lead")  # the lead's learning period, from the agent's next network
    with pytest.raises(AccountFrozen):
        sign_in(rt, ELSEWHERE)  # known for the lead, not for the agent
    assert staff_row(rt, "lead").active
