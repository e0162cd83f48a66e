"""`caredesk outbox relay [--once]` and `caredesk outbox status`: the transactional outbox from the command
line. The relay also runs every minute as a periodic task on every worker; this one is for a cron job, a
deployment without workers, or looking after an outage."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from caredesk.storage.outbox import MAX_ATTEMPTS, outbox_status, relay_once

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime

__all__ = ["outbox_app"]

outbox_app = typer.Typer(help="The outbox of domain events (notices, tasks, live updates).", no_args_is_help=True)


def _runtime() -> Runtime:
    from caredesk.cli.main import _runtime as build

    return build()


@outbox_app.command("relay")
def relay(once: Annotated[bool, typer.Option("--once", help="One pass, then exit")] = False,
          every: Annotated[float, typer.Option(help="Seconds between passes")] = 5.0,
          limit: Annotated[int, typer.Option(help="Rows per pass")] = 100) -> None:
    """Dispatch the events not marked done whose time has come (safe beside other relays)."""
    rt = _runtime()
    try:
        while True:
            report = relay_once(rt.uow, rt.subscribers, now=rt.clock.now(), limit=limit,
                                    task_lease=rt.settings.outbox_task_lease)
            if report.claimed or once:
                typer.echo(f"relayed {report.dispatched} of {report.claimed}"
                           + (f"; failed again: {', '.join(map(str, report.failed))}" if report.failed else ""))
            if once:
                return
            if report.claimed < limit:  # caught up: wait; else go on at once
                time.sleep(every)
    except KeyboardInterrupt:
        return
    finally:
        rt.engine.dispose()


@outbox_app.command("status")
def status() -> None:
    """Counts by state; exit code 1 when some event has given up (tried MAX_ATTEMPTS times)."""
    rt = _runtime()
    with rt.session_factory() as session:
        st = outbox_status(session, now=rt.clock.now())
    rt.engine.dispose()
    typer.echo(f"pending (due now): {st.pending}\ndelayed (due later): {st.delayed}\n"
               f"failing (retrying): {st.failing}\ngiven up (after {MAX_ATTEMPTS} tries): {st.given_up}\n"
               f"leased (being dispatched, or queued tasks not finished): {st.leased}\n"
               f"dispatched: {st.dispatched}")
    if st.oldest_pending_at is not None:
        typer.echo(f"oldest not dispatched: {st.oldest_pending_at.isoformat()}")
    if st.given_up:
        raise typer.Exit(1)
