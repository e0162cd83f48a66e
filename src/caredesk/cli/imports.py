"""`caredesk import messages FILE.csv`: past customer messages imported as history (analytics/history_import.py).
Every row is checked first; a bad file lists each bad row (line, column, reason) on stderr, exits 2 and writes
nothing. A progress bar shows on stderr when it is a terminal; stdout gets only the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from caredesk.errors import CareDeskError

__all__ = ["import_app"]

import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)

_PHASES = {"check": "checking rows", "triage": "triaging", "save": "saving"}


def _fail(exc: CareDeskError) -> NoReturn:
    typer.echo(f"error: {exc.message}", err=True)
    errors = exc.details.get("errors")
    for err in errors if isinstance(errors, list) else []:
        typer.echo(f"  line {err['line']}, column {err['column'] or '-'}: {err['reason']}", err=True)
    raise typer.Exit(2)


@import_app.command("messages")
def import_messages(file: Annotated[Path, typer.Argument(help="CSV: received_at,text,channel,customer_ref"
                                                              "[,conversation_ref]")]) -> None:
    """Import past customer messages as history: triaged and counted in the analytics; no reply, work order,
    emergency, alarm or e-mail is started. All or nothing; rows imported before are skipped."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from caredesk.analytics.history_file import read_history_csv
    from caredesk.analytics.history_import import do_import_history
    from caredesk.bootstrap import build_runtime
    from caredesk.clock import utcnow
    from caredesk.settings import Settings

    if not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(2)
    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"error: configuration: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    try:  # the file is checked before the runtime (database, model) is even built
        rows = read_history_csv(file, name=str(file), zone=settings.display_timezone, now=utcnow(),
                                max_chars=settings.max_message_chars)
    except CareDeskError as exc:
        _fail(exc)
    rt = build_runtime(settings)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = do_import_history(rt, rows, name=str(file), actor="cli", progress=progress)
        except CareDeskError as exc:
            bar.stop()
            _fail(exc)
    period = (f", {result.start.isoformat()} to {result.end.isoformat()}" if result.start and result.end else "")
    decisions = ", ".join(f"{kind} {n}" for kind, n in sorted(result.decisions.items())) or "none"
    typer.echo(f"{file}: {result.imported} imported, {result.skipped} skipped (imported before){period}; "
               f"{result.customers_created} new customers, {result.conversations_created} new conversations; "
               f"decisions: {decisions}; with a topic: {result.with_topic}; surges found: {result.surges_opened}")
