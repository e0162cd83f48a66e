"""`caredesk mail watch` (a long-running process, like the worker: IMAP IDLE on the configured mailbox) and
`caredesk mail poll` (one pass, for a cron job or a check after configuring the mailbox)."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from caredesk.bootstrap.runtime import Runtime

__all__ = ["mail_app"]

mail_app = typer.Typer(help="E-mail in: the IMAP mailbox (docs/channels-email.md).", no_args_is_help=True)


def _runtime() -> Runtime:
    from caredesk.cli.main import _runtime as build

    return build()


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@mail_app.command("poll")
def poll() -> None:
    """Take in the mail now in the mailbox, once, and print what happened."""
    from imapclient.exceptions import IMAPClientError

    from caredesk.channels.mail.imap_watch import connect, poll_once
    from caredesk.errors import CareDeskError

    rt = _runtime()
    try:
        client = connect(rt.settings)
    except CareDeskError as exc:
        _fail(exc.message)
    except (OSError, IMAPClientError) as exc:
        _fail(f"cannot open the mailbox {rt.settings.mail_imap_host}:{rt.settings.mail_imap_port}: "
              f"{type(exc).__name__}: {exc}")
    try:
        report = poll_once(rt, client)
    finally:
        client.logout()
        rt.engine.dispose()
    typer.echo(f"taken in {report.taken}, seen before {report.duplicates}, ignored {report.ignored}, "
               f"refused {report.refused}" + (f" ({', '.join(report.refusals)})" if report.refusals else ""))


@mail_app.command("watch")
def watch(verbose: Annotated[bool, typer.Option("--verbose", help="Print each pass")] = False) -> None:
    """Watch the mailbox (IMAP IDLE) until stopped (SIGTERM or Ctrl-C); reconnects by itself."""
    from caredesk.channels.mail.imap_watch import watch as run
    from caredesk.observability.logs import configure_logging

    rt = _runtime()
    if not rt.settings.mail_imap_host:
        _fail("CAREDESK_MAIL_IMAP_HOST is not set")
    configure_logging(rt.settings.log_format)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(rt, stop, on_pass=(lambda r: typer.echo(f"taken in {r.taken}, seen before {r.duplicates}, "
                                                      f"ignored {r.ignored}, refused {r.refused}"))
            if verbose else None)
    except KeyboardInterrupt:
        stop.set()
    finally:
        rt.engine.dispose()
