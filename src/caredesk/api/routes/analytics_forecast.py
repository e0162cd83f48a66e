"""`GET /api/v1/analytics/forecast`: the next days' volume for a roll-up dimension and value, with intervals;
for the totals, the staff needed per hour (Erlang C). Supervisors' figures (the team page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from caredesk.analytics.forecast import ForecastCache, Staffing
from caredesk.analytics.forecast_query import check_forecast_request, forecast_json
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require

router = APIRouter(tags=["analytics"])
Supervisor = Annotated[Caller, Depends(require("workorder.supervise"))]


def _cache(request: Request) -> ForecastCache:
    cache = getattr(request.app.state, "forecast_cache", None)
    if cache is None:
        cache = request.app.state.forecast_cache = ForecastCache()
    return cache


@router.get("/analytics/forecast")
def get_forecast(request: Request, rt: RuntimeDep, session: SessionDep, _: Supervisor,
                 dimension: Annotated[str, Query(max_length=32, description="all, topic, channel, ...")] = "all",
                 value: Annotated[str | None, Query(max_length=200)] = None,
                 counter: Annotated[str, Query(max_length=32, description="messages or complaints")] = "messages",
                 days: Annotated[str, Query(max_length=8, description="1-14")] = "14",
                 granularity: Annotated[str, Query(max_length=16, description="hour or day")] = "hour",
                 ) -> dict[str, Any]:
    req = check_forecast_request(dimension, value, counter, days, granularity)
    st = rt.settings
    return forecast_json(session, req, now=rt.clock.now(), zone=st.display_timezone, cache=_cache(request),
                         staffing=Staffing(st.forecast_aht_seconds, st.forecast_answer_within_seconds,
                                           st.forecast_service_level))
