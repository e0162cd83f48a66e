"""Reading the agents' corrections for `caredesk train`, which must still work on a database that is not
migrated yet (a fresh install trains before `caredesk db upgrade`)."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from caredesk.learning.correction_actions import correction_records
from caredesk.triage.examples import CorrectionRecord

__all__ = ["stored_corrections"]


def stored_corrections(session_factory: sessionmaker[Session]) -> tuple[list[CorrectionRecord], str]:
    """(corrections, "") or ([], why they could not be read)."""
    try:
        with session_factory() as session:
            return correction_records(session), ""
    except SQLAlchemyError as exc:
        return [], f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}; run `caredesk db upgrade`"
