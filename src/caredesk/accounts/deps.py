"""What the sign-in actions need from the running application, and nothing more, so that accounts does not
import the composition root. The runtime satisfies both; a test may pass anything shaped like them."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from caredesk.accounts.throttle import AttemptStore
from caredesk.clock import Clock
from caredesk.settings import Settings
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["LoginDeps", "SsoDeps"]


class LoginDeps(Protocol):
    """`accounts.login.do_login`: the failure counts (in Redis when configured, so every process sees them), a
    session that only reads the password hash, and a unit of work for each audit."""

    @property
    def settings(self) -> Settings: ...  # throttle limits, sign-in hours
    @property
    def clock(self) -> Clock: ...
    @property
    def login_attempts(self) -> AttemptStore: ...
    @property
    def session_factory(self) -> sessionmaker[Session]: ...
    def uow(self) -> UnitOfWork: ...


class SsoDeps(Protocol):
    """`accounts.sso.do_sso_login`: the decision and its audit are one transaction."""

    @property
    def settings(self) -> Settings: ...  # the username claim, the issuer, sign-in hours
    @property
    def clock(self) -> Clock: ...
    def uow(self) -> UnitOfWork: ...
