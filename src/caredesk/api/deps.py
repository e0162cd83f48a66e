"""Request dependencies: the runtime, a database session, and the caller (API key or web session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from caredesk.accounts.credentials import authenticate_key
from caredesk.accounts.roles import can
from caredesk.errors import Forbidden, Unauthenticated
from caredesk.runtime import Runtime
from caredesk.storage.orm import Staff

__all__ = ["Caller", "CallerDep", "RuntimeDep", "SessionDep", "get_caller", "require"]


@dataclass(frozen=True)
class Caller:
    kind: str  # api_key | staff
    id: str
    role: str
    name: str

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    """A read session; actions that write open their own unit of work."""
    session = rt.session_factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_caller(request: Request, session: SessionDep) -> Caller:
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
            return Caller("staff", staff.id, staff.role, staff.display_name)
    raise Unauthenticated("authentication required (API key or login)")


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(permission: str) -> Callable[[Caller], Caller]:
    def check(caller: CallerDep) -> Caller:
        if not can(caller.role, permission):
            raise Forbidden(f"role {caller.role} may not {permission}")
        return caller

    return check
