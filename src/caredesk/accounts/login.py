"""Staff sign-in as one action: throttled per account and per client address, judged for unusual places and
hours once the password is right (accounts/login_anomaly.py), and every outcome audited (success, wrong
credentials, refused while locked, refused while frozen), never with the password."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from caredesk.accounts.credentials import authenticate_password
from caredesk.accounts.deps import LoginDeps
from caredesk.accounts.login_anomaly import admit_sign_in, login_risk_policy
from caredesk.accounts.throttle import ThrottlePolicy, locked_until
from caredesk.compliance.audit import record_audit
from caredesk.errors import AccountFrozen, LoginThrottled, Unauthenticated
from caredesk.settings import Settings

__all__ = ["LoginAttempt", "do_login", "throttle_policies"]


@dataclass(frozen=True)
class LoginAttempt:
    username: str
    password: str
    address: str  # the client's address, as the server sees it (behind a proxy: uvicorn --proxy-headers)


def throttle_policies(settings: Settings) -> tuple[ThrottlePolicy, ThrottlePolicy]:
    """(per account, per client address): an office behind one address gets a larger allowance."""
    window = timedelta(minutes=settings.login_window_minutes)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    return (ThrottlePolicy(settings.login_max_failures, window, lockout),
            ThrottlePolicy(settings.login_max_failures_per_address, window, lockout))


def _keys(attempt: LoginAttempt) -> tuple[str, str]:
    return f"account:{attempt.username.casefold()}", f"address:{attempt.address}"


def _record(session: Session, action: str, attempt: LoginAttempt, now: datetime, *,
            staff_id: str | None = None, **extra: object) -> None:
    record_audit(session, actor=f"staff:{staff_id}" if staff_id else "anonymous", action=action,
                 object_type="staff", object_id=staff_id or "",
                 data={"username": attempt.username[:64], "address": attempt.address, **extra}, now=now)


def _audit(rt: LoginDeps, action: str, attempt: LoginAttempt, now: datetime, *, staff_id: str | None = None,
           **extra: object) -> None:
    with rt.uow() as uow:
        _record(uow.session, action, attempt, now, staff_id=staff_id, **extra)
        uow.commit()


def do_login(rt: LoginDeps, attempt: LoginAttempt) -> str:
    """The signed-in staff id; raises LoginThrottled while the account or the address is locked,
    Unauthenticated for a wrong username or password (which counts towards both locks), and AccountFrozen
    for the right password of a frozen account, or when this sign-in is unusual enough to freeze it."""
    now = rt.clock.now()
    store = rt.login_attempts
    policies = throttle_policies(rt.settings)
    keys = _keys(attempt)
    locks = [locked_until(store.failures(key, now - policy.memory), now, policy)
             for key, policy in zip(keys, policies, strict=True)]
    until = max((u for u in locks if u is not None), default=None)
    if until is not None:
        retry_after = max(math.ceil((until - now).total_seconds()), 1)
        _audit(rt, "auth.login_throttled", attempt, now, retry_after=retry_after)
        raise LoginThrottled("too many failed sign-ins; try again later", retry_after=retry_after)
    frozen: AccountFrozen | None = None
    with rt.session_factory() as session:
        try:
            staff_id = authenticate_password(session, attempt.username, attempt.password).id
        except Unauthenticated:
            staff_id = None
        except AccountFrozen as exc:
            staff_id, frozen = None, exc
    if frozen is not None:  # the right password: no failure counted, but no way in until an admin unfreezes
        _audit(rt, "auth.login_refused", attempt, now, reason=frozen.code)
        raise frozen
    if staff_id is None:
        for key, policy in zip(keys, policies, strict=True):
            store.add_failure(key, now, policy.memory)
        _audit(rt, "auth.login_failed", attempt, now)
        raise Unauthenticated("wrong username or password")
    store.clear(keys[0])  # the address keeps its count: one good account must not reset a spraying address
    with rt.uow() as uow:  # the place is learnt in the transaction that audits the success
        admission = admit_sign_in(uow.session, staff_id, attempt.address, method="password", now=now,
                                  policy=login_risk_policy(rt.settings))
        if admission.admitted:
            _record(uow.session, "auth.login_succeeded", attempt, now, staff_id=staff_id)
        uow.commit()
    if not admission.admitted:
        raise admission.refusal()
    return staff_id
