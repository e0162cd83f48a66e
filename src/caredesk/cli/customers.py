"""`caredesk customers import FILE.csv` (customers from a CRM export, all or nothing) and `caredesk customers
sources validate [FILE]` (the outside sources file). Bad input: every problem on stderr, exit code 2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from caredesk.cli.file_import import fail_with_rows, phase_progress, settings_or_exit
from caredesk.errors import CareDeskError

__all__ = ["customers_app"]

customers_app = typer.Typer(help="Customers: CRM imports and outside sources.", no_args_is_help=True)
sources_app = typer.Typer(help="Outside sources of customer data (customers/sources.yaml).", no_args_is_help=True)
customers_app.add_typer(sources_app, name="sources")

_PHASES = {"check": "checking rows", "save": "saving"}


@customers_app.command("import")
def import_customers(
        file: Annotated[Path, typer.Argument(help="CSV: customer_ref,name,phone,email,tier,branch plus the "
                                                  "crm_import columns of sources.yaml")],
        encoding: Annotated[str, typer.Option(help="auto (UTF-8 with or without BOM, else GBK/GB18030), utf-8, "
                                                   "gbk or gb18030")] = "auto") -> None:
    """Create or update customers by customer_ref in one transaction. A file with any bad row imports nothing
    and lists every bad row (line, column, reason) on stderr, exit code 2."""
    from caredesk.bootstrap import build_runtime
    from caredesk.customers.csv_import import do_import_customers, read_customers_csv
    from caredesk.profiles.sources import load_sources

    if not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit()
    try:  # the file is checked before the runtime (database) is built
        sources = load_sources(settings.customer_sources_file)
        parsed = read_customers_csv(file.read_bytes(), sources.crm_import, name=str(file), encoding=encoding)
    except CareDeskError as exc:
        fail_with_rows(exc)
    rt = build_runtime(settings)
    with phase_progress(_PHASES) as progress:
        result = do_import_customers(rt.uow(), parsed, name=str(file), actor="cli", now=rt.clock.now(),
                                     progress=progress)
    typer.echo(f"{file}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged; "
               f"{result.crm_records} with CRM fields ({result.encoding})")


@sources_app.command("validate")
def validate_sources(file: Annotated[Path | None, typer.Argument(
        help="Sources YAML; the one in use (CAREDESK_CUSTOMER_SOURCES_FILE or the built-in) if omitted")] = None
                     ) -> None:
    """Check a sources file and print each source, its fields and the environment variables it needs that
    are not set here (a warning: the server may have them)."""
    from caredesk.profiles.sources import load_sources

    if file is None:
        file = settings_or_exit().customer_sources_file
    if file is not None and not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(2)
    try:
        config = load_sources(file)
    except CareDeskError as exc:
        fail_with_rows(exc)
    typer.echo(f"{file or 'built-in customers/sources.yaml'}: {len(config.enabled)} of {len(config.sources)} "
               f"sources enabled; CRM import columns: {', '.join(config.crm_import.columns) or 'none'}")
    for src in config.sources:
        state = "enabled" if src.enabled else "disabled"
        typer.echo(f"  {src.name} ({state}, {src.auth.kind} auth, timeout {src.timeout_seconds:g} s, "
                   f"cache {src.ttl_seconds} s): {', '.join(f'{k}:{v.type}' for k, v in src.fields.items())}")
    for name, variable in config.missing_env(os.environ):
        typer.echo(f"warning: {name}: environment variable {variable} is not set here", err=True)
