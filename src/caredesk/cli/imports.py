"""`caredesk import messages FILE.csv`: past customer messages imported as history (analytics/history_import.py).
Every row is checked first; a bad file lists each bad row (line, column, reason) on stderr, exits 2 and writes
nothing. A progress bar shows on stderr when it is a terminal; stdout gets only the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caredesk.cli.file_import import fail_with_rows, phase_progress, settings_or_exit
from caredesk.errors import CareDeskError

__all__ = ["import_app"]

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)

_PHASES = {"check": "checking rows", "triage": "triaging", "save": "saving"}


@import_app.command("messages")
def import_messages(file: Annotated[Path, typer.Argument(help="CSV: received_at,text,channel,customer_ref"
                                                              "[,conversation_ref]")],
                    encoding: Annotated[str, typer.Option(help="auto (UTF-8 with or without BOM, else "
                                                               "GBK/GB18030), utf-8, gbk or gb18030")] = "auto"
                    ) -> None:
    """Import past customer messages as history: triaged and counted in the analytics; no reply, work order,
    emergency, alarm or e-mail is started. All or nothing; rows imported before are skipped."""
    from caredesk.analytics.history_file import read_history_csv
    from caredesk.analytics.history_import import do_import_history
    from caredesk.bootstrap import build_runtime
    from caredesk.clock import utcnow

    if not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit()
    try:  # the file is checked before the runtime (database, model) is even built
        rows = read_history_csv(file, name=str(file), zone=settings.display_timezone, now=utcnow(),
                                max_chars=settings.max_message_chars, encoding=encoding)
    except CareDeskError as exc:
        fail_with_rows(exc)
    rt = build_runtime(settings)
    try:
        with phase_progress(_PHASES) as progress:
            result = do_import_history(rt, rows, name=str(file), actor="cli", progress=progress)
    except CareDeskError as exc:  # e.g. a thresholds file whose surge settings are wrong: nothing was written
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(2) from None
    period = (f", {result.start.isoformat()} to {result.end.isoformat()}" if result.start and result.end else "")
    decisions = ", ".join(f"{kind} {n}" for kind, n in sorted(result.decisions.items())) or "none"
    typer.echo(f"{file}: {result.imported} imported, {result.skipped} skipped (imported before){period}; "
               f"{result.customers_created} new customers, {result.conversations_created} new conversations; "
               f"decisions: {decisions}; with a topic: {result.with_topic}; surges found: {result.surges_opened}")
