"""`caredesk config validate [--dir PATH]`: one line per configuration file, `ok  <file>` or the error with
its file, line and field; exit code 2 when any file is invalid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["config_app"]

config_app = typer.Typer(help="Configuration files (SLA, flows, alarm strategy, skills, compliance rules, "
                              "emergency topics, triage lexicons, demo organisation).",
                         no_args_is_help=True)


@config_app.command("validate")
def validate(directory: Annotated[Path | None, typer.Option(
        "--dir", help="Check the configuration files in this directory instead of the ones in use")] = None
             ) -> None:
    """Check every configuration file in use: the shipped ones and those the settings point to."""
    from pydantic import ValidationError

    from caredesk.config_check import check_all, files_in, files_in_use
    from caredesk.settings import Settings

    if directory is not None:
        if not directory.is_dir():
            typer.echo(f"error: {directory}: not a directory", err=True)
            raise typer.Exit(2)
        checks = files_in(directory)
        if not checks:
            typer.echo(f"error: {directory}: no configuration files (sla.yaml, strategy.yaml, skills.yaml, "
                       "outgoing_rules.yaml, topics.yaml, bank.yaml, thresholds.yaml, sources.yaml, "
                       "flows/*.yaml)", err=True)
            raise typer.Exit(2)
    else:
        try:
            checks = files_in_use(Settings())
        except ValidationError as exc:
            typer.echo(f"error: configuration: {exc.errors()[0]['msg']}", err=True)
            raise typer.Exit(2) from None
    results = check_all(checks)
    for result in results:
        typer.echo(f"ok  {result.file}" if result.error is None else result.error.message)
    if any(r.error for r in results):
        raise typer.Exit(2)
