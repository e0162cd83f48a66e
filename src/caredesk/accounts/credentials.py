"""Passwords (argon2) and API keys (random, shown once, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.roles import Role
from caredesk.compliance.audit import record_audit
from caredesk.errors import AccountFrozen, InvalidInput, Unauthenticated
from caredesk.storage.orm import ApiKey, Staff

__all__ = ["FROZEN", "authenticate_key", "authenticate_password", "do_create_api_key", "hash_password"]

_hasher = PasswordHasher()
KEY_PREFIX = "cd_"
FROZEN = "this account is frozen; ask an administrator to unfreeze it"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate_password(session: Session, username: str, password: str) -> Staff:
    """The staff member; AccountFrozen only once the password is verified, so that a frozen account's
    owner learns why and a guesser learns nothing."""
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None or not staff.password_hash:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        raise Unauthenticated("wrong username or password")
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("wrong username or password") from None
    if not staff.active:
        raise AccountFrozen(FROZEN)
    return staff


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def do_create_api_key(session: Session, *, name: str, role: str, now: datetime) -> tuple[ApiKey, str]:
    if not name.strip() or len(name) > 100:
        raise InvalidInput("name must be 1-100 characters", field="name")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {[r.value for r in Role]}", field="role")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=secret[:10], key_hash=_digest(secret), role=role, created_at=now)
    session.add(key)
    session.flush()
    record_audit(session, actor="cli", action="apikey.created", object_type="api_key", object_id=key.id,
                 data={"name": name, "role": role}, now=now)
    return key, secret


def authenticate_key(session: Session, secret: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(secret)))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("API key is not valid")
    return key
