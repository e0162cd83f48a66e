"""`caredesk audit`: prove the audit log is intact, and export it.

    caredesk audit verify            OK and the count (exit 0), or the first broken entry (exit 1)
    caredesk audit export --since 2026-01-01 --output audit.jsonl    JSON lines, oldest first"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _runtime() -> Runtime:
    from caredesk.cli.main import _runtime as build

    return build()


@audit_app.command("verify")
def verify() -> None:
    """Walk the hash chain: OK with the number of entries, or the first entry that was changed or removed."""
    from caredesk.compliance.audit import verify_chain

    rt = _runtime()
    with rt.session_factory() as session:
        result = verify_chain(session)
    if result.intact:
        typer.echo(f"OK: {result.checked} audit entries, hash chain intact")
        return
    typer.echo(f"BROKEN at audit entry {result.broken_id}: {result.reason} "
               f"({result.checked} entries before it are intact)", err=True)
    raise typer.Exit(1)


@audit_app.command("export")
def export(output: Annotated[Path, typer.Option(help="File to write (JSON lines)")],
           since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD, UTC) to include")] = None
           ) -> None:
    """Write the audit entries (from --since on) as JSON lines, with their hashes."""
    from caredesk.cli.main import fail
    from caredesk.compliance.audit import iter_entries

    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), time.min, tzinfo=UTC)
        except ValueError:
            fail(f"--since must be a date such as 2026-01-31, not {since!r}")
    if not output.parent.is_dir():
        fail(f"{output.parent} is not a folder")
    rt = _runtime()
    count = 0
    with rt.session_factory() as session, output.open("w", encoding="utf-8") as out:
        for entry in iter_entries(session, start):
            out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            count += 1
    typer.echo(f"{count} audit entries written to {output}")
