"""Which database errors are an outage (the server is down, a connection was cut, the file is locked or
read-only) rather than a fault in CareDesk: an outage is answered 503 with Retry-After, so that clients retry;
any other error stays a 500 and is logged as a defect."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["is_storage_outage"]

# SQLite reports both outages and programming errors as OperationalError: only these messages are outages.
_SQLITE_OUTAGES = ("database is locked", "unable to open database file", "attempt to write a readonly database",
                   "disk i/o error", "database or disk is full")


def is_storage_outage(exc: BaseException) -> bool:
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    module = type(original).__module__ if original is not None else ""
    if module.startswith("psycopg"):
        import psycopg

        # Connection failures and server shutdowns; ProgrammingError, IntegrityError and DataError are defects.
        return isinstance(original, psycopg.OperationalError | psycopg.InterfaceError)
    if module.startswith("sqlite3"):
        return any(text in str(original).lower() for text in _SQLITE_OUTAGES)
    return False
