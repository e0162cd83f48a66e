"""`caredesk forecast`: the next days' volume for a roll-up dimension and value (the totals by default), with
intervals and, for the totals' messages, the staff needed (Erlang C). Bad input: a message and exit code 2."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from caredesk.errors import CareDeskError

__all__ = ["forecast_command"]


def forecast_command(
        dimension: Annotated[str, typer.Option(help="all, topic, channel, product, content_type, ...")] = "all",
        value: Annotated[str | None, typer.Option(help="The dimension's value (not for all)")] = None,
        counter: Annotated[str, typer.Option(help="messages or complaints")] = "messages",
        days: Annotated[int, typer.Option(help="Days ahead (1-14)")] = 14,
        daily: Annotated[bool, typer.Option("--daily", help="One line per day instead of per hour")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Forecast hourly (or daily) volume from the hourly roll-up, with 80% intervals."""
    from caredesk.analytics.forecast import ForecastCache, Staffing
    from caredesk.analytics.forecast_query import check_forecast_request, forecast_json
    from caredesk.cli.main import _runtime, fail

    try:
        req = check_forecast_request(dimension, value, counter, days, "day" if daily else "hour")
    except CareDeskError as exc:
        fail(exc.message)
    rt = _runtime()
    st = rt.settings
    with rt.session_factory() as session:
        body = forecast_json(session, req, now=rt.clock.now(), zone=st.display_timezone, cache=ForecastCache(),
                             staffing=Staffing(st.forecast_aht_seconds, st.forecast_answer_within_seconds,
                                               st.forecast_service_level))
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{req.dimension}={req.value or '(all)'} {req.counter}: {body['method']} on "
               f"{body['history_hours']} hours of history, {int(body['interval'] * 100)}% intervals")
    for p in body["points"]:
        staff = f"  staff {p['staff_needed']}" if "staff_needed" in p else ""
        typer.echo(f"{p['time']}  {p['expected']:8.1f}  [{p['lower']:.1f}, {p['upper']:.1f}]{staff}")
