"""`caredesk analytics rebuild [--from ISO --to ISO]`: recount the hourly roll-up of a period from the messages
and their triage (the whole history when no period is given). `caredesk analytics validate [FILE]`: check the
threshold alert rules. `caredesk analytics try-surges --from ISO --to ISO [FILE] [--json]`: the surges a file's
detection settings would have opened over a past period, without storing or telling anything."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from caredesk.analytics.period import parse_moment
from caredesk.analytics.rebuild import do_rebuild, message_span
from caredesk.errors import CareDeskError, InvalidInput

if TYPE_CHECKING:
    from caredesk.analytics.thresholds import SurgeDetection
    from caredesk.bootstrap.runtime import Runtime
    from caredesk.storage.orm import Surge

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
    typer.echo(f"  surge detection: {_detection_line(surges.detection.model_dump())}")


@analytics_app.command("try-surges")
def try_surges_command(
        start: Annotated[str, typer.Option("--from", help="ISO 8601; no offset: the centre's zone")],
        end: Annotated[str, typer.Option("--to", help="ISO 8601; no offset: the centre's zone")],
        file: Annotated[Path | None, typer.Argument(
            help="Thresholds file whose surges.detection to try; the one in use if omitted")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False) -> None:
    """Replay surge detection over a past period (an imported history) with a file's detection settings and list
    the surges it would have opened. Nothing is stored and nobody is told: try a setting, then put it in use."""
    from caredesk.analytics.threshold_check import threshold_problems
    from caredesk.analytics.thresholds import load_thresholds
    from caredesk.settings import Settings

    settings = Settings()
    zone = settings.display_timezone
    try:
        lo, hi = parse_moment(start, zone, field="from"), parse_moment(end, zone, field="to")
    except InvalidInput as exc:
        _fail(exc.message)
        return
    if hi <= lo:
        _fail("--to must be after --from")
        return
    path = file if file is not None else settings.analytics_thresholds_file
    problems = threshold_problems(path)
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem.message}", err=True)
        raise typer.Exit(code=2)
    detection = load_thresholds(path).surges.detection
    from caredesk.analytics.surge_actions import try_surges
    from caredesk.analytics.surge_lifecycle import count_detected
    from caredesk.analytics.surge_scan import scan_params

    rt = _runtime()
    try:
        with rt.session_factory() as session:
            surges = try_surges(session, lo, hi, params=scan_params(detection), tz=zone)
            stored = count_detected(session, lo, hi)
    finally:
        rt.engine.dispose()
    result = _trial(detection, lo, hi, surges, stored, zone, str(path or "built-in thresholds.yaml"))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    _print_trial(result)


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="minutes")


def _trial(detection: SurgeDetection, lo: datetime, hi: datetime, surges: list[Surge], stored: int, zone: tzinfo,
           file: str) -> dict[str, Any]:
    days = (hi - lo) / timedelta(days=1)
    return {
        "file": file, "settings": detection.model_dump(), "from": _local(lo, zone), "to": _local(hi, zone),
        "days": round(days, 2), "opened": len(surges), "per_30_days": round(len(surges) * 30 / days, 2),
        "by_dimension": dict(Counter(s.dimension for s in surges)), "stored_in_period": stored,
        "surges": [{"dimension": s.dimension, "value": s.value, "detected_at": _local(s.detected_at, zone),
                    "window_start": _local(s.window_start, zone), "window_end": _local(s.window_end, zone),
                    "observed": s.observed, "expected": round(s.expected, 2), "status": s.status}
                   for s in surges]}


def _print_trial(result: dict[str, Any]) -> None:
    typer.echo(f"{result['file']}: {_detection_line(result['settings'])}")
    n = result["opened"]
    typer.echo(f"{result['from']} to {result['to']} ({result['days']:g} days): {n} surge{'' if n == 1 else 's'} "
               f"would have opened ({result['per_30_days']:g} per 30 days); {result['stored_in_period']} stored for "
               "the period")
    for s in result["surges"]:
        typer.echo(f"  {s['detected_at']}  {s['dimension']} {s['value']}: {s['observed']} messages against "
                   f"{s['expected']:g} expected from {s['window_start']} ({s['status']} at the end)")
    if result["by_dimension"]:
        typer.echo("by dimension: " + ", ".join(f"{k} {v}" for k, v in sorted(result["by_dimension"].items())))
    typer.echo("nothing was stored and nobody was told")


def _detection_line(d: dict[str, Any]) -> str:
    dimensions = ", ".join(d["dimensions"]) or "no dimension (detection off)"
    busiest = d["busiest_customers_once"]
    return (f"alpha {d['alpha']:g}, windows up to {d['longest_window_hours']} h, at least {d['min_count']} "
            f"messages, the busiest {busiest} customer{'' if busiest == 1 else 's'} counted once, "
            f"{d['history_days']} days of history; {dimensions}")
