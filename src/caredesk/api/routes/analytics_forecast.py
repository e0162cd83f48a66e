"""`GET /api/v1/analytics/forecast`: the next days' volume for a roll-up dimension and value, with intervals;
for the totals, the staff needed per hour (Erlang C). Supervisors' figures (the team page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from caredesk.analytics.forecast import ForecastCache, Staffing
from caredesk.analytics.forecast_query import MAX_DAYS, check_forecast_request, forecast_json
from caredesk.analytics.rollups import DIMENSIONS, TOTAL
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, require

router = APIRouter(tags=["analytics"])
Supervisor = Annotated[Caller, Depends(require("workorder.supervise"))]
# The rules the server enforces, published in the schema; checked by check_forecast_request with a stable 400
# `invalid_input` (details.field), not FastAPI's 422. `value` is required unless the dimension is `all`.
Dimension = Annotated[str, Query(max_length=32, json_schema_extra={"enum": [TOTAL, *DIMENSIONS]},
                                 description="`all` (the totals) or a roll-up dimension")]
Value = Annotated[str | None, Query(max_length=64, description="the dimension's value (required unless `all`)")]
Counter = Annotated[str, Query(max_length=32, json_schema_extra={"enum": ["messages", "complaints"]})]
Days = Annotated[str, Query(max_length=8, json_schema_extra={"pattern": f"^(?:[1-9]|1[0-{MAX_DAYS - 10}])$"},
                            description=f"days ahead, 1-{MAX_DAYS}")]
Granularity = Annotated[str, Query(max_length=16, json_schema_extra={"enum": ["hour", "day"]})]


def _cache(request: Request) -> ForecastCache:
    cache = getattr(request.app.state, "forecast_cache", None)
    if cache is None:
        cache = request.app.state.forecast_cache = ForecastCache()
    return cache


@router.get("/analytics/forecast")
def get_forecast(request: Request, rt: RuntimeDep, session: SessionDep, _: Supervisor,
                 dimension: Dimension = TOTAL, value: Value = None, counter: Counter = "messages",
                 days: Days = "14", granularity: Granularity = "hour") -> dict[str, Any]:
    req = check_forecast_request(dimension, value, counter, days, granularity)
    st = rt.settings
    return forecast_json(session, req, now=rt.clock.now(), zone=st.display_timezone, cache=_cache(request),
                         staffing=Staffing(st.forecast_aht_seconds, st.forecast_answer_within_seconds,
                                           st.forecast_service_level))
