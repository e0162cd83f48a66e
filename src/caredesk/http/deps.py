"""Request dependencies: the runtime, a database session, and the caller (API key or web session)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from caredesk.accounts.abuse import do_freeze_account
from caredesk.accounts.credentials import authenticate_key
from caredesk.accounts.rate_limit import Window, over_limit
from caredesk.accounts.roles import can
from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.read_audit import do_audit_read
from caredesk.errors import Forbidden, RateLimited, Unauthenticated
from caredesk.storage.orm import Staff

__all__ = ["Caller", "CallerDep", "RuntimeDep", "SessionDep", "audit_read", "get_caller", "note_record_read",
           "require"]


@dataclass(frozen=True)
class Caller:
    kind: str  # api_key | staff
    id: str
    role: str
    name: str

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def of_staff(cls, staff: Staff) -> Caller:
        """A signed-in staff member, as the web pages act: the same scope and actor as through the API."""
        return cls("staff", staff.id, staff.role, staff.display_name)


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


_log = logging.getLogger("caredesk.http.deps")


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    """A read session; actions that write open their own unit of work."""
    session = rt.session_factory()
    try:
        yield session
    finally:
        try:
            session.close()
        except Exception as exc:  # a connection the server cut: the answer is already given, the pool drops it
            _log.warning("read session not closed cleanly: %s", type(exc).__name__)
            session.invalidate()


SessionDep = Annotated[Session, Depends(get_session)]


def _identify(request: Request, session: Session) -> Caller:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <API key>")
        key = authenticate_key(session, token.strip())
        return Caller("api_key", key.id, key.role, key.name)
    staff_id = request.session.get("staff_id") if "session" in request.scope else None
    if staff_id:
        staff = session.get(Staff, staff_id)
        if staff is not None and staff.active:
            return Caller.of_staff(staff)
    raise Unauthenticated("authentication required (API key or login)")


def get_caller(request: Request, session: SessionDep) -> Caller:
    """The authenticated caller, within their request rate (per API key or user, shared through Redis)."""
    caller = _identify(request, session)
    rt: Runtime = request.app.state.runtime
    window = Window(rt.settings.rate_limit_per_minute, 60)
    now = time.time()
    if over_limit(rt.rate_counter.hit(f"req:{caller.actor}", window, now), window):
        raise RateLimited(f"more than {window.limit} requests a minute", retry_after=60 - int(now % 60))
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def note_record_read(rt: Runtime, caller: Caller) -> None:
    """Count a read of a customer record; past the hourly threshold the account is frozen, administrators
    are alerted, and this read is refused."""
    window = Window(rt.settings.record_reads_freeze_per_hour, 3600)
    if over_limit(rt.rate_counter.hit(f"reads:{caller.actor}", window, time.time()), window):
        do_freeze_account(rt.uow(), kind=caller.kind, account_id=caller.id, now=rt.clock.now(),
                          reason=f"more than {window.limit} customer records read within an hour")
        raise Forbidden("this account is frozen after an unusual volume of record reads; ask an administrator")


def audit_read(rt: Runtime, caller: Caller, object_type: str, *object_ids: str, via: str = "api") -> None:
    """Record that the caller read these customer records, conversations or orders (after the scope check)."""
    do_audit_read(rt.uow(), actor=caller.actor, object_type=object_type, object_ids=object_ids, via=via,
                  now=rt.clock.now())


def require(permission: str) -> Callable[[Caller], Caller]:
    def check(caller: CallerDep) -> Caller:
        if not can(caller.role, permission):
            raise Forbidden(f"role {caller.role} may not {permission}")
        return caller

    check.permission = permission  # type: ignore[attr-defined]  # read by the route x role matrix test
    return check
