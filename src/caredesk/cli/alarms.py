"""`caredesk alarms validate [FILE]`: check an alarm strategy file (or the built-in one) and print who is
told, over which channels, at each level."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caredesk.alarms.strategy import load_strategy
from caredesk.errors import CareDeskError

__all__ = ["alarms_app"]

alarms_app = typer.Typer(help="Escalation alarm strategies.", no_args_is_help=True)


@alarms_app.command("validate")
def validate(file: Annotated[Path | None, typer.Argument(help="Strategy YAML; the built-in one if omitted")] = None
             ) -> None:
    try:
        strategy = load_strategy(file)
    except (CareDeskError, OSError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{file or 'built-in'}: strategy {strategy.name} (dedupe: {strategy.dedupe})")
    for index, level in enumerate(strategy.levels):
        after = (f", next level after {level.acknowledge_within_minutes} min unacknowledged"
                 if level.acknowledge_within_minutes else "")
        targets = "; ".join(f"{t.audience}: {', '.join(t.channels)}" if t.audience
                            else f"webhooks: {', '.join(t.webhooks) or '(none configured)'}" for t in level.targets)
        typer.echo(f"  {index}. {level.name}{after}: {targets}")
    if strategy.quiet_hours:
        q = strategy.quiet_hours
        typer.echo(f"  quiet hours {q.start:%H:%M}-{q.end:%H:%M} {q.timezone.key}: hold {', '.join(sorted(q.hold))}")
