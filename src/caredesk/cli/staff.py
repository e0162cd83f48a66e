"""`caredesk staff unfreeze USERNAME --reason ...`: lift a freeze from the server's shell, for when no
administrator can sign in (the only administrator's own account was frozen).

    caredesk staff unfreeze agent --reason "confirmed by phone: new home router"
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["staff_app"]

staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@staff_app.command("unfreeze")
def unfreeze(username: str,
             reason: Annotated[str, typer.Option(help="Why it is safe (kept in the audit log)")]) -> None:
    """Reactivate a frozen staff member; the place whose sign-in froze the account becomes known."""
    from sqlalchemy import select

    from caredesk.accounts.unfreeze import do_unfreeze_staff
    from caredesk.cli.main import _runtime, fail
    from caredesk.errors import CareDeskError
    from caredesk.storage.orm import Staff

    rt = _runtime()
    with rt.session_factory() as session:
        staff_id = session.scalar(select(Staff.id).where(Staff.username == username))
    if staff_id is None:
        fail(f"no staff member named {username!r}")
    try:
        done = do_unfreeze_staff(rt.uow(), staff_id, reason=reason, actor="cli", now=rt.clock.now())
    except CareDeskError as exc:
        fail(exc.message)
    places = ", ".join(done.trusted_places) or "none"
    typer.echo(f"unfrozen: {done.username}; places now known: {places}")
