"""The error tree. Every error a user can cause has a stable `code` and an HTTP status.

CareDeskError
├── InvalidInput        400  invalid_input        (bad values the schema cannot catch)
│   ├── InvalidEmail    400  invalid_email        (an inbound e-mail that cannot be read: `problem` says why)
│   ├── InvalidFile     400  invalid_file         (CSV/flow/config files with line-level reasons)
│   │   └── InvalidConfig 400 invalid_config    (a YAML configuration file: file, line, field path)
│   └── InvalidIdempotencyKey 400 invalid_idempotency_key (empty, longer than 255, not printable ASCII)
├── Unauthenticated     401  unauthenticated
├── Forbidden           403  forbidden
│   └── AccountFrozen   403  account_frozen       (sign-in refused: frozen or deactivated; an admin unfreezes)
├── NotFound            404  not_found            (also for things the caller may not see)
├── Conflict            409  conflict
│   ├── IdempotencyKeyReused     409  idempotency_key_reused     (the key came before with another body)
│   └── IdempotencyKeyInProgress 409  idempotency_key_in_progress (Retry-After; the first request is unsettled)
├── PayloadTooLarge     413  payload_too_large
├── LoginThrottled      429  login_throttled      (too many failed sign-ins: locked for a while)
└── Unavailable         503  unavailable          (a dependency such as the model is not ready)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccountFrozen",
    "CareDeskError",
    "ComplianceBlocked",
    "Conflict",
    "Forbidden",
    "IdempotencyKeyInProgress",
    "IdempotencyKeyReused",
    "InvalidConfig",
    "InvalidEmail",
    "InvalidFile",
    "InvalidIdempotencyKey",
    "InvalidInput",
    "LoginThrottled",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthenticated",
    "Unavailable",
]


class CareDeskError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(CareDeskError):
    code = "invalid_input"
    status = 400


class ComplianceBlocked(InvalidInput):
    """An outgoing reply that the compliance rules do not let through (the reasons are in the details)."""

    code = "compliance_blocked"


class InvalidEmail(InvalidInput):
    """An inbound e-mail refused whole (no sender, no text, an unknown charset): `details.problem` says which."""

    code = "invalid_email"


class InvalidFile(InvalidInput):
    code = "invalid_file"


class InvalidConfig(InvalidFile):
    """A configuration file its schema refuses. `line` (1-based, None when the data did not come from YAML
    text) and `path` (`policies[2].targets.resolution`, empty for the whole file) say where to fix it."""

    code = "invalid_config"

    def __init__(self, file: str, line: int | None, path: str, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {path}: {reason}" if path else f"{where}: {reason}",
                         file=file, line=line, path=path)
        self.file = file
        self.line = line
        self.path = path
        self.reason = reason


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class Unauthenticated(CareDeskError):
    code = "unauthenticated"
    status = 401


class Forbidden(CareDeskError):
    code = "forbidden"
    status = 403


class AccountFrozen(Forbidden):
    """The credentials are right but the account is frozen (after an unusual sign-in or bulk reads) or
    deactivated; only an administrator can lift it. Said only after the password was verified."""

    code = "account_frozen"


class NotFound(CareDeskError):
    code = "not_found"
    status = 404


class Conflict(CareDeskError):
    code = "conflict"
    status = 409


class IdempotencyKeyReused(Conflict):
    """The caller sent this Idempotency-Key before with a different request body: a client bug, not a retry."""

    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(Conflict):
    """The key is held but its answer cannot be read yet; retrying after `retry_after` seconds replays it."""

    code = "idempotency_key_in_progress"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class PayloadTooLarge(CareDeskError):
    code = "payload_too_large"
    status = 413


class LoginThrottled(CareDeskError):
    code = "login_throttled"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after  # seconds


class RateLimited(CareDeskError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after  # seconds


class ServiceUnavailable(CareDeskError):
    """The database or the broker is out for a moment; the client should retry after `retry_after` seconds."""

    code = "service_unavailable"
    status = 503

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(CareDeskError):
    code = "unavailable"
    status = 503
