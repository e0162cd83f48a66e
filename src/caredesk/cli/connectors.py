"""`caredesk connectors validate [FILE]` (the connectors file: file, line and field of the first mistake, exit 2)
and `caredesk connectors check NAME --value V` (one real call to the system, as the bot would make it)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from caredesk.cli.file_import import settings_or_exit
from caredesk.errors import CareDeskError

if TYPE_CHECKING:
    from caredesk.integrations.connectors.config import ConnectorsFile

__all__ = ["connectors_app"]

connectors_app = typer.Typer(help="Connectors to a CRM, an order system and a logistics tracker.",
                             no_args_is_help=True)


def _load(file: Path | None) -> ConnectorsFile:
    from caredesk.integrations.connectors.config import load_connectors

    if file is not None and not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(2)
    try:
        return load_connectors(file)
    except CareDeskError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


@connectors_app.command("validate")
def validate(file: Annotated[Path | None, typer.Argument(
        help="Connectors YAML; the one in use (CAREDESK_CONNECTORS_FILE or the built-in) if omitted")] = None
             ) -> None:
    """Check a connectors file and print each connector with its operations. An environment variable an enabled
    connector reads that is not set here is an error too (exit 2): run it where the server runs."""
    if file is None:
        file = settings_or_exit().connectors_file
    config = _load(file)
    enabled = [c for c in config.connectors if c.enabled]
    typer.echo(f"{file or 'built-in integrations/connectors.yaml'}: {len(enabled)} of {len(config.connectors)} "
               f"connectors enabled")
    for c in config.connectors:
        ops = [name for name in ("lookup_by_ref", "lookup_by_phone", "update", "status")
               if getattr(c.operations, name) is not None]
        typer.echo(f"  {c.name} ({c.kind}, {'enabled' if c.enabled else 'disabled'}, {c.auth.kind} auth, "
                   f"timeout {c.timeout_seconds:g} s, {c.retries} retries, breaker {c.breaker.failures} failures / "
                   f"{c.breaker.window_seconds:g} s, cool-down {c.breaker.cooldown_seconds:g} s): {', '.join(ops)}")
    missing = config.missing_env(os.environ)
    for name, variable in missing:
        typer.echo(f"error: {name}: environment variable {variable} is not set", err=True)
    if missing:
        raise typer.Exit(2)


@connectors_app.command("check")
def check(name: Annotated[str, typer.Argument(help="The connector's name in the file")],
          value: Annotated[str, typer.Option(help="What to look up: an order or tracking number, a customer "
                                                  "reference or phone")],
          operation: Annotated[str | None, typer.Option(
              help="status (orders, logistics), lookup_by_ref or lookup_by_phone (crm); default: the first "
                   "the connector has")] = None) -> None:
    """Call the system once (retries and breaker as configured) and say what came back: the mapped fields that
    were present, not their values (they may be a customer's data). Exit 1 when the system cannot be reached."""
    from caredesk.integrations.connectors.client import Connectors, Failed, Missing

    settings = settings_or_exit()
    config = _load(settings.connectors_file)
    spec = config.named(name)
    if spec is None:
        typer.echo(f"error: no connector {name!r} (known: {', '.join(c.name for c in config.connectors) or 'none'})",
                   err=True)
        raise typer.Exit(2)
    reads = [op for op in ("status", "lookup_by_ref", "lookup_by_phone") if spec.operation(op) is not None]
    operation = operation or (reads[0] if reads else None)
    if operation is None or spec.operation(operation) is None:
        typer.echo(f"error: {name} has no read operation {operation!r} (it has: {', '.join(reads) or 'none'})",
                   err=True)
        raise typer.Exit(2)
    started = time.monotonic()
    result = Connectors(config).call(spec, operation, value, now=time.time())
    took = f"{(time.monotonic() - started) * 1000:.0f} ms"
    if isinstance(result, Failed):
        typer.echo(f"{name} {operation}: FAILED after {took}: {result.reason}", err=True)
        raise typer.Exit(1)
    if isinstance(result, Missing):
        typer.echo(f"{name} {operation}: reachable ({took}); the system has no such record (HTTP 404)")
        return
    present = [k for k, v in result.fields.items() if v is not None]
    absent = [k for k, v in result.fields.items() if v is None]
    typer.echo(f"{name} {operation}: OK ({took}); fields present: {', '.join(present) or 'none'}"
               + (f"; absent: {', '.join(absent)}" if absent else ""))
