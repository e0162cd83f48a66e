"""What every `import FILE` command shares: the settings read or exit 2, the bad rows listed (line, column,
reason) with exit 2, and a progress bar on stderr per phase when stderr is a terminal (stdout keeps only the
summary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from caredesk.errors import CareDeskError

if TYPE_CHECKING:
    from caredesk.settings import Settings

__all__ = ["OnProgress", "fail_with_rows", "phase_progress", "settings_or_exit"]

OnProgress = Callable[[str, int, int], None]  # (phase, done, total)


def fail_with_rows(exc: CareDeskError) -> NoReturn:
    typer.echo(f"error: {exc.message}", err=True)
    errors = exc.details.get("errors")
    for err in errors if isinstance(errors, list) else []:
        typer.echo(f"  line {err['line']}, column {err['column'] or '-'}: {err['reason']}", err=True)
    raise typer.Exit(2)


def settings_or_exit() -> Settings:
    from pydantic import ValidationError

    from caredesk.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"error: configuration: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def phase_progress(phases: dict[str, str]) -> Iterator[OnProgress]:
    """A progress callback drawing one bar per phase (`phases`: phase -> words); a CareDeskError raised inside
    stops the bar first and is reported with its rows (exit 2)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phases.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            yield progress
        except CareDeskError as exc:
            bar.stop()
            fail_with_rows(exc)
