"""`caredesk analytics rebuild [--from ISO --to ISO]`: recount the hourly roll-up of a period from the messages
and their triage (the whole history when no period is given). `caredesk analytics validate [FILE]`: check the
threshold alert rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from caredesk.analytics.period import parse_moment
from caredesk.analytics.rebuild import do_rebuild, message_span
from caredesk.errors import CareDeskError, InvalidInput

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime

__all__ = ["analytics_app"]

analytics_app = typer.Typer(help="Service analytics: the hourly roll-ups behind the figures.", no_args_is_help=True)


def _runtime() -> Runtime:
    from caredesk.cli.main import _runtime as build

    return build()


def _fail(message: str) -> None:
    from caredesk.cli.main import fail

    fail(message)


@analytics_app.command("rebuild")
def rebuild(start: Annotated[str | None, typer.Option("--from", help="ISO 8601; no offset: the centre's zone")] = None,
            end: Annotated[str | None, typer.Option("--to", help="ISO 8601; no offset: the centre's zone")] = None
            ) -> None:
    """Delete and recount every hour the period touches, a day per transaction (safe to run again)."""
    from caredesk.settings import Settings

    zone = Settings().display_timezone
    try:
        lo = parse_moment(start, zone, field="from") if start is not None else None
        hi = parse_moment(end, zone, field="to") if end is not None else None
    except InvalidInput as exc:
        _fail(exc.message)
        return
    if lo is not None and hi is not None and hi <= lo:
        _fail("--to must be after --from")
        return
    rt = _runtime()
    try:
        if lo is None or hi is None:
            with rt.session_factory() as session:
                span = message_span(session)
            if span is None:
                typer.echo("no customer message: nothing to rebuild")
                return
            lo = lo or span[0]
            hi = hi or span[1] + timedelta(microseconds=1)  # the last message's hour included
            if hi <= lo:
                typer.echo("no customer message in the period: nothing to rebuild")
                return

        def progress(done: datetime) -> None:
            typer.echo(f"rebuilt up to {done.isoformat()}", err=True)

        result = do_rebuild(rt.session_factory, lo, hi, now=rt.clock.now(), progress=progress)
        typer.echo(f"rebuilt {result.start.isoformat()} to {result.end.isoformat()}: {result.messages} messages, "
                   f"{result.rows} roll-up rows, {result.order_hours} hours of work-order figures")
    finally:
        rt.engine.dispose()


@analytics_app.command("validate")
def validate(file: Annotated[Path | None, typer.Argument(
        help="Threshold rules YAML; the one in use (CAREDESK_ANALYTICS_THRESHOLDS_FILE or built-in) if omitted")]
             = None) -> None:
    """Check a threshold alert rules file and print each rule, or every error with its line and field (exit 2).
    Webhook rooms are checked against the alarm strategy in use."""
    from caredesk.alarms.strategy import load_strategy
    from caredesk.analytics.threshold_check import threshold_problems
    from caredesk.analytics.thresholds import load_thresholds
    from caredesk.settings import Settings

    settings = Settings()
    path = file if file is not None else settings.analytics_thresholds_file
    try:
        rooms = load_strategy(settings.alarm_strategy_file).webhooks
    except CareDeskError as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(code=2) from None
    problems = threshold_problems(path, rooms=set(rooms))
    for problem in problems:
        typer.echo(f"error: {problem.message}", err=True)
    if problems:
        typer.echo(f"{len(problems)} error{'s' if len(problems) > 1 else ''} in {path or 'thresholds.yaml'}",
                   err=True)
        raise typer.Exit(code=2)
    try:  # the same checks as above: only a mistake they do not know of can reach this
        rules = load_thresholds(path)
    except CareDeskError as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"ok  {path or 'built-in thresholds.yaml'}: {len(rules.rules)} rules")
    for rule in rules.rules:
        typer.echo(f"  {rule.name}: {rule.metric} {rule.comparison} {rule.value} ({rule.window}, at least "
                   f"{rule.minimum_volume}) -> {', '.join(rule.channels)} to {', '.join(rule.recipients)}")
    surges = rules.surges
    typer.echo(f"  surges: opened and resolved -> {', '.join(surges.channels)} to {', '.join(surges.recipients)}")
